//! The table for `bootaudit ak`: the step's verdict and the EK chain.

use super::escape::E;
use super::new_table;
use crate::attest::enrol::Summary;
use std::fmt::Write;

/// Renders a step's summary.
pub fn table(s: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "ak {}: {}\n{}",
        E(&s.step),
        if s.ok { "ok" } else { "REFUSED" },
        E(&s.detail)
    );
    if !s.ek_chain.is_empty() {
        let mut t = new_table(&["Certificate", "Subject", "Issuer", "SHA-256"]);
        for e in &s.ek_chain {
            t.add_row(vec![
                e.origin.clone(),
                e.subject.clone(),
                e.issuer.clone(),
                e.sha256.clone(),
            ]);
        }
        let _ = writeln!(out, "{t}");
    }
    if let Some(w) = &s.wrote {
        let _ = writeln!(out, "wrote {}", E(w));
    }
    out
}
