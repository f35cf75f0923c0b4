//! Every handle with EFI_LOADED_IMAGE_PROTOCOL: where the image came from
//! (its device path; Fv(..)/FvFile(GUID) for firmware drivers), where it
//! sits, its memory types and its PE/TE header facts. A new FvFile GUID under
//! an unchanged firmware version is the LoJax signature; this list is how
//! the host sees it.
//!
//! Protocols are opened with GET_PROTOCOL (not exclusively): the collector
//! must not disconnect other drivers to look at them.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use bootaudit_snapshot::{CollectError, LoadedImage, Part};
use uefi::boot::{OpenProtocolAttributes, OpenProtocolParams, ScopedProtocol};
use uefi::prelude::*;
use uefi::proto::device_path::text::{AllowShortcuts, DisplayOnly};
use uefi::proto::device_path::{DevicePath, LoadedImageDevicePath};
use uefi::proto::loaded_image::LoadedImage as LoadedImageProto;
use uefi::proto::ProtocolPointer;
use uefi::Handle;

const MAX_IMAGES: usize = 4096;

fn open<P: ProtocolPointer + ?Sized>(h: Handle) -> Option<ScopedProtocol<P>> {
    let params = OpenProtocolParams {
        handle: h,
        agent: boot::image_handle(),
        controller: None,
    };
    // SAFETY: GET_PROTOCOL does not take the protocol from its owner; we
    // only read it while the handle exists (within this function's caller).
    unsafe { boot::open_protocol::<P>(params, OpenProtocolAttributes::GetProtocol).ok() }
}

pub(crate) fn text(dp: &DevicePath) -> String {
    dp.to_string16(DisplayOnly(false), AllowShortcuts(false))
        .map(|s| s.to_string())
        .unwrap_or_else(|_| "(device path not convertible)".to_string())
}

/// Reads PE or TE header facts from an image in memory, within its size.
fn headers(base: *const u8, size: u64, img: &mut LoadedImage) {
    if base.is_null() || size < 64 {
        img.format = "unknown".into();
        return;
    }
    let size = size.min(64 << 20) as usize;
    // SAFETY: [base, base + size) is the loaded image (ImageBase/ImageSize).
    let b = unsafe { core::slice::from_raw_parts(base, size) };
    let u16at = |o: usize| b.get(o..o + 2).map(|x| u16::from_le_bytes([x[0], x[1]]));
    let u32at = |o: usize| {
        b.get(o..o + 4)
            .map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]))
    };
    if &b[..2] == b"MZ" {
        let Some(pe) = u32at(0x3c).map(|v| v as usize) else {
            return;
        };
        if b.get(pe..pe + 4) != Some(b"PE\0\0") {
            img.format = "unknown".into();
            return;
        }
        img.format = "pe".into();
        img.machine = u16at(pe + 4);
        img.timestamp = u32at(pe + 8);
        let opt = pe + 24;
        img.size_of_image = u32at(opt + 56);
        img.subsystem = u16at(opt + 68);
    } else if &b[..2] == b"VZ" {
        img.format = "te".into();
        img.machine = u16at(2);
        img.subsystem = b.get(5).map(|&s| s as u16);
    } else {
        img.format = "unknown".into();
    }
}

/// Collects the loaded-image list.
pub fn collect(errors: &mut Vec<CollectError>) -> Vec<LoadedImage> {
    let handles = match boot::find_handles::<LoadedImageProto>() {
        Ok(h) => h,
        Err(e) => {
            crate::failed(
                errors,
                Part::LoadedImages,
                "LocateHandle(LoadedImage)".to_string(),
                Some(e.status()),
            );
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for h in handles.into_iter().take(MAX_IMAGES) {
        let Some(li) = open::<LoadedImageProto>(h) else {
            continue;
        };
        let (base, size) = li.info();
        let device_path = match open::<LoadedImageDevicePath>(h) {
            Some(dp) => text(&dp),
            None => li.file_path().map(text).unwrap_or_default(),
        };
        let mut img = LoadedImage {
            device_path,
            base: base as u64,
            size,
            code_type: li.code_type().0,
            data_type: li.data_type().0,
            ..LoadedImage::default()
        };
        headers(base.cast(), size, &mut img);
        out.push(img);
    }
    if out.is_empty() {
        crate::failed(
            errors,
            Part::LoadedImages,
            "none of the image handles could be opened".to_string(),
            None,
        );
    }
    out
}
