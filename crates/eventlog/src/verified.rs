//! The entry point a verifier should use: a log is read only through the
//! PCRs it verifies against, as go-eventlog does.
//!
//! [`verify`] replays one bank of the log and compares every PCR the
//! verifier trusts (from a quote it checked, or read from the TPM itself)
//! with the replay. Any difference is an error, naming the PCR: a log that
//! does not replay to the trusted values says nothing. An empty trusted set
//! is an error too, since it would verify nothing. Within the verified
//! PCRs, an event whose digest the specification defines over its data, and
//! whose data does not hash to that digest, is an error naming the event:
//! the PCR holds what was measured, but the log lies about what that was.
//!
//! What comes out, a [`VerifiedLog`], gives access only to the events of
//! the verified PCRs. State derived from it (the boot's Secure Boot
//! variables, the images loaded, the firmware blobs) is derived from
//! evidence the TPM vouches for, and from nothing else in the file.

use crate::check::{self, DigestStatus};
use crate::replay;
use crate::{Event, EventLog, HashAlg};
use std::collections::{BTreeMap, BTreeSet};

/// PCR values of one bank that the verifier trusts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedPcrs {
    /// The bank.
    pub bank: HashAlg,
    /// PCR index → value.
    pub values: BTreeMap<u32, Vec<u8>>,
}

/// Why a log did not verify.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// No PCR was given: nothing would be verified.
    #[error("no trusted PCR value: nothing to verify the log against")]
    NoPcrs,
    /// A trusted value of the wrong size for its bank.
    #[error("PCR{pcr}: the trusted {bank} value is {got} bytes, not {want}")]
    BadValue {
        /// The PCR.
        pcr: u32,
        /// The bank.
        bank: HashAlg,
        /// Its size.
        got: usize,
        /// The bank's digest size.
        want: usize,
    },
    /// The log does not replay to the trusted value.
    #[error("PCR{pcr}: the {bank} log replays to {replayed}, the trusted value is {trusted}")]
    Mismatch {
        /// The PCR.
        pcr: u32,
        /// The bank.
        bank: HashAlg,
        /// What the log replays to (hex), or why it cannot be replayed.
        replayed: String,
        /// The trusted value (hex).
        trusted: String,
    },
    /// An event of a verified PCR whose data is not what its digest says.
    #[error("event {event} at byte offset {offset} (PCR{pcr}): its data does not hash to its logged digest")]
    DataMismatch {
        /// The event's number.
        event: usize,
        /// Its byte offset in the log.
        offset: usize,
        /// Its PCR.
        pcr: u32,
    },
}

/// A log whose PCRs replayed to trusted values; its events are reachable
/// only through those PCRs.
#[derive(Clone, Debug)]
pub struct VerifiedLog {
    log: EventLog,
    bank: HashAlg,
    pcrs: BTreeSet<u32>,
    status: Vec<DigestStatus>,
}

impl VerifiedLog {
    /// The bank that was replayed.
    pub fn bank(&self) -> HashAlg {
        self.bank
    }

    /// The PCRs verified.
    pub fn pcrs(&self) -> &BTreeSet<u32> {
        &self.pcrs
    }

    /// The events of the verified PCRs, in log order, but those whose data
    /// the measurement does not confirm ([`VerifiedLog::unconfirmed`]).
    pub fn events(&self) -> impl Iterator<Item = &Event> {
        self.of_verified_pcrs()
            .filter(|(_, s)| !matches!(s, Some(DigestStatus::Unconfirmed)))
            .map(|(e, _)| e)
    }

    /// Events of the verified PCRs whose digest is known not to cover
    /// their data on some firmware ([`check::UNCONFIRMED_RULE`]): their
    /// measurement is in the PCR, their data is no evidence.
    pub fn unconfirmed(&self) -> impl Iterator<Item = &Event> {
        self.of_verified_pcrs()
            .filter(|(_, s)| matches!(s, Some(DigestStatus::Unconfirmed)))
            .map(|(e, _)| e)
    }

    fn of_verified_pcrs(&self) -> impl Iterator<Item = (&Event, Option<&DigestStatus>)> {
        self.log
            .events
            .iter()
            .filter(|e| self.pcrs.contains(&e.pcr))
            .map(|e| (e, self.status.get(e.number)))
    }
}

