//! PCR replay: the values the TPM's PCRs must hold if the log is complete
//! and true.

use super::decode::EventData;
use super::{EventLog, HashAlg};
use crate::types::EventType;
use serde::Serialize;
use std::collections::BTreeMap;

/// The number of PCRs of a PC Client TPM.
pub const PCR_COUNT: u32 = 24;

/// The RTMRs of an Intel TDX guest (MR indices 1-4 of a CC event log).
pub const CC_RTMR_COUNT: u32 = 4;

/// PCR values per bank: bank → PCR index → value.
pub type PcrBanks = BTreeMap<HashAlg, BTreeMap<u32, Vec<u8>>>;

/// Something in the log that replay could not honour.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReplayAnomaly {
    /// The event number.
    pub event: usize,
    /// Byte offset of the event.
    pub offset: usize,
    /// What was wrong.
    pub message: String,
}

/// At most this many anomalies and missing digests are listed one by one;
/// the rest are counted (a hostile log can have millions of events).
pub const MAX_LISTED: usize = 1000;

/// An event that lacks the digest of a bank the log declares: the TPM
/// extended something into that bank's PCR, but the log does not say what.
/// The spec requires a digest for every declared algorithm in every
/// TCG_PCR_EVENT2, so this is a finding, and the PCR cannot be replayed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MissingDigest {
    /// The event number.
    pub event: usize,
    /// Byte offset of the event.
    pub offset: usize,
    /// The PCR it extends.
    pub pcr: u32,
    /// The bank whose digest it lacks.
    pub bank: HashAlg,
}

/// The outcome of a replay.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Replay {
    /// Replayed values of every PCR that at least one event extends and
    /// whose every event carries the bank's digest.
    pub banks: PcrBanks,
    /// The locality PCR0 started from (StartupLocality event), 0 without one.
    pub startup_locality: u8,
    /// Events that could not be replayed as logged (the first
    /// [`MAX_LISTED`]).
    pub anomalies: Vec<ReplayAnomaly>,
    /// Anomalies past [`MAX_LISTED`], counted only.
    pub anomalies_omitted: usize,
    /// Events lacking a declared bank's digest (the first [`MAX_LISTED`]).
    pub missing_digests: Vec<MissingDigest>,
    /// Missing digests past [`MAX_LISTED`], counted only.
    pub missing_digests_omitted: usize,
    /// The PCRs, per bank, that cannot be replayed because an event lacks
    /// that bank's digest: never a match, whatever the real value is.
    pub unreplayable: std::collections::BTreeSet<(HashAlg, u32)>,
    /// Events of a confidential-computing log that extend a register that
    /// does not exist: what they measured is replayed nowhere, so the log
    /// cannot be judged whole.
    pub unplaced: usize,
}

impl Replay {
    fn anomaly(&mut self, a: ReplayAnomaly) {
        if self.anomalies.len() < MAX_LISTED {
            self.anomalies.push(a);
        } else {
            self.anomalies_omitted += 1;
        }
    }

    /// True when some event lacks a declared bank's digest.
    pub fn has_missing_digests(&self) -> bool {
        !self.missing_digests.is_empty()
    }
}

/// The value a PCR holds after TPM2_Startup(CLEAR) before any extend: zero,
/// except PCR0 after an H-CRTM start at locality 3 or 4 (PFP §10.4.5.3), and
/// PCRs 17-22, the dynamic-launch PCRs, which reset to all ones.
pub fn initial_value(alg: HashAlg, pcr: u32, locality: u8) -> Option<Vec<u8>> {
    let n = alg.size()?;
    let mut v = vec![0u8; n];
    if pcr == 0 {
        v[n - 1] = locality;
    } else if (17..=22).contains(&pcr) {
        v.fill(0xff);
    }
    Some(v)
}

/// Replays `log` into every bank the log carries and bootaudit can compute.
pub fn replay(log: &EventLog) -> Replay {
    let mut out = Replay::default();
    let banks: Vec<HashAlg> = log
        .banks()
        .into_iter()
        .filter(|a| a.size().is_some())
        .collect();
    let ccel = log.kind == super::LogKind::Ccel;
    for e in &log.events {
        if e.event_type == EventType::NO_ACTION {
            if e.pcr == 0 && !ccel {
                if let EventData::StartupLocality { locality } = e.decode() {
                    if out.banks.values().any(|b| b.contains_key(&0)) {
                        out.anomaly(ReplayAnomaly {
                            event: e.number,
                            offset: e.offset,
                            message: "StartupLocality event after PCR0 was extended; ignored"
                                .into(),
                        });
                    } else {
                        out.startup_locality = locality;
                    }
                }
            }
            continue;
        }
        if ccel && !(1..=CC_RTMR_COUNT).contains(&e.pcr) {
            let message = if e.pcr == 0 {
                "MR index 0 is MRTD, which the TDX module measures as the TD is built; no event extends it, so this one is not replayed".to_string()
            } else {
                format!(
                    "MR index {} names no RTMR (1-4 are RTMR0-3); not replayed",
                    e.pcr
                )
            };
            out.anomaly(ReplayAnomaly {
                event: e.number,
                offset: e.offset,
                message,
            });
            out.unplaced += 1;
            continue;
        }
        if e.pcr >= PCR_COUNT {
            out.anomaly(ReplayAnomaly {
                event: e.number,
                offset: e.offset,
                message: format!("PCR index {} is out of range (0-23); not replayed", e.pcr),
            });
            continue;
        }
        for &alg in &banks {
            let Some(d) = e.digest(alg) else {
                let m = MissingDigest {
                    event: e.number,
                    offset: e.offset,
                    pcr: e.pcr,
                    bank: alg,
                };
                if out.missing_digests.len() < MAX_LISTED {
                    out.missing_digests.push(m);
                } else {
                    out.missing_digests_omitted += 1;
                }
                out.unreplayable.insert((alg, e.pcr));
                continue;
            };
            let bank = out.banks.entry(alg).or_default();
            let locality = out.startup_locality;
            let cur = bank.entry(e.pcr).or_insert_with(|| {
                if ccel {
                    // RTMRs start at zero (TDX module spec, TDG.MR.RTMR.EXTEND).
                    vec![0; alg.size().unwrap_or_default()]
                } else {
                    initial_value(alg, e.pcr, locality).unwrap_or_default()
                }
            });
            alg.extend_in_place(cur, d);
        }
    }
    for (alg, pcr) in &out.unreplayable {
        if let Some(b) = out.banks.get_mut(alg) {
            b.remove(pcr);
        }
    }
    out.banks.retain(|_, b| !b.is_empty());
    out
}
