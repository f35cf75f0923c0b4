//! `mode=chain`: after collecting, load and start a configured loader from
//! the same ESP (e.g. `chain=\EFI\debian\shimx64.efi`), through
//! LoadImage/StartImage with the full device path, so that the loader finds
//! its own device as it would from the boot manager (shim needs that to
//! find grub). Optional `chain-options=TEXT` become its load options.
//! Returns only when loading fails or the loader returns.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use uefi::boot::{LoadImageSource, OpenProtocolAttributes, OpenProtocolParams};
use uefi::prelude::*;
use uefi::proto::device_path::build::{self, DevicePathBuilder};
use uefi::proto::device_path::DevicePath;
use uefi::proto::loaded_image::LoadedImage;
use uefi::proto::BootPolicy;
use uefi::CString16;

/// Loads and starts `path` from the collector's own device.
pub fn run(path: &str, options: Option<&str>) -> Result<Status, String> {
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
    let dev_path =
        unsafe { boot::open_protocol::<DevicePath>(params, OpenProtocolAttributes::GetProtocol) }
            .map_err(|e| format!("the ESP's device path: {:?}", e.status()))?;
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
