//! The checks a lying firmware or OS cannot make agree: the log against
//! the PCRs (and a quote), the Secure Boot variables against PCR7, the
//! loaded images against PCR2 and PCR4, the ACPI tables against their
//! checksums, the XSDT and PCR1, and the memory map against the quiet
//! window.

use super::{result, CheckResult, Evidence, Outcome};
use crate::eventlog::decode::EventData;
use crate::eventlog::types::EventType;
use crate::pcrs::Verdict;
use crate::rules;
use crate::snapshot::{LoadedImage, Part};
use serde_json::json;

pub(super) fn run(e: &Evidence<'_>, out: &mut Vec<CheckResult>) {
    tpm(e, out);
    secure_boot_state(e, out);
    decoys(e, out);
    keys_measured(e, out);
    images(e, out);
    acpi(e, out);
    mapkey(e, out);
    attributes_table(e, out);
}

/// The UEFI revision an identity reports ("2.70"), as (major, minor).
fn uefi_revision(e: &Evidence<'_>) -> Option<(u32, u32)> {
    let r = &e.s.identity.as_ref()?.uefi_revision;
    let (a, b) = r.split_once('.')?;
    Some((a.parse().ok()?, b.chars().next()?.to_digit(10)?))
}

fn attributes_table(e: &Evidence<'_>, out: &mut Vec<CheckResult>) {
    let (r_present, r_wx) = (
        rules::CHECK_MEMORY_ATTRIBUTES_PRESENT,
        rules::CHECK_MEMORY_RUNTIME_NO_WX,
    );
    let Some(m) = &e.s.memory_attributes else {
        let why = e.absent(
            Part::MemoryAttributes,
            "Memory Attributes Table record (only the collector, before the OS, reads it)",
        );
        for r in [r_present, r_wx] {
            out.push(result(r, Outcome::Unknown, why.clone(), json!(null)));
        }
        return;
    };
    let rev = uefi_revision(e);
    if !m.present {
        let (outcome, why) = match rev {
            Some(v) if v >= (2, 6) => (
                Outcome::Fail,
                format!(
                    "UEFI {}.{} firmware publishes no Memory Attributes Table",
                    v.0, v.1
                ),
            ),
            Some(v) => (
                Outcome::NotApplicable,
                format!("UEFI {}.{} firmware predates the table (2.6)", v.0, v.1),
            ),
            None => (
                Outcome::Fail,
                "no Memory Attributes Table, and no UEFI revision to excuse it".into(),
            ),
        };
        out.push(result(
            r_present,
            outcome,
            why,
            json!({"uefi_revision": rev}),
        ));
        out.push(result(
            r_wx,
            Outcome::Unknown,
            "no Memory Attributes Table: the runtime regions' permissions are not published".into(),
            json!(null),
        ));
        return;
    }
    out.push(result(
        r_present,
        Outcome::Pass,
        format!(
            "a Memory Attributes Table, version {}, of {} entries",
            m.version,
            m.descriptors.len()
        ),
        json!({"version": m.version, "flags": m.flags, "entries": m.descriptors.len()}),
    ));
    let wx: Vec<_> = m
        .descriptors
        .iter()
        .filter(|d| d.is_writable_executable())
        .collect();
    // Each entry must lie inside a runtime region of the last memory map:
    // the table describes the runtime images, nothing else.
    let runtime: Vec<(u64, u64)> =
        e.s.memory_maps
            .last()
            .map(|mm| {
                mm.descriptors
                    .iter()
                    .filter(|d| d.ty.is_runtime())
                    .map(|d| {
                        (
                            d.physical_start,
                            d.physical_start
                                .saturating_add(d.pages.saturating_mul(4096)),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
    let outside: Vec<_> = if runtime.is_empty() {
        Vec::new()
    } else {
        m.descriptors
            .iter()
            .filter(|d| {
                let end = d
                    .physical_start
                    .saturating_add(d.pages.saturating_mul(4096));
                !runtime
                    .iter()
                    .any(|&(a, b)| a <= d.physical_start && end <= b)
            })
            .collect()
    };
    let evidence = json!({"writable_executable": wx, "outside_runtime_memory": outside,
                          "entries": m.descriptors.len(), "runtime_regions": runtime.len()});
    out.push(if !wx.is_empty() || !outside.is_empty() {
        let mut why = Vec::new();
        if !wx.is_empty() {
            why.push(format!(
                "{} runtime entries are writable and executable (neither RO nor XP), the first at {:#x}",
                wx.len(),
                wx[0].physical_start
            ));
        }
        if !outside.is_empty() {
            why.push(format!(
                "{} entries lie outside the memory map's runtime regions, the first at {:#x}",
                outside.len(),
                outside[0].physical_start
            ));
        }
        result(r_wx, Outcome::Fail, why.join("; "), evidence)
    } else if runtime.is_empty() {
        result(
            r_wx,
            Outcome::Unknown,
            "no memory map to place the table's entries in".into(),
            evidence,
        )
    } else if m.descriptors.is_empty() {
        // A table that lists nothing vouches for no permission.
        result(
            r_wx,
            Outcome::Unknown,
            "the Memory Attributes Table lists no entry".into(),
            evidence,
        )
    } else {
        result(
            r_wx,
            Outcome::Pass,
            format!(
                "every one of the {} entries is read-only or non-executable, inside the map's {} runtime regions",
                m.descriptors.len(),
                runtime.len()
            ),
            evidence,
        )
    });
}

fn tpm(e: &Evidence<'_>, out: &mut Vec<CheckResult>) {
    let (r_present, r_digests, r_replays) = (
        rules::CHECK_TPM_PRESENT,
        rules::CHECK_TPM_LOG_DIGESTS,
        rules::CHECK_TPM_LOG_REPLAYS,
    );
    let Some(t) = e.s.tpm.as_ref() else {
        let why = e.absent(Part::Tpm, "TPM part");
        for r in [r_present, r_digests, r_replays] {
            out.push(result(r, Outcome::Unknown, why.clone(), json!(null)));
        }
        return;
    };
    let facts = json!({"present": t.present, "protocol_version": t.protocol_version,
                       "active_banks": t.active_banks, "log_format": t.log_format,
                       "log_bytes": t.event_log.len() / 2});
    out.push(match (&e.log, t.present) {
        (_, false) => result(
            r_present,
            Outcome::Fail,
            "no TPM: nothing measures the boot".into(),
            facts,
        ),
        (Err(why), true) => result(
            r_present,
            Outcome::Fail,
            format!("a TPM, but no readable event log of the boot: {why}"),
            facts,
        ),
        (Ok(l), true) if l.events.is_empty() => result(
            r_present,
            Outcome::Fail,
            "a TPM, but its event log holds no event: nothing of the boot was measured".into(),
            facts,
        ),
        (Ok(l), true) => result(
            r_present,
            Outcome::Pass,
            format!(
                "a TPM (TCG2 protocol {}) with banks {}, and an event log of {} events",
                t.protocol_version,
                t.active_banks.join(", "),
                l.events.len()
            ),
            facts,
        ),
    });
    let (Ok(log), Some(d)) = (&e.log, &e.digests) else {
        let why = match &e.log {
            Err(w) => w.clone(),
            Ok(_) => String::new(),
        };
        for r in [r_digests, r_replays] {
            out.push(result(
                r,
                Outcome::Unknown,
                format!("no event log to check: {why}"),
                json!(null),
            ));
        }
        return;
    };
    out.push(if d.mismatches.is_empty() && d.verified == 0 {
        // No event whose data is what was hashed: nothing was checked.
        result(
            r_digests,
            Outcome::Unknown,
            format!(
                "none of the {} events holds the data its digest covers: nothing to check",
                log.events.len()
            ),
            json!({"verified": 0, "events": log.events.len()}),
        )
    } else if d.mismatches.is_empty() {
        result(
            r_digests,
            Outcome::Pass,
            format!(
                "{} of {} events' digests cover their data; the others measure what the log does not hold (code, files)",
                d.verified,
                log.events.len()
            ),
            json!({"verified": d.verified, "events": log.events.len(), "unconfirmed": d.unconfirmed}),
        )
    } else {
        result(
            r_digests,
            Outcome::Fail,
            format!(
                "{} digests do not cover their event's data: the log lies",
                d.mismatches.len() + d.mismatches_omitted
            ),
            json!({"mismatches": d.mismatches, "omitted": d.mismatches_omitted}),
        )
    });
    let bad: Vec<_> = e
        .verdicts
        .iter()
        .filter(|v| v.verdict == Verdict::Mismatch)
        .collect();
    let matched = e
        .verdicts
        .iter()
        .filter(|v| v.verdict == Verdict::Match)
        .count();
    let extended: std::collections::BTreeSet<u32> = log
        .events
        .iter()
        .filter(|x| x.event_type != EventType::NO_ACTION)
        .map(|x| x.pcr)
        .collect();
    let unreplayed: Vec<u32> = extended
        .into_iter()
        .filter(|p| {
            !e.verdicts
                .iter()
                .any(|v| v.pcr == *p && v.verdict == Verdict::Match)
        })
        .collect();
    let mut replay = if !bad.is_empty() {
        result(
            r_replays,
            Outcome::Fail,
            format!(
                "the log does not replay to {}",
                bad.iter()
                    .map(|v| format!("{} PCR{}", v.bank, v.pcr))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            json!({"mismatches": bad}),
        )
    } else if matched == 0 {
        result(
            r_replays,
            Outcome::Unknown,
            "the snapshot records no PCR values to replay the log against".into(),
            json!({"verdicts": e.verdicts}),
        )
    } else if !unreplayed.is_empty() {
        // A check that can be emptied is no check: every PCR the log
        // extends must be vouched for, not only some.
        result(
            r_replays,
            Outcome::Unknown,
            format!(
                "the log replays to {matched} recorded PCR values, but the snapshot records no value for PCR {} that the log extends",
                unreplayed
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            json!({"matched": matched, "unreplayed": unreplayed}),
        )
    } else {
        result(
            r_replays,
            Outcome::Pass,
            format!("the log replays to {matched} recorded PCR values"),
            json!({"matched": matched}),
        )
    };
    if let Some(q) = &t.quote {
        quote_consistency(e, q, &mut replay);
    }
    out.push(replay);
}

/// Adds what the snapshot's quote says: whether it is a quote of these PCR
/// values, under the AK it names (which only `verify-quote --ak` trusts).
fn quote_consistency(e: &Evidence<'_>, q: &crate::snapshot::TpmQuote, r: &mut CheckResult) {
    let nonce = hex::decode(&q.attest)
        .ok()
        .and_then(|a| crate::quote::parse_attest(&a).ok())
        .map(|i| i.extra_data);
    let ak = hex::decode(&q.ak_public).unwrap_or_default();
    let checked = nonce
        .ok_or_else(|| "its TPMS_ATTEST does not parse".to_string())
        .and_then(|n| {
            crate::quote::verify_snapshot(e.file, e.s, &ak, "the snapshot's own AK", &n, &[])
                .map_err(|x| x.to_string())
        });
    match checked {
        Ok(rep) if rep.ok => {
            r.reason.push_str("; and the snapshot's quote, under the AK it names, covers those values (certify the AK with verify-quote --ak)");
            r.evidence["quote"] = json!(rep.checks);
        }
        Ok(rep) => {
            r.result = Outcome::Fail;
            let failed: Vec<String> = rep
                .checks
                .iter()
                .filter(|c| !c.ok)
                .map(|c| format!("{}: {}", c.check, c.detail))
                .collect();
            r.reason = format!(
                "the snapshot's quote does not vouch for its PCR values: {}",
                failed.join("; ")
            );
            r.evidence["quote"] = json!(rep.checks);
        }
        Err(why) => {
            r.result = Outcome::Fail;
            r.reason = format!("the snapshot's quote cannot be read: {why}");
        }
    }
}

/// secure-boot.variables.no-decoys: a key database's name under another
/// vendor GUID is named; the real one is judged under its own.
fn decoys(e: &Evidence<'_>, out: &mut Vec<CheckResult>) {
    let r = rules::CHECK_SECURE_BOOT_NO_DECOYS;
    out.push(match e.s.secure_boot.as_ref() {
        None => result(
            r,
            Outcome::Unknown,
            e.absent(Part::SecureBoot, "Secure Boot part"),
            json!(null),
        ),
        // Nothing recorded rules nothing out: an emptied list is no pass.
        Some(sb) if sb.variables.is_empty() => result(
            r,
            Outcome::Unknown,
            "the snapshot records no Secure Boot variable, so a key database's name under another vendor GUID cannot be ruled out".into(),
            json!(null),
        ),
        Some(sb) => {
            let d: Vec<serde_json::Value> = sb
                .decoys()
                .map(|v| json!({"name": v.name, "vendor": v.vendor, "sha256": v.sha256}))
                .collect();
            if d.is_empty() {
                result(
                    r,
                    Outcome::Pass,
                    format!(
                        "each of the {} recorded Secure Boot variables has its specification's vendor GUID",
                        sb.variables.len()
                    ),
                    json!([]),
                )
            } else {
                let names: Vec<String> = sb
                    .decoys()
                    .take(8)
                    .map(|v| format!("{} under {}", v.name, v.vendor))
                    .collect();
                result(
                    r,
                    Outcome::Fail,
                    format!(
                        "{} variables carry a key database's name under another vendor GUID: {}",
                        d.len(),
                        names.join(", ")
                    ),
                    json!(d),
                )
            }
        }
    });
}

fn secure_boot_state(e: &Evidence<'_>, out: &mut Vec<CheckResult>) {
    let (r_on, r_mode, r_state) = (
        rules::CHECK_SECURE_BOOT_ON,
        rules::CHECK_SECURE_BOOT_USER_MODE,
        rules::CHECK_SECURE_BOOT_STATE_MEASURED,
    );
    let var = e.s.secure_boot.as_ref();
    let logged = e
        .measured
        .as_ref()
        .and_then(|m| m.variables.get("SecureBoot"));
    let trusted = e.pcr_replays(7) && logged.is_some_and(|l| l.verified);
    let logged_value = logged.and_then(|l| l.data.first().copied());
    // secure-boot.on: from the verified log; else from the variable, said so.
    out.push(match (trusted, logged_value, var.and_then(|v| v.secure_boot)) {
        (true, Some(v), _) => result(
            r_on,
            if v == 1 { Outcome::Pass } else { Outcome::Fail },
            format!(
                "PCR7 measured SecureBoot = {v} (event {}){}",
                logged.map(|l| l.event).unwrap_or(0),
                if v == 1 { "" } else { ": Secure Boot is off" }
            ),
            json!({"measured": v, "event": logged.map(|l| l.event), "variable": var.and_then(|v| v.secure_boot)}),
        ),
        // Only the variable: a claim of weakness is believed, a claim of
        // strength is not (a self-reported value is evidence, not proof).
        (_, _, Some(v)) if v != 1 => result(
            r_on,
            Outcome::Fail,
            format!("the SecureBoot variable reads {v}: Secure Boot is off"),
            json!({"variable": v, "measured": logged_value}),
        ),
        (_, _, Some(v)) => result(
            r_on,
            Outcome::Unknown,
            format!(
                "the SecureBoot variable reads {v}, but no verified PCR7 measurement confirms it"
            ),
            json!({"variable": v, "measured": logged_value}),
        ),
        _ if var.is_none() => result(
            r_on,
            Outcome::Unknown,
            e.absent(Part::SecureBoot, "Secure Boot part"),
            json!(null),
        ),
        _ => result(
            r_on,
            Outcome::Fail,
            "no SecureBoot variable and no measurement of it: the firmware does not support Secure Boot, or hides it".into(),
            json!(null),
        ),
    });
    out.push(match var {
        None => result(
            r_mode,
            Outcome::Unknown,
            e.absent(Part::SecureBoot, "Secure Boot part"),
            json!(null),
        ),
        Some(v) => {
            let pk = v.variable("PK");
            let facts = json!({"setup_mode": v.setup_mode, "audit_mode": v.audit_mode,
                               "deployed_mode": v.deployed_mode, "pk_bytes": pk.map(|p| p.size)});
            if v.setup_mode == Some(1) || pk.is_none_or(|p| p.size == 0) {
                result(
                    r_mode,
                    Outcome::Fail,
                    "setup mode: no Platform Key is enrolled, so anyone may enrol keys".into(),
                    facts,
                )
            } else if v.audit_mode == Some(1) {
                result(
                    r_mode,
                    Outcome::Fail,
                    "audit mode: images that fail verification still run".into(),
                    facts,
                )
            } else if v.setup_mode.is_none() {
                result(
                    r_mode,
                    Outcome::Unknown,
                    "a PK is enrolled but SetupMode was not read".into(),
                    facts,
                )
            } else {
                result(
                    r_mode,
                    Outcome::Pass,
                    "user mode: a Platform Key is enrolled".into(),
                    facts,
                )
            }
        }
    });
    out.push(match (var, &e.measured) {
        (None, _) => result(
            r_state,
            Outcome::Unknown,
            e.absent(Part::SecureBoot, "Secure Boot part"),
            json!(null),
        ),
        (_, None) => result(
            r_state,
            Outcome::Unknown,
            "no event log: nothing measured the SecureBoot variable".into(),
            json!(null),
        ),
        (Some(v), Some(_)) => match logged {
            None => result(
                r_state,
                Outcome::Fail,
                "PCR7 holds no measurement of SecureBoot, which the PC Client spec requires".into(),
                json!({"variable": v.secure_boot}),
            ),
            Some(l) if logged_value == v.secure_boot => result(
                r_state,
                Outcome::Pass,
                format!(
                    "the SecureBoot variable ({}) is the value event {} measured",
                    show(v.secure_boot),
                    l.event
                ),
                json!({"variable": v.secure_boot, "measured": logged_value, "event": l.event}),
            ),
            Some(l) => result(
                r_state,
                Outcome::Fail,
                format!(
                    "the SecureBoot variable reads {} but event {} measured {}: the firmware or the snapshot lies",
                    show(v.secure_boot),
                    l.event,
                    show(logged_value)
                ),
                json!({"variable": v.secure_boot, "measured": logged_value, "event": l.event}),
            ),
        },
    });
}

fn show(v: Option<u8>) -> String {
    v.map(|x| x.to_string()).unwrap_or_else(|| "absent".into())
}

fn keys_measured(e: &Evidence<'_>, out: &mut Vec<CheckResult>) {
    let r = rules::CHECK_SECURE_BOOT_KEYS_MEASURED;
    let (Some(sb), Some(m)) = (e.s.secure_boot.as_ref(), e.measured.as_ref()) else {
        let why = if e.s.secure_boot.is_none() {
            e.absent(Part::SecureBoot, "Secure Boot part")
        } else {
            "no event log: nothing measured the key databases".into()
        };
        out.push(result(r, Outcome::Unknown, why, json!(null)));
        return;
    };
    let rows = crate::secure_boot::key_agreement(sb, m);
    let bad: Vec<String> = rows
        .iter()
        .filter(|k| k.verdict != "agrees")
        .map(|k| format!("{} {}", k.variable, k.verdict))
        .collect();
    out.push(if bad.is_empty() {
        result(
            r,
            Outcome::Pass,
            "PK, KEK, db and dbx as read are the values PCR7 measured".into(),
            json!(rows),
        )
    } else {
        result(
            r,
            Outcome::Fail,
            format!(
                "the key databases read are not what PCR7 measured: {}",
                bad.join(", ")
            ),
            json!(rows),
        )
    });
}

/// What kind of image a loaded image is, by its device path. Broader on
/// purpose than `diff`'s `is_option_rom` (which wants the Offset node
/// last, to name the rule of a change): any image whose path runs through
/// a PCI device's ROM offset must have its PCR2 measurement, so a path a
/// hostile firmware extends past that node is still held to it.
fn is_option_rom(i: &LoadedImage) -> bool {
    i.device_path.contains("Pci(") && i.device_path.contains("Offset(")
}

fn is_file_image(i: &LoadedImage) -> bool {
    !i.device_path.contains("FvFile(") && !is_option_rom(i) && i.device_path.contains('\\')
}

/// A device path's text, compared without case and spaces (the
/// firmware's DevicePathToText and bootaudit's renderer may differ there).
fn same_path(p: &str) -> String {
    p.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

/// The image-load events of `pcr` with one of `types`: (event number,
/// location, length, device path).
fn image_events(e: &Evidence<'_>, pcr: u32, types: &[EventType]) -> Vec<(usize, u64, u64, String)> {
    let Ok(log) = &e.log else { return Vec::new() };
    log.events
        .iter()
        .filter(|x| x.pcr == pcr && types.contains(&x.event_type))
        .filter_map(|x| match x.decode() {
            EventData::ImageLoad {
                location,
                length,
                device_path,
                ..
            } => Some((x.number, location, length, device_path)),
            _ => None,
        })
        .collect()
}

fn images(e: &Evidence<'_>, out: &mut Vec<CheckResult>) {
    for (rule, pcr, types, pick, what) in [
        (
            rules::CHECK_OPTION_ROM_MEASURED,
            2,
            &[
                EventType::EFI_BOOT_SERVICES_DRIVER,
                EventType::EFI_RUNTIME_SERVICES_DRIVER,
            ][..],
            is_option_rom as fn(&LoadedImage) -> bool,
            "option-ROM driver",
        ),
        (
            rules::CHECK_BOOT_APPLICATION_MEASURED,
            4,
            &[EventType::EFI_BOOT_SERVICES_APPLICATION][..],
            is_file_image,
            "boot application loaded from a file",
        ),
    ] {
        let Some(images) = e.s.loaded_images.as_ref() else {
            out.push(result(
                rule,
                Outcome::Unknown,
                e.absent(Part::LoadedImages, "loaded-image list"),
                json!(null),
            ));
            continue;
        };
        let picked: Vec<&LoadedImage> = images.iter().filter(|i| pick(i)).collect();
        if picked.is_empty() {
            out.push(result(
                rule,
                Outcome::NotApplicable,
                format!("no {what} was loaded"),
                json!({"loaded_images": images.len()}),
            ));
            continue;
        }
        if let Err(why) = &e.log {
            out.push(result(
                rule,
                Outcome::Unknown,
                format!(
                    "{} {what}(s) loaded, and no event log to find their measurements in: {why}",
                    picked.len()
                ),
                json!({"images": picked.iter().map(|i| &i.device_path).collect::<Vec<_>>()}),
            ));
            continue;
        }
        let events = image_events(e, pcr, types);
        let mut used = vec![false; events.len()];
        let mut rows = Vec::new();
        let mut missing = Vec::new();
        for i in &picked {
            // The event names the image by where it was loaded from: its
            // device path (UEFI_IMAGE_LOAD_EVENT's location is the buffer
            // it was read into, not the loaded image's base). One event
            // per loaded image.
            let want = same_path(&i.device_path);
            let hit = events.iter().enumerate().find(|(k, (_, loc, _, dp))| {
                !used[*k] && (same_path(dp) == want || *loc == i.base)
            });
            match hit {
                Some((k, (n, _, len, dp))) => {
                    used[k] = true;
                    rows.push(
                        json!({"device_path": i.device_path, "base": i.base, "size": i.size,
                                     "event": n, "event_device_path": dp, "event_length": len}),
                    )
                }
                None => {
                    missing.push(i.device_path.clone());
                    rows.push(json!({"device_path": i.device_path, "base": i.base, "size": i.size, "event": null}));
                }
            }
        }
        out.push(if missing.is_empty() {
            result(
                rule,
                Outcome::Pass,
                format!(
                    "each of the {} {what}(s) loaded has its PCR{pcr} measurement",
                    picked.len()
                ),
                json!(rows),
            )
        } else {
            result(
                rule,
                Outcome::Fail,
                format!(
                    "{} {what}(s) ran with no PCR{pcr} measurement: {}",
                    missing.len(),
                    missing.join(", ")
                ),
                json!(rows),
            )
        });
    }
}

/// The ACPI 2.0 table GUID (EFI_ACPI_20_TABLE_GUID) and ACPI 1.0's.
const ACPI_GUIDS: [&str; 2] = [
    "8868E871-E4F1-11D3-BC22-0080C73C8881",
    "EB9D2D30-2D88-11D3-9A16-0090273FC14D",
];

fn acpi(e: &Evidence<'_>, out: &mut Vec<CheckResult>) {
    let (r_sum, r_xsdt) = (rules::CHECK_ACPI_CHECKSUMS, rules::CHECK_ACPI_XSDT_COMPLETE);
    let Some(a) = e.s.acpi.as_ref() else {
        let (outcome, why) = e.acpi_absent();
        for r in [r_sum, r_xsdt] {
            out.push(result(r, outcome, why.clone(), json!(null)));
        }
        return;
    };
    let mut bad = Vec::new();
    if !a.rsdp.checksum_valid {
        bad.push("the RSDP".to_string());
    }
    if a.rsdp.extended_checksum_valid == Some(false) {
        bad.push("the RSDP's extended checksum".to_string());
    }
    for t in &a.tables {
        if t.checksum_valid == Some(false) {
            bad.push(format!("{} at {:#x}", t.signature, t.address));
        }
    }
    let checked = a
        .tables
        .iter()
        .filter(|t| t.checksum_valid.is_some())
        .count();
    out.push(if !bad.is_empty() {
        result(
            r_sum,
            Outcome::Fail,
            format!("checksums do not hold: {}", bad.join(", ")),
            json!({"invalid": bad}),
        )
    } else if checked == 0 {
        result(
            r_sum,
            Outcome::Unknown,
            "the RSDP's checksums hold, but the ACPI part lists no table to check".into(),
            json!({"tables_checked": 0}),
        )
    } else {
        result(
            r_sum,
            Outcome::Pass,
            format!("the RSDP's and {checked} tables' checksums hold"),
            json!({"tables_checked": checked}),
        )
    });
    // The XSDT's entry count against the tables found through it.
    let xsdt = a.tables.iter().find(|t| t.signature == "XSDT");
    let listed = a.tables.iter().filter(|t| t.via == "xsdt").count();
    let mut problems = Vec::new();
    let mut facts = json!({"listed_found": listed});
    match xsdt {
        Some(x) => {
            let entries = (x.length.saturating_sub(36) / 8) as usize;
            facts["xsdt_entries"] = json!(entries);
            if entries == 0 {
                problems.push("the XSDT lists no table".to_string());
            } else if listed != entries {
                problems.push(format!(
                    "the XSDT lists {entries} tables, {listed} were found through it"
                ));
            }
        }
        None if a.rsdp.revision >= 2 => {
            problems.push("an ACPI 2.0+ RSDP and no XSDT".to_string());
        }
        None => {}
    }
    // PCR1's handoff-table pointers, where the firmware measures them.
    let mut handoff = Vec::new();
    if let Ok(log) = &e.log {
        for x in log.events.iter().filter(|x| {
            x.pcr == 1
                && matches!(
                    x.event_type,
                    EventType::EFI_HANDOFF_TABLES | EventType::EFI_HANDOFF_TABLES2
                )
        }) {
            if let EventData::HandoffTables { tables, .. } = x.decode() {
                for t in tables
                    .iter()
                    .filter(|t| ACPI_GUIDS.contains(&t.guid.to_string().as_str()))
                {
                    handoff.push(json!({"event": x.number, "address": t.address}));
                    if t.address != a.rsdp.address {
                        problems.push(format!(
                            "event {} hands the OS the ACPI table at {:#x}, the snapshot read the RSDP at {:#x}",
                            x.number, t.address, a.rsdp.address
                        ));
                    }
                }
            }
        }
    }
    facts["pcr1_handoff"] = json!(handoff);
    out.push(if problems.is_empty() {
        result(
            r_xsdt,
            Outcome::Pass,
            format!(
                "every table the XSDT lists was found{}",
                match (&e.log, handoff.is_empty()) {
                    (Ok(_), true) => " (PCR1 measures no ACPI handoff pointer to compare)",
                    (Ok(_), false) => ", at the RSDP PCR1's handoff event names",
                    // A reason names only evidence that exists: with no
                    // readable log, nothing was compared.
                    (Err(_), _) => " (no readable event log: the RSDP was not compared with a PCR1 handoff pointer)",
                }
            ),
            facts,
        )
    } else {
        result(r_xsdt, Outcome::Fail, problems.join("; "), facts)
    });
}

fn mapkey(e: &Evidence<'_>, out: &mut Vec<CheckResult>) {
    let r = rules::CHECK_MEMORY_MAPKEY_QUIET;
    out.push(match &e.s.map_key_watch {
        None => result(
            r,
            Outcome::Unknown,
            e.absent(Part::MemoryMap, "MapKey watch (only the collector, before the OS, can watch it)"),
            json!(null),
        ),
        Some(w) if w.polls == 0 => result(
            r,
            Outcome::Unknown,
            "the MapKey watch records no poll".into(),
            json!(w),
        ),
        Some(w) if w.key_changes == 0 => result(
            r,
            Outcome::Pass,
            format!("the MapKey held over {} polls in {} µs", w.polls, w.window_us),
            json!(w),
        ),
        Some(w) => result(
            r,
            Outcome::Fail,
            format!(
                "the MapKey moved {} times in {} polls while the boot was idle: something allocates on its own",
                w.key_changes, w.polls
            ),
            json!(w),
        ),
    });
}
