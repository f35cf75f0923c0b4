//! The enrolment's files and the verifier's two steps: [`challenge`] (check
//! the EK certificate and the AK, wrap a secret) and [`verify`] (compare
//! what the TPM unwrapped, and write the enrolled AK). Every file is
//! versioned JSON with hex fields; each comes from the other side, so each
//! is read with a size cap and its fields are checked, with errors naming
//! the file and the field.

use super::credential::{self, NameHash};
use super::ekcert::{self, Cert, PathEntry};
use super::AttestError;
use crate::tpm_structures::{public_area, PublicArea};
use serde::{Deserialize, Serialize};

/// Why an enrolment step did not go through.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnrolError {
    /// An input is malformed (exit 2).
    #[error(transparent)]
    Malformed(AttestError),
    /// The inputs are well-formed but do not prove what they must: the EK
    /// certificate does not chain to the CAs given or has expired, the AK
    /// is not a restricted signing key fixed to its TPM, or the TPM did not
    /// unwrap the secret (exit 1).
    #[error("refused: {0}")]
    Refused(AttestError),
}

impl From<AttestError> for EnrolError {
    fn from(e: AttestError) -> Self {
        EnrolError::Malformed(e)
    }
}

/// The largest enrolment file read.
pub const MAX_FILE: u64 = 256 * 1024;

/// The attester's request: its EK certificate and its AK.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// `bootaudit-ak-request/1`.
    pub format: String,
    /// The NV index the certificate was read from (`0x01c00002`).
    pub ek_nv_index: String,
    /// The EK certificate, DER, hex.
    pub ek_certificate: String,
    /// The AK's TPMT_PUBLIC, hex.
    pub ak_public: String,
}

/// The verifier's challenge, for the attester's TPM.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Challenge {
    /// `bootaudit-ak-challenge/1`.
    pub format: String,
    /// The NV index of the EK certificate the secret was wrapped for.
    pub ek_nv_index: String,
    /// The AK's name (nameAlg || digest of its TPMT_PUBLIC), hex.
    pub ak_name: String,
    /// TPM2B_ID_OBJECT's contents, hex.
    pub credential_blob: String,
    /// TPM2B_ENCRYPTED_SECRET's contents, hex.
    pub encrypted_secret: String,
}

/// What the verifier keeps between the challenge and the response: never
/// the secret itself, only its SHA-256.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// `bootaudit-ak-state/1`.
    pub format: String,
    /// The AK's TPMT_PUBLIC, hex.
    pub ak_public: String,
    /// The AK's name, hex.
    pub ak_name: String,
    /// SHA-256 of the secret, hex.
    pub secret_sha256: String,
    /// The EK certificate's path, EK first.
    pub ek_chain: Vec<PathEntry>,
    /// The EK's key (`RSA 2048`).
    pub ek_key: String,
    /// When the challenge was made (RFC 3339 UTC).
    pub challenged_at: String,
}

/// The attester's answer: what its TPM unwrapped.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Response {
    /// `bootaudit-ak-response/1`.
    pub format: String,
    /// The secret, hex.
    pub secret: String,
}

/// An attestation key the verifier enrolled: proven to live beside a
/// certified EK.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Enrolled {
    /// `bootaudit-enrolled-ak/1`.
    pub format: String,
    /// The AK's TPMT_PUBLIC, hex.
    pub ak_public: String,
    /// The AK's name, hex.
    pub ak_name: String,
    /// The EK certificate's path to the CA the verifier gave, EK first.
    pub ek_chain: Vec<PathEntry>,
    /// The EK's key (`RSA 2048`).
    pub ek_key: String,
    /// When the credential was activated (RFC 3339 UTC).
    pub enrolled_at: String,
}

/// The format strings.
pub const REQUEST: &str = "bootaudit-ak-request/1";
/// See [`REQUEST`].
pub const CHALLENGE: &str = "bootaudit-ak-challenge/1";
/// See [`REQUEST`].
pub const STATE: &str = "bootaudit-ak-state/1";
/// See [`REQUEST`].
pub const RESPONSE: &str = "bootaudit-ak-response/1";
/// See [`REQUEST`].
pub const ENROLLED: &str = "bootaudit-enrolled-ak/1";

