//! Secure Boot state, key databases and boot entries from efivarfs
//! (/sys/firmware/efi/efivars), whose files are named `Name-GUID` and hold
//! the 4-byte attributes followed by the value. The same variables, with
//! the same hashes (of the value), as the collector reads through
//! GetVariable.

use super::{failed, under};
use crate::snapshot::{BootEntry, CollectError, Part, SecureBoot, Variable};
use std::path::Path;

use crate::snapshot::efivar::{self, GLOBAL_VARIABLE as GLOBAL, KEY_DATABASES, MAX_VARIABLE};

/// A variable's (attributes, value); None when it does not exist. Other
/// failures are recorded.
fn get(
    dir: &Path,
    name: &str,
    guid: &str,
    errors: &mut Vec<CollectError>,
) -> Option<(u32, Vec<u8>)> {
    // efivarfs names a file `Name-guid`, the GUID in lower case.
    let p = dir.join(format!("{name}-{}", guid.to_ascii_lowercase()));
    match crate::fsutil::read_input(&p, MAX_VARIABLE as u64 + 4) {
        Ok(b) if b.len() >= 4 => Some((
            u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            b[4..].to_vec(),
        )),
        Ok(b) => {
            failed(
                errors,
                Part::SecureBoot,
                format!("{}: {} bytes, no attributes", p.display(), b.len()),
                "malformed",
            );
            None
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            failed(
                errors,
                Part::SecureBoot,
                format!("{}: {e}", p.display()),
                super::reason(&e),
            );
            None
        }
    }
}

fn byte(dir: &Path, name: &str, errors: &mut Vec<CollectError>) -> Option<u8> {
    get(dir, name, GLOBAL, errors).and_then(|(_, v)| v.first().copied())
}

fn boot_entry(dir: &Path, num: u16, errors: &mut Vec<CollectError>) -> Option<BootEntry> {
    let name = efivar::boot_option_name(num);
    let (_, v) = get(dir, &name, GLOBAL, errors)?;
    let (attributes, description, device_path) = match crate::loadoption::LoadOption::parse(&v) {
        Some(o) => (o.attributes, o.description, o.device_path),
        None => (0, "(malformed load option)".into(), String::new()),
    };
    Some(BootEntry {
        name,
        attributes,
        description,
        device_path,
        size: v.len() as u64,
        sha256: crate::hexser::sha256(&v),
    })
}

/// Collects the Secure Boot part; None on a host without EFI variables.
pub(super) fn collect(root: &Path, errors: &mut Vec<CollectError>) -> Option<SecureBoot> {
    let dir = under(root, "/sys/firmware/efi/efivars");
    if !dir.is_dir() {
        let why = if under(root, "/sys/firmware/efi").is_dir() {
            "efivarfs not mounted"
        } else {
            "no EFI (legacy BIOS boot, or not exposed)"
        };
        failed(errors, Part::SecureBoot, format!("{}", dir.display()), why);
        return None;
    }
    let [secure_boot, setup_mode, audit_mode, deployed_mode] =
        efivar::MODE_VARIABLES.map(|name| byte(&dir, name, errors));
    let mut sb = SecureBoot {
        secure_boot,
        setup_mode,
        audit_mode,
        deployed_mode,
        ..SecureBoot::default()
    };
    for db in KEY_DATABASES {
        if let Some((attributes, v)) = get(&dir, db.name, db.vendor, errors) {
            sb.variables.push(Variable {
                name: db.name.into(),
                vendor: db.vendor.into(),
                attributes,
                size: v.len() as u64,
                sha256: crate::hexser::sha256(&v),
                signatures: Some(bootaudit_snapshot::siglist::parse(&v, &|d| {
                    crate::hexser::sha256(d)
                })),
            });
        }
    }
    let order = get(&dir, "BootOrder", GLOBAL, errors)
        .map(|(_, v)| efivar::boot_order(&v))
        .unwrap_or_default();
    sb.boot_order = order.iter().map(|&n| efivar::boot_option_name(n)).collect();
    sb.boot_current = get(&dir, "BootCurrent", GLOBAL, errors)
        .and_then(|(_, v)| efivar::boot_current(&v))
        .map(efivar::boot_option_name);
    for n in efivar::boot_numbers(&order) {
        sb.boot_entries.extend(boot_entry(&dir, n, errors));
    }
    Some(sb)
}
