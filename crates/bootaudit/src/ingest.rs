//! `bootaudit ingest`: pull the collector's snapshots out of an ESP (a
//! mounted directory or a raw image, see [`crate::esp`]), validate each one
//! (format, fields, the collector's own read-back SHA-256), and write them,
//! with their ACPI sidecar files, as files the rest of the CLI reads. Files
//! are written atomically and never overwrite a different file.

use crate::esp::{self, EspError, EspFile};
use crate::fsutil::write_atomic;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::Path;

/// What happened to one snapshot found on the ESP.
#[derive(Clone, Debug, Serialize)]
pub struct Ingested {
    /// Its path on the ESP.
    pub esp_path: String,
    /// Where it was written, when it was.
    pub written: Option<String>,
    /// SHA-256 of the file (hex).
    pub sha256: String,
    /// The collector's read-back record: `verified` (the sidecar matches),
    /// `mismatch` (it does not: the file changed after the collector wrote
    /// it), or `missing` (no sidecar: the read-back failed or never ran).
    pub readback: String,
    /// `efi-collector 0.1.0`, when valid.
    pub source: Option<String>,
    /// Why the snapshot is not valid, when it is not.
    pub error: Option<String>,
    /// ACPI sidecar files written with it.
    pub acpi_files: usize,
    /// Sidecar files that were not written, and why (a name that is not
    /// the collector's, a write that failed): the snapshot is ingested all
    /// the same, so that a hostile ESP cannot suppress it this way.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sidecars_refused: Vec<String>,
}

