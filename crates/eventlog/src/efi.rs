//! Small UEFI data types shared by every artefact module: GUIDs and UCS-2
//! strings (`EFI_LOAD_OPTION` is [`crate::loadoption`]).
//!
//! Everything here decodes bytes that come from a machine that may be
//! compromised, so every function is total: it never panics and never
//! allocates more than the input's size.

use serde::{Serialize, Serializer};
use std::fmt;

/// An EFI_GUID as stored in memory: the first three fields little-endian.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Guid(pub [u8; 16]);

impl Guid {
    /// Reads a GUID from the first 16 bytes of `b`, if there are 16.
    pub fn from_slice(b: &[u8]) -> Option<Guid> {
        let arr: [u8; 16] = b.get(..16)?.try_into().ok()?;
        Some(Guid(arr))
    }

    /// Parses the text form (`8be4df61-93ca-11d2-aa0d-00e098032b8c`, any
    /// case); `None` unless it is 36 characters of hex in 8-4-4-4-12 groups.
    pub fn parse(s: &str) -> Option<Guid> {
        let groups: Vec<&str> = s.split('-').collect();
        if groups.iter().map(|g| g.len()).ne([8, 4, 4, 4, 12]) {
            return None;
        }
        let hex: String = groups.concat();
        if !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        let mut b = [0u8; 16];
        for (i, x) in b.iter_mut().enumerate() {
            *x = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        // The first three fields are little-endian in memory.
        b[0..4].reverse();
        b[4..6].reverse();
        b[6..8].reverse();
        Some(Guid(b))
    }

    /// EFI_GLOBAL_VARIABLE (8BE4DF61-93CA-11D2-AA0D-00E098032B8C), the vendor
    /// GUID of SecureBoot, PK, KEK, BootOrder and Boot####.
    pub const GLOBAL_VARIABLE: Guid = Guid([
        0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11, 0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b,
        0x8c,
    ]);
    /// EFI_IMAGE_SECURITY_DATABASE_GUID (D719B2CB-3D3A-4596-A3BC-DAD00E67656F),
    /// the vendor GUID of db, dbx and dbt.
    pub const IMAGE_SECURITY_DATABASE: Guid = Guid([
        0xcb, 0xb2, 0x19, 0xd7, 0x3a, 0x3d, 0x96, 0x45, 0xa3, 0xbc, 0xda, 0xd0, 0x0e, 0x67, 0x65,
        0x6f,
    ]);
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&bootaudit_snapshot::siglist::guid_text(&self.0))
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for Guid {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Decodes little-endian UCS-2 up to the first NUL (or the end), replacing
/// unpaired surrogates. An odd trailing byte is ignored.
pub fn ucs2_to_string(b: &[u8]) -> String {
    let units = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|&u| u != 0);
    char::decode_utf16(units)
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

/// Splits a NUL-terminated UCS-2 string off the front of `b` (defined once,
/// in the snapshot crate, for the collector and the host).
pub use bootaudit_snapshot::efivar::split_ucs2_z;

/// Renders bytes as text when they are printable ASCII (a trailing NUL
/// allowed), for event data that firmware logs as strings.
pub fn ascii_string(b: &[u8]) -> Option<String> {
    let b = b.strip_suffix(&[0]).unwrap_or(b);
    if !b.is_empty()
        && b.iter()
            .all(|&c| (0x20..0x7f).contains(&c) || c == b'\t' || c == b'\n')
    {
        Some(String::from_utf8_lossy(b).into_owned())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_text_is_mixed_endian() {
        // EFI_GLOBAL_VARIABLE as the UEFI spec writes it.
        assert_eq!(
            Guid::GLOBAL_VARIABLE.to_string(),
            "8BE4DF61-93CA-11D2-AA0D-00E098032B8C"
        );
        assert_eq!(
            Guid::IMAGE_SECURITY_DATABASE.to_string(),
            "D719B2CB-3D3A-4596-A3BC-DAD00E67656F"
        );
    }

    #[test]
    fn ucs2_stops_at_nul_and_survives_odd_lengths() {
        assert_eq!(ucs2_to_string(b"B\0o\0o\0t\0\0\0x\0"), "Boot");
        assert_eq!(ucs2_to_string(b"A\0B"), "A");
        assert_eq!(
            split_ucs2_z(b"A\0\0\0rest"),
            Some(("A".into(), &b"rest"[..]))
        );
        assert_eq!(split_ucs2_z(b"A\0B\0"), None);
    }
}
