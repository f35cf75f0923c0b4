//! `EFI_LOAD_OPTION` (UEFI 2.10 §3.1.3): what a `Boot####` or
//! `Driver####` variable holds. Apart from [`crate::efi`] so that the
//! device-path renderer ([`crate::devpath`]) and the small UEFI types it
//! uses do not import each other.
//!
//! The structure is split by [`RawLoadOption`], the one parser the collector
//! shares; this adds the host's device-path text. The bytes come from a
//! machine that may be compromised: parsing is total, never panics and
//! never allocates more than the input's size.

use bootaudit_snapshot::efivar::RawLoadOption;
use serde::Serialize;

/// An `EFI_LOAD_OPTION` (UEFI 2.10 §3.1.3): what a `Boot####` or
/// `Driver####` variable holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LoadOption {
    /// LOAD_OPTION_* bits (0x1 active, 0x8 hidden, ...).
    pub attributes: u32,
    /// The human-readable description shown by the boot manager.
    pub description: String,
    /// The file path list rendered as device-path text.
    pub device_path: String,
    /// Bytes after the file path list, passed to the image (hex).
    #[serde(serialize_with = "crate::hexser::bytes")]
    pub optional_data: Vec<u8>,
}

impl LoadOption {
    /// Decodes a load option; `None` when the structure does not fit in `b`.
    pub fn parse(b: &[u8]) -> Option<LoadOption> {
        let raw = RawLoadOption::parse(b)?;
        Some(LoadOption {
            attributes: raw.attributes,
            description: raw.description,
            device_path: crate::devpath::to_text(raw.file_path_list),
            optional_data: raw.optional_data.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_option_rejects_a_path_list_longer_than_the_data() {
        let mut b = vec![1, 0, 0, 0, 0xff, 0x00];
        b.extend_from_slice(b"X\0\0\0");
        b.extend_from_slice(&[0x7f, 0xff, 4, 0]);
        assert!(LoadOption::parse(&b).is_none());
        b[4] = 4;
        let lo = LoadOption::parse(&b).unwrap();
        assert_eq!(lo.description, "X");
        assert_eq!(lo.attributes, 1);
        assert!(lo.optional_data.is_empty());
    }
}
