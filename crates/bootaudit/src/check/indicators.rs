//! Indicator files in CHIPSEC's blocklist format (`blockedlist.json`,
//! read by its `tools.uefi.scan_blocked` module): threats, each with match
//! rules of a name, a GUID, a byte regexp and hashes that must all hold,
//! and exclusions. `--indicators` adds them to the shipped indicators.
//!
//! Each rule is judged against candidates: the loaded images, boot
//! entries and event-log device paths of a snapshot (a GUID each), the
//! collector's firmware-volume inventory (GUIDs and body SHA-256s), and,
//! with `--firmware IMAGE`, every executable body of a firmware image read
//! by [`crate::firmware`] (GUID, UI name, MD5, SHA-1, SHA-256 and the
//! bytes the regexps run over, in linear time). A rule holds when every
//! criterion holds; one a candidate cannot decide (a hash of a loaded
//! image, a CPUID offline) makes the hit unconfirmed, never clean, unless
//! it is only a name (trivially set, and not recorded for loaded images).
//! A candidate no criterion of a rule can be decided on is no hit.

use serde::Serialize;
use std::path::Path;

/// The largest indicator file read.
pub const MAX_FILE: u64 = 4 << 20;
/// The most rules read from one file.
pub const MAX_RULES: usize = 10_000;

/// One match rule of one threat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BlockRule {
    /// The threat (`LoJax`).
    pub threat: String,
    /// Its description.
    pub description: String,
    /// The rule's name within the threat (`SecDxe_file_info`).
    pub rule: String,
    /// Its criteria, by name (`guid` upper case, hashes lower case,
    /// `name`, `regexp`, `cpuid` as written).
    pub criteria: std::collections::BTreeMap<String, String>,
    /// True for an exclusion rule: a match here clears the threat.
    pub exclude: bool,
}

/// Why an indicator file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum IndicatorError {
    /// The file could not be read.
    #[error("{path}: cannot read: {cause}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        cause: std::io::Error,
    },
    /// Not CHIPSEC's format.
    #[error("{path}: {what}")]
    Format {
        /// The file.
        path: String,
        /// What is wrong, naming the field.
        what: String,
    },
}

/// Parses a blocklist document (`path` names it in errors).
pub fn parse(bytes: &[u8], path: &str) -> Result<Vec<BlockRule>, IndicatorError> {
    let format = |what: String| IndicatorError::Format {
        path: path.to_string(),
        what,
    };
    let v: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format(format!("not JSON: {e}")))?;
    let threats = v
        .as_object()
        .ok_or_else(|| format("the top level is not an object of threats".into()))?;
    let mut out = Vec::new();
    for (threat, t) in threats {
        let description = t
            .get("description")
            .and_then(|d| d.as_str())
            .unwrap_or("")
            .to_string();
        for (section, exclude) in [("match", false), ("exclude", true)] {
            let Some(rules) = t.get(section) else {
                continue;
            };
            let rules = rules
                .as_object()
                .ok_or_else(|| format(format!("{threat}.{section} is not an object")))?;
            for (rule, crit) in rules {
                let crit = crit
                    .as_object()
                    .ok_or_else(|| format(format!("{threat}.{section}.{rule} is not an object")))?;
                let mut criteria = std::collections::BTreeMap::new();
                for (k, val) in crit {
                    let s = val.as_str().ok_or_else(|| {
                        format(format!("{threat}.{section}.{rule}.{k} is not a string"))
                    })?;
                    if s.is_empty() {
                        continue;
                    }
                    match k.as_str() {
                        "guid" => {
                            let g = crate::efi::Guid::parse(s).ok_or_else(|| {
                                format(format!(
                                    "{threat}.{section}.{rule}.guid {s:?} is not a GUID"
                                ))
                            })?;
                            criteria.insert(k.clone(), g.to_string());
                        }
                        "md5" | "sha1" | "sha256" => {
                            criteria.insert(k.clone(), s.to_ascii_lowercase());
                        }
                        "name" | "regexp" | "cpuid" => {
                            criteria.insert(k.clone(), s.to_string());
                        }
                        _ => {
                            return Err(format(format!(
                                "{threat}.{section}.{rule}: unknown criterion {k:?}"
                            )))
                        }
                    }
                }
                if out.len() >= MAX_RULES {
                    return Err(format(format!("more than {MAX_RULES} rules")));
                }
                out.push(BlockRule {
                    threat: threat.clone(),
                    description: description.clone(),
                    rule: rule.clone(),
                    criteria,
                    exclude,
                });
            }
        }
    }
    Ok(out)
}

