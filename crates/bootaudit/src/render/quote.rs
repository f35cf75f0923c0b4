//! The table for `bootaudit verify-quote`: each check and its verdict.

use super::escape::E;
use super::new_table;
use crate::quote::QuoteReport;
use std::fmt::Write;

/// Renders the report.
pub fn table(r: &QuoteReport) -> String {
    let mut out = String::new();
    let mut t = new_table(&["Check", "Result", "Detail"]);
    for c in &r.checks {
        t.add_row(vec![
            c.check.to_string(),
            if c.ok { "ok" } else { "FAILED" }.to_string(),
            c.detail.clone(),
        ]);
    }
    let _ = writeln!(
        out,
        "{}\n{t}\n{}",
        E(&r.snapshot),
        if r.ok {
            "The quote vouches for the snapshot's PCRs, and its log replays to them."
        } else {
            "The snapshot's PCRs are NOT vouched for by the trusted TPM."
        }
    );
    out
}