/// Reads one of the files: JSON of type `T` whose `format` is `want`.
pub fn read<T: for<'de> Deserialize<'de>>(
    bytes: &[u8],
    file: &str,
    want: &'static str,
) -> Result<T, AttestError> {
    let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| AttestError {
        file: file.into(),
        structure: want,
        offset: json_offset(bytes, e.line(), e.column()),
        why: e.to_string(),
    })?;
    let got = v.get("format").and_then(|f| f.as_str()).unwrap_or("");
    if got != want {
        return Err(AttestError {
            file: file.into(),
            structure: want,
            offset: 0,
            why: format!("field format is {:?}, not {want:?}", got),
        });
    }
    serde_json::from_value(v).map_err(|e| AttestError {
        file: file.into(),
        structure: want,
        offset: 0,
        why: e.to_string(),
    })
}

/// The byte offset in `b` of serde_json's 1-based line and column, so
/// that a JSON error names a byte as every other parser's does.
pub fn json_offset(b: &[u8], line: usize, col: usize) -> usize {
    let mut at = 0;
    for _ in 1..line {
        match memchr::memchr(b'\n', &b[at.min(b.len())..]) {
            Some(i) => at += i + 1,
            None => return b.len(),
        }
    }
    (at + col.saturating_sub(1)).min(b.len())
}

/// A hex field, decoded, with at most `max` bytes.
pub fn hex_field(
    v: &str,
    file: &str,
    field: &'static str,
    max: usize,
) -> Result<Vec<u8>, AttestError> {
    let b = crate::hexser::decode(v).ok_or_else(|| AttestError {
        file: file.into(),
        structure: field,
        offset: 0,
        why: "not hex".into(),
    })?;
    if b.is_empty() || b.len() > max {
        return Err(AttestError {
            file: file.into(),
            structure: field,
            offset: 0,
            why: format!("{} bytes (1 to {max})", b.len()),
        });
    }
    Ok(b)
}

/// TPMA_OBJECT bits an AK must have set, and the ones it must not.
const FIXED_TPM: u32 = 1 << 1;
const FIXED_PARENT: u32 = 1 << 4;
const SENSITIVE_DATA_ORIGIN: u32 = 1 << 5;
const RESTRICTED: u32 = 1 << 16;
const DECRYPT: u32 = 1 << 17;
const SIGN: u32 = 1 << 18;

/// An AK's public area, checked: a restricted signing key that never
/// leaves its TPM and was generated in it (so that its TPM signs only
/// what it made, quotes among them), with a SHA-256 or SHA-384 name. Returns
/// the area and the name.
pub fn check_ak(bytes: &[u8], file: &str) -> Result<(PublicArea, Vec<u8>), EnrolError> {
    let area = public_area(bytes).map_err(|e| {
        EnrolError::Malformed(AttestError {
            file: file.into(),
            structure: e.structure,
            offset: e.offset,
            why: e.why,
        })
    })?;
    let bad = |offset: usize, why: String| AttestError {
        file: file.into(),
        structure: "TPMT_PUBLIC",
        offset,
        why,
    };
    if area.trailing != 0 {
        return Err(EnrolError::Malformed(bad(
            area.tpmt.len(),
            format!("{} bytes after the public area", area.trailing),
        )));
    }
    let a = area.attributes;
    let need = [
        (FIXED_TPM, "fixedTPM"),
        (FIXED_PARENT, "fixedParent"),
        (SENSITIVE_DATA_ORIGIN, "sensitiveDataOrigin"),
        (RESTRICTED, "restricted"),
        (SIGN, "sign"),
    ];
    let missing: Vec<&str> = need
        .iter()
        .filter(|(bit, _)| a & bit == 0)
        .map(|(_, n)| *n)
        .collect();
    if !missing.is_empty() {
        return Err(EnrolError::Refused(bad(
            4,
            format!(
                "objectAttributes {a:#010x} lack {}: not an attestation key bound to its TPM",
                missing.join(", ")
            ),
        )));
    }
    if a & DECRYPT != 0 {
        return Err(EnrolError::Refused(bad(
            4,
            "objectAttributes has decrypt: an AK only signs".into(),
        )));
    }
    let h = match crate::snapshot::AlgorithmId(area.name_alg) {
        crate::snapshot::AlgorithmId::SHA256 => NameHash::Sha256,
        crate::snapshot::AlgorithmId::SHA384 => NameHash::Sha384,
        n => {
            return Err(EnrolError::Malformed(bad(
                2,
                format!("nameAlg {:#06x} (SHA-256 or SHA-384)", n.0),
            )))
        }
    };
    let mut name = h.alg_id().to_be_bytes().to_vec();
    name.extend(h.hash(&[&area.tpmt]));
    Ok((area, name))
}