/// Reads a blocklist file.
pub fn read_file(p: &Path) -> Result<Vec<BlockRule>, IndicatorError> {
    let path = p.display().to_string();
    let b = crate::fsutil::read_input(p, MAX_FILE).map_err(|cause| IndicatorError::Io {
        path: path.clone(),
        cause,
    })?;
    parse(&b, &path)
}

/// Something a rule is judged against: what is known of one image.
#[derive(Clone, Debug, Default)]
pub struct Candidate {
    /// Where it was found, for a person.
    pub place: String,
    /// Its FFS GUID (upper case).
    pub guid: Option<String>,
    /// Its UI name.
    pub name: Option<String>,
    /// MD5 of its body (hex).
    pub md5: Option<String>,
    /// SHA-1 of its body (hex).
    pub sha1: Option<String>,
    /// SHA-256 of its body (hex).
    pub sha256: Option<String>,
    /// The rules (indices) whose regexp matched its body, when the body's
    /// bytes were read.
    pub regexp_hits: Option<Vec<usize>>,
}

/// The first `FvFile(GUID)` of a device path's text, upper case.
pub fn fvfile_guid(text: &str) -> Option<String> {
    let up = text.to_ascii_uppercase();
    let at = up.find("FVFILE(")? + 7;
    let g = up.get(at..at + 36)?;
    crate::efi::Guid::parse(g).map(|g| g.to_string())
}

/// How one rule fares against one candidate.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Verdict {
    /// A criterion does not hold, or none could be decided.
    No,
    /// Every criterion holds, or all but a name.
    Yes,
    /// Those decided hold; these could not be.
    Partial(Vec<String>),
}

fn judge(index: usize, r: &BlockRule, c: &Candidate) -> Verdict {
    let mut decided = 0;
    let mut open = Vec::new();
    for (k, v) in &r.criteria {
        let holds = match k.as_str() {
            "guid" => c.guid.as_ref().map(|g| g == v),
            "name" => c.name.as_ref().map(|n| n == v),
            "md5" => c.md5.as_ref().map(|h| h == v),
            "sha1" => c.sha1.as_ref().map(|h| h == v),
            "sha256" => c.sha256.as_ref().map(|h| h == v),
            "regexp" => c.regexp_hits.as_ref().map(|h| h.contains(&index)),
            _ => None,
        };
        match holds {
            Some(false) => return Verdict::No,
            Some(true) => decided += 1,
            None => open.push(k.clone()),
        }
    }
    if decided == 0 {
        Verdict::No
    } else if open.iter().all(|k| k == "name") {
        Verdict::Yes
    } else {
        Verdict::Partial(open)
    }
}

/// One rule that holds, or may, for some candidates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RuleHit {
    /// The rule.
    pub rule: BlockRule,
    /// True when every criterion the candidates could decide holds and the
    /// rest are only a name; false when some could not be decided.
    pub confirmed: bool,
    /// The criteria that could not be decided, for an unconfirmed hit.
    pub unchecked: Vec<String>,
    /// Where it held.
    pub found_in: Vec<String>,
}

