//! PCR replay: the values the TPM's PCRs must hold if the log is complete
//! and true.

use super::decode::EventData;
use super::types::ev;
use super::{EventLog, HashAlg};
use serde::Serialize;
use std::collections::BTreeMap;

/// The number of PCRs of a PC Client TPM.
pub const PCR_COUNT: u32 = 24;

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

/// The outcome of a replay.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Replay {
    /// Replayed values of every PCR that at least one event extends.
    pub banks: PcrBanks,
    /// The locality PCR0 started from (StartupLocality event), 0 without one.
    pub startup_locality: u8,
    /// Events that could not be replayed as logged.
    pub anomalies: Vec<ReplayAnomaly>,
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
    // PCRs whose value in a bank cannot be known because an event lacks
    // that bank's digest; they are left out of the result.
    let mut unknown: Vec<(HashAlg, u32)> = Vec::new();
    for e in &log.events {
        if e.event_type == ev::NO_ACTION {
            if e.pcr == 0 {
                if let EventData::StartupLocality { locality } = e.decode() {
                    if out.banks.values().any(|b| b.contains_key(&0)) {
                        out.anomalies.push(ReplayAnomaly {
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
        if e.pcr >= PCR_COUNT {
            out.anomalies.push(ReplayAnomaly {
                event: e.number,
                offset: e.offset,
                message: format!("PCR index {} is out of range (0-23); not replayed", e.pcr),
            });
            continue;
        }
        for &alg in &banks {
            let Some(d) = e.digest(alg) else {
                out.anomalies.push(ReplayAnomaly {
                    event: e.number,
                    offset: e.offset,
                    message: format!("no {alg} digest; {alg} PCR{} cannot be replayed", e.pcr),
                });
                unknown.push((alg, e.pcr));
                continue;
            };
            let bank = out.banks.entry(alg).or_default();
            let locality = out.startup_locality;
            let cur = bank
                .entry(e.pcr)
                .or_insert_with(|| initial_value(alg, e.pcr, locality).unwrap_or_default());
            alg.extend_in_place(cur, d);
        }
    }
    for (alg, pcr) in unknown {
        if let Some(b) = out.banks.get_mut(&alg) {
            b.remove(&pcr);
        }
    }
    out.banks.retain(|_, b| !b.is_empty());
    out
}
