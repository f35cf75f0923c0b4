//! The result of `bootaudit eventlog`: everything computed, ready for a
//! renderer to print. Renderers only format what is here.

use super::check::{self, DigestMismatch, DigestStatus};
use super::decode::EventData;
use super::replay::{self, ReplayAnomaly};
use super::{EventLog, HashAlg, LogFormat, SpecId};
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
    /// PCR index.
    pub pcr: u32,
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
    /// Each bank whose digest does not cover its data.
    pub mismatches: Vec<DigestMismatch>,
}

/// The full report.
#[derive(Clone, Debug, Serialize)]
pub struct EventLogReport {
    /// The log file.
    pub file: String,
    /// SHA-1 or crypto-agile.
    pub format: LogFormat,
    /// The Spec ID header.
    pub spec_id: Option<SpecId>,
    /// Events (only those of the selected PCRs, when a selection was given).
    pub events: Vec<EventView>,
    /// Replayed PCRs: bank → PCR index → value (hex), for every PCR that at
    /// least one event extends (and that was selected).
    pub pcrs: BTreeMap<HashAlg, BTreeMap<u32, Hex>>,
    /// The locality PCR0 started from.
    pub startup_locality: u8,
    /// Digest checks.
    pub digest_checks: DigestSummary,
    /// Events replay could not honour.
    pub replay_anomalies: Vec<ReplayAnomaly>,
    /// Departures from the spec the parser tolerated.
    pub warnings: Vec<super::ParseWarning>,
    /// Where the real PCR values came from, with `--pcrs`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pcr_source: Option<String>,
    /// Per-PCR verdicts, with `--pcrs`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdicts: Option<Vec<PcrVerdict>>,
    /// True when every check passed: no digest mismatch and no PCR mismatch.
    /// Replay anomalies and parser warnings are reported but do not fail.
    pub ok: bool,
}

/// Builds the report: decodes, replays, checks digests and, when real PCR
/// values are given, compares. `only` restricts events and PCRs (empty: all).
pub fn build(
    file: &str,
    log: &EventLog,
    only: &[u32],
    actual: Option<(String, &replay::PcrBanks)>,
) -> EventLogReport {
    let selected = |pcr: u32| only.is_empty() || only.contains(&pcr);
    let rep = replay::replay(log);
    let checks = check::check(log);
    let events: Vec<EventView> = log
        .events
        .iter()
        .zip(&checks.status)
        .filter(|(e, _)| selected(e.pcr))
        .map(|(e, st)| {
            let data = e.decode();
            EventView {
                number: e.number,
                offset: e.offset,
                pcr: e.pcr,
                event_type: e.type_name(),
                type_code: e.event_type,
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
        })
        .collect();
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
    let (pcr_source, verdicts) = match actual {
        Some((src, a)) => (Some(src), Some(pcrs::compare(&rep.banks, a, only))),
        None => (None, None),
    };
    let ok = mismatches.is_empty()
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
        },
        replay_anomalies: rep.anomalies,
        warnings: log.warnings.clone(),
        pcr_source,
        verdicts,
        ok,
    }
}
