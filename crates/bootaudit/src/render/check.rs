//! The report of `bootaudit check`: the level, the counts, and every
//! check with its result and reason, failures first. Formats what
//! [`crate::check`] computed.

use super::escape::E;
use super::new_table;
use crate::check::{Outcome, Report};
use std::fmt::Write;

/// The identity line: what the machine says it is (evidence, not proof).
pub(crate) fn identity(r: &Report) -> String {
    match &r.identity {
        Some(i) => {
            let mut s = format!(
                "{} firmware rev {:#x}, UEFI {}",
                i.firmware_vendor, i.firmware_revision, i.uefi_revision
            );
            if let Some(b) = &i.smbios {
                let _ = write!(
                    s,
                    "; {} {} (BIOS {} {})",
                    b.system_manufacturer, b.system_product, b.bios_vendor, b.bios_version
                );
            }
            s
        }
        None => "no identity part".into(),
    }
}

/// The order results are listed in: failures, unknowns, passes, then
/// those that do not apply; worst first within each.
pub(crate) fn ordered(r: &Report) -> Vec<&crate::check::CheckResult> {
    let rank = |o: Outcome| match o {
        Outcome::Fail => 0,
        Outcome::Unknown => 1,
        Outcome::Pass => 2,
        Outcome::NotApplicable => 3,
    };
    let mut v: Vec<_> = r.results.iter().collect();
    v.sort_by_key(|c| (rank(c.result), std::cmp::Reverse(c.severity)));
    v
}

/// The level line.
pub(crate) fn level(r: &Report) -> String {
    if r.level_held_by.is_empty() {
        format!("Level {}: every check passed or does not apply", r.level)
    } else {
        format!(
            "Level {}: level {} is held by {}",
            r.level,
            r.level + 1,
            r.level_held_by.join(", ")
        )
    }
}

/// Renders the report as text.
pub fn table(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Snapshot: {} ({})", E(&r.file), E(&r.source));
    let _ = writeln!(out, "Machine says: {}", E(identity(r)));
    let mut t = new_table(&["Result", "Check", "Severity", "Level", "Reason"]);
    for c in ordered(r) {
        t.add_row(vec![
            c.result.word().to_uppercase(),
            c.id.to_string(),
            c.severity.word().to_string(),
            c.level.to_string(),
            c.reason.clone(),
        ]);
    }
    let _ = writeln!(out, "{t}");
    let _ = writeln!(
        out,
        "{} pass, {} fail, {} unknown, {} not applicable",
        r.counts.pass, r.counts.fail, r.counts.unknown, r.counts.not_applicable
    );
    let _ = writeln!(out, "{}", level(r));
    out
}

/// Renders the report as one self-contained HTML page.
pub fn html(r: &Report) -> String {
    super::html::check(r)
}
