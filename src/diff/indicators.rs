//! Known implant indicators: published, cited facts (the rule file
//! `indicators.json` beside this module, each rule with its source), matched
//! against the current snapshot's loaded images, boot entries and the
//! device paths in its event log. A match is critical and nothing explains
//! it. The rule file holds firmware-file GUIDs, the indicators a snapshot
//! can show; published file hashes need the firmware image and are not here.

use crate::findings::Finding;
use crate::snapshot::{self, Snapshot};
use serde::Deserialize;
use serde_json::json;

/// One published indicator.
#[derive(Clone, Debug, Deserialize)]
pub struct Indicator {
    /// Stable id (`lojax.secdxe`).
    pub id: String,
    /// The implant (and who attributed it).
    pub implant: String,
    /// The component the GUID names.
    pub component: String,
    /// The FFS file GUID, as FvFile(GUID) shows it.
    pub fvfile_guid: String,
    /// Where it was published.
    pub source: String,
}

/// The shipped rule set.
pub fn rules() -> Vec<Indicator> {
    serde_json::from_str(include_str!("indicators.json")).unwrap_or_default()
}

fn hit(i: &Indicator, text: &str) -> bool {
    text.to_ascii_uppercase()
        .contains(&format!("FVFILE({})", i.fvfile_guid.to_ascii_uppercase()))
}

/// Adds a finding for every published indicator the snapshot matches.
pub fn check(b: &Snapshot, f: &mut Vec<Finding>) {
    let log = b
        .tpm
        .as_ref()
        .and_then(|t| snapshot::event_log(t, "current").ok().flatten());
    let mut places: Vec<(String, String)> = Vec::new();
    for i in b.loaded_images.iter().flatten() {
        places.push(("loaded image".into(), i.device_path.clone()));
    }
    for e in b.secure_boot.iter().flat_map(|s| &s.boot_entries) {
        places.push((format!("boot entry {}", e.name), e.device_path.clone()));
    }
    for e in log.iter().flat_map(|l| &l.events) {
        places.push((
            format!("event {} (PCR{}, {})", e.number, e.pcr, e.type_name()),
            e.decode().summary(),
        ));
    }
    for i in rules() {
        let found: Vec<&(String, String)> = places.iter().filter(|(_, t)| hit(&i, t)).collect();
        if found.is_empty() {
            continue;
        }
        f.push(
            Finding::new(
 crate::rules::INDICATOR_MATCH,
format!(
                    "known implant indicator: {} {} (FvFile {}) in {}",
                    i.implant,
                    i.component,
                    i.fvfile_guid,
                    found.iter().map(|x| x.0.as_str()).collect::<Vec<_>>().join(", ")
                ),
                json!({"indicator": i.id, "implant": i.implant, "component": i.component,
                       "fvfile_guid": i.fvfile_guid, "source": i.source,
                       "found_in": found.iter().map(|(w, t)| json!({"where": w, "text": t})).collect::<Vec<_>>()}),
            )
            .about(i.id.clone()),
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_rule_file_parses_and_every_rule_cites_a_source() {
        // The published indicators, as ../shared/indicators.md lists them
        // (an independent record): each rule's GUID must be a GUID of that
        // list, in the row of its implant, and cite that row's source.
        let md = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/indicators.md");
        let md = std::fs::read_to_string(&md).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (the shared indicators beside the project)",
                md.display()
            )
        });
        let r = super::rules();
        assert_eq!(r.len(), 5);
        for i in &r {
            let g = &i.fvfile_guid;
            let parts: Vec<&str> = g.split('-').collect();
            assert_eq!(
                parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
                [8, 4, 4, 4, 12],
                "{g}"
            );
            assert!(
                parts
                    .iter()
                    .all(|p| u64::from_str_radix(p, 16).is_ok() && *p == p.to_uppercase()),
                "{g}"
            );
            let row = md
                .lines()
                .find(|l| l.contains(g.as_str()))
                .unwrap_or_else(|| panic!("{g} ({}) is not a published indicator", i.id));
            let implant = i.implant.split(" (").next().unwrap();
            let source_of = |l: &str| {
                l.rsplit('|')
                    .nth(1)
                    .map(str::trim)
                    .unwrap_or("")
                    .to_string()
            };
            // "same" refers to the row above.
            let mut source = source_of(row);
            if source == "same" {
                let above = md
                    .lines()
                    .take_while(|l| *l != row)
                    .filter(|l| l.starts_with('|') && source_of(l) != "same")
                    .last()
                    .unwrap();
                source = source_of(above);
            }
            let author = source.split(',').next().unwrap();
            assert!(
                i.source.contains(author),
                "{}: cites {:?}, the published row {:?}",
                i.id,
                i.source,
                source
            );
            assert!(
                row.contains(implant.split(';').next().unwrap().trim()) || md.contains(implant),
                "{}",
                i.id
            );
        }
    }
}
