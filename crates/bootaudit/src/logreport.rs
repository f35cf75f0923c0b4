//! The result of `bootaudit eventlog`: everything computed, ready for a
//! renderer to print. Renderers only format what is here.

use crate::eventlog::check::{self, DigestMismatch, DigestStatus};
use crate::eventlog::decode::EventData;
use crate::eventlog::replay::{self, ReplayAnomaly};
use crate::eventlog::{EventLog, HashAlg, LogFormat, SpecId};
use crate::pcrs::{self, PcrVerdict, Verdict};
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;

/// One event as reported.
#[derive(Clone, Debug, Serialize)]
pub struct EventView {
    /// 0-based number (the crypto-agile header is not counted).
    pub number: usize,
    /// Byte offset in the log.
    pub offset: usize,
    /// PCR index (a CC event log's MR index).
    pub pcr: u32,
    /// A CC event log's register name for the index (RTMR0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub register: Option<String>,
    /// Event type name ("EV_SEPARATOR").
    #[serde(rename = "type")]
    pub event_type: String,
    /// Event type number.
    pub type_code: u32,
    /// Digest per bank (hex).
    pub digests: BTreeMap<HashAlg, Hex>,
    /// Size of the event data in bytes.
    pub data_size: usize,
    /// The decoded data.
    pub data: EventData,
    /// The digest check verdict.
    pub digest_check: DigestStatus,
    /// One line for tables.
    pub summary: String,
}

/// Bytes that serialize as lowercase hex.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hex(pub Vec<u8>);

impl Serialize for Hex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::hexser::encode(&self.0))
    }
}

/// Digest-check totals and every mismatch.
#[derive(Clone, Debug, Serialize)]
pub struct DigestSummary {
    /// Events whose digests were recomputed and matched.
    pub verified: usize,
    /// Events whose digests cover data outside the log.
    pub not_checkable: usize,
    /// Each bank whose digest does not cover its data (the first
    /// [`replay::MAX_LISTED`]).
    pub mismatches: Vec<DigestMismatch>,
    /// Mismatches past those listed.
    pub mismatches_omitted: usize,
    /// Banks whose digest does not cover the data of an event type that
    /// firmware is known to hash otherwise: the data is unconfirmed, the
    /// check does not fail ([`check::UNCONFIRMED_RULE`]).
    pub unconfirmed: Vec<DigestMismatch>,
}

/// The events of a report, decoded one at a time as they are written: a
/// log of millions of events is never held decoded in memory.
#[derive(Clone, Debug)]
pub struct Events<'a> {
    log: &'a EventLog,
    status: Vec<DigestStatus>,
    only: Vec<u32>,
}

impl<'a> Events<'a> {
    fn selected(&self, pcr: u32) -> bool {
        self.only.is_empty() || self.only.contains(&pcr)
    }

    /// The selected events, decoded, in log order.
    pub fn iter(&self) -> impl Iterator<Item = EventView> + '_ {
        self.log
            .events
            .iter()
            .zip(&self.status)
            .filter(|(e, _)| self.selected(e.pcr))
            .map(|(e, st)| view(e, st, self.log.kind))
    }

    /// How many events are selected.
    pub fn len(&self) -> usize {
        self.log
            .events
            .iter()
            .filter(|e| self.selected(e.pcr))
            .count()
    }

    /// True when no event is selected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Serialize for Events<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

fn view(
    e: &crate::eventlog::Event,
    st: &DigestStatus,
    kind: crate::eventlog::LogKind,
) -> EventView {
    let data = e.decode();
    EventView {
        number: e.number,
        offset: e.offset,
        pcr: e.pcr,
        register: (kind == crate::eventlog::LogKind::Ccel).then(|| kind.register_name(e.pcr)),
        event_type: e.type_name(),
        type_code: e.event_type.0,
        digests: e
            .digests
            .iter()
            .map(|d| (d.algorithm, Hex(d.digest.clone())))
            .collect(),
        data_size: e.data.len(),
        summary: data.summary(),
        data,
        digest_check: st.clone(),
    }
}

/// The full report.
#[derive(Clone, Debug, Serialize)]
pub struct EventLogReport<'a> {
    /// The log file.
    pub file: String,
    /// SHA-1 or crypto-agile.
    pub format: LogFormat,
    /// The Spec ID header.
    pub spec_id: Option<SpecId>,
    /// Events (only those of the selected PCRs, when a selection was given).
    pub events: Events<'a>,
    /// Replayed PCRs: bank → PCR index → value (hex), for every PCR that at
    /// least one event extends (and that was selected).
    pub pcrs: BTreeMap<HashAlg, BTreeMap<u32, Hex>>,
    /// The locality PCR0 started from.
    pub startup_locality: u8,
    /// Digest checks.
    pub digest_checks: DigestSummary,
    /// Events that lack the digest of a bank the log declares (each a
    /// failure: the PCR cannot be replayed), the first
    /// [`replay::MAX_LISTED`].
    pub missing_digests: Vec<replay::MissingDigest>,
    /// Missing digests past those listed.
    pub missing_digests_omitted: usize,
    /// Events replay could not honour (the first [`replay::MAX_LISTED`]).
    pub replay_anomalies: Vec<ReplayAnomaly>,
    /// Anomalies past those listed.
    pub replay_anomalies_omitted: usize,
    /// Departures from the spec the parser tolerated.
    pub warnings: Vec<crate::eventlog::ParseWarning>,
    /// What the log is: a TPM log, or a confidential VM's CC event log.
    pub kind: crate::eventlog::LogKind,
    /// A CC event log's replayed registers by name (RTMR0-3), the same
    /// values as `pcrs` keyed by MR index.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registers: Option<BTreeMap<HashAlg, BTreeMap<String, Hex>>>,
    /// The Windows boot its verified SIPA records describe, when it has any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub windows: Option<crate::eventlog::windows::WindowsBoot>,
    /// Where the real PCR values came from, with `--pcrs`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pcr_source: Option<String>,
    /// Per-PCR verdicts, with `--pcrs`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdicts: Option<Vec<PcrVerdict>>,
    /// True when real values were given but not one replayed value matched
    /// one of them (the log extends nothing they hold, or they hold nothing
    /// the log extends): the comparison checked nothing, which is not a
    /// pass.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub nothing_compared: bool,
    /// What the log leaves unknown (listed, never a pass): events on a
    /// register that does not exist, Windows settings no record reports.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<String>,
    /// True when every check passed: no digest mismatch, no event lacking a
    /// declared bank's digest, no PCR mismatch, and, when real values were
    /// given, at least one replayed value matched.
    /// Replay anomalies and parser warnings are reported but do not fail.
    pub ok: bool,
}

