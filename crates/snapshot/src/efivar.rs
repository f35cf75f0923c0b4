//! The UEFI variables a snapshot records, and how their values are read:
//! which Secure Boot variables exist and under which vendor GUID, the
//! `EFI_LOAD_OPTION` of a `Boot####` variable, `BootOrder` and
//! `BootCurrent`.
//!
//! Both producers read the same variables, the collector through
//! GetVariable and the host through efivarfs, and decode them here, so the
//! two snapshots of one boot cannot disagree on what a variable holds.
//! Every value comes from a machine that may be compromised: decoding is
//! total, never panics and allocates at most the input's size.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// EFI_GLOBAL_VARIABLE: SecureBoot, PK, KEK, BootOrder, Boot####.
pub const GLOBAL_VARIABLE: &str = "8BE4DF61-93CA-11D2-AA0D-00E098032B8C";
/// EFI_IMAGE_SECURITY_DATABASE_GUID: db, dbx, dbt.
pub const IMAGE_SECURITY_DATABASE: &str = "D719B2CB-3D3A-4596-A3BC-DAD00E67656F";
/// shim's vendor GUID: MokList, MokListX, MokListTrusted, MokListRT.
pub const SHIM_LOCK: &str = "605DAB50-E046-4300-ABB6-3DD810DD8B23";

/// No key database or boot entry is larger than this (a full dbx is about
/// 30 KiB); a bigger value is recorded as an error, not read.
pub const MAX_VARIABLE: usize = 1 << 20;
/// `Boot####` variables not in BootOrder are looked for up to this number.
pub const SCAN_BOOT: u16 = 64;
/// At most this many BootOrder entries are read.
pub const MAX_BOOT_ORDER: usize = 1024;

/// One variable of [`KEY_DATABASES`]: its name and vendor GUID (upper-case
/// text, as [`crate::Variable::vendor`] records it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyDatabase {
    /// The variable's name.
    pub name: &'static str,
    /// Its vendor GUID.
    pub vendor: &'static str,
}

/// The one-byte Secure Boot mode variables (EFI_GLOBAL_VARIABLE), in the
/// order [`crate::SecureBoot`] holds them.
pub const MODE_VARIABLES: [&str; 4] = ["SecureBoot", "SetupMode", "AuditMode", "DeployedMode"];

/// The key databases recorded by digest in [`crate::SecureBoot::variables`],
/// in this order, those that exist.
pub const KEY_DATABASES: [KeyDatabase; 9] = [
    KeyDatabase {
        name: "PK",
        vendor: GLOBAL_VARIABLE,
    },
    KeyDatabase {
        name: "KEK",
        vendor: GLOBAL_VARIABLE,
    },
    KeyDatabase {
        name: "db",
        vendor: IMAGE_SECURITY_DATABASE,
    },
    KeyDatabase {
        name: "dbx",
        vendor: IMAGE_SECURITY_DATABASE,
    },
    KeyDatabase {
        name: "dbt",
        vendor: IMAGE_SECURITY_DATABASE,
    },
    KeyDatabase {
        name: "MokList",
        vendor: SHIM_LOCK,
    },
    KeyDatabase {
        name: "MokListX",
        vendor: SHIM_LOCK,
    },
    KeyDatabase {
        name: "MokListTrusted",
        vendor: SHIM_LOCK,
    },
    // shim's runtime mirror of MokList with its built-in certificates,
    // which it makes at every boot: what the kernel's keyrings read. A
    // later minor addition; `diff` compares MokList, not the mirror.
    KeyDatabase {
        name: "MokListRT",
        vendor: SHIM_LOCK,
    },
];

/// The variable name of load option `n`: `Boot0001`.
pub fn boot_option_name(n: u16) -> String {
    format!("Boot{n:04X}")
}

/// BootOrder's entries (little-endian u16s; an odd last byte is ignored),
/// at most [`MAX_BOOT_ORDER`].
pub fn boot_order(value: &[u8]) -> Vec<u16> {
    value
        .chunks_exact(2)
        .take(MAX_BOOT_ORDER)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect()
}

/// BootCurrent's entry; None when the value is shorter than two bytes.
pub fn boot_current(value: &[u8]) -> Option<u16> {
    Some(u16::from_le_bytes([*value.first()?, *value.get(1)?]))
}

/// The `Boot####` numbers to read: BootOrder's, in order, then those below
/// [`SCAN_BOOT`] that BootOrder does not name.
pub fn boot_numbers(order: &[u16]) -> Vec<u16> {
    let mut nums = Vec::from(order);
    nums.extend((0..SCAN_BOOT).filter(|n| !order.contains(n)));
    nums
}

/// Splits a NUL-terminated UCS-2 string off the front of `b`: the decoded
/// text (unpaired surrogates become U+FFFD) and the bytes after the NUL.
/// None when no NUL is found at an even offset.
pub fn split_ucs2_z(b: &[u8]) -> Option<(String, &[u8])> {
    let end = b.chunks_exact(2).position(|c| c == [0, 0])? * 2;
    let units = b[..end]
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]));
    let text = char::decode_utf16(units)
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    Some((text, &b[end + 2..]))
}

