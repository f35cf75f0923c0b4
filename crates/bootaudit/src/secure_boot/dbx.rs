//! UEFI revocation updates (the `dbxupdate*.bin` files the UEFI Forum and
//! Microsoft publish) and what a machine's dbx lacks of them. An update is
//! an authenticated variable write: EFI_VARIABLE_AUTHENTICATION_2 (an
//! EFI_TIME, then a WIN_CERTIFICATE_UEFI_GUID with the PKCS#7 signature),
//! then the signature lists to append. The signature is the firmware's to
//! check when it applies the update; here the file is the user's own
//! reference and only its lists are read.

use bootaudit_snapshot::siglist::{self, SignatureDatabase};
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::Path;

/// No update is larger than this (the largest published is under 40 KiB).
pub const MAX_UPDATE: u64 = 4 << 20;

/// Why an update file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DbxError {
    /// The file could not be opened or read, or is too large.
    #[error("{path}: cannot read: {cause}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        cause: std::io::Error,
    },
    /// The bytes are not an authenticated dbx update.
    #[error("{path}: {what} at byte {offset}")]
    Format {
        /// The file.
        path: String,
        /// What was wrong.
        what: String,
        /// Where.
        offset: usize,
    },
}

/// One revocation update.
#[derive(Clone, Debug, Serialize)]
pub struct Update {
    /// The file it was read from.
    pub file: String,
    /// The entries it appends to dbx.
    #[serde(skip)]
    pub lists: SignatureDatabase,
}

/// Parses an update's bytes (`path` names it in errors).
pub fn parse_update(b: &[u8], path: &str) -> Result<Update, DbxError> {
    let format = |what: &str, offset| DbxError::Format {
        path: path.to_string(),
        what: what.to_string(),
        offset,
    };
    let dw = b
        .get(16..20)
        .map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]) as usize)
        .ok_or_else(|| format("shorter than EFI_VARIABLE_AUTHENTICATION_2", b.len()))?;
    let (rev, ty) = match b.get(20..24) {
        Some(x) => (
            u16::from_le_bytes([x[0], x[1]]),
            u16::from_le_bytes([x[2], x[3]]),
        ),
        None => return Err(format("shorter than WIN_CERTIFICATE", b.len())),
    };
    if rev != 0x0200 || ty != 0x0ef1 {
        return Err(format(
            "not a WIN_CERTIFICATE_UEFI_GUID (revision 0x0200, type 0x0EF1)",
            20,
        ));
    }
    let start = 16usize.saturating_add(dw);
    if dw < 24 || start > b.len() {
        return Err(format("WIN_CERTIFICATE dwLength runs past the file", 16));
    }
    let lists = siglist::parse(&b[start..], &|d| crate::hexser::sha256(d));
    if let Some(e) = &lists.error {
        return Err(format(
            &format!("{e} (of the lists after the signature)"),
            start,
        ));
    }
    if lists.signatures.is_empty() {
        return Err(format("no signature list after the signature", start));
    }
    Ok(Update {
        file: path.to_string(),
        lists,
    })
}

/// Reads an update file (a regular file, at most [`MAX_UPDATE`] bytes).
pub fn read_update(p: &Path) -> Result<Update, DbxError> {
    let path = p.display().to_string();
    let b = crate::fsutil::read_input(p, MAX_UPDATE).map_err(|cause| DbxError::Io {
        path: path.clone(),
        cause,
    })?;
    parse_update(&b, &path)
}

/// What a dbx lacks of the updates it is checked against.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Missing {
    /// Entries the updates hold, deduplicated.
    pub required: usize,
    /// Hash entries (Authenticode hashes of revoked boot code) missing.
    pub hashes: usize,
    /// The first missing hashes (hex), at most 16.
    pub first_hashes: Vec<String>,
    /// Revoked certificates missing, by subject (or digest).
    pub certificates: Vec<String>,
}

impl Missing {
    /// Nothing is missing.
    pub fn is_empty(&self) -> bool {
        self.hashes == 0 && self.certificates.is_empty()
    }
}

/// The entries of `updates` that `dbx` does not hold (by kind and digest).
pub fn missing(dbx: &SignatureDatabase, updates: &[Update]) -> Missing {
    let have: BTreeSet<(&str, &str)> = dbx
        .signatures
        .iter()
        .map(|s| (s.kind.as_str(), s.digest.as_str()))
        .collect();
    let mut seen = BTreeSet::new();
    let mut m = Missing::default();
    for s in updates.iter().flat_map(|u| &u.lists.signatures) {
        if !seen.insert((s.kind.as_str(), s.digest.as_str())) {
            continue;
        }
        m.required += 1;
        if have.contains(&(s.kind.as_str(), s.digest.as_str())) {
            continue;
        }
        if s.kind == "x509" {
            m.certificates.push(
                s.certificate
                    .as_ref()
                    .map(|c| c.subject.clone())
                    .unwrap_or_else(|| format!("certificate {}", s.digest)),
            );
        } else {
            m.hashes += 1;
            if m.first_hashes.len() < 16 {
                m.first_hashes.push(format!("{}:{}", s.kind, s.digest));
            }
        }
    }
    m
}
