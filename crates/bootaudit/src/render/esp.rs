//! Tables for `bootaudit esp`: the ESP's EFI binaries, then what became of
//! each boot application the log says ran.

use super::escape::E;
use super::new_table;
use crate::esp::binaries::{EspReport, Verdict};
use std::fmt::Write;

/// Renders the report.
pub fn table(r: &EspReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} ({}): {} EFI binaries",
        E(&r.esp),
        E(&r.layout),
        r.binaries.len()
    );
    let mut t = new_table(&["Path", "Size", "Signed", "Authenticode SHA-256"]);
    for b in &r.binaries {
        t.add_row(vec![
            b.path.clone(),
            b.size.to_string(),
            match (&b.error, b.certificates) {
                (Some(_), _) => "-".into(),
                (None, 0) => "no".into(),
                (None, n) => format!("yes ({n})"),
            },
            match &b.error {
                Some(e) => e.clone(),
                None => b.authenticode_sha256.clone(),
            },
        ]);
    }
    let _ = writeln!(out, "{t}");
    if let Some(apps) = &r.boot_applications {
        let mut t = new_table(&["Event", "Boot application (PCR4)", "On the ESP"]);
        for a in apps {
            let v = match a.verdict {
                Verdict::OnEsp => a.matching_files.join(", "),
                Verdict::DiffersFromFile => format!(
                    "DIFFERS: {} has another Authenticode hash than the one measured ({})",
                    a.file_at_path.as_deref().unwrap_or("?"),
                    a.digest
                ),
                Verdict::NotOnEsp => format!("NOT ON THE ESP (measured {})", a.digest),
                Verdict::NotComparable => "no SHA-256 digest in the log".into(),
            };
            t.add_row(vec![a.event.to_string(), a.device_path.clone(), v]);
        }
        let _ = writeln!(out, "{t}");
    }
    out
}
