//! The ESP the collector was loaded from (its device path, its GPT
//! partition GUID), and `mode=chain`: after collecting, load and start a configured loader from
//! the same ESP (e.g. `chain=\EFI\debian\shimx64.efi`), through
//! LoadImage/StartImage with the full device path, so that the loader finds
//! its own device as it would from the boot manager (shim needs that to
//! find grub). Optional `chain-options=TEXT` become its load options.
//! Returns only when loading fails or the loader returns.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use uefi::boot::{LoadImageSource, OpenProtocolAttributes, OpenProtocolParams, ScopedProtocol};
use uefi::prelude::*;
use uefi::proto::device_path::build::{self, DevicePathBuilder};
use uefi::proto::device_path::DevicePath;
use uefi::proto::loaded_image::LoadedImage;
use uefi::proto::BootPolicy;
use uefi::CString16;

/// Loads and starts `path` from the collector's own device.
/// The device path of the device the collector was loaded from (the ESP).
pub fn own_device_path() -> Result<ScopedProtocol<DevicePath>, String> {
    let device = {
        let li = boot::open_protocol_exclusive::<LoadedImage>(boot::image_handle())
            .map_err(|e| format!("own LoadedImage: {:?}", e.status()))?;
        li.device().ok_or("the collector has no device handle")?
    };
    let params = OpenProtocolParams {
        handle: device,
        agent: boot::image_handle(),
        controller: None,
    };
    // SAFETY: GET_PROTOCOL; the ESP's device path lives as long as its handle.
    unsafe { boot::open_protocol::<DevicePath>(params, OpenProtocolAttributes::GetProtocol) }
        .map_err(|e| format!("the ESP's device path: {:?}", e.status()))
}

/// The GPT partition GUID of the ESP the collector was loaded from, from
/// the hard-drive node of its device path; `None` on other media (a bare
/// FAT disk, a CD, a network boot).
pub fn esp_partition_guid() -> Option<String> {
    let dp = own_device_path().ok()?;
    dp.node_iter().find_map(|n| {
        (n.device_type() == uefi::proto::device_path::DeviceType::MEDIA
            && n.sub_type() == uefi::proto::device_path::DeviceSubType::MEDIA_HARD_DRIVE)
            .then(|| bootaudit_snapshot::efivar::hard_drive_gpt_guid(n.data()))
            .flatten()
            .map(|g| bootaudit_snapshot::siglist::guid_text(&g))
    })
}

pub fn run(path: &str, options: Option<&str>) -> Result<Status, String> {
    let dev_path = own_device_path()?;
    let file = CString16::try_from(path).map_err(|_| format!("{path} is not UCS-2"))?;
    let mut buf = Vec::new();
    let mut b = DevicePathBuilder::with_vec(&mut buf);
    for node in dev_path.node_iter() {
        b = b.push(&node).map_err(|e| format!("device path: {e:?}"))?;
    }
    b = b
        .push(&build::media::FilePath { path_name: &file })
        .map_err(|e| format!("device path: {e:?}"))?;
    let full = b.finalize().map_err(|e| format!("device path: {e:?}"))?;
    let child = boot::load_image(
        boot::image_handle(),
        LoadImageSource::FromDevicePath {
            device_path: full,
            boot_policy: BootPolicy::ExactMatch,
        },
    )
    .map_err(|e| format!("LoadImage({path}): {:?}", e.status()))?;
    // The options must outlive StartImage: they live until this function ends.
    let opts = options
        .map(CString16::try_from)
        .transpose()
        .map_err(|_| "chain-options are not UCS-2".to_string())?;
    if let Some(o) = &opts {
        let mut li = boot::open_protocol_exclusive::<LoadedImage>(child)
            .map_err(|e| format!("child LoadedImage: {:?}", e.status()))?;
        // SAFETY: `o` outlives the child's run (StartImage returns before it
        // is dropped); the size is in bytes, including the NUL.
        unsafe { li.set_load_options(o.as_ptr().cast(), (o.num_bytes()) as u32) };
    }
    match boot::start_image(child) {
        Ok(()) => Ok(Status::SUCCESS),
        Err(e) => Err(format!("StartImage({path}): {:?}", e.status())),
    }
}
