//! Digest checks: for the event types whose digest the PFP spec defines over
//! the event data itself, the logged digest must equal the hash of that data
//! in every bank. A mismatch means the log does not describe what was
//! measured: the log lies.

use super::decode::{variable_layout, GRUB_PREFIXES};
use super::{Event, EventLog, HashAlg};
use crate::types::EventType;
use serde::Serialize;

/// The verdict on one event's digests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DigestStatus {
    /// Every bank's digest equals the hash of the data.
    Verified,
    /// At least one bank's digest does not.
    Mismatch,
    /// The digest covers something outside the log (firmware, images, files).
    NotCheckable,
    /// The digest does not cover the data, for an event type that firmware
    /// is known to hash otherwise ([`UNCONFIRMED_RULE`]): the data is not
    /// confirmed by the measurement, and is shown as such, but the log is
    /// not called a liar for it.
    Unconfirmed,
}

/// Why an EV_S_CRTM_VERSION whose digest does not cover its text is a
/// warning, not a mismatch. The S-CRTM measures its own version, often
/// from ROM or an authenticated code module, and some hash a structure
/// other than the text they log: go-tpm-tools' gdc-host.bin (a Google
/// Distributed Cloud host, startup locality 3) logs UCS-2 "2.3.5" under a
/// SHA-256 that is no hash of the text in ASCII, UCS-2, with or without its
/// NUL. Such firmware cannot be told from a log whose text was edited, so
/// the text is only unconfirmed; bootaudit never takes it as evidence of a
/// firmware version, and PCR0 is judged by replay against the TPM.
pub const UNCONFIRMED_RULE: &str =
    "S-CRTM version: the digest is not of the logged text (firmware known to measure otherwise); the text is unconfirmed";

/// One bank whose digest does not cover the event data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DigestMismatch {
    /// Event number.
    pub event: usize,
    /// Byte offset of the event.
    pub offset: usize,
    /// PCR.
    pub pcr: u32,
    /// Event type name.
    pub event_type: String,
    /// Bank.
    pub algorithm: HashAlg,
    /// The digest the log claims (hex).
    #[serde(serialize_with = "crate::hexser::bytes")]
    pub logged: Vec<u8>,
    /// What the event data hashes to under the spec's rule (hex).
    #[serde(serialize_with = "crate::hexser::bytes")]
    pub computed: Vec<u8>,
    /// The rule that was applied.
    pub rule: &'static str,
}

/// The result of checking a whole log.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DigestReport {
    /// Per event (indexed like `EventLog::events`).
    pub status: Vec<DigestStatus>,
    /// Every mismatch, bank by bank (the first
    /// [`super::replay::MAX_LISTED`]).
    pub mismatches: Vec<DigestMismatch>,
    /// Mismatches past those listed, counted only.
    pub mismatches_omitted: usize,
    /// Events whose digests were verified.
    pub verified: usize,
    /// Banks whose digest does not cover the data of an event type firmware
    /// is known to hash otherwise (the first [`super::replay::MAX_LISTED`]).
    pub unconfirmed: Vec<DigestMismatch>,
}

/// Which bytes the digest covers, by event type; each alternative is one
/// accepted convention (EDK2 hashes only the value of Boot#### variables,
/// the PFP spec the whole UEFI_VARIABLE_DATA).
/// How many bytes of padding after a UEFI_VARIABLE_DATA structure a digest
/// may cover (C structure padding on a 64-bit build is at most 7).
const STRUCT_SLACK: usize = 7;

