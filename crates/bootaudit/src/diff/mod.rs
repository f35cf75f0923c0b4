//! `bootaudit diff`: compares two snapshots of the same machine, artefact by
//! artefact, and turns every difference into a [`Finding`]. Each artefact
//! module owns its comparison; this module runs them and then applies the
//! explanations the evidence supports (a firmware update explains firmware
//! changes; a RAM change explains memory totals moving).

pub(crate) mod acpi;
mod bootapps;
mod devicetree;
pub mod firmware_update;
mod firmware_volumes;
mod identity;
pub(crate) mod images;
pub mod indicators;
pub(crate) mod memmap;
pub use memmap::MAX_REGION_FINDINGS;
pub mod picture;
mod secure_boot;
mod tpm;
mod windows;

use crate::findings::{self, Finding, Summary};
use crate::snapshot::Snapshot;
use serde::Serialize;

/// The result of a diff.
#[derive(Clone, Debug, Serialize)]
pub struct DiffReport {
    /// The baseline file.
    pub baseline: String,
    /// The current file.
    pub current: String,
    /// Every finding, unexplained first, worst first.
    pub findings: Vec<Finding>,
    /// Counts per severity.
    pub summary: Summary,
    /// Whether the baseline's signature was verified, and by whom.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_signature: Option<crate::baseline::SignatureStatus>,
    /// Both memory maps as pictures, for the HTML report (not in JSON,
    /// whose shape is fixed: findings and summary).
    #[serde(skip)]
    pub memory_maps: Option<[picture::MapPicture; 2]>,
    /// The firmware update between the two boots and what backs it, when
    /// the firmware's identity or measurements changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firmware_update: Option<firmware_update::FirmwareUpdate>,
    /// The current boot judged against `--references`, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub references: Option<crate::firmware::judge::Judgement>,
    /// Findings a baseline's acceptance (or its list of what varies) would
    /// have explained, withheld because no signer verified the baseline.
    #[serde(skip_serializing_if = "is_zero")]
    pub unverified_acceptances: usize,
    /// What showed the baseline to be of this machine (set by the caller
    /// that checked it; `None` when not checked, as with
    /// `--allow-other-machine`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub machine_identity: Option<crate::baseline::MachineIdentity>,
}

/// For `skip_serializing_if`: counts of nothing are left out of reports.
fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// What changed between the two snapshots that can explain other changes.
#[derive(Clone, Debug, Default)]
pub struct Context {
    /// The firmware update and its grade, when there is one.
    pub firmware_update: Option<firmware_update::FirmwareUpdate>,
    /// "RAM X MiB -> Y MiB", when the amount of memory changed.
    pub ram_change: Option<String>,
    /// True when a Secure Boot variable or state changed.
    pub secure_boot_change: bool,
    /// The current map's persistent regions that are new, grew or moved:
    /// `[start, end)`. What runs inside them decides whether a verified
    /// firmware update explains them.
    pub changed_regions: Vec<(u64, u64)>,
}

/// Whether only the form of PCR7's measurements changed: `Ok` with the
/// events whose form differs, when both logs verify at PCR7 and the Secure
/// Boot policy derived from them is the same; `Err` with what differs or
/// is unknown.
fn policy_form(
    before: &Snapshot,
    after: &Snapshot,
    la: Option<&crate::eventlog::EventLog>,
    lb: Option<&(
        crate::eventlog::EventLog,
        crate::eventlog::check::DigestReport,
    )>,
) -> Result<String, String> {
    let (Some(la), Some((lb, db))) = (la, lb) else {
        return Err("a log is missing".into());
    };
    for (s, l, side) in [(before, la, "the baseline's"), (after, lb, "the current")] {
        if !firmware_update::replays(s, l, &[7]) {
            return Err(format!("{side} log does not replay to its PCR7"));
        }
    }
    if let Some(d) = crate::secure_boot::policy::modes_differ(
        before.secure_boot.as_ref(),
        after.secure_boot.as_ref(),
    ) {
        return Err(format!("the modes the snapshots read differ: {d}"));
    }
    let form =
        crate::secure_boot::policy::same_policy(la, &crate::eventlog::check::check(la), lb, db)?;
    Ok(if form.is_empty() {
        "the Secure Boot policy PCR7 measured is the same (Secure Boot state, setup mode, PK, KEK, db, dbx, authorities); only the order of its events changed".into()
    } else {
        format!(
            "the Secure Boot policy PCR7 measured is the same (Secure Boot state, setup mode, PK, KEK, db, dbx, authorities); only the form changed: {}",
            form.join("; ")
        )
    })
}

/// Compares `before` (the baseline) with `after`.
pub fn diff(baseline: &str, before: &Snapshot, current: &str, after: &Snapshot) -> DiffReport {
    diff_with(baseline, before, current, after, &[])
}

