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

/// Why a baseline could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The file (or its signature) could not be written.
    #[error("{path}: cannot write: {cause}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        cause: std::io::Error,
    },
    /// It could not be signed.
    #[error(transparent)]
    Sign(#[from] crate::signing::SignError),
}

/// Serializes and writes a baseline atomically; with `sign_key`, also its
/// detached SSH signature `PATH.sig`. The signature is made before either
/// file is written and written first: a crash between the two renames
/// leaves a signature that does not match, which `--allowed-signers`
/// refuses, never a half-written baseline. Without a key, a stale
/// signature from an earlier version is removed.
pub fn write(b: &Baseline, path: &Path, sign_key: Option<&Path>) -> Result<(), WriteError> {
    let io = |p: &Path| {
        let p = p.display().to_string();
        move |cause| WriteError::Io { path: p, cause }
    };
    let mut v = serde_json::to_vec_pretty(b).map_err(|e| io(path)(std::io::Error::other(e)))?;
    v.push(b'\n');
    let sig = crate::signing::sig_path(path);
    match sign_key {
        Some(k) => {
            let armoured = crate::signing::sign(k, &v)?;
            crate::fsutil::write_atomic(&sig, armoured.as_bytes()).map_err(io(&sig))?;
        }
        None => {
            if std::fs::symlink_metadata(&sig).is_ok_and(|m| m.is_file()) {
                std::fs::remove_file(&sig).map_err(io(&sig))?;
            }
        }
    }
    crate::fsutil::write_atomic(path, &v).map_err(io(path))
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
    snapshot::check_value_count(bytes, path).map_err(|e| invalid(e.to_string()))?;
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
/// has learned or accepted. An acceptance, or a key learned as varying,
/// explains only when `trusted`
/// (the baseline's signature verified, or `--trust-unsigned-baseline`):
/// whoever can write the file can add acceptances, and the scheduled check
/// keeps its baseline on the judged host itself. Otherwise the finding
/// keeps its severity, unexplained, noted "accepted in an unverified
/// baseline", and the report counts them.
pub fn apply(b: &Baseline, r: &mut DiffReport, trusted: bool) {
    let mut withheld = 0;
    for f in &mut r.findings {
        if f.explained {
            continue;
        }
        if let Some(a) = b.accepted.iter().rev().find(|a| matches(&a.finding, f)) {
            if trusted {
                f.explain(format!(
                    "accepted by {} (unix time {}): {}",
                    a.by, a.at_unix, a.reason
                ));
            } else {
                withheld += 1;
                f.qualify(
                    format!(
                        "accepted in an unverified baseline (by {}, unix time {}: {}); no signer vouches for it, so it explains nothing",
                        a.by, a.at_unix, a.reason
                    ),
                    f.severity,
                );
            }
        } else if b.varies.contains(&f.key()) {
            // What varies is learned from snapshots, but written in the
            // same file: whoever can write it can add keys to the list.
            if trusted {
                f.explain("varies between the baseline's known-good snapshots".into());
            } else {
                withheld += 1;
                f.qualify(
                    "listed as varying between the known-good snapshots of an unverified baseline; no signer vouches for that list, so it explains nothing".into(),
                    f.severity,
                );
            }
        }
    }
    findings::sort(&mut r.findings);
    r.summary = findings::summarize(&r.findings);
    r.unverified_acceptances = withheld;
}

/// What a diff's left side says about its signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SignatureStatus {
    /// The signature was checked against allowed signers and is valid.
    pub verified: bool,
    /// The signer, when verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer: Option<crate::signing::Verified>,
    /// In words.
    pub detail: String,
}

/// The left side of a diff, loaded: a baseline or a plain snapshot, and
/// whether its signature was verified.
pub struct Loaded {
    /// The file as named.
    pub name: String,
    /// What the current snapshot is compared with.
    pub reference: Snapshot,
    /// The baseline, when the file is one.
    pub baseline: Option<Baseline>,
    /// The signature's status.
    pub signature: SignatureStatus,
    /// Let the acceptances of an unsigned (or unchecked) baseline explain
    /// findings (`--trust-unsigned-baseline`, for labs).
    pub trust_unsigned: bool,
}