/// The partition GUID a hard-drive device-path node names (UEFI 2.10
/// §10.3.5.1: partition number, start, size, a 16-byte signature, the
/// partition format and the signature type), given the node's data after
/// its 4-byte header; `None` unless it is a GPT partition's GUID.
pub fn hard_drive_gpt_guid(data: &[u8]) -> Option<[u8; 16]> {
    if data.len() != 38 || data[36] != 0x02 || data[37] != 0x02 {
        return None;
    }
    let mut g = [0u8; 16];
    g.copy_from_slice(&data[20..36]);
    (g != [0; 16]).then_some(g)
}

/// An `EFI_LOAD_OPTION` (UEFI 2.10 §3.1.3), what a `Boot####`, `Driver####`
/// or `SysPrep####` variable holds, with its parts still as bytes: each
/// producer renders the device path its own way (the collector with the
/// firmware's DevicePathToText, the host with its own renderer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawLoadOption<'a> {
    /// LOAD_OPTION_* bits (0x1 active, 0x8 hidden, ...).
    pub attributes: u32,
    /// The description the boot manager shows.
    pub description: String,
    /// The file path list (`FilePathListLength` bytes of device paths).
    pub file_path_list: &'a [u8],
    /// The bytes after the file path list, passed to the image.
    pub optional_data: &'a [u8],
}

impl RawLoadOption<'_> {
    /// Decodes a load option; None when the structure does not fit in `b`
    /// (no NUL ends the description, or the path list runs past the end).
    pub fn parse(b: &[u8]) -> Option<RawLoadOption<'_>> {
        let a = b.get(..4)?;
        let attributes = u32::from_le_bytes([a[0], a[1], a[2], a[3]]);
        let fpl_len = u16::from_le_bytes([*b.get(4)?, *b.get(5)?]) as usize;
        let (description, rest) = split_ucs2_z(b.get(6..)?)?;
        let file_path_list = rest.get(..fpl_len)?;
        Some(RawLoadOption {
            attributes,
            description,
            file_path_list,
            optional_data: &rest[fpl_len..],
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_a_whole_gpt_hard_drive_node_names_a_partition() {
        let mut d = [0u8; 38];
        d[20..36].copy_from_slice(&[0xab; 16]);
        d[36] = 2;
        d[37] = 2;
        assert_eq!(hard_drive_gpt_guid(&d), Some([0xab; 16]));
        for n in 0..38 {
            assert_eq!(hard_drive_gpt_guid(&d[..n]), None, "cut at {n}");
        }
        let mut mbr = d;
        mbr[36] = 1;
        mbr[37] = 1;
        assert_eq!(hard_drive_gpt_guid(&mbr), None);
        let mut zero = d;
        zero[20..36].fill(0);
        assert_eq!(hard_drive_gpt_guid(&zero), None);
    }
    use super::*;

    /// Boot0001 as OVMF writes it for the UEFI shell: active, "EFI Internal
    /// Shell", a firmware-volume file path, no optional data (UEFI 2.10
    /// §3.1.3 layout, built by hand here).
    fn shell_option() -> Vec<u8> {
        let mut b = Vec::from(1u32.to_le_bytes());
        let path: [u8; 4] = [0x7f, 0xff, 0x04, 0x00]; // End of hardware path
        b.extend_from_slice(&(path.len() as u16).to_le_bytes());
        for u in "EFI Internal Shell".encode_utf16() {
            b.extend_from_slice(&u.to_le_bytes());
        }
        b.extend_from_slice(&[0, 0]);
        b.extend_from_slice(&path);
        b
    }

    #[test]
    fn a_load_option_splits_into_its_parts() {
        let mut b = shell_option();
        let o = RawLoadOption::parse(&b).unwrap();
        assert_eq!(o.attributes, 1);
        assert_eq!(o.description, "EFI Internal Shell");
        assert_eq!(o.file_path_list, &[0x7f, 0xff, 4, 0]);
        assert!(o.optional_data.is_empty());
        b.extend_from_slice(b"ab");
        assert_eq!(RawLoadOption::parse(&b).unwrap().optional_data, b"ab");
    }

    #[test]
    fn every_truncation_of_a_load_option_is_refused() {
        let b = shell_option();
        for n in 0..b.len() {
            assert_eq!(RawLoadOption::parse(&b[..n]), None, "{n} bytes");
        }
    }

    #[test]
    fn a_path_list_longer_than_the_value_is_refused() {
        let mut b = shell_option();
        b[4] = 0xff;
        assert_eq!(RawLoadOption::parse(&b), None);
    }

    #[test]
    fn boot_order_and_the_scan() {
        assert_eq!(boot_order(&[1, 0, 0x10, 0x20, 7]), [1, 0x2010]);
        assert_eq!(boot_order(&[0; 4096]).len(), MAX_BOOT_ORDER);
        assert_eq!(boot_current(&[3]), None);
        assert_eq!(boot_current(&[3, 0, 9]), Some(3));
        let nums = boot_numbers(&[2, 0x80]);
        assert_eq!(&nums[..3], &[2, 0x80, 0]);
        assert_eq!(nums.len(), 2 + 63);
        assert_eq!(boot_option_name(0xbeef), "BootBEEF");
    }
}
