//! Tables for `bootaudit eventlog`. The event list is written row by row
//! as the events are decoded (a hostile log can hold millions); the small
//! tables after it are drawn whole.

use super::escape;
use super::new_table;
use crate::eventlog::check::DigestStatus;
use crate::eventlog::report::EventLogReport;
use crate::eventlog::{HashAlg, LogFormat};
use crate::pcrs::Verdict;
use std::fmt::Write;

/// Columns of the event text in a row (the row is 100 columns).
const EVENT_WIDTH: usize = 35;

/// Writes the report as text to `w`, the events one row at a time, every
/// string the log carries escaped for the terminal.
pub fn write_table(r: &EventLogReport, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut out = String::new();
    let fmt = match r.format {
        LogFormat::Sha1 => "SHA-1 (TCG_PCR_EVENT)",
        LogFormat::CryptoAgile => "crypto-agile (TCG_PCR_EVENT2)",
    };
    let banks: Vec<String> = r.pcrs.keys().map(|a| a.name()).collect();
    let _ = writeln!(
        out,
        "{}: {fmt} log, {} events shown, banks {}",
        r.file,
        r.events.len(),
        banks.join(", ")
    );
    let _ = writeln!(
        out,
        "{:>7}  {:>3}  {:<29}  {:<8}  {:<8}  Event",
        "#", "PCR", "Type", "Digest", "Check"
    );
    w.write_all(escape::terminal(&out).as_bytes())?;
    out.clear();
    for e in r.events.iter() {
        let d = e
            .digests
            .get(&HashAlg::Sha256)
            .or_else(|| e.digests.values().next())
            .map(|h| crate::hexser::encode(&h.0[..h.0.len().min(4)]))
            .unwrap_or_default();
        let check = match e.digest_check {
            DigestStatus::Verified => "ok",
            DigestStatus::Mismatch => "MISMATCH",
            DigestStatus::NotCheckable => "-",
        };
        // The event column is wrapped so that a row fits 100 columns.
        let summary = escape::line(&e.summary);
        let mut parts = escape::wrap(&summary, EVENT_WIDTH).into_iter();
        let _ = writeln!(
            out,
            "{:>7}  {:>3}  {:<29}  {:<8}  {:<8}  {}",
            e.number,
            e.pcr,
            e.event_type.trim_start_matches("EV_"),
            d,
            check,
            parts.next().unwrap_or_default()
        );
        for p in parts {
            let _ = writeln!(out, "{:width$}{p}", "", width = 100 - EVENT_WIDTH);
        }
        if out.len() > 32 << 10 {
            w.write_all(escape::terminal(&out).as_bytes())?;
            out.clear();
        }
    }
    let _ = writeln!(out);
    let mut p = new_table(&["Bank", "PCR", "Replayed value"]);
    for (bank, pcrs) in &r.pcrs {
        for (i, v) in pcrs {
            p.add_row(vec![
                bank.name(),
                i.to_string(),
                crate::hexser::encode(&v.0),
            ]);
        }
    }
    let _ = writeln!(
        out,
        "Replayed PCRs (startup locality {}):\n{p}",
        r.startup_locality
    );
    let dc = &r.digest_checks;
    let _ = writeln!(
        out,
        "Digest checks: {} events verified against their data, {} not checkable from the log, {} mismatching banks",
        dc.verified,
        dc.not_checkable,
        dc.mismatches.len() + dc.mismatches_omitted
    );
    for m in &dc.mismatches {
        let _ = writeln!(
            out,
            "  MISMATCH event {} (offset {}, PCR {}, {}) {}: logged {} but the data hashes to {} ({})",
            m.event,
            m.offset,
            m.pcr,
            m.event_type,
            m.algorithm,
            crate::hexser::encode(&m.logged),
            crate::hexser::encode(&m.computed),
            m.rule
        );
    }
    for m in &r.missing_digests {
        let _ = writeln!(
            out,
            "  MISSING DIGEST event {} (offset {}, PCR {}): no {} digest, though the log declares that bank; {} PCR{} cannot be replayed",
            m.event, m.offset, m.pcr, m.bank, m.bank, m.pcr
        );
    }
    if r.missing_digests_omitted > 0 {
        let _ = writeln!(
            out,
            "  ... and {} more missing digests",
            r.missing_digests_omitted
        );
    }
    if dc.mismatches_omitted > 0 {
        let _ = writeln!(
            out,
            "  ... and {} more mismatching banks",
            dc.mismatches_omitted
        );
    }
    for a in &r.replay_anomalies {
        let _ = writeln!(
            out,
            "  REPLAY event {} (offset {}): {}",
            a.event, a.offset, a.message
        );
    }
    if r.replay_anomalies_omitted > 0 {
        let _ = writeln!(
            out,
            "  ... and {} more replay anomalies",
            r.replay_anomalies_omitted
        );
    }
    if let (Some(src), Some(verdicts)) = (&r.pcr_source, &r.verdicts) {
        let mut v = new_table(&["Bank", "PCR", "Verdict", "Replayed", "Actual"]);
        for x in verdicts {
            let verdict = match x.verdict {
                Verdict::Match => "match",
                Verdict::Mismatch => "MISMATCH",
                Verdict::Unavailable => "unavailable",
            };
            let short = |b: &[u8]| crate::hexser::encode(&b[..b.len().min(8)]);
            v.add_row(vec![
                x.bank.name(),
                x.pcr.to_string(),
                verdict.to_string(),
                if x.note.is_some() {
                    "unreplayable".into()
                } else {
                    short(&x.replayed)
                },
                x.actual.as_deref().map(short).unwrap_or_else(|| "-".into()),
            ]);
        }
        let _ = writeln!(out, "Compared with {src}:\n{v}");
    }
    let _ = writeln!(
        out,
        "{}",
        if r.ok {
            "Result: every check passed"
        } else {
            "Result: the log does not check out (see MISMATCH/MISSING DIGEST above)"
        }
    );
    w.write_all(escape::terminal(&out).as_bytes())
}
