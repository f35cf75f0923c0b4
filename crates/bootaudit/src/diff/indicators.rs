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

/// The shipped rules, parsed once, each with its GUID in upper case.
fn compiled() -> &'static [(Indicator, [u8; 36])] {
    static RULES: std::sync::OnceLock<Vec<(Indicator, [u8; 36])>> = std::sync::OnceLock::new();
    RULES.get_or_init(|| {
        rules()
            .into_iter()
            .filter_map(|i| {
                // A GUID in its 36-character text form (the rules' test
                // checks every one is).
                let g: [u8; 36] = i
                    .fvfile_guid
                    .to_ascii_uppercase()
                    .as_bytes()
                    .try_into()
                    .ok()?;
                Some((i, g))
            })
            .collect()
    })
}

/// The GUIDs a text names as `FvFile(GUID)` (any case): the 36 bytes after
/// each `FvFile(`, found without copying the text.
fn fvfile_guids(text: &str) -> impl Iterator<Item = &[u8]> {
    let b = text.as_bytes();
    memchr::memchr_iter(b'(', b).filter_map(move |at| {
        let name = b.get(at.checked_sub(6)?..at)?;
        if !name.eq_ignore_ascii_case(b"fvfile") {
            return None;
        }
        b.get(at + 1..at + 37)
    })
}

/// The whole text of an event in which a device path may name a firmware
/// file: an image's device path, a load option's, or a string (not the
/// table summary, which is cut at a width a long path runs past).
fn event_text(e: &crate::eventlog::Event) -> Option<String> {
    use crate::eventlog::decode::EventData;
    use crate::eventlog::types::EventType as t;
    let with_paths = matches!(
        e.event_type,
        t::EFI_BOOT_SERVICES_APPLICATION
            | t::EFI_BOOT_SERVICES_DRIVER
            | t::EFI_RUNTIME_SERVICES_DRIVER
            | t::EFI_VARIABLE_BOOT
            | t::EFI_VARIABLE_BOOT2
    );
    // Other events name `FvFile(` only in text, whose bytes hold a '(' in
    // every encoding a log uses (ASCII, UTF-8, UTF-16LE). Variable data,
    // digests and tables are not text, and are not decoded here.
    let text = matches!(
        e.event_type,
        t::POST_CODE
            | t::ACTION
            | t::EVENT_TAG
            | t::S_CRTM_VERSION
            | t::COMPACT_HASH
            | t::IPL
            | t::NONHOST_INFO
            | t::POST_CODE2
            | t::EFI_ACTION
            | t::EFI_PLATFORM_FIRMWARE_BLOB2
            | t::EFI_HANDOFF_TABLES2
    );
    let may_name = with_paths || (text && memchr::memchr(b'(', &e.data).is_some());
    if !may_name {
        return None;
    }
    Some(match e.decode() {
        EventData::ImageLoad { device_path, .. } => device_path,
        EventData::Variable(v) => match v.load_option {
            Some(lo) => format!("{}: {} {}", v.name, lo.description, lo.device_path),
            None => v.name,
        },
        EventData::Text { text } | EventData::Ipl { text, .. } => text,
        d => d.summary(),
    })
}

/// Adds a finding for every published indicator the snapshot matches.
pub fn check(b: &Snapshot, f: &mut Vec<Finding>) {
    let log = b
        .tpm
        .as_ref()
        .and_then(|t| snapshot::event_log(t, "current").ok().flatten());
    check_with_log(b, log.as_ref(), f);
}

/// [`check`], with the snapshot's event log already parsed (`fleet` parses
/// it once for the profile and the indicators).
pub fn check_with_log(b: &Snapshot, log: Option<&crate::eventlog::EventLog>, f: &mut Vec<Finding>) {
    // Only the places that name a firmware file at all, each with what
    // says where it is, written out only for a match (a fleet checks every
    // host, and almost none matches).
    enum Where<'a> {
        Image,
        Boot(&'a str),
        Event(&'a crate::eventlog::Event),
    }
    impl Where<'_> {
        fn text(&self) -> String {
            match self {
                Where::Image => "loaded image".into(),
                Where::Boot(name) => format!("boot entry {name}"),
                Where::Event(e) => format!("event {} (PCR{}, {})", e.number, e.pcr, e.type_name()),
            }
        }
    }
    // Each place's GUIDs are read once and matched against every rule.
    let rules = compiled();
    let mut found: Vec<Vec<(String, String)>> = vec![Vec::new(); rules.len()];
    let mut look = |w: Where, t: &str| {
        // Each GUID upper-cased once, then compared whole with each rule's.
        // (A Vec allocates only on a match.)
        let mut hits: Vec<usize> = Vec::new();
        for g in fvfile_guids(t) {
            let mut up = [0u8; 36];
            up.copy_from_slice(g);
            up.make_ascii_uppercase();
            for (n, (_, rule)) in rules.iter().enumerate() {
                if *rule == up && !hits.contains(&n) {
                    hits.push(n);
                }
            }
        }
        hits.sort_unstable();
        for n in hits {
            found[n].push((w.text(), t.to_string()));
        }
    };
    for i in b.loaded_images.iter().flatten() {
        look(Where::Image, &i.device_path);
    }
    for e in b.secure_boot.iter().flat_map(|s| &s.boot_entries) {
        look(Where::Boot(&e.name), &e.device_path);
    }
    for e in log.iter().flat_map(|l| &l.events) {
        if let Some(text) = event_text(e) {
            look(Where::Event(e), &text);
        }
    }
    for ((i, _), found) in rules.iter().zip(found) {
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
    fn every_rule_is_compiled() {
        // A rule whose GUID is not 36 characters would be dropped, and
        // never match: none may be.
        assert_eq!(super::compiled().len(), super::rules().len());
        assert_eq!(super::rules().len(), 5);
    }

    #[test]
    #[cfg_attr(
        not(feature = "system-tests"),
        ignore = "system tier: reads ../shared/indicators.md (cargo xtask test)"
    )]
    fn the_rule_file_parses_and_every_rule_cites_a_source() {
        // The published indicators, as ../shared/indicators.md lists them
        // (an independent record): each rule's GUID must be a GUID of that
        // list, in the row of its implant, and cite that row's source.
        let md =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/indicators.md");
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
