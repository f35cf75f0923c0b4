//! Whether two boots' PCR7 logs record the same Secure Boot policy. PCR7
//! can change while the policy does not: firmware releases measure the
//! same state in different forms (an older EDK II measures an unset
//! SecureBoot variable as 0 bytes where a newer one measures the byte 0).
//! The policy is derived only from PCR7 events whose digests cover their
//! data, never from what the snapshot read of the variables:
//!
//! - Secure Boot on or off (the SecureBoot value: 1 on; 0, or measured
//!   empty, off);
//! - setup mode (no PK measured), and the PK, KEK, db, dbx (and dbt, dbr
//!   when measured) contents, byte for byte;
//! - every EV_EFI_VARIABLE_AUTHORITY event (the db entries that verified
//!   code, shim's SbatLevel and MokList), as a multiset;
//! - every other PCR7 event (separator, actions such as "UEFI Debug
//!   Mode"), by type and data.
//!
//! Audit and deployed mode are not measured; where both snapshots read
//! them, a difference keeps the change unexplained (a value the machine
//! reports can withhold an explanation, never grant one).

use crate::efi::Guid;
use crate::eventlog::check::{DigestReport, DigestStatus};
use crate::eventlog::decode::EventData;
use crate::eventlog::types::EventType;
use crate::eventlog::EventLog;
use std::collections::BTreeMap;

/// The policy variables every PCR7 log must measure (TCG PC Client PFP).
const REQUIRED: [&str; 5] = super::MEASURED_VARIABLES;

/// The most differences one explanation names.
const MAX_NAMED: usize = 8;

/// One variable as PCR7 measured it: its last event and value.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Value {
    event: usize,
    data: Vec<u8>,
}

/// What one log's PCR7 says of the policy.
#[derive(Debug, Default)]
struct Policy {
    /// EV_EFI_VARIABLE_DRIVER_CONFIG by (name, vendor GUID): the last one,
    /// as the PCR holds it.
    variables: BTreeMap<(String, Guid), Value>,
    /// EV_EFI_VARIABLE_AUTHORITY events: (name, vendor, data), sorted.
    authorities: Vec<(String, Guid, Vec<u8>)>,
    /// Every other event: (type, data), sorted.
    others: Vec<(EventType, Vec<u8>)>,
}

/// PCR7's policy of `log`, or why it cannot be read: an event whose
/// digests do not cover its data, or a variable event that does not decode.
fn policy(log: &EventLog, digests: &DigestReport, side: &str) -> Result<Policy, String> {
    let mut p = Policy::default();
    for (i, e) in log.events.iter().enumerate() {
        if e.pcr != 7 || e.event_type == EventType::NO_ACTION {
            continue;
        }
        if digests.status.get(i) != Some(&DigestStatus::Verified) {
            return Err(format!(
                "PCR7 event {} of the {side} log is not covered by its digests: what it measured is unknown",
                e.number
            ));
        }
        match e.event_type {
            EventType::EFI_VARIABLE_DRIVER_CONFIG | EventType::EFI_VARIABLE_AUTHORITY => {
                let EventData::Variable(v) = e.decode() else {
                    return Err(format!(
                        "PCR7 event {} of the {side} log does not decode as a UEFI variable",
                        e.number
                    ));
                };
                if e.event_type == EventType::EFI_VARIABLE_AUTHORITY {
                    p.authorities.push((v.name, v.guid, v.data));
                } else {
                    p.variables.insert(
                        (v.name, v.guid),
                        Value {
                            event: e.number,
                            data: v.data,
                        },
                    );
                }
            }
            t => p.others.push((t, e.data.clone())),
        }
    }
    p.authorities.sort();
    p.others.sort();
    for name in REQUIRED {
        let guid = if name == "db" || name == "dbx" {
            Guid::IMAGE_SECURITY_DATABASE
        } else {
            Guid::GLOBAL_VARIABLE
        };
        if !p.variables.contains_key(&(name.to_string(), guid)) {
            return Err(format!(
                "PCR7 of the {side} log does not measure {name}: the policy is unknown"
            ));
        }
    }
    Ok(p)
}

/// The SecureBoot value's meaning: `Some(true)` on, `Some(false)` off
/// (the byte 0, or measured empty), `None` for any other value.
fn enabled(data: &[u8]) -> Option<bool> {
    match data {
        [] | [0] => Some(false),
        [1] => Some(true),
        _ => None,
    }
}

fn describe(v: Option<&Value>) -> String {
    match v {
        None => "not measured".into(),
        Some(v) if v.data.is_empty() => format!("0 bytes (event {})", v.event),
        Some(v) if v.data.len() <= 4 => format!(
            "{} byte{} {} (event {})",
            v.data.len(),
            if v.data.len() == 1 { "" } else { "s" },
            crate::hexser::encode(&v.data),
            v.event
        ),
        Some(v) => format!(
            "{} bytes, SHA-256 {} (event {})",
            v.data.len(),
            crate::hexser::sha256(&v.data),
            v.event
        ),
    }
}

