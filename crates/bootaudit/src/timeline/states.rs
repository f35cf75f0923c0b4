//! Firmware states: what one boot's measurements say the firmware was.
//!
//! A state is PCR0 (the firmware's code), PCR2 (option ROMs and other
//! pre-OS drivers), PCR4 (the boot applications) and PCR7 (the Secure
//! Boot policy and authorities), SHA-256, as the boot's own event log
//! replays them:
//! derived from the log, never from what the firmware says it is; and,
//! for a collector's snapshot, the SHA-256 of the copy of the flash it
//! read before the OS. Its self-description (vendor, revision, BIOS
//! version) is kept beside it, as a claim. How two states compare is
//! [`super::correlate`]'s.
//!
//! - A snapshot (collector or `collect`) is placed at its collection time,
//!   as its clock read it; its log is replayed and checked against the
//!   PCR values it recorded (`replays`).
//! - A Windows MeasuredBoot log is placed at the file's modification time
//!   (Windows writes it during that boot); nothing recorded beside it
//!   checks its replay.

use super::{At, FirmwareState, Place, TimelineError};
use crate::eventlog::{self, decode::EventData, types::EventType, HashAlg};
use crate::snapshot::Snapshot;
use std::path::Path;

/// The replayed PCRs 0, 2, 4 and 7 (SHA-256, hex), and the S-CRTM version.
struct Measured {
    pcrs: [Option<String>; 4],
    scrtm: Option<String>,
}

fn measured(log: &eventlog::EventLog) -> Measured {
    let r = eventlog::replay::replay(log);
    let bank = r.banks.get(&HashAlg::Sha256);
    let pcr = |i: u32| {
        if r.unreplayable.contains(&(HashAlg::Sha256, i)) {
            return None;
        }
        bank.and_then(|b| b.get(&i)).map(hex::encode)
    };
    let scrtm = log
        .events
        .iter()
        .find(|e| e.event_type == EventType::S_CRTM_VERSION)
        .map(|e| match e.decode() {
            EventData::Text { text } => text,
            EventData::Guid { guid } => guid.to_string(),
            _ => hex::encode(&e.data),
        });
    Measured {
        pcrs: [pcr(0), pcr(2), pcr(4), pcr(7)],
        scrtm,
    }
}

/// The time a snapshot was collected, in UTC, and what placed it.
pub fn snapshot_time(s: &Snapshot) -> (Option<At>, String) {
    let Some(id) = &s.identity else {
        return (None, "unknown: the snapshot has no identity part".into());
    };
    let Some(t) = &id.time else {
        return (
            None,
            "unknown: the snapshot records no collection time".into(),
        );
    };
    let Some(at) = At::parse(t) else {
        return (
            None,
            format!("unknown: its collection time {t:?} is not a date and time"),
        );
    };
    let has_offset = t.ends_with('Z') || t.get(19..).is_some_and(|r| r.contains(['+', '-']));
    if has_offset {
        return (Some(at), "snapshot collection time".into());
    }
    match id.timezone_minutes {
        // UEFI: Localtime = UTC - TimeZone, so UTC = local + TimeZone.
        Some(tz) => {
            let utc =
                at.0.checked_add(jiff::SignedDuration::from_secs(i64::from(tz) * 60))
                    .ok()
                    .map(At);
            (
                utc,
                format!("snapshot collection time (the firmware's clock, zone {tz:+} minutes)"),
            )
        }
        None => (
            Some(at),
            "snapshot collection time (the firmware's clock, zone not given: read as UTC)".into(),
        ),
    }
}

/// The firmware state of a snapshot.
pub fn of_snapshot(file: &str, s: &Snapshot) -> FirmwareState {
    let (at, placed_by) = snapshot_time(s);
    let mut st = FirmwareState {
        at,
        placed_by,
        source: Place {
            file: file.into(),
            ..Place::default()
        },
        pcr0: None,
        pcr2: None,
        pcr4: None,
        pcr7: None,
        flash_sha256: s
            .firmware_flash
            .as_ref()
            .map(|f| f.sha256.to_ascii_lowercase()),
        scrtm_version: None,
        claims: claims(s),
        replays: None,
        verified_by: None,
        firmware: String::new(),
    };
    if let Some(t) = &s.tpm {
        if let Ok(Some(log)) = crate::snapshot::event_log(t, file) {
            let Measured {
                pcrs: [p0, p2, p4, p7],
                scrtm,
            } = measured(&log);
            (st.pcr0, st.pcr2, st.pcr4, st.pcr7) = (p0, p2, p4, p7);
            st.scrtm_version = scrtm;
            let verdicts = crate::snapshot::self_check(t, &log);
            let of = |i: u32| {
                verdicts
                    .iter()
                    .find(|v| v.bank == HashAlg::Sha256 && v.pcr == i)
                    .map(|v| v.verdict.clone())
            };
            use crate::pcrs::Verdict;
            st.replays = match (of(0), of(2)) {
                (Some(Verdict::Match), Some(Verdict::Match)) => Some(true),
                (Some(Verdict::Mismatch), _) | (_, Some(Verdict::Mismatch)) => Some(false),
                _ => None,
            };
        }
    }
    st
}

/// What a snapshot's firmware says it is.
fn claims(s: &Snapshot) -> String {
    let Some(id) = &s.identity else {
        return String::new();
    };
    let mut c = format!("{} rev {:#x}", id.firmware_vendor, id.firmware_revision);
    if let Some(b) = &id.smbios {
        c.push_str(&format!(
            "; BIOS {} {} {}",
            b.bios_vendor, b.bios_version, b.bios_release_date
        ));
    }
    c
}

/// The firmware state of a TCG event log file (a Windows MeasuredBoot
/// log), placed at the file's modification time.
pub fn of_log(path: &Path) -> Result<FirmwareState, TimelineError> {
    let file = path.display().to_string();
    let log = eventlog::read_file(path).map_err(|e| TimelineError::file(&file, e.to_string()))?;
    let f = crate::fsutil::open_input(path)
        .map_err(|e| TimelineError::file(&file, format!("cannot read: {e}")))?;
    let mtime = f
        .metadata()
        .ok()
        .and_then(|m| m.modified().ok())
        .and_then(|t| jiff::Timestamp::try_from(t).ok())
        .map(At);
    let Measured {
        pcrs: [p0, p2, p4, p7],
        scrtm,
    } = measured(&log);
    Ok(FirmwareState {
        at: mtime,
        placed_by: if mtime.is_some() {
            "the log file's modification time".into()
        } else {
            "unknown: the file has no modification time".into()
        },
        source: Place {
            file: file.into(),
            ..Place::default()
        },
        pcr0: p0,
        pcr2: p2,
        pcr4: p4,
        pcr7: p7,
        flash_sha256: None,
        scrtm_version: scrtm,
        claims: String::new(),
        replays: None,
        verified_by: None,
        firmware: String::new(),
    })
}

/// True when the bytes begin a TCG event log: the Spec ID event's
/// signature at its place in the first event (crypto-agile or SHA-1).
pub fn looks_like_tcg_log(b: &[u8]) -> bool {
    b.get(32..45) == Some(b"Spec ID Event")
}
