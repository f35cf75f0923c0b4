//! The firmware's own inventory (`firmware_volumes`) and its flash copy
//! (`firmware_flash`), baseline against current: a file stored in a
//! volume that was not before is how LoJax entered the flash, dispatched
//! or not; a flash copy with another hash is another firmware. A firmware
//! update explains them only as far as [`super::firmware_update`] grades
//! it.

use crate::findings::Finding;
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
    crate::snapshot::is_executable_file_type(f.file_type)
}

pub(super) fn diff(a: &Snapshot, b: &Snapshot, f: &mut Vec<Finding>) {
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
                    .explainable(crate::rules::FIRMWARE_FILE_ADDED.explainers()),
                ),
                Some(x) if x.body_sha256.is_some() && y.body_sha256.is_some() && x.body_sha256 != y.body_sha256 => f.push(
                    Finding::new(
                        crate::rules::FIRMWARE_FILE_CHANGED,
                        format!("file {} in firmware volume {} has another body", k.1, k.0),
                        json!({"before": ev(x), "after": ev(y)}),
                    )
                    .at(crate::rules::firmware_file_changed(executable(y), false))
                    .about(format!("{}/{}", k.0, k.1))
                    .explainable(crate::rules::FIRMWARE_FILE_CHANGED.explainers()),
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
                    .explainable(crate::rules::FIRMWARE_FILE_REMOVED.explainers()),
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
                .explainable(crate::rules::FIRMWARE_FLASH_CHANGED.explainers()),
            );
        }
    }
}

/// Names the volumes the current log's PCR0 firmware blobs measured, in
/// the PCR0 finding: from the snapshot's own inventory (a volume at the
/// blob's base and of its length), else from the references (the volume
/// the judgement matched, or the one of that length it should have been).
/// The finding also lists the firmware-code findings it goes with.
pub(super) fn name_blob_volumes(
    f: &mut [Finding],
    b: &Snapshot,
    lb: Option<&crate::eventlog::EventLog>,
    j: Option<&crate::firmware::judge::Judgement>,
) {
    use crate::firmware::judge::BlobVerdict;
    let Some(l) = lb else { return };
    let mut named = Vec::new();
    for e in l.events.iter().filter(|e| e.pcr == 0) {
        let Some((base, length)) = e.firmware_blob() else {
            continue;
        };
        let own = b
            .firmware_volumes
            .iter()
            .flatten()
            .find(|v| v.base == Some(base) && v.size == Some(length))
            .and_then(|v| v.name.clone());
        let from_refs =
            j.and_then(|j| j.blobs.iter().find(|x| x.event == e.number))
                .and_then(|x| match &x.verdict {
                    BlobVerdict::Matched { volume, .. }
                    | BlobVerdict::BootDependent { volume, .. } => Some(volume.clone()),
                    BlobVerdict::Unknown { same_size } => same_size
                        .first()
                        .map(|s| s.rsplit(": ").next().unwrap_or("").to_string()),
                });
        let (volume, from) = match (own, from_refs) {
            (Some(v), _) => (v, "the firmware's inventory"),
            (None, Some(v)) => (v, "the references"),
            (None, None) => continue,
        };
        named.push(json!({"event": e.number, "base": base, "length": length, "volume": volume, "named_by": from}));
    }
    if named.is_empty() {
        return;
    }
    let related: Vec<String> = f
        .iter()
        .filter(|x| {
            [
                crate::rules::LOADED_IMAGES_FIRMWARE_DRIVER_ADDED.id,
                crate::rules::FIRMWARE_FILE_ADDED.id,
                crate::rules::FIRMWARE_DRIVER_NOT_IN_REFERENCE.id,
                crate::rules::FIRMWARE_STORED_FILE_NOT_IN_REFERENCE.id,
            ]
            .contains(&x.rule)
        })
        .map(|x| x.key())
        .collect();
    for x in f
        .iter_mut()
        .filter(|x| x.rule == crate::rules::TPM_PCR0_CHANGED.id)
    {
        let names: Vec<&str> = named.iter().filter_map(|n| n["volume"].as_str()).collect();
        x.message = format!("{} [volumes measured: {}]", x.message, names.join(", "));
        if let Some(o) = x.evidence.as_object_mut() {
            o.insert("volumes".into(), json!(named));
            o.insert("related_findings".into(), json!(related));
        }
    }
}
