//! The TPM: whether each snapshot's log still checks out against its own
//! PCRs, and which PCRs changed, with the events that changed in them
//! (aligned by PCR, type and decoded content, not by position), so that the
//! report names the firmware blob, variable or boot application.

use crate::eventlog::check;
use crate::eventlog::{EventLog, HashAlg};
use crate::findings::Finding;
use crate::pcrs::Verdict;
use crate::snapshot::{self, Snapshot};
use serde_json::json;

/// One event of one PCR, as the alignment sees it.
struct Item {
    /// Position in its log (0-based event number).
    event: usize,
    ty: String,
    identity: String,
    summary: String,
    digest: String,
}

fn items(log: Option<&EventLog>, pcr: u32) -> Vec<Item> {
    log.map(|l| {
        l.events
            .iter()
            .enumerate()
            .filter(|(_, e)| e.pcr == pcr)
            .map(|(i, e)| {
                let d = e
                    .digest(HashAlg::Sha256)
                    .or_else(|| e.digests.first().map(|d| d.digest.as_slice()))
                    .map(crate::hexser::encode)
                    .unwrap_or_default();
                let data = e.decode();
                Item {
                    event: i,
                    ty: e.type_name(),
                    identity: data.identity(),
                    summary: data.summary(),
                    digest: d,
                }
            })
            .collect()
    })
    .unwrap_or_default()
}

/// Two logs' events of one PCR, aligned: the k-th event of a (type,
/// identity) in one log pairs with the k-th of the same in the other.
#[derive(Default)]
struct Aligned<'a> {
    /// Same thing, other digest: (before, after).
    changed: Vec<(&'a Item, &'a Item)>,
    /// Only in the current log.
    added: Vec<&'a Item>,
    /// Only in the baseline's log.
    removed: Vec<&'a Item>,
}

fn align<'a>(a: &'a [Item], b: &'a [Item]) -> Aligned<'a> {
    use std::collections::{BTreeMap, VecDeque};
    let mut pool: BTreeMap<(&str, &str), VecDeque<&Item>> = BTreeMap::new();
    for x in a {
        pool.entry((&x.ty, &x.identity)).or_default().push_back(x);
    }
    let mut out = Aligned::default();
    for y in b {
        match pool
            .get_mut(&(y.ty.as_str(), y.identity.as_str()))
            .and_then(VecDeque::pop_front)
        {
            Some(x) if x.digest == y.digest => {}
            Some(x) => out.changed.push((x, y)),
            None => out.added.push(y),
        }
    }
    let mut rest: Vec<&Item> = pool.into_values().flatten().collect();
    rest.sort_by_key(|x| x.event);
    out.removed = rest;
    out
}

fn ev(x: &Item) -> serde_json::Value {
    json!({"event": x.event, "type": x.ty, "summary": x.summary, "digest": x.digest})
}

pub(super) fn diff(
    a: &Snapshot,
    b: &Snapshot,
    la: Option<&EventLog>,
    lb: Option<&(EventLog, check::DigestReport)>,
    f: &mut Vec<Finding>,
) {
    let (Some(ta), Some(tb)) = (&a.tpm, &b.tpm) else {
        if a.tpm.as_ref().is_some_and(|t| t.present) && b.tpm.is_none() {
            f.push(Finding::new(
                crate::rules::TPM_ABSENT,
                "the TPM is no longer visible to the firmware".into(),
                json!({}),
            ));
        }
        return;
    };
    if let Some((l, checks)) = lb {
        let bad: Vec<_> = snapshot::self_check(tb, l)
            .into_iter()
            .filter(|v| v.verdict == Verdict::Mismatch)
            .collect();
        if !bad.is_empty() {
            f.push(Finding::new(
 crate::rules::TPM_LOG_REPLAY_MISMATCH,
format!("the event log does not replay to the PCRs the TPM holds ({} PCR values differ): the log is incomplete or false", bad.len()),
                json!({"pcrs": bad}),
            ));
        }
        let mism = &checks.mismatches;
        if !mism.is_empty() {
            f.push(Finding::new(
 crate::rules::TPM_LOG_DIGEST_MISMATCH,
format!("{} event digests do not cover their event data: the log lies about what was measured", mism.len()),
                json!({"mismatches": mism}),
            ));
        }
    } else if !tb.event_log.is_empty() {
        f.push(Finding::new(
            crate::rules::TPM_LOG_UNREADABLE,
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
        let (a_items, b_items) = (items(la, *pcr), items(lb.map(|(l, _)| l), *pcr));
        let al = align(&a_items, &b_items);
        let short = |x: &Item| format!("{} {}", x.ty.trim_start_matches("EV_"), x.summary);
        let what: Vec<String> = al
            .changed
            .iter()
            .map(|(_, y)| format!("changed {}", short(y)))
            .chain(al.added.iter().map(|y| format!("added {}", short(y))))
            .chain(al.removed.iter().map(|x| format!("removed {}", short(x))))
            .take(3)
            .collect();
        // Firmware blobs measured again at the same base and length with
        // other digests, and nothing else changed: EDK II's PEI volume runs
        // in place from RAM before it is measured, so its digest follows
        // the memory size. Only a RAM change may explain that; an added,
        // removed or moved blob stays unexplained.
        let blob =
            |t: &str| t == "EV_EFI_PLATFORM_FIRMWARE_BLOB" || t == "EV_EFI_PLATFORM_FIRMWARE_BLOB2";
        let blobs_rehashed_in_place = !al.changed.is_empty()
            && al.added.is_empty()
            && al.removed.is_empty()
            && al.changed.iter().all(|(x, _)| blob(&x.ty));
        let crate::rules::PcrChange {
            rule,
            severity: sev,
            explainers: ex,
            role,
        } = crate::rules::pcr_changed(*pcr, blobs_rehashed_in_place);
        f.push(
            Finding::new(
                rule,
                format!("PCR{pcr} ({role}) changed{}", if what.is_empty() { String::new() } else { format!(": {}", what.join("; ")) }),
                json!({"pcr": pcr, "bank": bank, "before": va, "after": vb,
                       "events_changed": al.changed.iter().map(|(x, y)| json!({"before": ev(x), "after": ev(y)})).collect::<Vec<_>>(),
                       "events_added": al.added.iter().map(|y| ev(y)).collect::<Vec<_>>(),
                       "events_removed": al.removed.iter().map(|x| ev(x)).collect::<Vec<_>>()}),
            )
            .at(sev)
            .about(format!("PCR{pcr}"))
            .explainable(ex),
        );
    }
}
