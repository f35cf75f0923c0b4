//! `bootaudit firmware diff`: two images (the vendor's and a dump of a
//! machine's flash, or two releases) compared volume by volume and file by
//! file. An executable file that only the second image holds is what an
//! implant inserted into the flash looks like (LoJax's SecDxe), hence
//! critical; a file with the same GUID and another body is a patched
//! module (MoonBounce patched the DXE core), high.
//!
//! Files are matched by the name of the volume that holds them (its name
//! GUID, or its file system GUID when it has none), their own GUID, and
//! their rank among files with both, so that a GUID present in two volumes
//! (a PEI and a DXE build of one module) is compared with its counterpart.

use super::{FfsFile, Inventory};
use crate::findings::{self, Finding, Summary};
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;

/// The result of a firmware diff.
#[derive(Clone, Debug, Serialize)]
pub struct FirmwareDiff {
    /// The first image (the known-good).
    pub before: String,
    /// The second image.
    pub after: String,
    /// Every finding, worst first.
    pub findings: Vec<Finding>,
    /// Counts per severity.
    pub summary: Summary,
}

type Key = (String, String, usize);

fn keyed<'a, T>(
    items: impl Iterator<Item = &'a T>,
    key: impl Fn(&T) -> (String, String),
) -> BTreeMap<Key, &'a T>
where
    T: 'a,
{
    let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for x in items {
        let (a, b) = key(x);
        let n = seen.entry((a.clone(), b.clone())).or_default();
        out.insert((a, b, *n), x);
        *n += 1;
    }
    out
}

fn file_key(inv: &Inventory) -> impl Fn(&FfsFile) -> (String, String) + '_ {
    move |f| (inv.volume_label(f.volume), f.guid.to_string())
}

fn describe(f: &FfsFile) -> String {
    match &f.ui_name {
        Some(n) if !n.is_empty() => format!("{} {} ({})", f.type_name, f.guid, n),
        _ => format!("{} {}", f.type_name, f.guid),
    }
}

fn evidence(f: &FfsFile, inv: &Inventory) -> serde_json::Value {
    json!({
        "guid": f.guid, "type": f.type_name, "ui_name": f.ui_name, "version": f.version,
        "volume": inv.volume_label(f.volume), "path": f.path, "size": f.size, "sha256": f.sha256,
        "body_sha256": f.body.as_ref().map(|b| &b.sha256),
        "authenticode_sha256": f.body.as_ref().and_then(|b| b.authenticode_sha256.as_ref()),
        "depex": f.depex.as_ref().map(|d| &d.depex.expression),
    })
}

