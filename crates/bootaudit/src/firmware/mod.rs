//! UEFI PI firmware images: the vendor's known-good, read from what the
//! judged machine cannot write.
//!
//! The reader is its own crate, `bootaudit-firmware` ([`read`] and the
//! inventory it returns, re-exported here by name). This module holds what
//! bootaudit judges with it: [`diff`] compares two inventories,
//! [`reference`] is the signed store of vendor images, and [`judge`]
//! checks a snapshot against a reference.

pub mod diff;
pub mod judge;
pub mod reference;

pub use bootaudit_firmware::{
    decompress, depex, efilist, read, read_visiting, read_with_all_banks, Body, Container, FfsFile,
    FileDepex, FirmwareError, Inventory, Problem, Volume, MAX_DEPTH, MAX_FILES, MAX_IMAGE,
    MAX_PROBLEMS,
};

/// Reads an image file (at most [`MAX_IMAGE`] bytes, a regular file, not
/// a symbolic link); the error names the file.
pub fn read_file(path: &std::path::Path) -> anyhow::Result<Inventory> {
    read_file_inner(path, false)
}

/// [`read_file`], with every volume hashed in every bank
/// ([`read_with_all_banks`]).
pub fn read_file_with_all_banks(path: &std::path::Path) -> anyhow::Result<Inventory> {
    read_file_inner(path, true)
}

fn read_file_inner(path: &std::path::Path, all_banks: bool) -> anyhow::Result<Inventory> {
    let bytes = crate::fsutil::read_input(path, MAX_IMAGE)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    if all_banks {
        read_with_all_banks(&bytes)
    } else {
        read(&bytes)
    }
    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}
