//! Sealed evidence bundles for incident response: a directory with the
//! snapshot, the raw artefacts it was made from (the TPM event log, the
//! ACPI tables, the EFI variables, the SMBIOS tables, the ESP's binaries'
//! hashes), and a manifest that records the SHA-256 and size of every
//! file, the host, the UTC time, the operator, the command line and the
//! tool's version. With a TPM, `quote.json` holds a quote whose nonce is
//! the manifest's SHA-256: the TPM vouches for the manifest, and the
//! manifest for every byte.
//!
//! [`write`] makes the directory atomically (a temporary sibling, renamed
//! into place); [`verify`] walks a bundle that may have been tampered with:
//! every file is hashed within caps, symbolic links and special files are
//! findings, and each changed, added or removed file is named.

use crate::hexser;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// The manifest's format.
pub const FORMAT: &str = "bootaudit-bundle/1";
/// The quote file's format.
pub const QUOTE_FORMAT: &str = "bootaudit-bundle-quote/1";
/// The manifest's file name.
pub const MANIFEST: &str = "manifest.json";
/// The quote's file name (not listed in the manifest: it covers it).
pub const QUOTE: &str = "quote.json";
/// The responder's SSH signature over the manifest (`collect --bundle
/// --sign-key`), in namespace [`SEAL_NAMESPACE`].
pub const SEAL: &str = "manifest.json.sig";
/// The SSHSIG namespace of a bundle's seal.
pub const SEAL_NAMESPACE: &str = "bootaudit-bundle";
/// The most files a bundle may hold.
pub const MAX_FILES: usize = 50_000;
/// The largest file hashed.
pub const MAX_FILE: u64 = 1 << 30;
/// The largest manifest or quote read.
pub const MAX_MANIFEST: u64 = 64 << 20;
/// The PCRs a bundle's quote covers.
pub const QUOTED_PCRS: [u32; 10] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
/// The deepest directory walked.
pub const MAX_DEPTH: usize = 16;

/// A bundle's files: (path in the bundle, bytes).
pub type Files = Vec<(String, Vec<u8>)>;

/// One file of the bundle.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
}

/// Who and what the bundle was collected from, as the host reported it
/// (evidence to cross-check, not proof: the quote is the proof).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Host {
    /// The hostname.
    pub hostname: Option<String>,
    /// /etc/machine-id.
    pub machine_id: Option<String>,
    /// SMBIOS system UUID.
    pub system_uuid: Option<String>,
    /// SMBIOS system serial number.
    pub system_serial: Option<String>,
}

/// The manifest.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: String,
    /// `bootaudit 0.1.0`.
    pub tool: String,
    /// The command line that made the bundle.
    pub command_line: Vec<String>,
    /// Who collected it (`--operator`).
    pub operator: Option<String>,
    /// When (RFC 3339 UTC, the collecting host's clock).
    pub collected_at: String,
    /// The host.
    pub host: Host,
    /// Every file but the manifest and the quote, by its path in the
    /// bundle (`/`-separated).
    pub files: BTreeMap<String, FileEntry>,
}

/// The TPM's quote over the manifest.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BundleQuote {
    /// [`QUOTE_FORMAT`].
    pub format: String,
    /// SHA-256 of manifest.json's bytes, hex: the quote's nonce.
    pub manifest_sha256: String,
    /// The AK's TPMT_PUBLIC, hex.
    pub ak_public: String,
    /// TPMS_ATTEST, hex.
    pub attest: String,
    /// TPMT_SIGNATURE, hex.
    pub signature: String,
}

/// Why a bundle cannot be written or read at all.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// A file or directory could not be read or written.
    #[error("{path}: {why}")]
    Io {
        /// The path.
        path: String,
        /// What happened.
        why: String,
    },
    /// The manifest or the quote is malformed.
    #[error("{path}: byte {offset}: {why}")]
    Malformed {
        /// The file.
        path: String,
        /// The byte offset.
        offset: usize,
        /// What is wrong.
        why: String,
    },
}

fn io(path: &Path, e: impl std::fmt::Display) -> BundleError {
    BundleError::Io {
        path: path.display().to_string(),
        why: e.to_string(),
    }
}

/// Whether `rel` is a safe path inside a bundle: relative, only normal
/// components, no empty ones, printable.
pub fn safe_rel(rel: &str) -> bool {
    !rel.is_empty()
        && rel.len() <= 1024
        && !rel.chars().any(|c| c.is_control() || c == '\\')
        && Path::new(rel)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
        && !rel
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
}

/// Builds the manifest of `files` (path in the bundle, bytes).
pub fn manifest(
    files: &[(String, Vec<u8>)],
    command_line: Vec<String>,
    operator: Option<String>,
    host: Host,
    now: u64,
) -> Manifest {
    Manifest {
        format: FORMAT.into(),
        tool: format!("bootaudit {}", env!("CARGO_PKG_VERSION")),
        command_line,
        operator,
        collected_at: crate::attest::utc(now),
        host,
        files: files
            .iter()
            .map(|(p, b)| {
                (
                    p.clone(),
                    FileEntry {
                        sha256: hexser::sha256(b),
                        size: b.len() as u64,
                    },
                )
            })
            .collect(),
    }
}

/// The manifest's bytes, as written and as the quote's nonce hashes them.
pub fn manifest_bytes(m: &Manifest) -> Vec<u8> {
    json_bytes(m)
}

/// Pretty JSON and a final newline: how every JSON file of a bundle is
/// written.
fn json_bytes<T: Serialize>(v: &T) -> Vec<u8> {
    let mut b = serde_json::to_vec_pretty(v).unwrap_or_default();
    b.push(b'\n');
    b
}

/// Parses a manifest or a bundle quote (`path` names it in errors, with
/// the byte offset).
pub fn parse_json<T: for<'de> Deserialize<'de>>(b: &[u8], path: &str) -> Result<T, BundleError> {
    let malformed = |e: serde_json::Error| BundleError::Malformed {
        path: path.to_string(),
        offset: crate::attest::enrol::json_offset(b, e.line(), e.column()),
        why: e.to_string(),
    };
    let v = serde_json::from_slice(b).map_err(malformed)?;
    // A file listed twice in the manifest (serde keeps the last): refused.
    crate::strict_json::no_duplicate_keys(b, false).map_err(malformed)?;
    Ok(v)
}

mod gather;
mod verify;
mod write;

pub use gather::{from_esp, gather, host_of, quote_manifest};
pub use verify::{verify, verify_tar, verify_with, BundleCheck, BundleReport, Verdict};
pub use write::{write, write_any, write_tar};