fn measured(e: &Event) -> Option<(&'static str, Vec<&[u8]>)> {
    let d = e.data.as_slice();
    Some(match e.event_type {
        EventType::SEPARATOR
        | EventType::EFI_ACTION
        | EventType::ACTION
        | EventType::S_CRTM_VERSION
        | EventType::OMIT_BOOT_DEVICE_EVENTS
        | EventType::EFI_GPT_EVENT
        | EventType::EFI_GPT_EVENT2 => ("digest over the event data", vec![d]),
        // Windows' SIPA records: the digest is of the tagged event itself
        // (go-attestation verifies them so). Other tags (the Linux EFI
        // stub's, in PCR 9) measure what they describe.
        EventType::EVENT_TAG if crate::le::u32_at(d, 0).is_some_and(super::sipa::is_sipa_id) => {
            ("Windows SIPA: digest over the tagged event", vec![d])
        }
        // EV_EFI_HCRTM_EVENT's data is the string "HCRTM"; its digest is of
        // what the H-CRTM measured before the firmware ran (PFP §10.4.1,
        // §3.3.2): not checkable from the log.
        EventType::EFI_VARIABLE_DRIVER_CONFIG
        | EventType::EFI_VARIABLE_AUTHORITY
        | EventType::EFI_VARIABLE_BOOT
        | EventType::EFI_VARIABLE_BOOT2 => {
            let Some((data_offset, end)) = variable_layout(d) else {
                // Not a UEFI_VARIABLE_DATA at all: the data is what was hashed.
                return Some(("digest over the event data", vec![d]));
            };
            // The structure itself, then up to STRUCT_SLACK bytes of the
            // event data past it: shim before 15.2 logged and hashed its
            // UEFI_VARIABLE_DATA with C structure padding (rhboot/shim #184).
            let mut alts: Vec<&[u8]> = vec![d];
            alts.extend((end..=d.len().min(end + STRUCT_SLACK)).map(|n| &d[..n]));
            if matches!(
                e.event_type,
                EventType::EFI_VARIABLE_BOOT | EventType::EFI_VARIABLE_BOOT2
            ) {
                // EDK2 hashes only the value of Boot#### and BootOrder.
                alts.push(&d[data_offset..end]);
                ("digest over UEFI_VARIABLE_DATA or its VariableData", alts)
            } else {
                ("digest over UEFI_VARIABLE_DATA", alts)
            }
        }
        EventType::IPL => {
            let text = d.strip_suffix(&[0]).unwrap_or(d);
            let p = GRUB_PREFIXES
                .iter()
                .find(|p| text.starts_with(p.as_bytes()))?;
            (
                "grub: digest over the string after its prefix",
                vec![&text[p.len()..]],
            )
        }
        _ => return None,
    })
}

/// Checks every event of `log`.
pub fn check(log: &EventLog) -> DigestReport {
    let mut r = DigestReport::default();
    for e in &log.events {
        let Some((rule, alternatives)) = measured(e) else {
            r.status.push(DigestStatus::NotCheckable);
            continue;
        };
        let lenient = e.event_type == EventType::S_CRTM_VERSION;
        let mut ok = true;
        for d in &e.digests {
            if d.algorithm.size().is_none() {
                continue; // an algorithm bootaudit cannot compute
            }
            // Alternatives are tried in order and only until one matches:
            // the spec's own rule comes first, so a true log costs one hash.
            if !alternatives
                .iter()
                .any(|m| d.algorithm.matches(m, &d.digest))
            {
                ok = false;
                if lenient {
                    if r.unconfirmed.len() < super::replay::MAX_LISTED {
                        let computed = d.algorithm.hash(&[alternatives[0]]).unwrap_or_default();
                        r.unconfirmed.push(mismatch(
                            e,
                            d.algorithm,
                            &d.digest,
                            computed,
                            UNCONFIRMED_RULE,
                        ));
                    }
                    continue;
                }
                if r.mismatches.len() >= super::replay::MAX_LISTED {
                    r.mismatches_omitted += 1;
                    continue;
                }
                let computed = d.algorithm.hash(&[alternatives[0]]).unwrap_or_default();
                r.mismatches
                    .push(mismatch(e, d.algorithm, &d.digest, computed, rule));
            }
        }
        if ok {
            r.verified += 1;
            r.status.push(DigestStatus::Verified);
        } else if lenient {
            r.status.push(DigestStatus::Unconfirmed);
        } else {
            r.status.push(DigestStatus::Mismatch);
        }
    }
    r
}

fn mismatch(
    e: &Event,
    algorithm: HashAlg,
    logged: &[u8],
    computed: Vec<u8>,
    rule: &'static str,
) -> DigestMismatch {
    DigestMismatch {
        event: e.number,
        offset: e.offset,
        pcr: e.pcr,
        event_type: e.type_name(),
        algorithm,
        logged: logged.to_vec(),
        computed,
        rule,
    }
}
