//! The table for `bootaudit verify-boot`: each check and its outcome.

use super::escape::E;
use super::new_table;
use crate::bootbind::{BootReport, Outcome};
use std::fmt::Write;

/// Renders the report.
pub fn table(r: &BootReport) -> String {
    let mut out = String::new();
    let mut t = new_table(&["Check", "Result", "Detail"]);
    for c in &r.checks {
        t.add_row(vec![
            c.check.clone(),
            outcome(c.outcome).to_string(),
            c.detail.clone(),
        ]);
    }
    let _ = writeln!(
        out,
        "{} against {}\n{t}\n{}",
        E(&r.collector),
        E(&r.host),
        match r.verdict {
            Outcome::Pass =>
                "The collector snapshot is of this boot, this TPM and its pre-OS moment.",
            Outcome::Fail => "The collector snapshot is NOT bound to the host's boot.",
            Outcome::Unknown => "Not every check could be decided: the binding is NOT proven.",
        }
    );
    out
}

fn outcome(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => "ok",
        Outcome::Fail => "FAILED",
        Outcome::Unknown => "unknown",
    }
}
