//! SMBIOS parsing shared by the collector (which reads the tables from
//! memory) and the host (which reads /sys/firmware/dmi/tables): the entry
//! point, and the BIOS (type 0) and system (type 1) facts of the structure
//! table. The walk is bounded by the table's length and a structure count;
//! the callers hash the bytes [`Smbios::table_length`] says were used.

use crate::Smbios;
use alloc::format;
use alloc::string::{String, ToString};

/// Most structures walked.
const MAX_STRUCTURES: usize = 4096;

/// What an entry point says about the structure table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryPoint {
    /// `3.x` (64-bit, "_SM3_") or `2.x` ("_SM_").
    pub version: String,
    /// Physical address of the structure table.
    pub table_address: u64,
    /// Its length (SMBIOS 2) or maximum length (SMBIOS 3) in bytes.
    pub table_length: usize,
    /// True when the length is exact (SMBIOS 2).
    pub exact: bool,
}

/// Reads an SMBIOS 3 or SMBIOS 2 entry point.
pub fn entry_point(e: &[u8]) -> Result<EntryPoint, String> {
    // Lengths are checked first; a field past them reads as 0.
    let le32 = |at: usize| crate::bytes::u32_le_at(e, at).unwrap_or(0);
    if e.len() >= 24 && &e[..5] == b"_SM3_" {
        Ok(EntryPoint {
            version: format!("{}.{}", e[7], e[8]),
            table_address: crate::bytes::u64_le_at(e, 16).unwrap_or(0),
            table_length: le32(12) as usize,
            exact: false,
        })
    } else if e.len() >= 31 && &e[..4] == b"_SM_" && &e[16..21] == b"_DMI_" {
        Ok(EntryPoint {
            version: format!("{}.{}", e[6], e[7]),
            table_address: le32(24) as u64,
            table_length: crate::bytes::u16_le_at(e, 22).unwrap_or(0) as usize,
            exact: true,
        })
    } else {
        Err(format!(
            "no _SM3_ or _SM_/_DMI_ anchor in {} bytes",
            e.len()
        ))
    }
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

/// The facts of a structure table (`table` holds at most the entry
/// point's length). `sha256` is left empty for the caller, who hashes
/// `table[..table_length]`: the whole table for SMBIOS 2, up to the
/// end-of-table structure for SMBIOS 3.
pub fn parse(ep: &EntryPoint, table: &[u8]) -> Smbios {
    let len = table.len().min(ep.table_length);
    let table = &table[..len];
    let mut s = Smbios {
        version: ep.version.clone(),
        table_address: ep.table_address,
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
    s.table_length = if ep.exact { len } else { off.min(len) } as u64;
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_type_0_and_1_and_stops_at_the_end() {
        let mut t = alloc::vec::Vec::new();
        // Type 0: vendor 1, version 2, date 3.
        t.extend_from_slice(&[0, 24, 0, 0, 1, 2, 0, 0, 3]);
        t.resize(24, 0);
        t.extend_from_slice(b"Vendor\0v1.2\0" as &[u8]);
        t.extend_from_slice(b"01/02/2026\0\0" as &[u8]);
        // Type 1: manufacturer 1, product 2, no version, serial 3.
        let at = t.len();
        t.extend_from_slice(&[1, 27, 1, 0, 1, 2, 0, 3]);
        t.extend_from_slice(&[
            0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66, 8, 9, 10, 11, 12, 13, 14, 15,
        ]);
        t.resize(at + 27, 0);
        t.extend_from_slice(b"M\0P\0S\0\0" as &[u8]);
        t.extend_from_slice(&[127, 4, 0, 0, 0, 0]);
        let used = t.len();
        t.extend_from_slice(&[0xaa; 10]);
        let mut ep = [0u8; 24];
        ep[..5].copy_from_slice(b"_SM3_");
        ep[7] = 3;
        ep[8] = 2;
        ep[12..16].copy_from_slice(&(t.len() as u32).to_le_bytes());
        ep[16..24].copy_from_slice(&0xdead_0000u64.to_le_bytes());
        let e = entry_point(&ep).unwrap();
        assert_eq!((e.version.as_str(), e.table_address), ("3.2", 0xdead_0000));
        let s = parse(&e, &t);
        assert_eq!(s.bios_vendor, "Vendor");
        assert_eq!(s.bios_version, "v1.2");
        assert_eq!(s.bios_release_date, "01/02/2026");
        assert_eq!(
            (
                s.system_manufacturer.as_str(),
                s.system_product.as_str(),
                s.system_serial.as_str()
            ),
            ("M", "P", "S")
        );
        assert_eq!(s.system_uuid, "00112233-4455-6677-0809-0A0B0C0D0E0F");
        assert_eq!(s.table_length, used as u64);
        // Every truncation parses without panicking.
        for n in 0..t.len() {
            let _ = parse(&e, &t[..n]);
        }
        assert!(entry_point(b"_SM3_").is_err());
    }
}