/// Verifies `log` against `trusted`: every trusted PCR must replay to its
/// value, and every event of those PCRs whose digest covers its data must
/// hash to it.
pub fn verify(log: EventLog, trusted: &TrustedPcrs) -> Result<VerifiedLog, VerifyError> {
    if trusted.values.is_empty() {
        return Err(VerifyError::NoPcrs);
    }
    let bank = trusted.bank;
    for (&pcr, v) in &trusted.values {
        if let Some(want) = bank.size().filter(|n| *n != v.len()) {
            return Err(VerifyError::BadValue {
                pcr,
                bank,
                got: v.len(),
                want,
            });
        }
    }
    let r = replay::replay(&log);
    for (&pcr, want) in &trusted.values {
        let got = if r.unreplayable.contains(&(bank, pcr)) {
            Err("nothing: an event of it has no digest in this bank".to_string())
        } else {
            match r.banks.get(&bank).and_then(|b| b.get(&pcr)) {
                Some(v) => Ok(v.clone()),
                // A PCR no event extends holds its initial value.
                None => replay::initial_value(bank, pcr, r.startup_locality)
                    .ok_or_else(|| format!("nothing: the log has no {bank} bank")),
            }
        };
        if got.as_ref() != Ok(want) {
            return Err(VerifyError::Mismatch {
                pcr,
                bank,
                replayed: got.map(hex::encode).unwrap_or_else(|why| why),
                trusted: hex::encode(want),
            });
        }
    }
    let report = check::check(&log);
    let pcrs: BTreeSet<u32> = trusted.values.keys().copied().collect();
    if let Some(e) = log.events.iter().find(|e| {
        pcrs.contains(&e.pcr) && report.status.get(e.number) == Some(&DigestStatus::Mismatch)
    }) {
        return Err(VerifyError::DataMismatch {
            event: e.number,
            offset: e.offset,
            pcr: e.pcr,
        });
    }
    Ok(VerifiedLog {
        log,
        bank,
        pcrs,
        status: report.status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> (EventLog, serde_json::Value) {
        let log = crate::parse(include_bytes!(
            "../../../fixtures/ovmf-swtpm/binary_bios_measurements"
        ))
        .unwrap();
        let pcrs =
            serde_json::from_str(include_str!("../../../fixtures/ovmf-swtpm/pcrs.json")).unwrap();
        (log, pcrs)
    }

    /// The TPM's own sha256 values for `pcrs`, from pcrs.json (what the
    /// swtpm reported at the end of that boot: not this crate's replay).
    fn trusted(tpm: &serde_json::Value, pcrs: &[u32]) -> TrustedPcrs {
        TrustedPcrs {
            bank: HashAlg::Sha256,
            values: pcrs
                .iter()
                .map(|&p| {
                    let v = tpm["sha256"][p.to_string()].as_str().unwrap();
                    (p, hex::decode(v).unwrap())
                })
                .collect(),
        }
    }

    #[test]
    fn only_the_events_of_the_verified_pcrs_are_reachable() {
        let (log, tpm) = fixture();
        let all = log.events.len();
        let in_0_7 = log
            .events
            .iter()
            .filter(|e| e.pcr == 0 || e.pcr == 7)
            .count();
        let v = verify(log, &trusted(&tpm, &[0, 7])).unwrap();
        assert_eq!(v.pcrs().iter().copied().collect::<Vec<_>>(), [0, 7]);
        let seen: Vec<u32> = v.events().chain(v.unconfirmed()).map(|e| e.pcr).collect();
        assert_eq!(seen.len(), in_0_7);
        assert!(in_0_7 > 5 && in_0_7 < all, "{in_0_7} of {all}");
        assert!(seen.iter().all(|p| *p == 0 || *p == 7));
    }

    #[test]
    fn a_pcr_that_does_not_replay_fails_the_whole_log() {
        let (log, tpm) = fixture();
        let mut t = trusted(&tpm, &[0, 4, 7]);
        t.values.get_mut(&4).unwrap()[0] ^= 1;
        match verify(log, &t) {
            Err(VerifyError::Mismatch { pcr: 4, .. }) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn nothing_trusted_verifies_nothing() {
        let (log, _) = fixture();
        let empty = TrustedPcrs {
            bank: HashAlg::Sha256,
            values: BTreeMap::new(),
        };
        assert_eq!(
            verify(log.clone(), &empty).unwrap_err(),
            VerifyError::NoPcrs
        );
        let short = TrustedPcrs {
            bank: HashAlg::Sha256,
            values: [(0, vec![0; 20])].into(),
        };
        assert!(matches!(
            verify(log, &short),
            Err(VerifyError::BadValue {
                got: 20,
                want: 32,
                ..
            })
        ));
    }

    #[test]
    fn data_that_does_not_match_its_digest_in_a_verified_pcr_fails() {
        // PCR7's Secure Boot variables are measured over their data: one
        // byte of one changed leaves PCR7's replay as it was (the digests
        // are what is extended) but makes the data a lie.
        let (mut log, tpm) = fixture();
        let e = log
            .events
            .iter_mut()
            .find(|e| e.pcr == 7 && e.event_type == crate::EventType::EFI_VARIABLE_DRIVER_CONFIG)
            .unwrap();
        let n = e.number;
        let last = e.data.len() - 1;
        e.data[last] ^= 0xff;
        match verify(log.clone(), &trusted(&tpm, &[7])) {
            Err(VerifyError::DataMismatch { event, pcr: 7, .. }) => assert_eq!(event, n),
            other => panic!("{other:?}"),
        }
        // Verifying PCR0 alone does not read PCR7's events, and passes.
        assert!(verify(log, &trusted(&tpm, &[0])).is_ok());
    }
}