/// True for the collector's snapshot names: `snap-` and four to nine
/// digits (`snap-NNNN`), the stem of `snap-NNNN.json`.
fn collector_stem(stem: &str) -> bool {
    stem.strip_prefix("snap-")
        .is_some_and(|d| (4..=9).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
}

/// True for the collector's ACPI sidecar names: two to four digits, `-`,
/// the table's signature (letters, digits, `_`), `.dat`.
fn collector_sidecar(leaf: &str) -> bool {
    let Some(stem) = leaf.strip_suffix(".dat") else {
        return false;
    };
    let Some((n, sig)) = stem.split_once('-') else {
        return false;
    };
    (2..=4).contains(&n.len())
        && n.bytes().all(|b| b.is_ascii_digit())
        && (1..=8).contains(&sig.len())
        && sig.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The whole ingest.
#[derive(Clone, Debug, Serialize)]
pub struct IngestReport {
    /// The ESP as given.
    pub esp: String,
    /// How the FAT volume was found (`directory`, `fat`, `gpt partition 1`...).
    pub layout: String,
    /// Every snapshot found.
    pub snapshots: Vec<Ingested>,
    /// True when every snapshot is valid and its read-back verified.
    pub ok: bool,
}

/// Reads the ESP at `source` and writes its snapshots into `out`.
pub fn ingest(source: &Path, out: &Path) -> Result<IngestReport, EspError> {
    let name = source.display().to_string();
    let (layout, files) = esp::read_tree(source, "bootaudit")?;
    std::fs::create_dir_all(out).map_err(|cause| EspError::Io {
        path: out.display().to_string(),
        what: "create the output directory".into(),
        cause,
    })?;
    let mut snapshots = Vec::new();
    let is_snapshot = |p: &str| {
        let f = p.rsplit('/').next().unwrap_or("");
        p.matches('/').count() == 1 && f.starts_with("snap-") && f.ends_with(".json")
    };
    let mut found: Vec<&EspFile> = files.iter().filter(|f| is_snapshot(&f.path)).collect();
    found.sort_by(|a, b| a.path.cmp(&b.path));
    for f in found {
        let leaf = f.path.rsplit('/').next().unwrap_or("");
        let stem = leaf.trim_end_matches(".json");
        if stem.strip_suffix(".quote").is_some_and(collector_stem) {
            // The collector's boot quote (`snap-NNNN.quote.json`): not a
            // snapshot, read by `verify-boot`.
            continue;
        }
        if !collector_stem(stem) {
            // Outputs are named by the collector's pattern only: a name
            // from a hostile FAT (controls, escapes) is never written.
            snapshots.push(Ingested {
                esp_path: f.path.clone(),
                written: None,
                sha256: crate::hexser::encode(Sha256::digest(&f.bytes)),
                readback: "missing".into(),
                source: None,
                error: Some(
                    "the file name is not the collector's (snap-NNNN.json): not written".into(),
                ),
                acpi_files: 0,
                sidecars_refused: Vec::new(),
            });
            continue;
        }
        snapshots.push(one(f, &files, out));
    }
    let ok = snapshots
        .iter()
        .all(|s| s.error.is_none() && s.readback == "verified" && s.sidecars_refused.is_empty());
    Ok(IngestReport {
        esp: name,
        layout,
        snapshots,
        ok,
    })
}

fn one(f: &EspFile, all: &[EspFile], out: &Path) -> Ingested {
    let file = f.path.rsplit('/').next().unwrap_or("snap.json").to_string();
    let stem = file.trim_end_matches(".json").to_string();
    let sha = crate::hexser::encode(Sha256::digest(&f.bytes));
    let side = all
        .iter()
        .find(|x| x.path == f.path.replace(".json", ".sha256"));
    let readback = match side {
        None => "missing",
        Some(s)
            if String::from_utf8_lossy(&s.bytes).split_whitespace().next()
                == Some(sha.as_str()) =>
        {
            "verified"
        }
        Some(_) => "mismatch",
    }
    .to_string();
    let mut r = Ingested {
        esp_path: f.path.clone(),
        written: None,
        sha256: sha.clone(),
        readback,
        source: None,
        error: None,
        acpi_files: 0,
        sidecars_refused: Vec::new(),
    };
    // The same cap as for a snapshot file given by path.
    if f.bytes.len() as u64 > crate::snapshot::MAX_SNAPSHOT_SIZE {
        r.error = Some(format!(
            "{}: larger than the {} bytes a snapshot may have",
            f.path,
            crate::snapshot::MAX_SNAPSHOT_SIZE
        ));
        return r;
    }
    let snap = match crate::snapshot::parse(&f.bytes, &f.path) {
        Ok(s) => s,
        Err(e) => {
            r.error = Some(e.to_string());
            return r;
        }
    };
    r.source = Some(snap.source.describe());
    // Same name and same bytes already there: nothing to do. A different
    // file under that name: keep both, this one in a directory named by its
    // digest (the snapshot refers to its ACPI directory by name).
    let mut dir = out.to_path_buf();
    let target = out.join(&file);
    if target.exists()
        && crate::fsutil::read_input(&target, f.bytes.len() as u64)
            .ok()
            .as_deref()
            != Some(&f.bytes[..])
    {
        dir = out.join(&sha[..16]);
    }
    if let Err(e) = std::fs::create_dir_all(&dir).and_then(|_| crate::fsutil::check_input_dir(&dir))
    {
        r.error = Some(format!("{}: cannot write: {e}", dir.display()));
        return r;
    }
    let acpi_prefix = format!(
        "{}/{stem}.acpi/",
        f.path.rsplit_once('/').map_or("", |x| x.0)
    );
    // The snapshot and its read-back record: all or nothing. Each ACPI
    // sidecar after it, on its own: one that cannot be written (a name
    // that is not the collector's, a failed write) is named, and never
    // keeps the snapshot out.
    let mut plan: Vec<(std::path::PathBuf, &[u8])> = Vec::new();
    if let Some(s) = side {
        plan.push((dir.join(format!("{stem}.sha256")), &s.bytes));
    }
    plan.push((dir.join(&file), &f.bytes));
    if let Err((p, e)) = write_all_or_nothing(&plan, &dir, false) {
        r.error = Some(format!(
            "{}: cannot write: {e}; nothing of this snapshot was written",
            p.display()
        ));
        return r;
    }
    r.written = Some(dir.join(&file).display().to_string());
    let d = dir.join(format!("{stem}.acpi"));
    for a in all.iter().filter(|a| a.path.starts_with(&acpi_prefix)) {
        let leaf = &a.path[acpi_prefix.len()..];
        if leaf.contains('/') {
            continue;
        }
        if !collector_sidecar(leaf) {
            r.sidecars_refused.push(format!(
                "{}: not a name the collector writes (NN-SIG.dat): not written",
                a.path
            ));
            continue;
        }
        match write_all_or_nothing(&[(d.join(leaf), &a.bytes)], &d, true) {
            Ok(()) => r.acpi_files += 1,
            Err((p, e)) => r
                .sidecars_refused
                .push(format!("{}: cannot write: {e}", p.display())),
        }
    }
    r
}

/// Writes every planned file atomically, or none: on the first failure,
/// the files already written (and the sidecar directory, if this created
/// it) are removed, and the failing path is returned.
fn write_all_or_nothing(
    plan: &[(std::path::PathBuf, &[u8])],
    acpi_dir: &Path,
    needs_acpi_dir: bool,
) -> Result<(), (std::path::PathBuf, std::io::Error)> {
    // Names too long for an atomic write are refused before any write.
    for (p, _) in plan {
        if p.file_name()
            .is_none_or(|n| !crate::fsutil::fits_atomic_write(n))
        {
            return Err((
                p.clone(),
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "file name too long to be written atomically",
                ),
            ));
        }
    }
    let made_dir = needs_acpi_dir && !acpi_dir.exists();
    if needs_acpi_dir {
        std::fs::create_dir_all(acpi_dir).map_err(|e| (acpi_dir.to_path_buf(), e))?;
        crate::fsutil::check_input_dir(acpi_dir).map_err(|e| (acpi_dir.to_path_buf(), e))?;
    }
    let mut done: Vec<&Path> = Vec::new();
    for (p, bytes) in plan {
        let existed = p.exists();
        if let Err(e) = write_atomic(p, bytes) {
            for q in &done {
                let _ = std::fs::remove_file(q);
            }
            if made_dir {
                let _ = std::fs::remove_dir(acpi_dir);
            }
            return Err((p.clone(), e));
        }
        if !existed {
            done.push(p);
        }
    }
    Ok(())
}
