//! Secure Boot state, key databases and boot entries.

use super::Context;
use crate::findings::Finding;
use crate::snapshot::{BootEntry, Snapshot};
use serde_json::json;
use std::collections::BTreeMap;

pub(super) fn diff<'a>(a: &'a Snapshot, b: &'a Snapshot, f: &mut Vec<Finding>, ctx: &mut Context) {
    let (Some(sa), Some(sb)) = (&a.secure_boot, &b.secure_boot) else {
        return;
    };
    let before = f.len();
    match (sa.secure_boot, sb.secure_boot) {
        (Some(1), Some(x)) if x != 1 => f.push(Finding::new(
            crate::rules::SECURE_BOOT_DISABLED,
            "Secure Boot was on and is off".into(),
            json!({"before": 1, "after": x}),
        )),
        (x, Some(1)) if x != Some(1) => f.push(Finding::new(
            crate::rules::SECURE_BOOT_ENABLED,
            "Secure Boot is now on".into(),
            json!({"before": x, "after": 1}),
        )),
        _ => {}
    }
    if sa.setup_mode != Some(1) && sb.setup_mode == Some(1) {
        f.push(Finding::new(
            crate::rules::SECURE_BOOT_SETUP_MODE,
            "the platform is in Setup Mode: no Platform Key, anyone can enrol keys".into(),
            json!({"before": sa.setup_mode, "after": sb.setup_mode}),
        ));
    }
    // Each side's variables by name, decoys (a key database's name under
    // another vendor) apart: they are reported, never compared as the real
    // one.
    let genuine =
        |s: &'a crate::snapshot::SecureBoot| -> BTreeMap<&'a str, &'a crate::snapshot::Variable> {
            let mut m = BTreeMap::new();
            // MokListRT is shim's mirror, made at every boot, of MokList
            // and its own built-in certificates: MokList is compared, and a
            // new shim is a new boot application. (Snapshots before it was
            // recorded do not have it: comparing it would report every
            // shim machine.)
            for v in s
                .variables
                .iter()
                .filter(|v| !crate::snapshot::is_decoy(v) && v.name != "MokListRT")
            {
                m.entry(v.name.as_str()).or_insert(v);
            }
            m
        };
    let (va, vb) = (genuine(sa), genuine(sb));
    for v in sb.decoys() {
        f.push(
            Finding::new(
                crate::rules::SECURE_BOOT_VARIABLE_DECOY,
                format!(
                    "a variable named {} exists under vendor {}, not the specification's: a decoy a reader going by name would judge instead of the real one",
                    v.name, v.vendor
                ),
                json!({"name": v.name, "vendor": v.vendor, "size": v.size, "sha256": v.sha256}),
            )
            .about(format!("{}-{}", v.name, v.vendor)),
        );
    }
    for name in va
        .keys()
        .chain(vb.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        let (x, y) = (va.get(name), vb.get(name));
        let ev = json!({"before": x.map(|v| json!({"size": v.size, "sha256": v.sha256})),
                        "after": y.map(|v| json!({"size": v.size, "sha256": v.sha256}))});
        match (x, y) {
            (Some(x), Some(y)) if x.sha256 == y.sha256 => {}
            (Some(x), Some(y)) if *name == "dbx" && y.size < x.size => f.push(Finding::new(
                crate::rules::SECURE_BOOT_DBX_SHRANK,
                format!(
                    "dbx shrank from {} to {} bytes: revocations were undone",
                    x.size, y.size
                ),
                ev,
            )),
            (Some(_), None) if *name == "dbx" => f.push(Finding::new(
                crate::rules::SECURE_BOOT_DBX_SHRANK,
                "dbx is gone: every revocation was undone".into(),
                ev,
            )),
            (_, _) => {
                f.push(
                    Finding::new(
                        crate::rules::SECURE_BOOT_VARIABLE_CHANGED,
                        format!("Secure Boot variable {name} changed"),
                        ev,
                    )
                    .at(crate::rules::secure_boot_variable_changed(name))
                    .about(*name),
                );
            }
        }
    }
    // A decoy is no Secure Boot change: it must not explain PCR7.
    ctx.secure_boot_change = f[before..]
        .iter()
        .any(|x| x.rule != crate::rules::SECURE_BOOT_VARIABLE_DECOY.id);
    let ea: BTreeMap<_, _> = sa
        .boot_entries
        .iter()
        .map(|e| (e.name.as_str(), e))
        .collect();
    for e in &sb.boot_entries {
        let ev = |x: &BootEntry| json!({"description": x.description, "device_path": x.device_path, "sha256": x.sha256});
        match ea.get(e.name.as_str()) {
            None => f.push(
                Finding::new(
                    crate::rules::BOOT_ENTRIES_ADDED,
                    format!(
                        "new boot entry {} \"{}\" -> {}{}",
                        e.name,
                        e.description,
                        e.device_path,
                        if outside_known_loaders(e, &ea) {
                            " (outside the ESP's known loaders)"
                        } else {
                            ""
                        }
                    ),
                    json!({"after": ev(e)}),
                )
                .at(crate::rules::boot_entry_added(outside_known_loaders(
                    e, &ea,
                )))
                .about(e.name.as_str()),
            ),
            Some(o) if o.sha256 != e.sha256 => f.push(
                Finding::new(
                    crate::rules::BOOT_ENTRIES_CHANGED,
                    format!(
                        "boot entry {} changed: \"{}\" {} -> \"{}\" {}",
                        e.name, o.description, o.device_path, e.description, e.device_path
                    ),
                    json!({"before": ev(o), "after": ev(e)}),
                )
                .at(crate::rules::boot_entry_changed(
                    o.device_path != e.device_path,
                ))
                .about(e.name.as_str()),
            ),
            Some(_) => {}
        }
    }
}

/// A boot entry whose file is neither a known loader's place nor a file an
/// entry of the baseline pointed at. Entries without a file (firmware
/// applications, network boot) are judged by the other rules.
fn outside_known_loaders(e: &BootEntry, before: &BTreeMap<&str, &BootEntry>) -> bool {
    let file = super::bootapps::file_part(&e.device_path);
    file.starts_with('\\')
        && !super::bootapps::known_loader(&file)
        && !before
            .values()
            .any(|o| super::bootapps::file_part(&o.device_path) == file)
}