/// Why the left side of a diff was refused.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Not readable as a snapshot-sized file.
    #[error(transparent)]
    Read(#[from] snapshot::SnapshotError),
    /// A baseline that does not parse or was edited.
    #[error(transparent)]
    Baseline(#[from] BaselineError),
    /// Allowed signers were given and the signature is missing or wrong.
    #[error("{path}: refused: {why}")]
    Signature {
        /// The baseline.
        path: String,
        /// Why.
        why: crate::signing::SignError,
    },
    /// Of another machine.
    #[error("{path}: refused: {why} (use --allow-other-machine to compare anyway)")]
    OtherMachine {
        /// The baseline.
        path: String,
        /// The identities.
        why: String,
    },
}

/// Loads a baseline or a plain snapshot. With `allowed`, its detached
/// signature (`FILE.sig`) must verify against one of those signers, else
/// it is refused: the judged host can rewrite a baseline and its SHA-256,
/// not a signature made with a key it does not hold.
pub fn load(
    path: &Path,
    allowed: Option<&[crate::signing::AllowedSigner]>,
) -> Result<Loaded, LoadError> {
    let name = path.display().to_string();
    let bytes = snapshot::read_bytes(path)?;
    let signature = match allowed {
        None => SignatureStatus {
            verified: false,
            signer: None,
            detail: "not checked (no --allowed-signers given)".into(),
        },
        Some(a) => {
            let v = crate::signing::verify(&bytes, &crate::signing::sig_path(path), a).map_err(
                |why| LoadError::Signature {
                    path: name.clone(),
                    why,
                },
            )?;
            SignatureStatus {
                verified: true,
                detail: format!("verified: signed by {} ({})", v.principal, v.fingerprint),
                signer: Some(v),
            }
        }
    };
    let (reference, baseline) = if is_baseline(&bytes) {
        let b = parse(&bytes, &name)?;
        (b.reference.clone(), Some(b))
    } else {
        (snapshot::parse(&bytes, &name)?, None)
    };
    Ok(Loaded {
        name,
        reference,
        baseline,
        signature,
        trust_unsigned: false,
    })
}

/// The SMBIOS system identity (manufacturer, product, serial, UUID) of a
/// snapshot, when it has one.
fn platform(s: &Snapshot) -> Option<[&str; 4]> {
    let sm = s.identity.as_ref()?.smbios.as_ref()?;
    Some([
        &sm.system_manufacturer,
        &sm.system_product,
        &sm.system_serial,
        &sm.system_uuid,
    ])
}

/// The installation's /etc/machine-id, when the snapshot records a usable
/// one (32 hexadecimal digits, not all zero: systemd's format; an empty or
/// "uninitialized" file names no installation).
fn machine_id(s: &Snapshot) -> Option<&str> {
    let id = s.identity.as_ref()?.machine_id.as_deref()?.trim();
    (id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) && id.bytes().any(|b| b != b'0'))
        .then_some(id)
}

/// What showed that a baseline and a snapshot are of one machine: the
/// strongest identity both record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MachineIdentity {
    /// The TPM's endorsement key: the same TPM, whatever SMBIOS says.
    EndorsementKey,
    /// The SMBIOS system identity (manufacturer, product, serial, UUID).
    Smbios,
    /// /etc/machine-id, on hosts whose firmware gives no SMBIOS (virtual
    /// machines without DMI, many Arm boards): it names the installation.
    MachineId,
    /// The ESP's GPT partition GUID, when no stronger identity is on both
    /// sides (a collector snapshot, with no machine-id, of a machine
    /// without SMBIOS or TPM): it names the boot disk's partition.
    EspPartition,
}

impl MachineIdentity {
    /// How reports name it.
    pub fn describe(self) -> &'static str {
        match self {
            MachineIdentity::EndorsementKey => "its TPM's endorsement key",
            MachineIdentity::Smbios => "its SMBIOS system identity",
            MachineIdentity::MachineId => "its machine-id (no SMBIOS on both sides)",
            MachineIdentity::EspPartition => {
                "its ESP's partition GUID (no SMBIOS, and no machine-id on both sides)"
            }
        }
    }
}

/// The SHA-256 of the TPM endorsement key a snapshot records.
fn endorsement_key(s: &Snapshot) -> Option<&str> {
    let ek = s.identity.as_ref()?.endorsement_key.as_ref()?;
    (ek.public_sha256.len() == 64).then_some(ek.public_sha256.as_str())
}

