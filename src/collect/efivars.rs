//! Secure Boot state, key databases and boot entries from efivarfs
//! (/sys/firmware/efi/efivars), whose files are named `Name-GUID` and hold
//! the 4-byte attributes followed by the value. The same variables, with
//! the same hashes (of the value), as the collector reads through
//! GetVariable.

use super::{failed, under};
use crate::snapshot::{BootEntry, CollectError, SecureBoot, Variable};
use std::path::Path;

const GLOBAL: &str = "8be4df61-93ca-11d2-aa0d-00e098032b8c";
const IMAGE_SECURITY: &str = "d719b2cb-3d3a-4596-a3bc-dad00e67656f";
const SHIM: &str = "605dab50-e046-4300-abb6-3dd810dd8b23";
/// No key database is larger than this (as in the collector).
const MAX_VAR: u64 = 1 << 20;
/// Boot entries beyond BootOrder that are looked for (as in the collector).
const SCAN_BOOT: u16 = 64;

/// A variable's (attributes, value); None when it does not exist. Other
/// failures are recorded.
fn get(
    dir: &Path,
    name: &str,
    guid: &str,
    errors: &mut Vec<CollectError>,
) -> Option<(u32, Vec<u8>)> {
    let p = dir.join(format!("{name}-{guid}"));
    match crate::fsutil::read_input(&p, MAX_VAR + 4) {
        Ok(b) if b.len() >= 4 => Some((
            u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            b[4..].to_vec(),
        )),
        Ok(b) => {
            failed(
                errors,
                "secure-boot",
                format!("{}: {} bytes, no attributes", p.display(), b.len()),
                "malformed",
            );
            None
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            failed(
                errors,
                "secure-boot",
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
    let name = format!("Boot{num:04X}");
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
        failed(errors, "secure-boot", format!("{}", dir.display()), why);
        return None;
    }
    let mut sb = SecureBoot {
        secure_boot: byte(&dir, "SecureBoot", errors),
        setup_mode: byte(&dir, "SetupMode", errors),
        audit_mode: byte(&dir, "AuditMode", errors),
        deployed_mode: byte(&dir, "DeployedMode", errors),
        ..SecureBoot::default()
    };
    for (name, guid) in [
        ("PK", GLOBAL),
        ("KEK", GLOBAL),
        ("db", IMAGE_SECURITY),
        ("dbx", IMAGE_SECURITY),
        ("dbt", IMAGE_SECURITY),
        ("MokList", SHIM),
        ("MokListX", SHIM),
        ("MokListTrusted", SHIM),
    ] {
        if let Some((attributes, v)) = get(&dir, name, guid, errors) {
            sb.variables.push(Variable {
                name: name.into(),
                vendor: guid.to_ascii_uppercase(),
                attributes,
                size: v.len() as u64,
                sha256: crate::hexser::sha256(&v),
            });
        }
    }
    let order: Vec<u16> = get(&dir, "BootOrder", GLOBAL, errors)
        .map(|(_, v)| {
            v.chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .take(1024)
                .collect()
        })
        .unwrap_or_default();
    sb.boot_order = order.iter().map(|n| format!("Boot{n:04X}")).collect();
    sb.boot_current = get(&dir, "BootCurrent", GLOBAL, errors).and_then(|(_, v)| {
        Some(format!(
            "Boot{:04X}",
            u16::from_le_bytes(v.get(..2)?.try_into().ok()?)
        ))
    });
    let mut nums: Vec<u16> = order.clone();
    nums.extend((0..SCAN_BOOT).filter(|n| !order.contains(n)));
    for n in nums {
        sb.boot_entries.extend(boot_entry(&dir, n, errors));
    }
    Some(sb)
}
