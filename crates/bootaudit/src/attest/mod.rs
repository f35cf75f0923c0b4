//! A certified attestation key: proof, before a quote is believed, that the
//! key which signed it lives in a TPM whose endorsement key (EK) a TPM
//! vendor's CA certified. Without it a compromised OS can make a software
//! key, sign any PCR values it likes, and pass.
//!
//! The enrolment, split between a verifier (trusted) and an attester (the
//! machine being judged):
//!
//! 1. the attester reads its EK certificate from the TPM's NV memory and
//!    sends it with the AK's public area ([`Request`]);
//! 2. the verifier checks the certificate's chain to the CAs it trusts and
//!    the AK's attributes (a restricted signing key fixed to its TPM), and
//!    wraps a fresh secret for that AK's name under that EK with
//!    TPM2_MakeCredential done in software ([`Challenge`]; it keeps only
//!    the secret's digest, in [`State`]);
//! 3. the attester's TPM unwraps it with TPM2_ActivateCredential, which it
//!    does only if an object of that name is loaded beside that EK;
//! 4. the verifier compares the returned secret and writes an
//!    [`Enrolled`] AK, which `verify-quote` trusts.
//!
//! The modules: [`ekcert`] (certificates and chains), [`credential`]
//! (MakeCredential), [`enrol`] (the files and the verifier's steps), and
//! `tpm` (the attester's TPM side, with the `tpm` feature).

pub mod credential;
pub mod ekcert;
pub mod enrol;
#[cfg(feature = "tpm")]
pub mod tpm;

pub use enrol::{Challenge, Enrolled, Request, Response, State};

/// A malformed or refused input: the file, the structure, the byte offset
/// in it, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {structure}, byte {offset}: {why}")]
pub struct AttestError {
    /// The file (or the part of one) it came from.
    pub file: String,
    /// The structure or field (`X.509 certificate (DER)`, `ak_public`).
    pub structure: &'static str,
    /// The byte offset in that structure.
    pub offset: usize,
    /// What is wrong.
    pub why: String,
}

/// Seconds since the Unix epoch, now.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `secs` since the Unix epoch as RFC 3339 UTC (`2026-12-02T11:54:48Z`).
pub fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_agrees_with_date() {
        // `date -u -d @1796212488 +%FT%TZ` and `date -u -d @951782400`.
        assert_eq!(super::utc(1_796_212_488), "2026-12-02T11:54:48Z");
        assert_eq!(super::utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(super::utc(0), "1970-01-01T00:00:00Z");
    }
}