/// The modes the snapshots read (not measured): `None` when they agree or
/// either side did not read them, else the difference.
pub fn modes_differ(
    a: Option<&crate::snapshot::SecureBoot>,
    b: Option<&crate::snapshot::SecureBoot>,
) -> Option<String> {
    let (a, b) = (a?, b?);
    let mut d = Vec::new();
    for (name, x, y) in [
        ("AuditMode", a.audit_mode, b.audit_mode),
        ("DeployedMode", a.deployed_mode, b.deployed_mode),
    ] {
        if let (Some(x), Some(y)) = (x, y) {
            if x != y {
                d.push(format!("{name} {x} -> {y}"));
            }
        }
    }
    (!d.is_empty()).then(|| d.join(", "))
}

/// Compares the Secure Boot policy PCR7 measured in the baseline's log
/// (`a`) and the current one (`b`), each with its digest report. `Ok`
/// when the policy is the same: the list names the events whose form
/// differs (empty when only the order or another event's position
/// changed). `Err` names what differs, or why the policy is unknown.
pub fn same_policy(
    a: &EventLog,
    da: &DigestReport,
    b: &EventLog,
    db: &DigestReport,
) -> Result<Vec<String>, String> {
    let pa = policy(a, da, "baseline's")?;
    let pb = policy(b, db, "current")?;
    let mut form = Vec::new();
    let mut differs = Vec::new();
    let keys: std::collections::BTreeSet<&(String, Guid)> =
        pa.variables.keys().chain(pb.variables.keys()).collect();
    for k in keys {
        let (va, vb) = (pa.variables.get(k), pb.variables.get(k));
        let da = va.map_or(&[][..], |v| v.data.as_slice());
        let dbv = vb.map_or(&[][..], |v| v.data.as_slice());
        let name = &k.0;
        let same_meaning = if name == "SecureBoot" && k.1 == Guid::GLOBAL_VARIABLE {
            enabled(da).is_some() && enabled(da) == enabled(dbv)
        } else {
            // A key database measured empty is the same as one not
            // measured (an optional dbt); its content counts byte for byte.
            da == dbv
        };
        if !same_meaning {
            differs.push(format!(
                "{name} ({}): {} -> {}",
                k.1,
                describe(va),
                describe(vb)
            ));
        } else if va.map(|v| &v.data) != vb.map(|v| &v.data) {
            let what = if name == "SecureBoot" {
                if enabled(da) == Some(true) {
                    "on in both"
                } else {
                    "off in both"
                }
            } else {
                "empty in both"
            };
            form.push(format!(
                "{name} measured as {} before and {} now: {what}",
                describe(va),
                describe(vb)
            ));
        }
    }
    let pk_empty = |p: &Policy| {
        p.variables
            .get(&("PK".to_string(), Guid::GLOBAL_VARIABLE))
            .is_none_or(|v| v.data.is_empty())
    };
    if pk_empty(&pa) != pk_empty(&pb) {
        differs.push(format!(
            "setup mode {} -> {}",
            if pk_empty(&pa) { "on" } else { "off" },
            if pk_empty(&pb) { "on" } else { "off" }
        ));
    }
    if pa.authorities != pb.authorities {
        let names = |p: &Policy| {
            p.authorities
                .iter()
                .map(|x| x.0.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        differs.push(format!(
            "the authorities PCR7 measured differ (before: [{}]; now: [{}])",
            names(&pa),
            names(&pb)
        ));
    }
    if pa.others != pb.others {
        differs.push(format!(
            "PCR7's other events differ ({} before, {} now: separators, actions such as \"UEFI Debug Mode\")",
            pa.others.len(),
            pb.others.len()
        ));
    }
    if differs.is_empty() {
        form.truncate(MAX_NAMED);
        Ok(form)
    } else {
        let n = differs.len();
        differs.truncate(MAX_NAMED);
        if n > MAX_NAMED {
            differs.push(format!("and {} more", n - MAX_NAMED));
        }
        Err(differs.join("; "))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A SHA-1-format log of TCG_PCR_EVENT records (pcr, type, data).
    pub(crate) fn log(events: &[(u32, EventType, Vec<u8>)]) -> EventLog {
        use sha1::Digest;
        let mut v = Vec::new();
        for (pcr, ty, data) in events {
            v.extend(pcr.to_le_bytes());
            v.extend(ty.0.to_le_bytes());
            v.extend(sha1::Sha1::digest(data));
            v.extend((data.len() as u32).to_le_bytes());
            v.extend_from_slice(data);
        }
        crate::eventlog::parse(&v).expect("a SHA-1 log")
    }

    /// UEFI_VARIABLE_DATA for `name` under `guid` with `data`.
    fn var(guid: Guid, name: &str, data: &[u8]) -> Vec<u8> {
        let mut v = guid.0.to_vec();
        let utf16: Vec<u16> = name.encode_utf16().collect();
        v.extend((utf16.len() as u64).to_le_bytes());
        v.extend((data.len() as u64).to_le_bytes());
        for c in utf16 {
            v.extend(c.to_le_bytes());
        }
        v.extend_from_slice(data);
        v
    }

    fn pcr7(secure_boot: &[u8], db: &[u8], extra: &[(EventType, Vec<u8>)]) -> EventLog {
        let g = Guid::GLOBAL_VARIABLE;
        let s = Guid::IMAGE_SECURITY_DATABASE;
        let mut e = vec![
            (
                7,
                EventType::EFI_VARIABLE_DRIVER_CONFIG,
                var(g, "SecureBoot", secure_boot),
            ),
            (7, EventType::EFI_VARIABLE_DRIVER_CONFIG, var(g, "PK", b"")),
            (7, EventType::EFI_VARIABLE_DRIVER_CONFIG, var(g, "KEK", b"")),
            (7, EventType::EFI_VARIABLE_DRIVER_CONFIG, var(s, "db", db)),
            (7, EventType::EFI_VARIABLE_DRIVER_CONFIG, var(s, "dbx", b"")),
        ];
        e.extend(extra.iter().map(|(t, d)| (7, *t, d.clone())));
        e.push((7, EventType::SEPARATOR, vec![0; 4]));
        log(&e)
    }

    fn cmp(a: &EventLog, b: &EventLog) -> Result<Vec<String>, String> {
        let (da, db) = (
            crate::eventlog::check::check(a),
            crate::eventlog::check::check(b),
        );
        same_policy(a, &da, b, &db)
    }

    #[test]
    fn secure_boot_off_measured_empty_or_as_zero_is_the_same_policy() {
        let form = cmp(&pcr7(b"", b"", &[]), &pcr7(&[0], b"", &[])).unwrap();
        assert_eq!(form.len(), 1, "{form:?}");
        assert!(form[0].starts_with("SecureBoot measured as 0 bytes (event 0) before and 1 byte 00 (event 0) now: off in both"), "{form:?}");
        // Identical logs: the same policy, no form difference.
        assert_eq!(
            cmp(&pcr7(&[1], b"x", &[]), &pcr7(&[1], b"x", &[])),
            Ok(vec![])
        );
    }

    #[test]
    fn any_change_of_state_keys_authorities_or_other_events_stays_a_difference() {
        let base = pcr7(&[0], b"", &[]);
        let cases: Vec<(&str, EventLog)> = vec![
            ("secure boot on", pcr7(&[1], b"", &[])),
            ("another value", pcr7(&[2], b"", &[])),
            ("db", pcr7(&[0], b"a key", &[])),
            (
                "authority",
                pcr7(
                    &[0],
                    b"",
                    &[(
                        EventType::EFI_VARIABLE_AUTHORITY,
                        var(Guid::IMAGE_SECURITY_DATABASE, "db", b"cert"),
                    )],
                ),
            ),
            (
                "debug mode",
                pcr7(
                    &[0],
                    b"",
                    &[(EventType::EFI_ACTION, b"UEFI Debug Mode".to_vec())],
                ),
            ),
            (
                "a decoy dbx under another vendor",
                pcr7(
                    &[0],
                    b"",
                    &[(
                        EventType::EFI_VARIABLE_DRIVER_CONFIG,
                        var(Guid::GLOBAL_VARIABLE, "dbx", b"x"),
                    )],
                ),
            ),
        ];
        let n = cases.len();
        let mut refused = 0;
        for (what, l) in cases {
            assert!(cmp(&base, &l).is_err(), "{what}");
            assert!(cmp(&l, &base).is_err(), "{what}, the other way");
            refused += 1;
        }
        assert_eq!(refused, n);
    }

    #[test]
    fn an_unmeasured_policy_variable_or_an_uncovered_event_is_unknown() {
        let g = Guid::GLOBAL_VARIABLE;
        let no_pk = log(&[
            (
                7,
                EventType::EFI_VARIABLE_DRIVER_CONFIG,
                var(g, "SecureBoot", &[0]),
            ),
            (7, EventType::SEPARATOR, vec![0; 4]),
        ]);
        let e = cmp(&no_pk, &no_pk).unwrap_err();
        assert!(e.contains("does not measure PK"), "{e}");
        // A digest that does not cover the data: the first event's digest
        // is made of other bytes.
        let mut l = pcr7(&[0], b"", &[]);
        l.events[0].digests[0].digest[0] ^= 1;
        let e = cmp(&l, &pcr7(&[0], b"", &[])).unwrap_err();
        assert!(
            e.contains("event 0 of the baseline's log is not covered"),
            "{e}"
        );
    }
}
