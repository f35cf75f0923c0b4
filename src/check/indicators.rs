//! Indicator files in CHIPSEC's blocklist format (`blockedlist.json`,
//! read by its `tools.uefi.scan_blocked` module): threats, each with match
//! rules of a name, a GUID, a byte regexp and hashes that must all hold,
//! and exclusions. `--indicators` adds them to the shipped indicators.
//!
//! A snapshot names images by their FFS GUID (`FvFile(GUID)`); it holds
//! neither their bytes nor their UI names. So a rule is decided here on its
//! GUID: a hit whose other criteria are only a name (trivially set, and not
//! recorded) is a match; a hit whose other criteria need the file's bytes
//! (a regexp, a hash, a CPUID) is reported as unconfirmed, never as clean.

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
    /// The FFS GUID it requires (upper case), when it names one.
    pub guid: Option<String>,
    /// The criteria besides the GUID (`name`, `regexp`, `sha256`, ...).
    pub other: Vec<String>,
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
                let mut guid = None;
                let mut other = Vec::new();
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
                            guid = Some(g.to_string());
                        }
                        "name" | "regexp" | "md5" | "sha1" | "sha256" | "cpuid" => {
                            other.push(k.clone())
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
                    guid,
                    other,
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

/// How a rule fares against a set of FFS GUIDs seen in the snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RuleHit {
    /// The rule.
    pub rule: BlockRule,
    /// True when every criterion the snapshot can decide holds and the
    /// others are only a name; false when a byte criterion is unchecked.
    pub confirmed: bool,
    /// Where the GUID was seen.
    pub found_in: Vec<String>,
}

/// The match rules whose GUID is among `seen` (place, text pairs; the
/// text holds `FvFile(GUID)`), minus threats an exclusion rule clears.
pub fn hits(rules: &[BlockRule], seen: &[(String, String)]) -> Vec<RuleHit> {
    let found = |g: &str| -> Vec<String> {
        let needle = format!("FVFILE({g})");
        seen.iter()
            .filter(|(_, t)| t.to_ascii_uppercase().contains(&needle))
            .map(|(w, _)| w.clone())
            .collect()
    };
    let excluded: Vec<&str> = rules
        .iter()
        .filter(|r| r.exclude && r.other.is_empty())
        .filter(|r| r.guid.as_deref().is_some_and(|g| !found(g).is_empty()))
        .map(|r| r.threat.as_str())
        .collect();
    rules
        .iter()
        .filter(|r| !r.exclude && !excluded.contains(&r.threat.as_str()))
        .filter_map(|r| {
            let f = found(r.guid.as_deref()?);
            (!f.is_empty()).then(|| RuleHit {
                rule: r.clone(),
                confirmed: r.other.iter().all(|o| o == "name"),
                found_in: f,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chipsec_rules_are_read_and_decided_on_their_guid() {
        let doc = br#"{
          "LoJax": {"description": "LoJax", "match": {
              "SecDxe_file_info": {"name": "SecDxe", "guid": "682894b5-6b70-4eba-9e90-a607e5676297"},
              "SecDxe_hash_data": {"sha1": "f2be7700"}}},
          "ThinkPwn": {"description": "t", "match": {
              "SystemSmmRuntimeRt": {"guid": "7C79AC8C-5E6C-4E3D-BA6F-C260EE7C172E", "regexp": "\\xA1"}}}
        }"#;
        let r = parse(doc, "b.json").unwrap();
        assert_eq!(r.len(), 3);
        let seen = vec![
            (
                "loaded image".to_string(),
                "Fv(X)/FvFile(682894B5-6B70-4EBA-9E90-A607E5676297)".to_string(),
            ),
            (
                "event 3".to_string(),
                "FvFile(7c79ac8c-5e6c-4e3d-ba6f-c260ee7c172e)".to_string(),
            ),
        ];
        let h = hits(&r, &seen);
        assert_eq!(h.len(), 2);
        assert!(h.iter().any(|x| x.rule.threat == "LoJax" && x.confirmed));
        assert!(h
            .iter()
            .any(|x| x.rule.threat == "ThinkPwn" && !x.confirmed));
        assert!(hits(&r, &[]).is_empty());
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