/// Compares `a` (the known-good) with `b`.
pub fn diff(before: &str, a: &Inventory, after: &str, b: &Inventory) -> FirmwareDiff {
    let mut f = Vec::new();
    let fa = keyed(a.files.iter().filter(|x| x.file_type != 0xf0), file_key(a));
    let fb = keyed(b.files.iter().filter(|x| x.file_type != 0xf0), file_key(b));
    let mut changed_volumes: std::collections::BTreeSet<String> = Default::default();
    for (k, y) in &fb {
        match fa.get(k) {
            None => {
                let sev = crate::rules::firmware_file_added(y.is_executable());
                changed_volumes.insert(k.0.clone());
                f.push(
                    Finding::new(
                        crate::rules::FIRMWARE_FILE_ADDED,
                        format!("{} added to volume {}", describe(y), k.0),
                        evidence(y, b),
                    )
                    .at(sev)
                    .about(format!("{}/{}", k.0, k.1)),
                );
            }
            Some(x) if x.sha256 != y.sha256 => {
                changed_volumes.insert(k.0.clone());
                let body_same =
                    x.body.as_ref().map(|b| &b.sha256) == y.body.as_ref().map(|b| &b.sha256);
                f.push(
                    Finding::new(
                        crate::rules::FIRMWARE_FILE_CHANGED,
                        format!(
                            "{} in volume {} changed{}",
                            describe(y),
                            k.0,
                            if body_same && x.body.is_some() {
                                " (same executable body)"
                            } else {
                                ""
                            }
                        ),
                        json!({"before": evidence(x, a), "after": evidence(y, b)}),
                    )
                    .at(crate::rules::firmware_file_changed(
                        y.is_executable(),
                        body_same,
                    ))
                    .about(format!("{}/{}", k.0, k.1)),
                );
            }
            Some(_) => {}
        }
    }
    for (k, x) in &fa {
        if !fb.contains_key(k) {
            changed_volumes.insert(k.0.clone());
            f.push(
                Finding::new(
                    crate::rules::FIRMWARE_FILE_REMOVED,
                    format!("{} removed from volume {}", describe(x), k.0),
                    evidence(x, a),
                )
                .about(format!("{}/{}", k.0, k.1)),
            );
        }
    }
    let va = keyed(a.volumes.iter(), |v| {
        (a.volume_label(v.index), v.format.to_string())
    });
    let vb = keyed(b.volumes.iter(), |v| {
        (b.volume_label(v.index), v.format.to_string())
    });
    for (k, y) in &vb {
        let ev = |v: &super::Volume| json!({"name": k.0, "format": v.format, "size": v.size, "sha256": v.sha256, "path": v.path, "free_space": v.free_space});
        match va.get(k) {
            None => f.push(
                Finding::new(
                    crate::rules::FIRMWARE_VOLUME_ADDED,
                    format!(
                        "volume {} ({}, {} bytes) added at {}",
                        k.0, y.format, y.size, y.path
                    ),
                    ev(y),
                )
                .about(k.0.clone()),
            ),
            Some(x) if x.sha256 != y.sha256 => {
                // A volume whose files all match but whose bytes differ
                // carries data outside its files: free space, padding.
                let files_same = !changed_volumes.contains(&k.0);
                f.push(
                    Finding::new(
                        crate::rules::FIRMWARE_VOLUME_CHANGED,
                        if files_same {
                            format!("volume {} changed outside its files (free space, padding or header)", k.0)
                        } else {
                            format!("volume {} changed (see its files)", k.0)
                        },
                        json!({"before": ev(x), "after": ev(y)}),
                    )
                    .at(crate::rules::firmware_volume_changed(files_same))
                    .about(k.0.clone()),
                );
            }
            Some(_) => {}
        }
    }
    for (k, x) in &va {
        if !vb.contains_key(k) {
            f.push(
                Finding::new(
                    crate::rules::FIRMWARE_VOLUME_REMOVED,
                    format!("volume {} ({}) removed", k.0, x.format),
                    json!({"name": k.0, "format": x.format, "size": x.size, "sha256": x.sha256}),
                )
                .about(k.0.clone()),
            );
        }
    }
    let known: std::collections::BTreeSet<(&str, &str)> = a
        .problems
        .iter()
        .map(|p| (p.structure.as_str(), p.message.as_str()))
        .collect();
    for p in &b.problems {
        if !known.contains(&(p.structure.as_str(), p.message.as_str())) {
            f.push(
                Finding::new(
                    crate::rules::FIRMWARE_STRUCTURE_DAMAGED,
                    format!(
                        "{} at {} (byte {:#x}): {}",
                        p.structure, p.location, p.offset, p.message
                    ),
                    json!(p),
                )
                .about(format!("{}@{}", p.location, p.structure)),
            );
        }
    }
    indicators(b, &mut f);
    findings::sort(&mut f);
    FirmwareDiff {
        before: before.into(),
        after: after.into(),
        summary: findings::summarize(&f),
        findings: f,
    }
}

/// The published implant indicators whose file GUID an image holds.
pub fn indicators(inv: &Inventory, f: &mut Vec<Finding>) {
    for i in crate::diff::indicators::rules() {
        for x in inv
            .files
            .iter()
            .filter(|x| x.guid.to_string().eq_ignore_ascii_case(&i.fvfile_guid))
        {
            f.push(
                Finding::new(
                    crate::rules::INDICATOR_MATCH,
                    format!(
                        "known implant indicator: {} {} (file {}) in volume {}",
                        i.implant,
                        i.component,
                        i.fvfile_guid,
                        inv.volume_label(x.volume)
                    ),
                    json!({"indicator": i.id, "implant": i.implant, "component": i.component,
                           "fvfile_guid": i.fvfile_guid, "source": i.source, "file": evidence(x, inv)}),
                )
                .about(i.id.clone()),
            );
        }
    }
}
