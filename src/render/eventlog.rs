//! Tables for `bootaudit eventlog`.

use super::new_table;
use crate::eventlog::check::DigestStatus;
use crate::eventlog::report::EventLogReport;
use crate::eventlog::{HashAlg, LogFormat};
use crate::pcrs::Verdict;
use std::fmt::Write;

/// Renders the report as text tables.
pub fn table(r: &EventLogReport) -> String {
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
    let mut t = new_table(&["#", "PCR", "Type", "Digest", "Check", "Event"]);
    for e in &r.events {
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
        t.add_row(vec![
            e.number.to_string(),
            e.pcr.to_string(),
            e.event_type.trim_start_matches("EV_").to_string(),
            d,
            check.to_string(),
            e.summary.clone(),
        ]);
    }
    let _ = writeln!(out, "{t}");
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
        dc.mismatches.len()
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
    for a in &r.replay_anomalies {
        let _ = writeln!(
            out,
            "  REPLAY event {} (offset {}): {}",
            a.event, a.offset, a.message
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
                short(&x.replayed),
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
            "Result: the log does not check out (see MISMATCH/REPLAY above)"
        }
    );
    out
}
