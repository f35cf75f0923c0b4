//! Secure Boot state, key databases (by SHA-256, with their certificates and
//! hashes parsed) and Boot#### entries, read
//! with GetVariable. A variable that does not exist is simply absent; any
//! other failure is recorded.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use bootaudit_snapshot::{BootEntry, CollectError, Part, SecureBoot, Variable};
use sha2::{Digest, Sha256};
use uefi::prelude::*;
use uefi::proto::device_path::text::{AllowShortcuts, DisplayOnly};
use uefi::proto::device_path::DevicePath;
use uefi::runtime::VariableVendor;
use uefi::{CString16, Status};

use bootaudit_snapshot::efivar::{self, KEY_DATABASES, MAX_VARIABLE as MAX_VAR};
use bootaudit_snapshot::siglist;

/// The vendor GUIDs of [`KEY_DATABASES`], parsed when the collector is
/// compiled (a GUID that does not parse stops the build).
const KEY_DATABASE_VENDORS: [uefi::Guid; KEY_DATABASES.len()] = {
    let mut out = [uefi::Guid::ZERO; KEY_DATABASES.len()];
    let mut i = 0;
    while i < out.len() {
        out[i] = match uefi::Guid::try_parse(KEY_DATABASES[i].vendor) {
            Ok(g) => g,
            Err(_) => panic!("a key database's vendor GUID does not parse"),
        };
        i += 1;
    }
    out
};

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
                Part::SecureBoot,
                format!("{name}: {} bytes, more than {MAX_VAR}", v.len()),
                None,
            );
            None
        }
        Err(e) if e.status() == Status::NOT_FOUND => None,
        Err(e) => {
            crate::failed(
                errors,
                Part::SecureBoot,
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

/// The first file path of a load option as the firmware's DevicePathToText
/// renders it.
fn path_text(path_bytes: &[u8]) -> String {
    match <&DevicePath>::try_from(path_bytes) {
        Ok(dp) => dp
            .to_string16(DisplayOnly(false), AllowShortcuts(false))
            .map(|s| s.to_string())
            .unwrap_or_else(|_| format!("(device path, {} bytes)", path_bytes.len())),
        Err(_) => format!("(malformed device path, {} bytes)", path_bytes.len()),
    }
}

fn boot_entry(num: u16, errors: &mut Vec<CollectError>) -> Option<BootEntry> {
    let name = efivar::boot_option_name(num);
    let (v, _) = get(&name, &VariableVendor::GLOBAL_VARIABLE, errors)?;
    let (attributes, description, device_path) = match efivar::RawLoadOption::parse(&v) {
        Some(o) => (o.attributes, o.description, path_text(o.file_path_list)),
        None => (0, "(malformed load option)".to_string(), String::new()),
    };
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
    let [secure_boot, setup_mode, audit_mode, deployed_mode] =
        efivar::MODE_VARIABLES.map(|name| byte(name, errors));
    let mut sb = SecureBoot {
        secure_boot,
        setup_mode,
        audit_mode,
        deployed_mode,
        ..SecureBoot::default()
    };
    for (db, guid) in KEY_DATABASES.iter().zip(KEY_DATABASE_VENDORS) {
        if let Some((v, attributes)) = get(db.name, &VariableVendor(guid), errors) {
            sb.variables.push(Variable {
                name: db.name.to_string(),
                vendor: db.vendor.to_string(),
                attributes,
                size: v.len() as u64,
                sha256: crate::hex(&Sha256::digest(&v)),
                // Every certificate and hash, parsed once here by the code
                // the host uses for PCR7's copies.
                signatures: Some(siglist::parse(&v, &|d| crate::hex(&Sha256::digest(d)))),
            });
        }
    }
    let order = get("BootOrder", &VariableVendor::GLOBAL_VARIABLE, errors)
        .map(|(v, _)| efivar::boot_order(&v))
        .unwrap_or_default();
    sb.boot_order = order.iter().map(|&n| efivar::boot_option_name(n)).collect();
    sb.boot_current = get("BootCurrent", &VariableVendor::GLOBAL_VARIABLE, errors)
        .and_then(|(v, _)| efivar::boot_current(&v))
        .map(efivar::boot_option_name);
    for n in efivar::boot_numbers(&order) {
        sb.boot_entries.extend(boot_entry(n, errors));
    }
    sb
}
