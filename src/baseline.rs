//! Baselines: the known-good state of a machine, made from one or more of
//! its snapshots. With several, whatever differs between them (a counter, a
//! region that moves) is learned as legitimate variation and explained in
//! later diffs. Accepted changes are recorded with who accepted them, when
//! and why. A baseline carries the SHA-256 of its own content, so an edit by
//! hand is detected, and is always written atomically.

use crate::diff::{self, DiffReport};
use crate::findings;
use crate::snapshot::{self, Snapshot};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

/// The baseline format this bootaudit writes and reads.
pub const FORMAT: &str = "bootaudit-baseline/1";

/// A baseline.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Baseline {
    /// Always [`FORMAT`].
    pub format: String,
    /// When it was created (seconds since the Unix epoch).
    pub created_unix: u64,
    /// The snapshots it was made from: file name and SHA-256.
    pub sources: Vec<Source>,
    /// The first snapshot: what later snapshots are compared with.
    pub reference: Snapshot,
    /// Finding keys (`rule` or `rule:subject`) seen between the known-good
    /// snapshots: legitimate variation.
    pub varies: Vec<String>,
    /// Changes accepted since.
    pub accepted: Vec<Accepted>,
    /// SHA-256 (hex) of this document with this field empty.
    pub sha256: String,
}

/// One snapshot a baseline was made from.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Source {
    /// Its file name.
    pub file: String,
    /// Its SHA-256 (hex).
    pub sha256: String,
}

/// One accepted change.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Accepted {
    /// What is accepted: a rule id, or `rule:subject` for one subject.
    pub finding: String,
    /// Why.
    pub reason: String,
    /// Who accepted it.
    pub by: String,
    /// When (seconds since the Unix epoch).
    pub at_unix: u64,
}

/// Why a baseline could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// Not readable, or not a baseline.
    #[error("{path}: {why}")]
    Invalid {
        /// The file.
        path: String,
        /// What was wrong.
        why: String,
    },
    /// Its SHA-256 does not match its content.
    #[error("{path}: the baseline's SHA-256 does not match its content: it was edited after bootaudit wrote it")]
    Edited {
        /// The file.
        path: String,
    },
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn digest(b: &Baseline) -> String {
    let mut c = b.clone();
    c.sha256.clear();
    crate::hexser::encode(Sha256::digest(serde_json::to_vec(&c).unwrap_or_default()))
}

/// Makes a baseline from known-good snapshots (name, bytes, parsed).
pub fn create(snaps: &[(String, Vec<u8>, Snapshot)]) -> Option<Baseline> {
    let (_, _, first) = snaps.first()?;
    let mut varies: Vec<String> = Vec::new();
    for (name, _, s) in &snaps[1..] {
        for f in diff::diff("reference", first, name, s).findings {
            // A log that does not check out is never legitimate variation:
            // it means one of the "known-good" snapshots is not.
            if f.rule.starts_with("tpm.log.") {
                continue;
            }
            let k = f.key();
            if !varies.contains(&k) {
                varies.push(k);
            }
        }
    }
    varies.sort();
    let mut b = Baseline {
        format: FORMAT.into(),
        created_unix: now(),
        sources: snaps
            .iter()
            .map(|(n, bytes, _)| Source {
                file: n.clone(),
                sha256: crate::hexser::encode(Sha256::digest(bytes)),
            })
            .collect(),
        reference: first.clone(),
        varies,
        accepted: Vec::new(),
        sha256: String::new(),
    };
    b.sha256 = digest(&b);
    Some(b)
}

/// Records accepted changes.
pub fn accept(mut b: Baseline, findings: &[String], reason: &str, by: &str) -> Baseline {
    for f in findings {
        b.accepted.push(Accepted {
            finding: f.clone(),
            reason: reason.into(),
            by: by.into(),
            at_unix: now(),
        });
    }
    b.sha256 = digest(&b);
    b
}

/// Serializes and writes a baseline atomically.
pub fn write(b: &Baseline, path: &Path) -> std::io::Result<()> {
    let mut v = serde_json::to_vec_pretty(b).map_err(std::io::Error::other)?;
    v.push(b'\n');
    crate::fsutil::write_atomic(path, &v)
}

/// True when `bytes` is a baseline document (by its `format`).
pub fn is_baseline(bytes: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct F {
        format: String,
    }
    serde_json::from_slice::<F>(bytes).is_ok_and(|f| f.format.starts_with("bootaudit-baseline/"))
}

/// Parses a baseline and checks its version and its own SHA-256.
pub fn parse(bytes: &[u8], path: &str) -> Result<Baseline, BaselineError> {
    let invalid = |why: String| BaselineError::Invalid {
        path: path.into(),
        why,
    };
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let b: Baseline = serde_path_to_error::deserialize(de)
        .map_err(|e| invalid(format!("field `{}`: {}", e.path(), e.inner())))?;
    if b.format != FORMAT {
        return Err(invalid(format!(
            "field `format` is {:?}, this bootaudit reads {FORMAT}",
            b.format
        )));
    }
    snapshot::check_format(&b.reference.format)
        .map_err(|e| invalid(format!("field `reference`: {e}")))?;
    if digest(&b) != b.sha256 {
        return Err(BaselineError::Edited { path: path.into() });
    }
    Ok(b)
}

fn matches(accepted: &str, f: &findings::Finding) -> bool {
    accepted == f.rule || accepted == f.key()
}

/// Explains the findings of a diff against `b.reference` that the baseline
/// has learned or accepted.
pub fn apply(b: &Baseline, r: &mut DiffReport) {
    for f in &mut r.findings {
        if f.explained {
            continue;
        }
        if let Some(a) = b.accepted.iter().rev().find(|a| matches(&a.finding, f)) {
            f.explain(format!(
                "accepted by {} (unix time {}): {}",
                a.by, a.at_unix, a.reason
            ));
        } else if b.varies.contains(&f.key()) {
            f.explain("varies between the baseline's known-good snapshots".into());
        }
    }
    findings::sort(&mut r.findings);
    r.summary = findings::summarize(&r.findings);
}
