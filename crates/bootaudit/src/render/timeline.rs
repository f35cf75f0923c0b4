//! The report of `bootaudit timeline`: the evidence read, the findings
//! worst first, then the time line itself, firmware states and events in
//! time order. Formats what [`crate::timeline`] computed.

use super::escape::E;
use super::new_table;
use crate::timeline::{Event, FirmwareState, Report, Row};
use std::fmt::Write;

/// A state as one line of the time line.
pub(crate) fn state_line(s: &FirmwareState) -> String {
    let mut l = format!(
        "firmware state {}: PCR0 {}",
        s.firmware,
        s.pcr0.as_deref().unwrap_or("not measured")
    );
    for (n, p) in [(2, &s.pcr2), (4, &s.pcr4), (7, &s.pcr7)] {
        if let Some(p) = p {
            let _ = write!(l, ", PCR{n} {p}");
        }
    }
    if let Some(v) = s.scrtm_version.as_ref().filter(|v| !v.is_empty()) {
        let _ = write!(l, ", S-CRTM {v}");
    }
    match s.replays {
        Some(true) => l.push_str(", the log replays to its PCRs"),
        Some(false) => l.push_str(", the log does NOT replay to its PCRs"),
        None => {}
    }
    if !s.claims.is_empty() {
        let _ = write!(l, "; says {}", s.claims);
    }
    let _ = write!(l, " (placed by {})", s.placed_by);
    l
}

/// An event's who and tool, as one cell.
pub(crate) fn actor(e: &Event) -> String {
    let mut parts = Vec::new();
    let who = e.who.text();
    if !who.is_empty() {
        parts.push(who);
    }
    if let Some(t) = &e.tool {
        let mut s = t.path.clone();
        if let Some(h) = &t.hashes.sha256 {
            let _ = write!(s, " sha256 {h}");
        }
        if let Some(sig) = &t.signer {
            let _ = write!(
                s,
                " signed {sig} ({})",
                t.signature_status.as_deref().unwrap_or("?")
            );
        }
        parts.push(s);
    }
    for m in &e.matches {
        parts.push(format!("matches {} {} by {}", m.list, m.id, m.by));
    }
    parts.join("; ")
}

/// What happened, and to what.
pub(crate) fn what(e: &Event) -> String {
    match &e.object {
        Some(o) if !e.what.contains(o.as_str()) => format!("{}: {o}", e.what),
        _ => e.what.clone(),
    }
}

/// Renders the report as text.
pub fn table(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Evidence: {} file(s) read, {} passed over; host {}",
        r.inputs.len(),
        r.passed_over,
        E(&r.host)
    );
    let mut t = new_table(&["File", "Kind", "Records", "Events", "From", "To", "Notes"]);
    for i in &r.inputs {
        let mut notes = Vec::new();
        for c in &i.cleared {
            notes.push(format!("cleared {c}"));
        }
        notes.extend(i.damage.iter().take(3).cloned());
        t.add_row(vec![
            i.file.clone(),
            i.kind.word().to_string(),
            i.records.to_string(),
            i.events.to_string(),
            i.first.map(|t| t.to_string()).unwrap_or_default(),
            i.last.map(|t| t.to_string()).unwrap_or_default(),
            notes.join("; "),
        ]);
    }
    let _ = writeln!(out, "{t}");
    for c in &r.firmware_logs {
        let _ = writeln!(
            out,
            "Firmware log {}: {} drivers and {} PEIMs loaded; {}",
            E(&c.log),
            c.drivers_loaded,
            c.peims_loaded,
            match &c.snapshot {
                Some(s) => format!("{} of them match {}", c.matched, E(s)),
                None => "no snapshot of its boot".to_string(),
            }
        );
    }
    for s in &r.clock_skew {
        let _ = writeln!(out, "Clocks: {}", E(s));
    }
    let mut f = new_table(&["Severity", "Rule", "Finding"]);
    for x in &r.findings {
        f.add_row(vec![
            x.severity.word().to_string(),
            x.rule.to_string(),
            x.message.clone(),
        ]);
    }
    if r.findings.is_empty() {
        let _ = writeln!(out, "No findings.");
    } else {
        let _ = writeln!(out, "{f}");
    }
    let mut l = new_table(&["Time (UTC)", "Kind", "Who / tool", "What", "Source"]);
    for row in &r.rows {
        match *row {
            Row::State(i) => {
                let s = &r.states[i];
                l.add_row(vec![
                    s.at.map(|t| t.to_string())
                        .unwrap_or_else(|| "unknown".into()),
                    "FIRMWARE".to_string(),
                    String::new(),
                    state_line(s),
                    s.source.to_string(),
                ]);
            }
            Row::Event(i) => {
                let e = &r.events[i];
                l.add_row(vec![
                    e.at.map(|t| t.to_string())
                        .unwrap_or_else(|| "unknown".into()),
                    e.kind.word().to_string(),
                    actor(e),
                    what(e),
                    e.source.to_string(),
                ]);
            }
        }
    }
    let _ = writeln!(out, "{l}");
    let s = &r.summary;
    let _ = writeln!(
        out,
        "{} events, {} firmware states; findings: {} critical, {} high, {} medium, {} low, {} info",
        r.events.len(),
        r.states.len(),
        s.critical,
        s.high,
        s.medium,
        s.low,
        s.info
    );
    out
}

/// Renders the report as one self-contained HTML page.
pub fn html(r: &Report) -> String {
    super::html::timeline(r)
}
