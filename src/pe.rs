//! PE/COFF facts of an EFI binary, and its Authenticode SHA-256: the digest
//! the firmware measures into PCR4 for a boot application and checks
//! against db/dbx, computed over goblin's Authenticode ranges (the file
//! minus its checksum, its certificate-table directory entry and the
//! certificates). Binaries come from ESPs of machines that may be
//! compromised: a malformed file is an error naming the file, never a panic
//! (goblin is called through [`crate::guard::quietly`] as well, since the
//! ranges it iterates are derived from the file's own headers).

use serde::Serialize;
use sha2::{Digest, Sha256};

/// What bootaudit records of one EFI binary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PeFacts {
    /// COFF machine (0x8664 x86-64, 0xaa64 ARM64, 0x14c i386).
    pub machine: u16,
    /// Optional-header subsystem (10 EFI application, 11 boot-service
    /// driver, 12 runtime driver).
    pub subsystem: u16,
    /// SHA-256 of the whole file (hex).
    pub sha256: String,
    /// The Authenticode SHA-256 (hex): what PCR4 and db/dbx hold.
    pub authenticode_sha256: String,
    /// Attribute certificates (WIN_CERTIFICATE entries) in the file: a
    /// signed binary has at least one.
    pub certificates: usize,
}

/// Why a file is not a PE image bootaudit can read.
#[derive(Debug, thiserror::Error)]
#[error("not a readable PE image: {0}")]
pub struct PeError(pub String);

/// The PE facts of `bytes`.
pub fn inspect(bytes: &[u8]) -> Result<PeFacts, PeError> {
    let run = || -> Result<PeFacts, PeError> {
        let pe = goblin::pe::PE::parse(bytes).map_err(|e| PeError(e.to_string()))?;
        let opt = pe
            .header
            .optional_header
            .ok_or_else(|| PeError("no optional header".into()))?;
        let mut h = Sha256::new();
        let mut covered = 0usize;
        for r in pe.authenticode_ranges() {
            covered = covered.saturating_add(r.len());
            h.update(r);
        }
        if covered == 0 {
            return Err(PeError("no Authenticode ranges".into()));
        }
        Ok(PeFacts {
            machine: pe.header.coff_header.machine,
            subsystem: opt.windows_fields.subsystem,
            sha256: crate::hexser::encode(Sha256::digest(bytes)),
            authenticode_sha256: crate::hexser::encode(h.finalize()),
            certificates: pe.certificates.len(),
        })
    };
    crate::guard::quietly(run)
        .unwrap_or_else(|| Err(PeError("malformed headers (the PE reader gave up)".into())))
}

#[cfg(test)]
mod tests {
    #[test]
    fn garbage_and_truncations_are_errors() {
        assert!(super::inspect(b"").is_err());
        assert!(super::inspect(b"MZ").is_err());
        assert!(super::inspect(&[0u8; 4096]).is_err());
    }
}
