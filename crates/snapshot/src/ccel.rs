//! The ACPI CCEL table of a confidential VM (UEFI 2.10, §38.4.2): where its
//! CC event log lies.

/// The fields of an ACPI CCEL table (signature "CCEL", 56 bytes: the
/// 36-byte header, CC type, subtype, two reserved bytes, LAML, LASA).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CcelTable {
    /// CC type (1 AMD SEV, 2 Intel TDX).
    pub cc_type: u8,
    /// CC subtype.
    pub cc_subtype: u8,
    /// LAML.
    pub log_area_minimum_length: u64,
    /// LASA.
    pub log_area_start_address: u64,
}

/// Reads a CCEL table; None when `b` is not one (another signature, or
/// shorter than 56 bytes or than its own header length says).
pub fn ccel_table(b: &[u8]) -> Option<CcelTable> {
    if b.get(..4)? != b"CCEL" {
        return None;
    }
    let len = u32::from_le_bytes(b.get(4..8)?.try_into().ok()?) as usize;
    if len < 56 || b.len() < len {
        return None;
    }
    let u64_at = |at: usize| -> Option<u64> {
        Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
    };
    Some(CcelTable {
        cc_type: b[36],
        cc_subtype: b[37],
        log_area_minimum_length: u64_at(40)?,
        log_area_start_address: u64_at(48)?,
    })
}
