//! The TPM: whether each snapshot's log still checks out against its own
//! PCRs, and which PCRs changed, with the events that changed in them
//! (aligned by PCR, type and decoded content, not by position), so that the
//! report names the firmware blob, variable or boot application.

use crate::eventlog::check;
use crate::eventlog::{EventLog, HashAlg};
use crate::findings::{Category, Explainers, Finding, Severity};
use crate::pcrs::Verdict;
use crate::snapshot::{self, Snapshot};
use serde_json::json;

/// Events of one PCR as comparable items: type, decoded summary, digest.
fn items(log: Option<&EventLog>, pcr: u32) -> Vec<(String, String, String)> {
    log.map(|l| {
        l.events
            .iter()
            .filter(|e| e.pcr == pcr)
            .map(|e| {
                let d = e
                    .digest(HashAlg::Sha256)
                    .or_else(|| e.digests.first().map(|d| d.digest.as_slice()))
                    .map(crate::hexser::encode)
                    .unwrap_or_default();
                (e.type_name(), e.decode().summary(), d)
            })
            .collect()
    })
    .unwrap_or_default()
}

pub(super) fn diff(a: &Snapshot, b: &Snapshot, f: &mut Vec<Finding>) {
    let (Some(ta), Some(tb)) = (&a.tpm, &b.tpm) else {
        if a.tpm.as_ref().is_some_and(|t| t.present) && b.tpm.is_none() {
            f.push(Finding::new(
                "tpm.absent",
                Category::Tpm,
                Severity::High,
                "the TPM is no longer visible to the firmware".into(),
                json!({}),
            ));
        }
        return;
    };
    let la = snapshot::event_log(ta, "baseline").ok().flatten();
    let lb = snapshot::event_log(tb, "current").ok().flatten();
    if let Some(l) = &lb {
        let bad: Vec<_> = snapshot::self_check(tb, l)
            .into_iter()
            .filter(|v| v.verdict == Verdict::Mismatch)
            .collect();
        if !bad.is_empty() {
            f.push(Finding::new(
                "tpm.log.replay-mismatch",
                Category::Tpm,
                Severity::Critical,
                format!("the event log does not replay to the PCRs the TPM holds ({} PCR values differ): the log is incomplete or false", bad.len()),
                json!({"pcrs": bad}),
            ));
        }
        let mism = check::check(l).mismatches;
        if !mism.is_empty() {
            f.push(Finding::new(
                "tpm.log.digest-mismatch",
                Category::Tpm,
                Severity::Critical,
                format!("{} event digests do not cover their event data: the log lies about what was measured", mism.len()),
                json!({"mismatches": mism}),
            ));
        }
    } else if !tb.event_log.is_empty() {
        f.push(Finding::new(
            "tpm.log.unreadable",
            Category::Tpm,
            Severity::High,
            "the event log cannot be parsed".into(),
            json!({}),
        ));
    }
    let bank = if tb.pcrs.contains_key("sha256") {
        "sha256"
    } else {
        "sha1"
    };
    let (Some(pa), Some(pb)) = (ta.pcrs.get(bank), tb.pcrs.get(bank)) else {
        return;
    };
    for (pcr, vb) in pb {
        let Some(va) = pa.get(pcr) else { continue };
        if va == vb {
            continue;
        }
        let (a_items, b_items) = (items(la.as_ref(), *pcr), items(lb.as_ref(), *pcr));
        let removed: Vec<_> = a_items
            .iter()
            .filter(|x| !b_items.contains(x))
            .map(|x| json!({"type": x.0, "event": x.1, "digest": x.2}))
            .collect();
        let added: Vec<_> = b_items
            .iter()
            .filter(|x| !a_items.contains(x))
            .map(|x| json!({"type": x.0, "event": x.1, "digest": x.2}))
            .collect();
        let what: Vec<String> = b_items
            .iter()
            .filter(|x| !a_items.contains(x))
            .map(|x| format!("{} {}", x.0.trim_start_matches("EV_"), x.1))
            .take(3)
            .collect();
        // Firmware blobs measured again at the same base and length with
        // other digests, and nothing else changed: EDK II's PEI volume runs
        // in place from RAM before it is measured, so its digest follows
        // the memory size. Only a RAM change may explain that; an added,
        // removed or moved blob stays unexplained.
        let blobs_rehashed_in_place = {
            let blob = |x: &&(String, String, String)| {
                x.0 == "EV_EFI_PLATFORM_FIRMWARE_BLOB" || x.0 == "EV_EFI_PLATFORM_FIRMWARE_BLOB2"
            };
            let gone: Vec<_> = a_items.iter().filter(|x| !b_items.contains(x)).collect();
            let new: Vec<_> = b_items.iter().filter(|x| !a_items.contains(x)).collect();
            let mut places_a: Vec<_> = gone.iter().map(|x| (&x.0, &x.1)).collect();
            let mut places_b: Vec<_> = new.iter().map(|x| (&x.0, &x.1)).collect();
            places_a.sort();
            places_b.sort();
            !new.is_empty() && new.iter().all(blob) && gone.iter().all(blob) && places_a == places_b
        };
        let (rule, cat, sev, mut ex, role) = match pcr {
            0 => (
                "tpm.pcr0.changed",
                Category::Firmware,
                Severity::Critical,
                Explainers {
                    firmware_update: true,
                    ..Default::default()
                },
                "firmware code",
            ),
            2 => (
                "tpm.pcr2.changed",
                Category::Firmware,
                Severity::High,
                Explainers {
                    firmware_update: true,
                    ..Default::default()
                },
                "option ROMs and UEFI drivers",
            ),
            4 => (
                "tpm.pcr4.changed",
                Category::BootEntries,
                Severity::High,
                Explainers::default(),
                "boot applications",
            ),
            7 => (
                "tpm.pcr7.changed",
                Category::SecureBoot,
                Severity::High,
                Explainers {
                    secure_boot_change: true,
                    ..Default::default()
                },
                "Secure Boot policy",
            ),
            1 | 3 | 5 | 6 => (
                "tpm.pcr.changed",
                Category::Tpm,
                Severity::Medium,
                Explainers {
                    firmware_update: true,
                    ..Default::default()
                },
                "platform configuration",
            ),
            _ => (
                "tpm.pcr.changed",
                Category::Tpm,
                Severity::Low,
                Explainers::default(),
                "OS and boot loader measurements",
            ),
        };
        ex.ram_change = *pcr == 0 && blobs_rehashed_in_place;
        f.push(
            Finding::new(
                rule,
                cat,
                sev,
                format!("PCR{pcr} ({role}) changed{}", if what.is_empty() { String::new() } else { format!(": {}", what.join("; ")) }),
                json!({"pcr": pcr, "bank": bank, "before": va, "after": vb, "events_removed": removed, "events_added": added}),
            )
            .about(format!("PCR{pcr}"))
            .explainable(ex),
        );
    }
}
