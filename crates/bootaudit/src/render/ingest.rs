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
        let mut last = vec![s
            .error
            .clone()
            .or_else(|| s.written.clone())
            .unwrap_or_default()];
        last.extend(s.sidecars_refused.iter().map(|x| format!("REFUSED {x}")));
        t.add_row_lines(vec![
            vec![s.esp_path.clone()],
            vec![s.readback.clone()],
            vec![s.source.clone().unwrap_or_else(|| "-".into())],
            vec![s.acpi_files.to_string()],
            last,
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