/// The match rules that hold (or may) for `candidates`, less those an
/// exclusion rule of the same threat clears on the same candidate (as
/// CHIPSEC's scan_blocked does).
pub fn hits(rules: &[BlockRule], candidates: &[Candidate]) -> Vec<RuleHit> {
    use std::collections::{BTreeMap, BTreeSet};
    let mut out: Vec<RuleHit> = Vec::new();
    // (rule, confirmed) → its hit in `out`: each candidate costs one pass
    // over the rules, however many rules and hits there are.
    let mut at: BTreeMap<(usize, bool), usize> = BTreeMap::new();
    for c in candidates {
        let excluded: BTreeSet<&str> = rules
            .iter()
            .enumerate()
            .filter(|(i, r)| r.exclude && judge(*i, r, c) == Verdict::Yes)
            .map(|(_, r)| r.threat.as_str())
            .collect();
        for (i, r) in rules.iter().enumerate().filter(|(_, r)| !r.exclude) {
            let (confirmed, unchecked) = match judge(i, r, c) {
                Verdict::No => continue,
                Verdict::Yes => (true, Vec::new()),
                Verdict::Partial(open) => (false, open),
            };
            if excluded.contains(r.threat.as_str()) {
                continue;
            }
            match at.get(&(i, confirmed)) {
                Some(&k) if out[k].found_in.len() < 16 => out[k].found_in.push(c.place.clone()),
                Some(_) => {}
                None => {
                    at.insert((i, confirmed), out.len());
                    out.push(RuleHit {
                        rule: r.clone(),
                        confirmed,
                        unchecked,
                        found_in: vec![c.place.clone()],
                    });
                }
            }
        }
    }
    out
}

/// What one rule's regexp may take compiled (its NFA), and what its
/// lazy DFA's cache may grow to when it runs.
const RULE_NFA: usize = 1 << 20;
const RULE_CACHE: usize = 256 << 10;
/// What every rule's regexps may take together, compiled and with their
/// caches: within the 64 MiB a command may add to its input. A file of
/// thousands of rules of nested counted repetitions once took 6 GB.
pub const MAX_COMPILED: usize = 48 << 20;

/// The rules' regexps, compiled for bytes (Python's `\xNN` is a byte;
/// `.` any byte but a newline); `Err` for one this engine does not take
/// (a look-around, a back-reference), which leaves it undecided, and for
/// one past the budget: each is charged its compiled size and its cache's
/// capacity against [`MAX_COMPILED`], and the first that does not fit, and
/// every one after it, is refused by name.
pub fn compile(rules: &[BlockRule]) -> Vec<Option<Result<regex_automata::meta::Regex, String>>> {
    use regex_automata::{meta, util::syntax};
    let mut used = 0usize;
    rules
        .iter()
        .map(|r| {
            r.criteria.get("regexp").map(|p| {
                let left = MAX_COMPILED.saturating_sub(used);
                if left < 4 * RULE_CACHE {
                    return Err(format!(
                        "{}/{}: regexp refused: the rules' regexps already take the {} MiB they may take together",
                        r.threat,
                        r.rule,
                        MAX_COMPILED >> 20
                    ));
                }
                let re = meta::Regex::builder()
                    .syntax(syntax::Config::new().unicode(false).utf8(false))
                    .configure(
                        meta::Config::new()
                            .nfa_size_limit(Some(RULE_NFA.min((left - 2 * RULE_CACHE) / 2)))
                            .onepass_size_limit(Some(RULE_CACHE))
                            .dfa(false)
                            .hybrid_cache_capacity(RULE_CACHE),
                    )
                    .build(p)
                    .map_err(|e| format!("{}/{}: regexp not supported: {e}", r.threat, r.rule))?;
                // Its own heap, and what a search adds: the lazy DFA's
                // cache, the bounded backtracker's visited set (256 KiB in
                // regex-automata) and the PikeVM's, about the NFA's size.
                let cost = re
                    .memory_usage()
                    .saturating_mul(2)
                    .saturating_add(2 * RULE_CACHE);
                if cost > left {
                    return Err(format!(
                        "{}/{}: regexp refused: compiled, it would pass the {} MiB the rules' regexps may take together",
                        r.threat,
                        r.rule,
                        MAX_COMPILED >> 20
                    ));
                }
                used += cost;
                Ok(re)
            })
        })
        .collect()
}

