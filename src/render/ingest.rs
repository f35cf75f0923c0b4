//! The table for `bootaudit ingest`.

use super::escape::E;
use super::new_table;
use crate::ingest::IngestReport;
use std::fmt::Write;

/// Renders the ingest report.
pub fn table(r: &IngestReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} ({}): {} snapshots",
        E(&r.esp),
        E(&r.layout),
        r.snapshots.len()
    );
    let mut t = new_table(&[
        "On the ESP",
        "Read-back",
        "Source",
        "ACPI files",
        "Written to / error",
    ]);
    for s in &r.snapshots {
        t.add_row(vec![
            s.esp_path.clone(),
            s.readback.clone(),
            s.source.clone().unwrap_or_else(|| "-".into()),
            s.acpi_files.to_string(),
            s.error
                .clone()
                .or_else(|| s.written.clone())
                .unwrap_or_default(),
        ]);
    }
    let _ = writeln!(out, "{t}");
    let _ = writeln!(
        out,
        "{}",
        if r.ok {
            "Result: every snapshot is valid and matches the collector's read-back record"
        } else {
            "Result: some snapshots are invalid or changed since the collector wrote them (see above)"
        }
    );
    out
}
