//! The firmware's own inventory (`firmware_volumes`) and its flash copy
//! (`firmware_flash`), baseline against current: a file stored in a
//! volume that was not before is how LoJax entered the flash, dispatched
//! or not; a flash copy with another hash is another firmware. A firmware
//! update explains them only as far as [`super::firmware_update`] grades
//! it.

use crate::findings::{Explainers, Finding};
use crate::snapshot::{FirmwareVolumeFile, Snapshot};
use serde_json::json;
use std::collections::BTreeMap;

fn files(s: &Snapshot) -> Option<BTreeMap<(String, String), &FirmwareVolumeFile>> {
    let vols = s.firmware_volumes.as_ref()?;
    Some(
        vols.iter()
            .flat_map(|v| {
                let name = v.name.clone().unwrap_or_else(|| v.device_path.clone());
                v.files
                    .iter()
                    .map(move |f| ((name.clone(), f.guid.to_ascii_uppercase()), f))
            })
            .filter(|(_, f)| f.file_type != 0xf0)
            .collect(),
    )
}

fn executable(f: &FirmwareVolumeFile) -> bool {
    matches!(f.file_type, 0x03..=0x0a | 0x0c..=0x0f)
}

pub(super) fn diff(a: &Snapshot, b: &Snapshot, f: &mut Vec<Finding>) {
    let fw = Explainers {
        firmware_update: true,
        ..Default::default()
    };
    if let (Some(fa), Some(fb)) = (files(a), files(b)) {
        for (k, y) in &fb {
            let ev = |x: &FirmwareVolumeFile| json!({"volume": k.0, "guid": x.guid, "file_type": x.file_type, "size": x.size, "body_sha256": x.body_sha256});
            match fa.get(k) {
                None => f.push(
                    Finding::new(
                        crate::rules::FIRMWARE_FILE_ADDED,
                        format!("file {} (type {:#04x}) is stored in firmware volume {} and was not before", k.1, y.file_type, k.0),
                        json!({"after": ev(y)}),
                    )
                    .at(crate::rules::firmware_file_added(executable(y)))
                    .about(format!("{}/{}", k.0, k.1))
                    .explainable(fw),
                ),
                Some(x) if x.body_sha256.is_some() && y.body_sha256.is_some() && x.body_sha256 != y.body_sha256 => f.push(
                    Finding::new(
                        crate::rules::FIRMWARE_FILE_CHANGED,
                        format!("file {} in firmware volume {} has another body", k.1, k.0),
                        json!({"before": ev(x), "after": ev(y)}),
                    )
                    .at(crate::rules::firmware_file_changed(executable(y), false))
                    .about(format!("{}/{}", k.0, k.1))
                    .explainable(fw),
                ),
                Some(_) => {}
            }
        }
        for (k, x) in &fa {
            if !fb.contains_key(k) {
                f.push(
                    Finding::new(
                        crate::rules::FIRMWARE_FILE_REMOVED,
                        format!("file {} is no longer stored in firmware volume {}", k.1, k.0),
                        json!({"before": {"volume": k.0, "guid": x.guid, "file_type": x.file_type}}),
                    )
                    .about(format!("{}/{}", k.0, k.1))
                    .explainable(fw),
                );
            }
        }
    }
    if let (Some(x), Some(y)) = (&a.firmware_flash, &b.firmware_flash) {
        if x.sha256 != y.sha256 {
            f.push(
                Finding::new(
                    crate::rules::FIRMWARE_FLASH_CHANGED,
                    format!(
                        "the machine's flash changed: {} bytes SHA-256 {} -> {} bytes SHA-256 {} (`bootaudit firmware diff` the two copies)",
                        x.size, x.sha256, y.size, y.sha256
                    ),
                    json!({"before": x, "after": y}),
                )
                .about("flash")
                .explainable(fw),
            );
        }
    }
}
