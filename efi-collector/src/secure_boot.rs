//! Secure Boot state, key databases (by SHA-256) and Boot#### entries, read
//! with GetVariable. A variable that does not exist is simply absent; any
//! other failure is recorded.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use bootaudit_snapshot::{BootEntry, CollectError, SecureBoot, Variable};
use sha2::{Digest, Sha256};
use uefi::prelude::*;
use uefi::proto::device_path::text::{AllowShortcuts, DisplayOnly};
use uefi::proto::device_path::DevicePath;
use uefi::runtime::VariableVendor;
use uefi::{CString16, Status};

/// shim's vendor GUID (MokList and friends).
const SHIM: VariableVendor = VariableVendor(uefi::guid!("605dab50-e046-4300-abb6-3dd810dd8b23"));
/// No key database is larger than this (a full dbx is ~30 KiB).
const MAX_VAR: usize = 1 << 20;
/// Boot entries beyond BootOrder that are looked for.
const SCAN_BOOT: u16 = 64;

fn get(
    name: &str,
    vendor: &VariableVendor,
    errors: &mut Vec<CollectError>,
) -> Option<(Vec<u8>, u32)> {
    let n = CString16::try_from(name).ok()?;
    match runtime::get_variable_boxed(&n, vendor) {
        Ok((v, attrs)) if v.len() <= MAX_VAR => Some((v.to_vec(), attrs.bits())),
        Ok((v, _)) => {
            crate::failed(
                errors,
                "secure-boot",
                format!("{name}: {} bytes, more than {MAX_VAR}", v.len()),
                None,
            );
            None
        }
        Err(e) if e.status() == Status::NOT_FOUND => None,
        Err(e) => {
            crate::failed(
                errors,
                "secure-boot",
                format!("GetVariable({name})"),
                Some(e.status()),
            );
            None
        }
    }
}

fn byte(name: &str, errors: &mut Vec<CollectError>) -> Option<u8> {
    get(name, &VariableVendor::GLOBAL_VARIABLE, errors).and_then(|(v, _)| v.first().copied())
}

/// Decodes EFI_LOAD_OPTION: attributes, description, first file path as text.
fn load_option(v: &[u8]) -> Option<(u32, String, String)> {
    let attrs = u32::from_le_bytes(v.get(0..4)?.try_into().ok()?);
    let fpl = u16::from_le_bytes(v.get(4..6)?.try_into().ok()?) as usize;
    let rest = v.get(6..)?;
    let end = rest.chunks_exact(2).position(|c| c == [0, 0])? * 2;
    let units: Vec<u16> = rest[..end]
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let desc: String = char::decode_utf16(units)
        .map(|c| c.unwrap_or('\u{fffd}'))
        .collect();
    let path_bytes = rest.get(end + 2..end + 2 + fpl)?;
    let path = match <&DevicePath>::try_from(path_bytes) {
        Ok(dp) => dp
            .to_string16(DisplayOnly(false), AllowShortcuts(false))
            .map(|s| s.to_string())
            .unwrap_or_else(|_| format!("(device path, {} bytes)", path_bytes.len())),
        Err(_) => format!("(malformed device path, {} bytes)", path_bytes.len()),
    };
    Some((attrs, desc, path))
}

fn boot_entry(num: u16, errors: &mut Vec<CollectError>) -> Option<BootEntry> {
    let name = format!("Boot{num:04X}");
    let (v, _) = get(&name, &VariableVendor::GLOBAL_VARIABLE, errors)?;
    let (attributes, description, device_path) =
        load_option(&v).unwrap_or((0, "(malformed load option)".to_string(), String::new()));
    Some(BootEntry {
        name,
        attributes,
        description,
        device_path,
        size: v.len() as u64,
        sha256: crate::hex(&Sha256::digest(&v)),
    })
}

/// Collects the Secure Boot part.
pub fn collect(errors: &mut Vec<CollectError>) -> SecureBoot {
    let mut sb = SecureBoot {
        secure_boot: byte("SecureBoot", errors),
        setup_mode: byte("SetupMode", errors),
        audit_mode: byte("AuditMode", errors),
        deployed_mode: byte("DeployedMode", errors),
        ..SecureBoot::default()
    };
    let dbs: [(&str, VariableVendor, &str); 8] = [
        (
            "PK",
            VariableVendor::GLOBAL_VARIABLE,
            "8BE4DF61-93CA-11D2-AA0D-00E098032B8C",
        ),
        (
            "KEK",
            VariableVendor::GLOBAL_VARIABLE,
            "8BE4DF61-93CA-11D2-AA0D-00E098032B8C",
        ),
        (
            "db",
            VariableVendor::IMAGE_SECURITY_DATABASE,
            "D719B2CB-3D3A-4596-A3BC-DAD00E67656F",
        ),
        (
            "dbx",
            VariableVendor::IMAGE_SECURITY_DATABASE,
            "D719B2CB-3D3A-4596-A3BC-DAD00E67656F",
        ),
        (
            "dbt",
            VariableVendor::IMAGE_SECURITY_DATABASE,
            "D719B2CB-3D3A-4596-A3BC-DAD00E67656F",
        ),
        ("MokList", SHIM, "605DAB50-E046-4300-ABB6-3DD810DD8B23"),
        ("MokListX", SHIM, "605DAB50-E046-4300-ABB6-3DD810DD8B23"),
        (
            "MokListTrusted",
            SHIM,
            "605DAB50-E046-4300-ABB6-3DD810DD8B23",
        ),
    ];
    for (name, vendor, vtext) in dbs {
        if let Some((v, attributes)) = get(name, &vendor, errors) {
            sb.variables.push(Variable {
                name: name.to_string(),
                vendor: vtext.to_string(),
                attributes,
                size: v.len() as u64,
                sha256: crate::hex(&Sha256::digest(&v)),
            });
        }
    }
    let order: Vec<u16> = get("BootOrder", &VariableVendor::GLOBAL_VARIABLE, errors)
        .map(|(v, _)| {
            v.chunks_exact(2)
                .take(1024)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect()
        })
        .unwrap_or_default();
    sb.boot_order = order.iter().map(|n| format!("Boot{n:04X}")).collect();
    sb.boot_current =
        get("BootCurrent", &VariableVendor::GLOBAL_VARIABLE, errors).and_then(|(v, _)| {
            Some(format!(
                "Boot{:04X}",
                u16::from_le_bytes(v.get(0..2)?.try_into().ok()?)
            ))
        });
    for &n in &order {
        if let Some(e) = boot_entry(n, errors) {
            sb.boot_entries.push(e);
        }
    }
    for n in 0..SCAN_BOOT {
        if !order.contains(&n) {
            if let Some(e) = boot_entry(n, errors) {
                sb.boot_entries.push(e);
            }
        }
    }
    sb
}
