//! Secure Boot as the measured boot records it. Like go-eventlog, the
//! state is derived from the verified PCR7 log, not from what the machine
//! claims: the SecureBoot, PK, KEK, db and dbx values the firmware measured
//! (EV_EFI_VARIABLE_DRIVER_CONFIG) and the authorities it used
//! (EV_EFI_VARIABLE_AUTHORITY). A value counts as measured only when its
//! event's digests cover its data; whether PCR7 itself replays is the
//! caller's to weigh (see [`crate::check`]).
//!
//! [`keys`] judges the key databases (test keys, Microsoft's expired CAs),
//! [`dbx`] reads UEFI revocation updates and says what a dbx lacks.

pub mod dbx;
pub mod keys;
pub mod policy;
pub mod sbat;

use crate::efi::Guid;
use crate::eventlog::check::{DigestReport, DigestStatus};
use crate::eventlog::decode::EventData;
use crate::eventlog::types::EventType;
use crate::eventlog::EventLog;
use std::collections::BTreeMap;

/// The variables PCR7 must measure (TCG PC Client PFP §3.3.4.8), in order.
pub const MEASURED_VARIABLES: [&str; 5] = ["SecureBoot", "PK", "KEK", "db", "dbx"];

/// One variable's value as PCR7 measured it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeasuredVariable {
    /// The event's number in the log.
    pub event: usize,
    /// The value (VariableData).
    pub data: Vec<u8>,
    /// True when every bank's digest covers the event's data, so the value
    /// is what was hashed into PCR7.
    pub verified: bool,
}

/// What PCR7's events say of Secure Boot.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Measured {
    /// EV_EFI_VARIABLE_DRIVER_CONFIG values by variable name (the last
    /// measurement of each, as the PCR holds it).
    pub variables: BTreeMap<String, MeasuredVariable>,
    /// EV_EFI_VARIABLE_AUTHORITY events: the variable named, and its data
    /// (a db entry, SbatLevel, shim's MokList...).
    pub authorities: Vec<(String, MeasuredVariable)>,
}

impl Measured {
    /// The measured SecureBoot value: 1 on, 0 off; `None` when not measured
    /// (or measured empty).
    pub fn secure_boot(&self) -> Option<u8> {
        self.variables
            .get("SecureBoot")
            .and_then(|v| v.data.first().copied())
    }
}

/// True unless `name` is a Secure Boot variable of another vendor than
/// its own (SecureBoot, PK and KEK are EFI_GLOBAL_VARIABLE's; db, dbx and
/// dbt EFI_IMAGE_SECURITY_DATABASE's).
fn vendor_is(name: &str, guid: Guid) -> bool {
    match name {
        "SecureBoot" | "PK" | "KEK" | "SetupMode" | "AuditMode" | "DeployedMode" => {
            guid == Guid::GLOBAL_VARIABLE
        }
        "db" | "dbx" | "dbt" | "dbr" => guid == Guid::IMAGE_SECURITY_DATABASE,
        _ => true,
    }
}

/// Reads PCR7's variable events of `log`; `digests` is [`crate::eventlog::check::check`]'s
/// report of the same log.
pub fn measured(log: &EventLog, digests: &DigestReport) -> Measured {
    let mut m = Measured::default();
    for (i, e) in log.events.iter().enumerate() {
        if e.pcr != 7 {
            continue;
        }
        let authority = match e.event_type {
            EventType::EFI_VARIABLE_DRIVER_CONFIG => false,
            EventType::EFI_VARIABLE_AUTHORITY => true,
            _ => continue,
        };
        let EventData::Variable(v) = e.decode() else {
            continue;
        };
        // A known name under another vendor is not that variable (a decoy
        // "db" must not stand in for the real one).
        if !authority && !vendor_is(&v.name, v.guid) {
            continue;
        }
        let mv = MeasuredVariable {
            event: e.number,
            data: v.data,
            verified: digests.status.get(i) == Some(&DigestStatus::Verified),
        };
        if authority {
            m.authorities.push((v.name, mv));
        } else {
            m.variables.insert(v.name, mv);
        }
    }
    m
}

/// One key database as read against what PCR7 measured.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct KeyAgreement {
    /// `PK`, `KEK`, `db` or `dbx`.
    pub variable: &'static str,
    /// SHA-256 of the value as read (None: absent or empty).
    pub read_sha256: Option<String>,
    /// SHA-256 of the value PCR7 measured (None: measured empty).
    pub measured_sha256: Option<String>,
    /// The measuring event's number.
    pub event: Option<usize>,
    /// `agrees`, `differs`, `not measured`, or that the event's digest
    /// does not cover the logged value.
    pub verdict: &'static str,
}

/// The key databases of `sb` (as GetVariable or efivarfs read them)
/// against what PCR7 measured (`m`).
pub fn key_agreement(sb: &crate::snapshot::SecureBoot, m: &Measured) -> Vec<KeyAgreement> {
    ["PK", "KEK", "db", "dbx"]
        .into_iter()
        .map(|name| {
            let var = sb.variable(name);
            let logged = m.variables.get(name);
            let measured_sha256 = logged
                .filter(|l| !l.data.is_empty())
                .map(|l| crate::hexser::sha256(&l.data));
            let read_sha256 = var.filter(|v| v.size > 0).map(|v| v.sha256.clone());
            let verdict = match logged {
                None => "not measured",
                Some(l) if !l.verified => {
                    "measured, but its digest does not cover the logged value"
                }
                Some(_) if measured_sha256 == read_sha256 => "agrees",
                Some(_) => "differs",
            };
            KeyAgreement {
                variable: name,
                read_sha256,
                measured_sha256,
                event: logged.map(|l| l.event),
                verdict,
            }
        })
        .collect()
}

/// Why the key databases of a snapshot do not stand behind a PCR7 change:
/// `None` when they are what its verified PCR7 log measured, else the
/// reason. A Secure Boot change explains a PCR7 change only then.
pub fn unmeasured_keys(s: &crate::snapshot::Snapshot, file: &str) -> Option<String> {
    let Some(sb) = s.secure_boot.as_ref() else {
        return Some("the snapshot holds no Secure Boot part".into());
    };
    let log = match s.tpm.as_ref().map(|t| crate::snapshot::event_log(t, file)) {
        Some(Ok(Some(l))) => l,
        _ => return Some("the snapshot has no readable event log".into()),
    };
    let m = measured(&log, &crate::eventlog::check::check(&log));
    let bad: Vec<String> = key_agreement(sb, &m)
        .into_iter()
        .filter(|k| k.verdict != "agrees")
        .map(|k| format!("{} {}", k.variable, k.verdict))
        .collect();
    (!bad.is_empty()).then(|| {
        format!(
            "the key databases are not what PCR7 measured: {}",
            bad.join(", ")
        )
    })
}
