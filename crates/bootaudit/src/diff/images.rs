//! Loaded images: a firmware driver (FvFile GUID) that was not loaded
//! before, under the same firmware version, is the LoJax signature; a new
//! driver from a PCI option ROM is code a device brought into the firmware.

use crate::findings::Finding;
use crate::snapshot::{LoadedImage, Snapshot};
use serde_json::json;
use std::collections::BTreeMap;

fn index(s: &Snapshot) -> BTreeMap<&str, &LoadedImage> {
    s.loaded_images
        .iter()
        .flatten()
        .map(|i| (i.device_path.as_str(), i))
        .collect()
}

/// A device path of a PCI expansion-ROM image: `.../Pci(..)/Offset(..)`
/// (UEFI's relative offset range node, which the PCI bus driver appends).
pub(crate) fn is_option_rom(p: &str) -> bool {
    p.contains("Pci(")
        && p.rsplit('/')
            .next()
            .is_some_and(|last| last.starts_with("Offset("))
}

fn ev(i: &LoadedImage) -> serde_json::Value {
    json!({"device_path": i.device_path, "size": i.size, "base": i.base, "code_type": i.code_type,
           "timestamp": i.timestamp, "size_of_image": i.size_of_image})
}

pub(super) fn diff(a: &Snapshot, b: &Snapshot, f: &mut Vec<Finding>) {
    if a.loaded_images.is_none() || b.loaded_images.is_none() {
        return;
    }
    let (ia, ib) = (index(a), index(b));
    for (p, i) in &ib {
        let fv = p.contains("FvFile(");
        match ia.get(p) {
            None if fv => f.push(
                Finding::new(
 crate::rules::LOADED_IMAGES_FIRMWARE_DRIVER_ADDED,
format!("firmware driver {p} is loaded now and was not before"),
                    json!({"after": ev(i)}),
                )
                .about(*p)
                .explainable(crate::rules::LOADED_IMAGES_FIRMWARE_DRIVER_ADDED.explainers()),
            ),
            // A driver the PCI bus driver loaded from a device's expansion
            // ROM: its path is the device's, then the ROM image's offset
            // range. Such code runs with the firmware's privileges before
            // any OS (the MoonBounce-era "option ROM implant" route).
            None if is_option_rom(p) => f.push(
                Finding::new(
 crate::rules::LOADED_IMAGES_OPTION_ROM_ADDED,
format!("option-ROM driver {p} is loaded now and was not before: code from a PCI device's ROM ran in the firmware"),
                    json!({"after": ev(i)}),
                )
                .about(*p),
            ),
            None => f.push(
                Finding::new(
 crate::rules::LOADED_IMAGES_IMAGE_ADDED,
format!("image {p} is loaded now and was not before"),
                    json!({"after": ev(i)}),
                )
                .about(*p),
            ),
            Some(o) if fv && (o.size_of_image != i.size_of_image || o.timestamp != i.timestamp) => {
                f.push(
                    Finding::new(
 crate::rules::LOADED_IMAGES_FIRMWARE_DRIVER_CHANGED,
format!("firmware driver {p} is a different build (size or timestamp)"),
                        json!({"before": ev(o), "after": ev(i)}),
                    )
                    .about(*p)
                    .explainable(crate::rules::LOADED_IMAGES_FIRMWARE_DRIVER_CHANGED.explainers()),
                )
            }
            Some(o)
                if is_option_rom(p)
                    && (o.size_of_image != i.size_of_image || o.timestamp != i.timestamp) =>
            {
                f.push(
                    Finding::new(
 crate::rules::LOADED_IMAGES_OPTION_ROM_CHANGED,
format!("option-ROM driver {p} is a different build (size or timestamp): the device's ROM changed"),
                        json!({"before": ev(o), "after": ev(i)}),
                    )
                    .about(*p),
                )
            }
            Some(_) => {}
        }
    }
    for (p, i) in &ia {
        if !ib.contains_key(p) {
            f.push(
                Finding::new(
                    crate::rules::LOADED_IMAGES_IMAGE_REMOVED,
                    format!("image {p} is no longer loaded"),
                    json!({"before": ev(i)}),
                )
                .about(*p)
                .explainable(crate::rules::LOADED_IMAGES_IMAGE_REMOVED.explainers()),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn option_rom_paths() {
        assert!(super::is_option_rom(
            "PciRoot(0x0)/Pci(0x2,0x0)/Offset(0x0,0xDFF)"
        ));
        assert!(!super::is_option_rom(
            "PciRoot(0x0)/Pci(0x1F,0x2)/Sata(0x0,0xFFFF,0x0)/\\EFI\\BOOT\\BOOTX64.EFI"
        ));
        assert!(!super::is_option_rom("Fv(7CB8BDC9)/FvFile(462CAA21)"));
    }
}
