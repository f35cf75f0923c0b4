//! Boot applications: the EV_EFI_BOOT_SERVICES_APPLICATION events in PCR4,
//! which record every UEFI application the firmware started (boot managers,
//! shim, grub, an OS loader) with its device path and Authenticode digest.
//! A new application, one that ran twice, or a loader swapped at the same
//! path (the ESPecter / BlackLotus family) is named here, with where it was
//! loaded from and whether that place is one of the ESP's known loaders.

use crate::esp::path::EspPath;
use crate::eventlog::{EventLog, HashAlg};
use crate::findings::Finding;
use crate::snapshot::{self, Snapshot};
use serde_json::json;
use std::collections::BTreeMap;

/// The file part of a device path's text (`\EFI\BOOT\BOOTX64.EFI`),
/// lowercased (FAT names are case-insensitive); the whole text lowercased
/// when it has no file part (an application from a firmware volume).
pub(super) fn file_part(device_path: &str) -> String {
    EspPath::from_device_path(device_path)
        .map(|p| p.backslash())
        .unwrap_or_else(|| device_path.to_ascii_lowercase())
}

/// Whether a file part is one of the places a loader is installed.
pub(super) fn known_loader(file: &str) -> bool {
    EspPath::parse(file).is_known_loader()
}

/// One started application.
struct App {
    /// Lowercased file part of its device path.
    file: String,
    device_path: String,
    digest: String,
    event: usize,
}

fn apps(log: Option<&EventLog>) -> Vec<App> {
    let Some(log) = log else { return Vec::new() };
    log.boot_applications()
        .into_iter()
        .map(|a| {
            let digest = a
                .record
                .digest(HashAlg::Sha256)
                .or_else(|| a.record.digests.first().map(|d| d.digest.as_slice()))
                .map(crate::hexser::encode)
                .unwrap_or_default();
            App {
                file: file_part(&a.device_path),
                device_path: a.device_path,
                digest,
                event: a.event,
            }
        })
        .collect()
}

fn ev(x: &App) -> serde_json::Value {
    json!({"device_path": x.device_path, "digest": x.digest, "event": x.event})
}

pub(super) fn diff(a: &Snapshot, b: &Snapshot, f: &mut Vec<Finding>) {
    let (Some(ta), Some(tb)) = (&a.tpm, &b.tpm) else {
        return;
    };
    let la = snapshot::event_log(ta, "baseline").ok().flatten();
    let lb = snapshot::event_log(tb, "current").ok().flatten();
    let (before, after) = (apps(la.as_ref()), apps(lb.as_ref()));
    // How often each (file, digest) ran before; each run after uses one up.
    let mut left: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for x in &before {
        *left.entry((&x.file, &x.digest)).or_default() += 1;
    }
    let mut unmatched_after = Vec::new();
    for x in &after {
        match left.get_mut(&(x.file.as_str(), x.digest.as_str())) {
            Some(n) if *n > 0 => *n -= 1,
            _ => unmatched_after.push(x),
        }
    }
    let mut unmatched_before: Vec<&App> = Vec::new();
    for x in &before {
        if let Some(n) = left.get_mut(&(x.file.as_str(), x.digest.as_str())) {
            if *n > 0 {
                *n -= 1;
                unmatched_before.push(x);
            }
        }
    }
    for x in unmatched_after {
        // The same place ran another binary: a swapped loader (or an
        // update, which `baseline accept` records).
        if let Some(pos) = unmatched_before.iter().position(|o| o.file == x.file) {
            let o = unmatched_before.remove(pos);
            f.push(
                Finding::new(
 crate::rules::BOOT_APPLICATION_CHANGED,
format!(
                        "the boot application at {} is another binary (Authenticode SHA-256 {} -> {})",
                        x.device_path, o.digest, x.digest
                    ),
                    json!({"before": ev(o), "after": ev(x)}),
                )
            .about(x.file.clone()),
            );
            continue;
        }
        let ran_before = before.iter().any(|o| o.file == x.file);
        let known = ran_before || known_loader(&x.file);
        let why = if known {
            "an extra run of a known loader's place"
        } else {
            "outside the ESP's known loaders and what the baseline ran"
        };
        f.push(
            Finding::new(
                crate::rules::BOOT_APPLICATION_ADDED,
                format!(
                    "a boot application the baseline did not run: {} ({why})",
                    x.device_path
                ),
                json!({"after": ev(x), "known_loader": known}),
            )
            .at(crate::rules::boot_application_added(known))
            .about(x.file.clone()),
        );
    }
    for o in unmatched_before {
        f.push(
            Finding::new(
                crate::rules::BOOT_APPLICATION_REMOVED,
                format!("the boot application {} no longer ran", o.device_path),
                json!({"before": ev(o)}),
            )
            .about(o.file.clone()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_parts_and_known_loaders() {
        let p = "PciRoot(0x0)/Pci(0x1F,0x2)/Sata(0x0,0xFFFF,0x0)/\\EFI\\BOOT\\BOOTX64.EFI";
        assert_eq!(file_part(p), "\\efi\\boot\\bootx64.efi");
        assert!(known_loader(&file_part(p)));
        assert!(known_loader("\\efi\\debian\\shimx64.efi"));
        assert!(known_loader("\\efi\\linux\\arch-linux.efi"));
        assert!(!known_loader("\\efi\\bootaudit\\collector.efi"));
        assert!(!known_loader("\\efi\\debian\\evil.efi"));
        assert!(!known_loader("\\bootx64.efi"));
        // Two file nodes, as some firmware writes them.
        assert_eq!(
            file_part("HD(1,GPT,x)/\\EFI\\/\\ubuntu\\grubx64.efi"),
            "\\efi\\ubuntu\\grubx64.efi"
        );
        assert_eq!(
            file_part("Fv(7CB8BDC9)/FvFile(462CAA21)"),
            "fv(7cb8bdc9)/fvfile(462caa21)"
        );
    }
}
