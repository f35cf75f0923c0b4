//! The table for `bootaudit fleet`: one line per group (hosts, outliers),
//! then each outlier host with its findings at or above the threshold (and
//! each unreadable snapshot with its error).

use super::escape::E;
use super::new_table;
use crate::findings::Severity;
use crate::fleet::{FleetSummary, HostRecord};
use std::fmt::Write;

/// Renders the summary and the outliers.
pub fn table(s: &FleetSummary, outliers: &[HostRecord], threshold: Severity) -> String {
    let mut out = String::new();
    let mut t = new_table(&[
        "Manufacturer",
        "Product",
        "BIOS",
        "FW rev",
        "Hosts",
        "Outliers",
    ]);
    for g in &s.groups {
        t.add_row(vec![
            g.group.manufacturer.clone(),
            g.group.product.clone(),
            g.group.bios_version.clone(),
            format!("{:#x}", g.group.firmware_revision),
            g.hosts.to_string(),
            g.outliers.to_string(),
        ]);
    }
    let _ = writeln!(
        out,
        "{} hosts in {} groups{}\n{t}",
        s.hosts,
        s.groups.len(),
        if s.unreadable > 0 {
            format!(", {} snapshots unreadable", s.unreadable)
        } else {
            String::new()
        }
    );
    if outliers.is_empty() {
        let _ = writeln!(
            out,
            "No host has an unexplained finding at or above {}.",
            threshold.word()
        );
        return out;
    }
    for h in outliers {
        if let Some(e) = &h.error {
            let _ = writeln!(out, "\n{}: unreadable: {}", E(&h.source), E(e));
            continue;
        }
        let _ = writeln!(
            out,
            "\n{} ({}; {} {} BIOS {})",
            E(&h.host),
            E(&h.source),
            E(&h.group.manufacturer),
            E(&h.group.product),
            E(&h.group.bios_version)
        );
        let mut t = new_table(&["Severity", "Rule", "Finding"]);
        let group = h.findings.iter().map(|f| (f, ""));
        let own = h
            .baseline_findings
            .iter()
            .flatten()
            .map(|f| (f, " (against its baseline)"));
        for (f, whence) in group.chain(own) {
            if f.explained || f.severity < threshold {
                continue;
            }
            t.add_row(vec![
                f.severity.word().to_uppercase(),
                f.rule.to_string(),
                format!("{}{whence}", f.message),
            ]);
        }
        let _ = writeln!(out, "{t}");
    }
    out
}
