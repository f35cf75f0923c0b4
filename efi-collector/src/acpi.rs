//! ACPI tables from the RSDP in the configuration table: the RSDP's facts,
//! every table the XSDT (or RSDT) lists, then the DSDT and FACS the FADT
//! points to; each table's header facts, checksum and SHA-256, and its raw
//! bytes for sidecar files. Counts and lengths are bounded: a table list or
//! a length that makes no sense is recorded as an error, not followed.

use alloc::format;
use alloc::string::ToString;
use alloc::vec::Vec;
use bootaudit_snapshot::{Acpi, AcpiTable, CollectError, Part, Rsdp};
use sha2::{Digest, Sha256};
use uefi::prelude::*;

const ACPI2: uefi::Guid = uefi::guid!("8868e871-e4f1-11d3-bc22-0080c73c8881");
const ACPI1: uefi::Guid = uefi::guid!("eb9d2d30-2d88-11d3-9a16-0090273fc14d");
/// No real table is larger (a DSDT is at most a few hundred KiB).
const MAX_TABLE: usize = 4 << 20;
const MAX_TABLES: usize = 256;

/// Reads `n` bytes of physical memory.
///
/// SAFETY: the caller passes an address the firmware published as an ACPI
/// structure; UEFI maps physical memory one to one.
unsafe fn phys(addr: u64, n: usize) -> &'static [u8] {
    core::slice::from_raw_parts(addr as usize as *const u8, n)
}

use bootaudit_snapshot::acpi_text as text;

/// Fields of tables whose length was checked before (the one byte
/// reader's point reads); a field past a short table reads as 0, never a
/// panic that would end the collection.
fn le32(b: &[u8], o: usize) -> u32 {
    bootaudit_snapshot::bytes::u32_le_at(b, o).unwrap_or(0)
}
fn le64(b: &[u8], o: usize) -> u64 {
    bootaudit_snapshot::bytes::u64_le_at(b, o).unwrap_or(0)
}
fn sums_to_zero(b: &[u8]) -> bool {
    b.iter().fold(0u8, |a, &x| a.wrapping_add(x)) == 0
}

/// One table at `addr`; None (with an error recorded) when its length makes
/// no sense. FACS has a different header: signature and length only.
fn table(addr: u64, via: &str, errors: &mut Vec<CollectError>) -> Option<(AcpiTable, Vec<u8>)> {
    if addr == 0 {
        return None;
    }
    // SAFETY: addr is an ACPI table the firmware published (RSDT/XSDT entry, FADT pointer); its header is 8 bytes at least.
    let head = unsafe { phys(addr, 8) };
    let sig = text(&head[..4]);
    let len = le32(head, 4) as usize;
    let facs = sig == "FACS";
    if len < if facs { 8 } else { 36 } || len > MAX_TABLE {
        crate::failed(
            errors,
            Part::Acpi,
            format!("table {sig} at {addr:#x}: length {len}"),
            None,
        );
        return None;
    }
    // SAFETY: the table's own length, checked against MAX_TABLE above.
    let bytes = unsafe { phys(addr, len) }.to_vec();
    let mut t = bootaudit_snapshot::acpi_table_facts(&bytes, addr, via)?;
    t.sha256 = crate::hex(&Sha256::digest(&bytes));
    let mut masked = bytes.clone();
    t.content_sha256 = bootaudit_snapshot::mask_acpi_addresses(&mut masked)
        .then(|| crate::hex(&Sha256::digest(&masked)));
    Some((t, bytes))
}

/// Collects the ACPI part and the raw bytes of every table, in order.
pub fn collect(errors: &mut Vec<CollectError>) -> Option<(Acpi, Vec<Vec<u8>>)> {
    let rsdp_addr = system::with_config_table(|t| {
        t.iter()
            .find(|e| e.guid == ACPI2)
            .or_else(|| t.iter().find(|e| e.guid == ACPI1))
            .map(|e| e.address as u64)
    });
    let Some(ra) = rsdp_addr.filter(|a| *a != 0) else {
        crate::failed(
            errors,
            Part::Acpi,
            "no ACPI table in the configuration table".to_string(),
            None,
        );
        return None;
    };
    // SAFETY: ra is the RSDP the firmware published in its configuration table; the ACPI 1.0 RSDP is 20 bytes.
    let r = unsafe { phys(ra, 20) };
    if &r[..8] != b"RSD PTR " {
        crate::failed(
            errors,
            Part::Acpi,
            format!("no RSDP signature at {ra:#x}"),
            None,
        );
        return None;
    }
    let revision = r[15];
    let mut rsdp = Rsdp {
        address: ra,
        revision,
        oem_id: text(&r[9..15]),
        checksum_valid: sums_to_zero(r),
        extended_checksum_valid: None,
        rsdt_address: le32(r, 16) as u64,
        xsdt_address: None,
    };
    if revision >= 2 {
        // SAFETY: revision 2 RSDPs are 36 bytes.
        let r36 = unsafe { phys(ra, 36) };
        let len = (le32(r36, 20) as usize).clamp(36, 1024);
        // SAFETY: len is the RSDP's own Length, clamped to 36..1024.
        rsdp.extended_checksum_valid = Some(sums_to_zero(unsafe { phys(ra, len) }));
        rsdp.xsdt_address = Some(le64(r36, 24)).filter(|a| *a != 0);
    }
    let (root, via, width) = match rsdp.xsdt_address {
        Some(x) => (x, "xsdt", 8),
        None => (rsdp.rsdt_address, "rsdt", 4),
    };
    let mut tables = Vec::new();
    let mut raw = Vec::new();
    let Some((root_t, root_b)) = table(root, "rsdp", errors) else {
        return Some((
            Acpi {
                rsdp,
                tables,
                sidecar_dir: None,
            },
            raw,
        ));
    };
    let entries: Vec<u64> = root_b[36..]
        .chunks_exact(width)
        .take(MAX_TABLES)
        .map(|c| {
            if width == 8 {
                le64(c, 0)
            } else {
                le32(c, 0) as u64
            }
        })
        .collect();
    tables.push(root_t);
    raw.push(root_b);
    for a in entries {
        if let Some((t, b)) = table(a, via, errors) {
            tables.push(t);
            raw.push(b);
        }
    }
    // The FADT's DSDT and FACS (64-bit fields win when set).
    let fadt = tables
        .iter()
        .position(|t| t.signature == "FACP")
        .map(|i| raw[i].clone());
    if let Some(f) = fadt {
        let pick = |x_off: usize, off: usize| -> u64 {
            if f.len() >= x_off + 8 && le64(&f, x_off) != 0 {
                le64(&f, x_off)
            } else if f.len() >= off + 4 {
                le32(&f, off) as u64
            } else {
                0
            }
        };
        for addr in [pick(140, 40), pick(132, 36)] {
            if let Some((t, b)) = table(addr, "fadt", errors) {
                tables.push(t);
                raw.push(b);
            }
        }
    }
    Some((
        Acpi {
            rsdp,
            tables,
            sidecar_dir: None,
        },
        raw,
    ))
}
