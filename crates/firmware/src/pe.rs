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

/// Checks what goblin's Authenticode iterator slices from the headers'
/// own values (0.8 panicked on 11 of 600 mutated headers; the checks stay
/// with 0.10, so that the ranges hashed never depend on how a given goblin
/// release handles them): the headers' size within the file and past the
/// optional header, every section's raw data within the file, and the
/// certificate table within what follows the sections.
fn ranges_fit(
    pe: &goblin::pe::PE,
    opt: &goblin::pe::optional_header::OptionalHeader,
    bytes: &[u8],
) -> Result<(), PeError> {
    let len = bytes.len();
    let headers = opt.windows_fields.size_of_headers as usize;
    let optional_end = (pe.header.dos_header.pe_pointer as usize)
        .saturating_add(24)
        .saturating_add(pe.header.coff_header.size_of_optional_header as usize);
    if headers > len || headers < optional_end {
        return Err(PeError(format!(
            "SizeOfHeaders {headers:#x} is outside the optional header's end {optional_end:#x} and the file's {len:#x} bytes"
        )));
    }
    let mut sum = headers;
    for (i, s) in pe.sections.iter().enumerate() {
        if s.size_of_raw_data == 0 {
            continue;
        }
        let end = (s.pointer_to_raw_data as usize).checked_add(s.size_of_raw_data as usize);
        if end.is_none_or(|e| e > len) {
            return Err(PeError(format!(
                "section {i} ({:#x} bytes at {:#x}) runs past the file's {len:#x} bytes",
                s.size_of_raw_data, s.pointer_to_raw_data
            )));
        }
        sum = sum.saturating_add(s.size_of_raw_data as usize);
    }
    let certs = opt
        .data_directories
        .get_certificate_table()
        .map_or(0, |c| c.size as usize);
    if len > sum && len - sum < certs {
        return Err(PeError(format!(
            "a certificate table of {certs:#x} bytes does not fit after the sections"
        )));
    }
    Ok(())
}

/// The PE facts of `bytes`.
pub fn inspect(bytes: &[u8]) -> Result<PeFacts, PeError> {
    let run = || -> Result<PeFacts, PeError> {
        let pe = goblin::pe::PE::parse(bytes).map_err(|e| PeError(e.to_string()))?;
        let opt = pe
            .header
            .optional_header
            .ok_or_else(|| PeError("no optional header".into()))?;
        ranges_fit(&pe, &opt, bytes)?;
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
            sha256: bootaudit_eventlog::hexser::encode(Sha256::digest(bytes)),
            authenticode_sha256: bootaudit_eventlog::hexser::encode(h.finalize()),
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