/// Every executable body of a firmware image as a candidate: its file's
/// GUID and UI name, its hashes, and which rules' regexps match it.
pub fn image_candidates(
    image: &[u8],
    name: &str,
    rules: &[BlockRule],
) -> Result<Vec<Candidate>, crate::firmware::FirmwareError> {
    use md5::Digest;
    let regexps = compile(rules);
    let wants = |k: &str| rules.iter().any(|r| r.criteria.contains_key(k));
    let (md5, sha1) = (wants("md5"), wants("sha1"));
    let mut bodies: Vec<(usize, Candidate)> = Vec::new();
    let inv = crate::firmware::read_visiting(image, &mut |file, content| {
        let hits = regexps
            .iter()
            .enumerate()
            .filter(|(_, r)| matches!(r, Some(Ok(re)) if re.is_match(content)))
            .map(|(i, _)| i)
            .collect();
        bodies.push((
            file,
            Candidate {
                md5: md5.then(|| crate::hexser::encode(md5::Md5::digest(content))),
                sha1: sha1.then(|| crate::hexser::encode(sha1::Sha1::digest(content))),
                sha256: Some(crate::hexser::sha256(content)),
                regexp_hits: Some(hits),
                ..Candidate::default()
            },
        ));
    })?;
    Ok(bodies
        .into_iter()
        .filter_map(|(i, mut c)| {
            let f = inv.files.get(i)?;
            c.guid = Some(f.guid.to_string());
            c.name = Some(f.ui_name.clone().unwrap_or_default());
            c.place = format!("{name}: {} ({})", f.path, f.guid);
            Some(c)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guid_only(place: &str, text: &str) -> Candidate {
        Candidate {
            place: place.into(),
            guid: fvfile_guid(text),
            ..Candidate::default()
        }
    }

    #[test]
    fn chipsec_rules_are_read_and_decided_criterion_by_criterion() {
        let doc = br#"{
          "LoJax": {"description": "LoJax", "match": {
              "SecDxe_file_info": {"name": "SecDxe", "guid": "682894b5-6b70-4eba-9e90-a607e5676297"},
              "SecDxe_hash_data": {"sha1": "F2BE7700"}}},
          "ThinkPwn": {"description": "t", "match": {
              "SystemSmmRuntimeRt": {"guid": "7C79AC8C-5E6C-4E3D-BA6F-C260EE7C172E", "regexp": "\\xA1"}}}
        }"#;
        let r = parse(doc, "b.json").unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(r[1].criteria["sha1"], "f2be7700");
        let seen = vec![
            guid_only(
                "loaded image",
                "Fv(X)/FvFile(682894B5-6B70-4EBA-9E90-A607E5676297)",
            ),
            guid_only("event 3", "FvFile(7c79ac8c-5e6c-4e3d-ba6f-c260ee7c172e)"),
        ];
        let h = hits(&r, &seen);
        assert_eq!(h.len(), 2, "{h:?}");
        assert!(h.iter().any(|x| x.rule.threat == "LoJax" && x.confirmed));
        assert!(h
            .iter()
            .any(|x| x.rule.threat == "ThinkPwn" && !x.confirmed && x.unchecked == ["regexp"]));
        assert!(hits(&r, &[]).is_empty());
        // A body whose bytes were read decides the regexp; a wrong hash
        // clears the rule.
        let mut body = seen[1].clone();
        body.regexp_hits = Some(vec![]);
        assert!(hits(&r, &[body.clone()]).is_empty());
        body.regexp_hits = Some(vec![2]);
        assert!(hits(&r, &[body])[0].confirmed);
        let hashed = Candidate {
            sha1: Some("f2be7701".into()),
            ..Candidate::default()
        };
        assert!(hits(&r, &[hashed]).is_empty());
    }

    #[test]
    fn malformed_files_name_the_field() {
        for (doc, want) in [
            (&b"[]"[..], "top level"),
            (
                br#"{"T": {"match": {"r": {"guid": "nope"}}}}"#,
                "T.match.r.guid",
            ),
            (br#"{"T": {"match": {"r": {"colour": "x"}}}}"#, "colour"),
            (br#"{"T": {"match": {"r": {"guid": 5}}}}"#, "not a string"),
        ] {
            let e = parse(doc, "b.json").unwrap_err().to_string();
            assert!(e.contains(want) && e.starts_with("b.json"), "{e}");
        }
    }
}
