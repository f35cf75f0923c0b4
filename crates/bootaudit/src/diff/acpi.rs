//! ACPI tables: added, removed and changed tables, by signature and OEM
//! table ID. Persistence-relevant tables weigh most: a new WPBT makes
//! Windows run a binary the firmware supplies; a new SSDT or a changed DSDT,
//! FACP, MCFG, DMAR, IVRS or TPM2 under the same OEM revision has no
//! innocent explanation, except a RAM change that rewrote the table's
//! memory-layout fields in place (same length).

use crate::findings::Finding;
use crate::snapshot::{AcpiTable, Snapshot};
use serde_json::json;
use std::collections::BTreeMap;

/// Tables whose content holds addresses that move when memory moves: they
/// are compared by their content hash with those fields zeroed
/// (`content_sha256`, see `bootaudit_snapshot::mask_acpi_addresses`), and
/// not at all when a snapshot lacks it (older collectors). The XSDT, RSDT
/// and FACS are never compared by content (see `content_differs`).
pub(crate) const POINTER_TABLES: &[&str] = &["XSDT", "RSDT", "FACP", "TPM2", "BGRT", "FACS"];
/// Tables never compared by content: the XSDT and RSDT are lists of the
/// other tables, which are compared one by one (a new entry is a new
/// table); the FACS is written at run time.
pub(crate) const NEVER_BY_CONTENT: &[&str] = &["XSDT", "RSDT", "FACS"];

/// Whether two instances of a table differ in what they say: by the whole
/// table's hash, or for tables full of addresses by the masked hash.
fn content_differs(x: &AcpiTable, y: &AcpiTable) -> bool {
    if x.sha256 == y.sha256 || NEVER_BY_CONTENT.contains(&y.signature.as_str()) {
        return false;
    }
    if !POINTER_TABLES.contains(&y.signature.as_str()) {
        return true;
    }
    match (&x.content_sha256, &y.content_sha256) {
        (Some(a), Some(b)) => a != b,
        _ => false,
    }
}

fn key(t: &AcpiTable) -> (String, String) {
    (t.signature.clone(), t.oem_table_id.clone())
}

/// The tables of `s` by (signature, OEM table ID). `mixed`: the other
/// snapshot comes from another kind of producer, so what only one of them
/// can see is left out (a running Linux host shows neither the XSDT nor
/// the RSDT, and shows data regions, data/, the collector does not read).
fn index(s: &Snapshot, mixed: bool) -> BTreeMap<(String, String), Vec<&AcpiTable>> {
    let mut m: BTreeMap<_, Vec<&AcpiTable>> = BTreeMap::new();
    if let Some(a) = &s.acpi {
        for t in &a.tables {
            if mixed && (["XSDT", "RSDT"].contains(&t.signature.as_str()) || t.via == "sysfs-data")
            {
                continue;
            }
            m.entry(key(t)).or_default().push(t);
        }
    }
    m
}

fn ev(t: &AcpiTable) -> serde_json::Value {
    json!({"signature": t.signature, "oem_id": t.oem_id, "oem_table_id": t.oem_table_id,
           "oem_revision": t.oem_revision, "length": t.length, "address": t.address, "sha256": t.sha256,
           "content_sha256": t.content_sha256})
}

pub(super) fn diff(a: &Snapshot, b: &Snapshot, f: &mut Vec<Finding>) {
    if a.acpi.is_none() || b.acpi.is_none() {
        return;
    }
    let mixed = a.source.kind != b.source.kind;
    let (ia, ib) = (index(a, mixed), index(b, mixed));
    for (k, tb) in &ib {
        let ta = ia.get(k).map(Vec::as_slice).unwrap_or(&[]);
        for t in tb.iter().skip(ta.len()) {
            let why = match t.signature.as_str() {
                "WPBT" => "a WPBT makes Windows run a firmware-supplied binary at every boot",
                "SSDT" => "extra AML code for the OS's ACPI interpreter",
                _ => "a table the firmware did not publish before",
            };
            let ex = crate::rules::acpi_table_added_explainers(&t.signature);
            f.push(
                Finding::new(
                    crate::rules::ACPI_TABLE_ADDED,
                    format!(
                        "new ACPI table {} ({} {}): {why}",
                        t.signature, t.oem_id, t.oem_table_id
                    ),
                    json!({"after": ev(t)}),
                )
                .at(crate::rules::acpi_table_added(&t.signature))
                .about(format!("{} {}", t.signature, t.oem_table_id))
                .explainable(ex),
            );
        }
        for (x, y) in ta.iter().zip(tb.iter()) {
            if !content_differs(x, y) {
                continue;
            }
            let same_rev = x.oem_revision == y.oem_revision;
            let sev = crate::rules::acpi_table_changed(&y.signature, same_rev);
            // Tables encode the memory layout in fixed-width fields (a
            // DSDT's PCI window starts above RAM): a RAM change rewrites
            // them in place, at the same length. Anything that grew or
            // shrank has more to it than a moved address.
            let ex = crate::rules::acpi_table_changed_explainers(
                &y.signature,
                same_rev,
                x.length == y.length,
            );
            f.push(
                Finding::new(
                    crate::rules::ACPI_TABLE_CHANGED,
                    format!(
                        "ACPI table {} ({}) changed{}",
                        y.signature,
                        y.oem_table_id,
                        if same_rev {
                            " under the same OEM revision"
                        } else {
                            ""
                        }
                    ),
                    json!({"before": ev(x), "after": ev(y)}),
                )
                .at(sev)
                .about(format!("{} {}", y.signature, y.oem_table_id))
                .explainable(ex),
            );
        }
    }
    for (k, ta) in &ia {
        let tb = ib.get(k).map(Vec::as_slice).unwrap_or(&[]);
        for t in ta.iter().skip(tb.len()) {
            let sev = crate::rules::acpi_table_removed(&t.signature);
            f.push(
                Finding::new(
                    crate::rules::ACPI_TABLE_REMOVED,
                    format!(
                        "ACPI table {} ({} {}) is gone",
                        t.signature, t.oem_id, t.oem_table_id
                    ),
                    json!({"before": ev(t)}),
                )
                .at(sev)
                .about(format!("{} {}", t.signature, t.oem_table_id))
                .explainable(crate::rules::ACPI_TABLE_REMOVED.explainers()),
            );
        }
    }
    if let Some(r) = b.acpi.as_ref().map(|x| &x.rsdp) {
        if !r.checksum_valid || r.extended_checksum_valid == Some(false) {
            f.push(Finding::new(
 crate::rules::ACPI_RSDP_CHECKSUM,
"the RSDP's checksum is invalid: it was edited after the firmware built it".into(),
                json!({"after": {"address": r.address, "checksum_valid": r.checksum_valid, "extended_checksum_valid": r.extended_checksum_valid}}),
            ));
        }
    }
}