/// Builds the report: decodes, replays, checks digests and, when real PCR
/// values are given, compares. `only` restricts events and PCRs (empty: all).
pub fn build<'a>(
    file: &str,
    log: &'a EventLog,
    only: &[u32],
    actual: Option<(String, &replay::PcrBanks)>,
) -> EventLogReport<'a> {
    let selected = |pcr: u32| only.is_empty() || only.contains(&pcr);
    let rep = replay::replay(log);
    let checks = check::check(log);
    let pcrs = rep
        .banks
        .iter()
        .map(|(alg, b)| {
            (
                *alg,
                b.iter()
                    .filter(|(i, _)| selected(**i))
                    .map(|(i, v)| (*i, Hex(v.clone())))
                    .collect(),
            )
        })
        .collect();
    let mismatches: Vec<DigestMismatch> = checks
        .mismatches
        .into_iter()
        .filter(|m| selected(m.pcr))
        .collect();
    let not_checkable = checks
        .status
        .iter()
        .filter(|s| **s == DigestStatus::NotCheckable)
        .count();
    let mismatches_omitted = checks.mismatches_omitted;
    let windows = crate::eventlog::windows::from_log(log, &checks.status);
    let registers = (log.kind == crate::eventlog::LogKind::Ccel).then(|| {
        rep.banks
            .iter()
            .map(|(alg, b)| {
                (
                    *alg,
                    b.iter()
                        .map(|(i, v)| (log.kind.register_name(*i), Hex(v.clone())))
                        .collect(),
                )
            })
            .collect()
    });
    let events = Events {
        log,
        status: checks.status,
        only: only.to_vec(),
    };
    let (pcr_source, verdicts) = match actual {
        Some((src, a)) => {
            let mut v = pcrs::compare_replay(&rep, a, only);
            if log.kind == crate::eventlog::LogKind::Ccel {
                for x in &mut v {
                    x.register = Some(log.kind.register_name(x.pcr));
                }
            }
            (Some(src), Some(v))
        }
        None => (None, None),
    };
    let missing_digests: Vec<replay::MissingDigest> = rep
        .missing_digests
        .iter()
        .filter(|m| selected(m.pcr))
        .cloned()
        .collect();
    let nothing_compared = verdicts
        .as_ref()
        .is_some_and(|v| !v.iter().any(|x| x.verdict == Verdict::Match));
    // What the log leaves unknown: never a pass. Events on registers that
    // do not exist, and Windows settings whose records hold no value, fail
    // the log; settings no record reports are listed as unknown.
    let mut unknown = Vec::new();
    if rep.unplaced > 0 {
        unknown.push(format!(
            "{} events extend a measurement register that does not exist: what they measured is replayed nowhere",
            rep.unplaced
        ));
    }
    let mut unreadable_settings = false;
    for (name, v) in windows.iter().flat_map(|w| w.unknown_settings()) {
        let unreadable = v == crate::eventlog::windows::Setting::Unreadable;
        unreadable_settings |= unreadable;
        unknown.push(format!(
            "Windows {name}: {}",
            if unreadable {
                "a verified record of it holds no readable value"
            } else {
                "no verified SIPA record reports it"
            }
        ));
    }
    let ok = !nothing_compared
        && rep.unplaced == 0
        && !unreadable_settings
        && mismatches.is_empty()
        && mismatches_omitted == 0
        && missing_digests.is_empty()
        && rep.missing_digests_omitted == 0
        && verdicts
            .as_ref()
            .is_none_or(|v| v.iter().all(|v| v.verdict != Verdict::Mismatch));
    EventLogReport {
        file: file.to_string(),
        format: log.format,
        spec_id: log.spec_id.clone(),
        events,
        pcrs,
        startup_locality: rep.startup_locality,
        digest_checks: DigestSummary {
            verified: checks.verified,
            not_checkable,
            mismatches,
            mismatches_omitted,
            unconfirmed: checks
                .unconfirmed
                .into_iter()
                .filter(|m| selected(m.pcr))
                .collect(),
        },
        missing_digests,
        missing_digests_omitted: rep.missing_digests_omitted,
        replay_anomalies: rep.anomalies,
        replay_anomalies_omitted: rep.anomalies_omitted,
        warnings: log.warnings.clone(),
        kind: log.kind,
        registers,
        windows,
        unknown,
        pcr_source,
        verdicts,
        nothing_compared,
        ok,
    }
}