/// Compares `before` (the baseline) with `after`, judging `after` against
/// the vendor references `refs` as well (none: no judgement).
pub fn diff_with(
    baseline: &str,
    before: &Snapshot,
    current: &str,
    after: &Snapshot,
    refs: &[crate::firmware::reference::Reference],
) -> DiffReport {
    let mut f = Vec::new();
    let mut ctx = Context::default();
    identity::diff(before, after, &mut f);
    memmap::diff(before, after, &mut f, &mut ctx);
    secure_boot::diff(before, after, &mut f, &mut ctx);
    acpi::diff(before, after, &mut f);
    devicetree::diff(before, after, &mut f);
    images::diff(before, after, &mut f);
    firmware_volumes::diff(before, after, &mut f);
    let log = |s: &Snapshot, side: &str| {
        s.tpm
            .as_ref()
            .and_then(|t| crate::snapshot::event_log(t, side).ok().flatten())
    };
    // The current log's digest checks serve both the TPM findings and the
    // Windows summary, which reads only verified events: made once.
    let la = log(before, "baseline");
    let lb = log(after, "current").map(|l| {
        let c = crate::eventlog::check::check(&l);
        (l, c)
    });
    tpm::diff(before, after, la.as_ref(), lb.as_ref(), &mut f);
    windows::diff(la.as_ref(), lb.as_ref(), &mut f);
    bootapps::diff(before, after, &mut f);
    crate::esp::diff::diff(before, after, &mut f);
    indicators::check(after, &mut f);
    let judgement = (!refs.is_empty())
        .then(|| crate::firmware::judge::judge(after, lb.as_ref().map(|(l, _)| l), refs));
    if let Some(j) = &judgement {
        f.extend(j.findings.iter().cloned());
    }
    firmware_volumes::name_blob_volumes(
        &mut f,
        after,
        lb.as_ref().map(|(l, _)| l),
        judgement.as_ref(),
    );
    let changes = firmware_update::changes(before, after, la.as_ref(), lb.as_ref().map(|(l, _)| l));
    ctx.firmware_update = firmware_update::grade(&changes, after, judgement.as_ref());
    if let Some(u) = &ctx.firmware_update {
        let code_changed = f.iter().any(|x| {
            x.rule == crate::rules::LOADED_IMAGES_FIRMWARE_DRIVER_ADDED.id
                || x.rule == crate::rules::TPM_PCR0_CHANGED.id
                || x.rule == crate::rules::FIRMWARE_FILE_ADDED.id
                || x.rule == crate::rules::FIRMWARE_FLASH_CHANGED.id
        });
        if u.grade == firmware_update::Grade::Claimed && code_changed {
            f.push(
                Finding::new(
                    crate::rules::IDENTITY_FIRMWARE_UNBACKED,
                    format!(
                        "the firmware claims an update that its measurements do not show: {}",
                        u.why
                    ),
                    serde_json::json!({"changes": changes, "why": u.why}),
                )
                .about("firmware"),
            );
        }
    }
    // What a verified update explains beyond the firmware's code: the
    // memory it allocates, and PCR7 when only the form of its measurements
    // changed. Each decided once, from measurements.
    let verified = match &ctx.firmware_update {
        Some(firmware_update::FirmwareUpdate {
            grade: firmware_update::Grade::Verified { reference },
            ..
        }) => refs.iter().find(|r| &r.label() == reference),
        _ => None,
    };
    let memory = verified.zip(judgement.as_ref()).map(|(r, j)| {
        firmware_update::memory_backed(
            before,
            after,
            la.as_ref(),
            lb.as_ref().map(|(l, _)| l),
            j,
            r,
            &ctx.changed_regions,
        )
    });
    let policy = verified.map(|_| policy_form(before, after, la.as_ref(), lb.as_ref()));
    let mut explained_by_update = 0;
    for x in &mut f {
        let e = x.explainable_by;
        let update_why = ctx.firmware_update.as_ref().map(|u| u.why.as_str());
        if let (true, Some(m), Some(why)) = (e.no_new_code, &memory, update_why) {
            match m {
                Ok(backed) => {
                    x.explain(format!("firmware update: {why}; {backed}"));
                    explained_by_update += 1;
                    continue;
                }
                Err(not) => x.qualify(format!("a verified firmware update, but {not}"), x.severity),
            }
        } else if e.firmware_update {
            match &ctx.firmware_update {
                Some(
                    u @ firmware_update::FirmwareUpdate {
                        grade: firmware_update::Grade::Verified { .. },
                        ..
                    },
                ) => {
                    x.explain(format!("firmware update: {}", u.why));
                    explained_by_update += 1;
                    continue;
                }
                Some(
                    u @ firmware_update::FirmwareUpdate {
                        grade: firmware_update::Grade::Corroborated,
                        ..
                    },
                ) => {
                    x.qualify(
                        format!("firmware update: {}", u.why),
                        crate::rules::CORROBORATED_FLOOR,
                    );
                    continue;
                }
                _ => {}
            }
        }
        if let (true, Some(p), Some(why)) = (e.policy_form, &policy, update_why) {
            match p {
                Ok(form) => {
                    x.explain(format!("firmware update: {why}; {form}"));
                    explained_by_update += 1;
                    continue;
                }
                Err(not) => x.qualify(
                    format!("a verified firmware update, but the Secure Boot policy PCR7 measured is not the same: {not}"),
                    x.severity,
                ),
            }
        }
        if e.ram_change {
            if let Some(why) = &ctx.ram_change {
                x.explain(format!("RAM change: {why}"));
                continue;
            }
        }
        if e.secure_boot_change && ctx.secure_boot_change {
            // Only variables PCR7 itself measured stand behind its change:
            // a snapshot whose variables differ from its own log's explains
            // nothing.
            match crate::secure_boot::unmeasured_keys(after, current) {
                None => x.explain(
                    "a Secure Boot variable changed, and the new values are what PCR7 measured (see the secure-boot findings)"
                        .into(),
                ),
                Some(why) => x.qualify(
                    format!("a Secure Boot variable changed, but {why}"),
                    x.severity,
                ),
            }
        }
    }
    if let Some(u) = ctx.firmware_update.as_mut() {
        u.explains = explained_by_update;
    }
    findings::sort(&mut f);
    DiffReport {
        memory_maps: picture::pictures(before, after, &f),
        baseline: baseline.to_string(),
        current: current.to_string(),
        summary: findings::summarize(&f),
        findings: f,
        baseline_signature: None,
        machine_identity: None,
        firmware_update: ctx.firmware_update,
        references: judgement,
        unverified_acceptances: 0,
    }
}
