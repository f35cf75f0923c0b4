//! SMBIOS from the configuration table: the SMBIOS 3 (64-bit) entry point,
//! else the SMBIOS 2 one; the BIOS (type 0) and system (type 1) facts, and
//! the SHA-256 of the whole structure table. The walk over structures is
//! bounded by the table's length and a structure count.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use bootaudit_snapshot::{CollectError, Smbios};
use sha2::{Digest, Sha256};
use uefi::prelude::*;

const SMBIOS3: uefi::Guid = uefi::guid!("f2fd1544-9794-4a2c-992e-e5bbcf20e394");
const SMBIOS2: uefi::Guid = uefi::guid!("eb9d2d31-2d88-11d3-9a16-0090273fc14d");
const MAX_TABLE: usize = 1 << 20;
const MAX_STRUCTURES: usize = 4096;

/// Safety: `addr` was published by the firmware as an SMBIOS structure.
unsafe fn phys(addr: u64, n: usize) -> &'static [u8] {
    core::slice::from_raw_parts(addr as usize as *const u8, n)
}

/// The `idx`-th string (1-based) of the string set after a structure.
fn string(strings: &[u8], idx: u8) -> String {
    if idx == 0 {
        return String::new();
    }
    strings
        .split(|&b| b == 0)
        .nth(idx as usize - 1)
        .map(|s| String::from_utf8_lossy(s).trim().to_string())
        .unwrap_or_default()
}

fn uuid(b: &[u8]) -> String {
    format!(
        "{:02X}{:02X}{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}{:02X}{:02X}{:02X}{:02X}",
        b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]
    )
}

/// Collects the SMBIOS facts.
pub fn collect(errors: &mut Vec<CollectError>) -> Option<Smbios> {
    let (g3, g2) = system::with_config_table(|t| {
        (
            t.iter()
                .find(|e| e.guid == SMBIOS3)
                .map(|e| e.address as u64),
            t.iter()
                .find(|e| e.guid == SMBIOS2)
                .map(|e| e.address as u64),
        )
    });
    let (version, addr, len, exact) = if let Some(ep) = g3.filter(|a| *a != 0) {
        let e = unsafe { phys(ep, 24) };
        if &e[..5] != b"_SM3_" {
            crate::failed(
                errors,
                "smbios",
                format!("no _SM3_ anchor at {ep:#x}"),
                None,
            );
            return None;
        }
        let max = u32::from_le_bytes([e[12], e[13], e[14], e[15]]) as usize;
        let mut a = [0u8; 8];
        a.copy_from_slice(&e[16..24]);
        (
            format!("{}.{}", e[7], e[8]),
            u64::from_le_bytes(a),
            max,
            false,
        )
    } else if let Some(ep) = g2.filter(|a| *a != 0) {
        let e = unsafe { phys(ep, 31) };
        if &e[..4] != b"_SM_" || &e[16..21] != b"_DMI_" {
            crate::failed(
                errors,
                "smbios",
                format!("no _SM_/_DMI_ anchor at {ep:#x}"),
                None,
            );
            return None;
        }
        let len = u16::from_le_bytes([e[22], e[23]]) as usize;
        let a = u32::from_le_bytes([e[24], e[25], e[26], e[27]]) as u64;
        (format!("{}.{}", e[6], e[7]), a, len, true)
    } else {
        crate::failed(
            errors,
            "smbios",
            "no SMBIOS entry point in the configuration table".to_string(),
            None,
        );
        return None;
    };
    if addr == 0 || len == 0 || len > MAX_TABLE {
        crate::failed(
            errors,
            "smbios",
            format!("implausible table {addr:#x} length {len}"),
            None,
        );
        return None;
    }
    let table = unsafe { phys(addr, len) };
    let mut s = Smbios {
        version,
        table_address: addr,
        ..Smbios::default()
    };
    let mut off = 0usize;
    for _ in 0..MAX_STRUCTURES {
        let (Some(&ty), Some(&flen)) = (table.get(off), table.get(off + 1)) else {
            break;
        };
        let flen = flen as usize;
        if flen < 4 || off + flen > len {
            break;
        }
        let formatted = &table[off..off + flen];
        // The string set ends with two NULs.
        let rest = &table[off + flen..];
        let Some(end) = rest.windows(2).position(|w| w == [0, 0]) else {
            break;
        };
        let strings = &rest[..end];
        match ty {
            0 if flen >= 9 => {
                s.bios_vendor = string(strings, formatted[4]);
                s.bios_version = string(strings, formatted[5]);
                s.bios_release_date = string(strings, formatted[8]);
            }
            1 if flen >= 8 => {
                s.system_manufacturer = string(strings, formatted[4]);
                s.system_product = string(strings, formatted[5]);
                s.system_version = string(strings, formatted[6]);
                s.system_serial = string(strings, formatted[7]);
                if flen >= 24 {
                    s.system_uuid = uuid(&formatted[8..24]);
                }
            }
            _ => {}
        }
        off += flen + end + 2;
        if ty == 127 {
            break;
        }
    }
    // SMBIOS 3 gives a maximum size: hash up to the end-of-table structure.
    let used = if exact { len } else { off.min(len) };
    s.table_length = used as u64;
    s.sha256 = crate::hex(&Sha256::digest(&table[..used]));
    Some(s)
}
