//! The table for `bootaudit verify-bundle`.

use super::escape::E;
use super::new_table;
use crate::bundle::{BundleReport, Verdict};
use std::fmt::Write;

/// Renders the report.
pub fn table(r: &BundleReport) -> String {
    let mut out = String::new();
    let m = &r.manifest;
    let _ = writeln!(
        out,
        "{}\nmanifest SHA-256 {}\ncollected {} by {} with {}, host {} (machine-id {})",
        E(&r.bundle),
        E(&r.manifest_sha256),
        E(&m.collected_at),
        E(m.operator.as_deref().unwrap_or("(no operator)")),
        E(&m.tool),
        E(m.host.hostname.as_deref().unwrap_or("?")),
        E(m.host.machine_id.as_deref().unwrap_or("?")),
    );
    let mut t = new_table(&["Check", "File", "Result", "Detail"]);
    for c in &r.checks {
        t.add_row(vec![
            c.check.to_string(),
            c.file.clone().unwrap_or_default(),
            match c.verdict {
                Verdict::Pass => "ok",
                Verdict::Fail => "FAILED",
                Verdict::Unknown => "unknown",
            }
            .to_string(),
            c.detail.clone(),
        ]);
    }
    let _ = writeln!(
        out,
        "{t}\n{}",
        match (r.ok, r.sealed) {
            (true, true) => "The bundle is whole, and sealed: its manifest is vouched for.",
            (true, false) => "The bundle is unsealed: its files match its own manifest, which anyone could have rewritten.",
            (false, _) => "The bundle is NOT what it was when sealed.",
        }
    );
    out
}
