//! The table for `bootaudit diff`: findings grouped by severity, the
//! unexplained ones first.

use super::new_table;
use crate::diff::DiffReport;
use std::fmt::Write;

/// Renders the diff report.
pub fn table(r: &DiffReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} -> {}", r.baseline, r.current);
    if r.findings.is_empty() {
        let _ = writeln!(out, "No differences.");
        return out;
    }
    findings(&mut out, &r.findings, &r.summary);
    out
}

/// The findings table and the counts line, shared by every report made of
/// findings.
pub fn findings(
    out: &mut String,
    findings: &[crate::findings::Finding],
    s: &crate::findings::Summary,
) {
    let mut t = new_table(&["Severity", "Rule", "Finding"]);
    for f in findings {
        let msg = match (&f.explanation, f.explained) {
            (Some(e), true) => format!("{}\n  explained: {e}", f.message),
            (Some(e), false) => format!("{}\n  noted (not an explanation): {e}", f.message),
            (None, _) => f.message.clone(),
        };
        let sev = if f.explained {
            f.severity.word().to_string()
        } else {
            format!("{} !", f.severity.word().to_uppercase())
        };
        t.add_row(vec![sev, f.rule.to_string(), msg]);
    }
    let _ = writeln!(
        out,
        "{t}\n{} critical, {} high, {} medium, {} low, {} info; {} unexplained (marked !)",
        s.critical, s.high, s.medium, s.low, s.info, s.unexplained
    );
}
