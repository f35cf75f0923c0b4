//! ACPI table headers, read from a table's bytes into the snapshot's
//! [`AcpiTable`], and the fields that hold physical addresses (masked
//! before two boots' tables are compared).

use crate::AcpiTable;
use alloc::string::String;

/// An ACPI header text field: ASCII, NUL padding dropped, anything else as
/// '.'.
pub fn acpi_text(b: &[u8]) -> String {
    let s: String = b
        .iter()
        .map(|&c| match c {
            0 => ' ',
            0x20..=0x7e => c as char,
            _ => '.',
        })
        .collect();
    String::from(s.trim_end())
}

/// The header facts of one table's bytes (`bytes` holds the whole table, as
/// long as its header says): signature, length, OEM facts and whether the
/// checksum holds. The FACS has no such header: signature and length only.
/// `sha256` and `content_sha256` are the caller's to fill (this crate does
/// not hash). None when the bytes are shorter than the header.
pub fn acpi_table_facts(bytes: &[u8], address: u64, via: &str) -> Option<AcpiTable> {
    // Lengths are checked first; a field past them reads as 0.
    let le32 = |o: usize| crate::bytes::u32_le_at(bytes, o).unwrap_or(0);
    if bytes.len() < 8 {
        return None;
    }
    let signature = acpi_text(&bytes[..4]);
    if signature == "FACS" {
        return Some(AcpiTable {
            signature,
            address,
            length: le32(4),
            via: String::from(via),
            ..AcpiTable::default()
        });
    }
    if bytes.len() < 36 {
        return None;
    }
    Some(AcpiTable {
        signature,
        address,
        length: le32(4),
        revision: bytes[8],
        oem_id: acpi_text(&bytes[10..16]),
        oem_table_id: acpi_text(&bytes[16..24]),
        oem_revision: le32(24),
        creator_id: acpi_text(&bytes[28..32]),
        creator_revision: le32(32),
        checksum_valid: Some(bytes.iter().fold(0u8, |a, &x| a.wrapping_add(x)) == 0),
        via: String::from(via),
        ..AcpiTable::default()
    })
}

/// Byte ranges (offset, length) of a table that hold physical addresses of
/// other firmware memory, which move when memory moves: the FADT's
/// FIRMWARE_CTRL, DSDT, X_FIRMWARE_CTRL and X_DSDT; the TPM2 table's log
/// area start address; the BGRT's image address; every entry of the XSDT
/// and RSDT (their lists are compared by the tables they lead to).
pub fn acpi_address_fields(signature: &[u8], len: usize) -> &'static [(usize, usize)] {
    match signature {
        b"FACP" => &[(36, 4), (40, 4), (132, 8), (140, 8)],
        b"TPM2" if len >= 76 => &[(68, 8)],
        b"BGRT" => &[(40, 8)],
        b"XSDT" | b"RSDT" => &[(36, usize::MAX)],
        _ => &[],
    }
}

/// Zeroes a table's checksum byte and its address fields (as far as the
/// table reaches), in place: the input of [`AcpiTable::content_sha256`].
/// Returns false for a table shorter than its header, or the FACS.
pub fn mask_acpi_addresses(table: &mut [u8]) -> bool {
    if table.len() < 36 || &table[..4] == b"FACS" {
        return false;
    }
    table[9] = 0;
    let sig = [table[0], table[1], table[2], table[3]];
    let len = table.len();
    for &(at, n) in acpi_address_fields(&sig, len) {
        let end = at.saturating_add(n).min(len);
        if at < end {
            table[at..end].fill(0);
        }
    }
    true
}
