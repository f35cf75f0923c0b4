//! The table for `bootaudit diff`: findings grouped by severity, the
//! unexplained ones first.

use super::escape::E;
use super::{escape, new_table};
use crate::diff::firmware_update::{FirmwareUpdate, Grade};
use crate::diff::DiffReport;
use std::fmt::Write;

/// Renders the diff report.
pub fn table(r: &DiffReport) -> String {
    let mut out = String::new();
    // The two sides, and which identity showed them to be one machine.
    let identity = r
        .machine_identity
        .map(|m| format!(" (the same machine by {})", m.describe()))
        .unwrap_or_default();
    let _ = writeln!(out, "{} -> {}{identity}", E(&r.baseline), E(&r.current));
    let update = match &r.firmware_update {
        Some(FirmwareUpdate {
            grade: Grade::Verified { reference },
            explains,
            ..
        }) => format!(
            "; firmware update verified against the reference {}, which explains {explains} finding{}",
            escape::line(reference),
            if *explains == 1 { "" } else { "s" }
        ),
        _ => String::new(),
    };
    let update = if r.unverified_acceptances > 0 {
        format!(
            "{update}; {} accepted or learned as varying in an unverified baseline, not applied (sign it, or --trust-unsigned-baseline)",
            r.unverified_acceptances
        )
    } else {
        update
    };
    if r.findings.is_empty() {
        let _ = writeln!(out, "No differences{update}.");
        return out;
    }
    findings_with(&mut out, &r.findings, &r.summary, &update);
    out
}

/// The findings table and the counts line, shared by every report made of
/// findings.
pub fn findings(
    out: &mut String,
    findings: &[crate::findings::Finding],
    s: &crate::findings::Summary,
) {
    findings_with(out, findings, s, "");
}

/// [`findings`], with `more` (already escaped) at the end of the counts
/// line.
fn findings_with(
    out: &mut String,
    findings: &[crate::findings::Finding],
    s: &crate::findings::Summary,
    more: &str,
) {
    let mut t = new_table(&["Severity", "Rule", "Finding"]);
    for f in findings {
        let msg = match (&f.explanation, f.explained) {
            (Some(e), true) => vec![f.message.clone(), format!("  explained: {e}")],
            (Some(e), false) => vec![
                f.message.clone(),
                format!("  noted (not an explanation): {e}"),
            ],
            (None, _) => vec![f.message.clone()],
        };
        let sev = if f.explained {
            f.severity.word().to_string()
        } else {
            format!("{} !", f.severity.word().to_uppercase())
        };
        t.add_row_lines(vec![vec![sev], vec![f.rule.to_string()], msg]);
    }
    let _ = writeln!(
        out,
        "{t}\n{} critical, {} high, {} medium, {} low, {} info; {} unexplained (marked !){more}",
        s.critical, s.high, s.medium, s.low, s.info, s.unexplained
    );
}