/// Refuses a baseline that is not shown to be of this machine; otherwise
/// says by which identity it is. The strongest identity both sides record
/// decides, in this order: the TPM's endorsement key when both record the
/// same one; a different one is no verdict by itself (a replaced TPM, or a
/// cloned identity: `identity.endorsement-key.changed` in the diff), the
/// other identities decide; then the SMBIOS system identity, then
/// /etc/machine-id (only when neither side records SMBIOS: one side
/// without it is refused, as an edited snapshot would look), then the
/// ESP's GPT partition GUID (when no machine-id is on both sides). When both
/// record one and it differs, the baseline is of another machine; when
/// they share none, nothing says whose baseline it is, and it is refused
/// as well. (Either side can be edited, so
/// equality proves nothing; a difference, or an identity that was left
/// out, is reason enough not to judge one machine by another's known-good
/// state.)
pub fn check_same_machine(l: &Loaded, current: &Snapshot) -> Result<MachineIdentity, LoadError> {
    let refuse = |why: String| {
        Err(LoadError::OtherMachine {
            path: l.name.clone(),
            why,
        })
    };
    let (ek_a, ek_b) = (endorsement_key(&l.reference), endorsement_key(current));
    if ek_a.is_some() && ek_a == ek_b {
        return Ok(MachineIdentity::EndorsementKey);
    }
    match (platform(&l.reference), platform(current)) {
        (Some(a), Some(b)) if a == b => return Ok(MachineIdentity::Smbios),
        (Some(a), Some(b)) => {
            return refuse(format!(
                "a baseline of another machine: {:?} {:?} serial {:?} uuid {:?}, the snapshot is of {:?} {:?} serial {:?} uuid {:?}",
                a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]
            ))
        }
        // One side's SMBIOS identity left out is no weaker identity to fall
        // back on: it is what an edited snapshot would look like.
        (a @ Some(_), None) | (a @ None, Some(_)) => {
            return refuse(format!(
                "unknown whether the baseline is of this machine: the {} has no SMBIOS system identity and the other has one",
                if a.is_none() { "baseline" } else { "snapshot" }
            ))
        }
        (None, None) => {}
    }
    match (machine_id(&l.reference), machine_id(current)) {
        (Some(a), Some(b)) if a == b => Ok(MachineIdentity::MachineId),
        (Some(a), Some(b)) => refuse(format!(
            "a baseline of another installation: its machine-id is {a:?}, the snapshot's is {b:?} (and not both record an SMBIOS system identity)"
        )),
        _ => match (esp_partition(&l.reference), esp_partition(current)) {
            (Some(a), Some(b)) if a == b => Ok(MachineIdentity::EspPartition),
            (Some(a), Some(b)) => refuse(format!(
                "a baseline of another disk: its ESP's partition GUID is {a}, the snapshot's is {b} (and they share no stronger identity)"
            )),
            _ => {
                let has = |s: &Snapshot| {
                    let mut ids = Vec::new();
                    if platform(s).is_some() {
                        ids.push("an SMBIOS system identity");
                    }
                    if machine_id(s).is_some() {
                        ids.push("a machine-id");
                    }
                    if esp_partition(s).is_some() {
                        ids.push("an ESP partition GUID");
                    }
                    if ids.is_empty() {
                        "no SMBIOS system identity, no machine-id and no ESP partition GUID"
                            .to_string()
                    } else {
                        format!("only {}", ids.join(" and "))
                    }
                };
                refuse(format!(
                    "unknown whether the baseline is of this machine: they share no identity (the baseline has {}, the snapshot {})",
                    has(&l.reference),
                    has(current)
                ))
            }
        },
    }
}

/// The ESP's partition GUID a snapshot records, when it is one (36
/// characters of GUID text, not all zero).
fn esp_partition(s: &Snapshot) -> Option<String> {
    let g = s.identity.as_ref()?.esp_partition_guid.as_deref()?.trim();
    let hex: String = g.chars().filter(|c| *c != '-').collect();
    (g.len() == 36
        && hex.len() == 32
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
        && hex.bytes().any(|b| b != b'0'))
    .then(|| g.to_ascii_uppercase())
}

/// Diffs `current` against a loaded left side, applying the baseline's
/// learned and accepted changes, and records the signature status.
pub fn diff_against(l: &Loaded, current_name: &str, current: &Snapshot) -> DiffReport {
    diff_against_with(l, current_name, current, &[])
}

/// [`diff_against`], with the current boot judged against vendor
/// references too.
pub fn diff_against_with(
    l: &Loaded,
    current_name: &str,
    current: &Snapshot,
    refs: &[crate::firmware::reference::Reference],
) -> DiffReport {
    let mut r = diff::diff_with(&l.name, &l.reference, current_name, current, refs);
    if let Some(b) = &l.baseline {
        apply(b, &mut r, l.signature.verified || l.trust_unsigned);
    }
    r.baseline_signature = Some(l.signature.clone());
    r
}
