//! Tables for `bootaudit eventlog`. The event list is written row by row
//! as the events are decoded (a hostile log can hold millions); the small
//! tables after it are drawn whole.

use super::escape;
use super::new_table;
use crate::eventlog::check::DigestStatus;
use crate::eventlog::windows::{Reported, WindowsBoot};
use crate::eventlog::{HashAlg, LogFormat, LogKind};
use crate::logreport::EventLogReport;
use crate::pcrs::Verdict;
use std::fmt::Write;

/// Columns of the event text in a row (the row is 100 columns).
const EVENT_WIDTH: usize = 35;

/// Writes the report as text to `w`, the events one row at a time, every
/// string the log carries escaped for the terminal.
pub fn write_table(r: &EventLogReport, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut out = String::new();
    let fmt = match (r.kind, r.format) {
        (LogKind::Ccel, _) => {
            "confidential-computing event log (CCEL; indices are MRs: 1-4 are RTMR0-3)"
        }
        (_, LogFormat::Sha1) => "SHA-1 (TCG_PCR_EVENT)",
        (_, LogFormat::CryptoAgile) => "crypto-agile (TCG_PCR_EVENT2)",
    };
    let banks: Vec<String> = r.pcrs.keys().map(|a| a.name()).collect();
    let _ = writeln!(
        out,
        "{}: {fmt} log, {} events shown, banks {}",
        escape::E(&r.file),
        r.events.len(),
        banks.join(", ")
    );
    let _ = writeln!(
        out,
        "{:>7}  {:>3}  {:<29}  {:<8}  {:<8}  Event",
        "#",
        if r.kind == LogKind::Ccel { "MR" } else { "PCR" },
        "Type",
        "Digest",
        "Check"
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
            DigestStatus::Unconfirmed => "unconf.",
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
    if let Some(regs) = &r.registers {
        let mut p = new_table(&["Bank", "Register", "Replayed value"]);
        for (bank, rs) in regs {
            for (name, v) in rs {
                p.add_row(vec![bank.name(), name.clone(), crate::hexser::encode(&v.0)]);
            }
        }
        let _ = writeln!(out, "Replayed measurement registers:\n{p}");
    } else {
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
    }
    if let Some(w) = &r.windows {
        write_windows(&mut out, w);
    }
    let dc = &r.digest_checks;
    let _ = writeln!(
        out,
        "Digest checks: {} events verified against their data, {} not checkable from the log, {} mismatching banks",
        dc.verified,
        dc.not_checkable,
        dc.mismatches.len() + dc.mismatches_omitted
    );
    for (m, word) in dc
        .mismatches
        .iter()
        .map(|m| (m, "MISMATCH"))
        .chain(dc.unconfirmed.iter().map(|m| (m, "UNCONFIRMED")))
    {
        let _ = writeln!(
            out,
            "  {word} event {} (offset {}, PCR {}, {}) {}: logged {} but the data hashes to {} ({})",
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
                x.register.clone().unwrap_or_else(|| x.pcr.to_string()),
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
        if r.ok && r.unknown.is_empty() {
            "Result: every check passed".to_string()
        } else if r.ok {
            format!(
                "Result: the log's checks passed; unknown: {}",
                r.unknown.join("; ")
            )
        } else if !r.unknown.is_empty()
            && r.digest_checks.mismatches.is_empty()
            && r.missing_digests.is_empty()
            && !r.nothing_compared
        {
            format!(
                "Result: the log cannot be judged whole: {}",
                r.unknown.join("; ")
            )
        } else if r.nothing_compared
            && r.digest_checks.mismatches.is_empty()
            && r.missing_digests.is_empty()
        {
            "Result: unknown: not one replayed value could be compared with the real values given"
                .to_string()
        } else {
            "Result: the log does not check out (see MISMATCH/MISSING DIGEST above)".to_string()
        }
    );
    w.write_all(escape::terminal(&out).as_bytes())
}

/// The Windows boot section: what the verified SIPA records say.
fn write_windows(out: &mut String, w: &WindowsBoot) {
    let word = |r: Reported| match r {
        Reported::On => "on",
        Reported::Off => "OFF",
        Reported::Unknown => "not reported",
    };
    let yes = |b: crate::eventlog::windows::Setting| match b {
        crate::eventlog::windows::Setting::On => "ON",
        crate::eventlog::windows::Setting::Off => "off",
        crate::eventlog::windows::Setting::Unreadable => "UNREADABLE",
        crate::eventlog::windows::Setting::NotReported => "not reported",
    };
    let _ = writeln!(
        out,
        "Windows boot ({} verified SIPA events{}{}):",
        w.events,
        if w.unverified_events > 0 {
            format!(", {} unverified and not read", w.unverified_events)
        } else {
            String::new()
        },
        if w.after_separator > 0 {
            format!(", {} after the WBCL separator", w.after_separator)
        } else {
            String::new()
        }
    );
    let module = |m: &Option<crate::eventlog::windows::Module>| {
        m.as_ref()
            .map(|m| {
                format!(
                    "{} ({}{})",
                    m.path.as_deref().unwrap_or("?"),
                    crate::hexser::encode(&m.authenticode_hash),
                    m.publisher
                        .as_deref()
                        .map(|p| format!(", signed by {p}"))
                        .unwrap_or_default()
                )
            })
            .unwrap_or_else(|| "not named".into())
    };
    let opt = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_else(|| "-".into());
    let _ = writeln!(out, "  boot counter {}", opt(w.boot_count));
    let _ = writeln!(out, "  boot manager {}", module(&w.boot_manager));
    let _ = writeln!(out, "  OS loader    {}", module(&w.os_loader));
    let _ = writeln!(
        out,
        "  debugging: boot {}, kernel {}, hypervisor {}; test signing {}; flight signing {}",
        yes(w.boot_debugging),
        yes(w.kernel_debugging),
        yes(w.hypervisor_debugging),
        yes(w.test_signing),
        yes(w.flight_signing)
    );
    let _ = writeln!(
        out,
        "  code integrity {}; DEP {} (NX policy {}); hypervisor launch type {}; VSM launch type {}; HVCI policy {}",
        word(w.code_integrity),
        word(w.dep),
        opt(w.dep_policy),
        opt(w.hypervisor_launch_type),
        opt(w.vsm_launch_type),
        opt(w.hvci_policy)
    );
    let _ = writeln!(
        out,
        "  BitLocker unlocks {:?}; ELAM {}; {} modules measured",
        w.bitlocker_unlocks,
        w.elam
            .iter()
            .map(|e| e.key_name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        w.modules.len()
    );
    for c in &w.conflicts {
        let _ = writeln!(out, "  CONFLICT {c}");
    }
}
