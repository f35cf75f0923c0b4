//! ACPI tables from /sys/firmware/acpi/tables: every table file (the
//! top-level ones, which the kernel names by signature with an instance
//! number for repeats, SSDT1, SSDT2, ...; and dynamic/ and data/, the tables
//! loaded at run time and the BERT/BGRT-style data), with the header facts,
//! SHA-256 and masked content hash the collector records. The RSDP address
//! comes from /sys/firmware/efi/systab (`ACPI20=`, else `ACPI=`).

use super::{entries, failed, read_or_record, read_text, under};
use crate::snapshot::{Acpi, AcpiTable, CollectError, Part, Rsdp};
use std::path::Path;

/// No real table is larger (as in the collector).
const MAX_TABLE: u64 = 4 << 20;
const MAX_TABLES: usize = 512;

fn table(p: &Path, via: &str, errors: &mut Vec<CollectError>) -> Option<AcpiTable> {
    let bytes = read_or_record(p, MAX_TABLE, Part::Acpi, errors)?;
    let Some(mut t) = bootaudit_snapshot::acpi_table_facts(&bytes, 0, via) else {
        failed(
            errors,
            Part::Acpi,
            format!(
                "{}: {} bytes, shorter than a table header",
                p.display(),
                bytes.len()
            ),
            "malformed",
        );
        return None;
    };
    if t.length as usize != bytes.len() {
        failed(
            errors,
            Part::Acpi,
            format!(
                "{}: header length {} but the file holds {} bytes",
                p.display(),
                t.length,
                bytes.len()
            ),
            "malformed",
        );
    }
    t.sha256 = crate::hexser::sha256(&bytes);
    let mut masked = bytes.clone();
    if bootaudit_snapshot::mask_acpi_addresses(&mut masked) {
        t.content_sha256 = Some(crate::hexser::sha256(&masked));
    }
    Some(t)
}

/// A file under data/: not a table but a region a table points to (the
/// BERT's error records, the BGRT's image), recorded by its name, size and
/// SHA-256.
fn data(p: &Path, errors: &mut Vec<CollectError>) -> Option<AcpiTable> {
    let bytes = read_or_record(p, MAX_TABLE, Part::Acpi, errors)?;
    Some(AcpiTable {
        signature: p.file_name()?.to_string_lossy().into_owned(),
        length: bytes.len() as u32,
        sha256: crate::hexser::sha256(&bytes),
        via: "sysfs-data".into(),
        ..AcpiTable::default()
    })
}

/// The kernel names repeated tables SSDT1, SSDT2, ..., SSDT10 in the
/// order the root table lists them: sort by name, then number.
fn table_order(p: &Path) -> (String, u64) {
    let n = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let digits = n.len() - n.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let (name, num) = n.split_at(n.len() - digits);
    (name.to_string(), num.parse().unwrap_or(0))
}

/// The RSDP's physical address from the EFI system table's list.
fn rsdp_address(root: &Path) -> Option<u64> {
    let systab = read_text(&under(root, "/sys/firmware/efi/systab")).ok()?;
    let find = |key: &str| {
        systab.lines().find_map(|l| {
            let v = l.strip_prefix(key)?;
            u64::from_str_radix(v.trim().trim_start_matches("0x"), 16).ok()
        })
    };
    find("ACPI20=").or_else(|| find("ACPI="))
}

/// Collects the ACPI part; None when the kernel shows no tables.
pub(super) fn collect(root: &Path, errors: &mut Vec<CollectError>) -> Option<Acpi> {
    let dir = under(root, "/sys/firmware/acpi/tables");
    let mut files = entries(&dir, MAX_TABLES, Part::Acpi, errors)?;
    files.sort_by_key(|p| table_order(p));
    let mut acpi = Acpi {
        rsdp: Rsdp {
            address: rsdp_address(root).unwrap_or(0),
            ..Rsdp::default()
        },
        ..Acpi::default()
    };
    // The RSDP itself is not exposed; its checksum cannot be judged here.
    acpi.rsdp.checksum_valid = true;
    for f in files {
        if f.is_dir() {
            let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
            for g in entries(&f, MAX_TABLES, Part::Acpi, errors).unwrap_or_default() {
                if !g.is_file() {
                    continue;
                }
                match name {
                    "dynamic" => acpi.tables.extend(table(&g, "sysfs-dynamic", errors)),
                    "data" => acpi.tables.extend(data(&g, errors)),
                    _ => {}
                }
            }
        } else if f.is_file() {
            acpi.tables.extend(table(&f, "sysfs", errors));
        }
    }
    Some(acpi)
}
