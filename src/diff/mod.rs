//! `bootaudit diff`: compares two snapshots of the same machine, artefact by
//! artefact, and turns every difference into a [`Finding`]. Each artefact
//! module owns its comparison; this module runs them and then applies the
//! explanations the evidence supports (a firmware update explains firmware
//! changes; a RAM change explains memory totals moving).

pub(crate) mod acpi;
mod bootapps;
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
    for x in &mut f {
        let e = x.explainable_by;
        if e.firmware_update {
            match &ctx.firmware_update {
                Some(
                    u @ firmware_update::FirmwareUpdate {
                        grade: firmware_update::Grade::Verified { .. },
                        ..
                    },
                ) => {
                    x.explain(format!("firmware update: {}", u.why));
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
    findings::sort(&mut f);
    DiffReport {
        memory_maps: picture::pictures(before, after, &f),
        baseline: baseline.to_string(),
        current: current.to_string(),
        summary: findings::summarize(&f),
        findings: f,
        baseline_signature: None,
        firmware_update: ctx.firmware_update,
        references: judgement,
    }
}