/// Step 2, the verifier: checks the request's EK certificate against `cas`
/// at `now` and its AK, then wraps a fresh 32-byte secret for them.
/// Returns the challenge to send and the state to keep.
pub fn challenge(
    req: &Request,
    file: &str,
    cas: &[Cert],
    now: u64,
) -> Result<(Challenge, State), EnrolError> {
    let index = parse_index(&req.ek_nv_index, file)?;
    let der = hex_field(
        &req.ek_certificate,
        file,
        "ek_certificate",
        ekcert::MAX_CERT,
    )?;
    let ek = Cert::parse(&der, &format!("{file}: ek_certificate"))?;
    let key = ek.key()?;
    ek.ek_usage().map_err(|why| {
        EnrolError::Refused(crate::attest::AttestError {
            file: format!("{file}: ek_certificate"),
            structure: "EK certificate",
            offset: 0,
            why,
        })
    })?;
    let chain = ekcert::verify_chain(&ek, cas, now).map_err(EnrolError::Refused)?;
    let ak = hex_field(&req.ak_public, file, "ak_public", 4096)?;
    let (_, name) = check_ak(&ak, &format!("{file}: ak_public"))?;
    let mut secret = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut secret);
    let c = credential::make_credential(&key, &name, &secret)?;
    let hex = crate::hexser::encode;
    Ok((
        Challenge {
            format: CHALLENGE.into(),
            ek_nv_index: format!("{index:#010x}"),
            ak_name: hex(&name),
            credential_blob: hex(&c.id_object),
            encrypted_secret: hex(&c.encrypted_secret),
        },
        State {
            format: STATE.into(),
            ak_public: hex(&ak),
            ak_name: hex(&name),
            secret_sha256: crate::hexser::sha256(&secret),
            ek_chain: chain,
            ek_key: key.describe(),
            challenged_at: super::utc(now),
        },
    ))
}

/// An EK certificate NV index, `0x01c0....`, one of
/// [`ekcert::EK_CERT_INDICES`].
pub fn parse_index(s: &str, file: &str) -> Result<u32, AttestError> {
    let v = s
        .strip_prefix("0x")
        .and_then(|h| u32::from_str_radix(h, 16).ok())
        .filter(|v| ekcert::EK_CERT_INDICES.iter().any(|(i, _)| i == v));
    v.ok_or_else(|| AttestError {
        file: file.into(),
        structure: "ek_nv_index",
        offset: 0,
        why: format!("{s:?} is not an EK certificate index of the TCG profile"),
    })
}

/// Step 4, the verifier: the response's secret must be the one wrapped
/// (compared by digest, in constant time). Each challenge has its own
/// random secret, so a response answers one challenge only.
pub fn verify(
    state: &State,
    resp: &Response,
    file: &str,
    now: u64,
) -> Result<Enrolled, EnrolError> {
    let secret = hex_field(&resp.secret, file, "secret", credential::MAX_CREDENTIAL)?;
    let got = crate::hexser::sha256(&secret);
    let same = got.len() == state.secret_sha256.len()
        && got
            .bytes()
            .zip(state.secret_sha256.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if !same {
        return Err(EnrolError::Refused(AttestError {
            file: file.into(),
            structure: "secret",
            offset: 0,
            why:
                "not the secret the challenge wrapped: the AK is not in the TPM of the certified EK"
                    .into(),
        }));
    }
    Ok(Enrolled {
        format: ENROLLED.into(),
        ak_public: state.ak_public.clone(),
        ak_name: state.ak_name.clone(),
        ek_chain: state.ek_chain.clone(),
        ek_key: state.ek_key.clone(),
        enrolled_at: super::utc(now),
    })
}

/// What a step of `bootaudit ak` reports.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// `request`, `challenge`, `activate`, `verify`.
    pub step: &'static str,
    /// Whether the step went through.
    pub ok: bool,
    /// What it did or why it refused.
    pub detail: String,
    /// The EK certificate's path, EK first, when the step checked it.
    pub ek_chain: Vec<PathEntry>,
    /// The file written, if any.
    pub wrote: Option<String>,
}
