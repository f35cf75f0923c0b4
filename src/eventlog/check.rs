//! Digest checks: for the event types whose digest the PFP spec defines over
//! the event data itself, the logged digest must equal the hash of that data
//! in every bank. A mismatch means the log does not describe what was
//! measured: the log lies.

use super::decode::{variable_layout, GRUB_PREFIXES};
use super::types::ev;
use super::{Event, EventLog, HashAlg};
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
}

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
        ev::SEPARATOR
        | ev::EFI_ACTION
        | ev::ACTION
        | ev::S_CRTM_VERSION
        | ev::OMIT_BOOT_DEVICE_EVENTS
        | ev::EFI_GPT_EVENT
        | ev::EFI_GPT_EVENT2
        | ev::EFI_HCRTM_EVENT => ("digest over the event data", vec![d]),
        ev::EFI_VARIABLE_DRIVER_CONFIG
        | ev::EFI_VARIABLE_AUTHORITY
        | ev::EFI_VARIABLE_BOOT
        | ev::EFI_VARIABLE_BOOT2 => {
            let Some((data_offset, end)) = variable_layout(d) else {
                // Not a UEFI_VARIABLE_DATA at all: the data is what was hashed.
                return Some(("digest over the event data", vec![d]));
            };
            // The structure itself, then up to STRUCT_SLACK bytes of the
            // event data past it: shim before 15.2 logged and hashed its
            // UEFI_VARIABLE_DATA with C structure padding (rhboot/shim #184).
            let mut alts: Vec<&[u8]> = vec![d];
            alts.extend((end..=d.len().min(end + STRUCT_SLACK)).map(|n| &d[..n]));
            if matches!(e.event_type, ev::EFI_VARIABLE_BOOT | ev::EFI_VARIABLE_BOOT2) {
                // EDK2 hashes only the value of Boot#### and BootOrder.
                alts.push(&d[data_offset..end]);
                ("digest over UEFI_VARIABLE_DATA or its VariableData", alts)
            } else {
                ("digest over UEFI_VARIABLE_DATA", alts)
            }
        }
        ev::IPL => {
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
