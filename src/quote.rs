//! TPM 2.0 quotes: what a TPM signs with an attestation key (AK) so that a
//! verifier can trust PCR values that passed through a possibly compromised
//! OS. This module reads the three TPM structures (TPMT_PUBLIC of the AK,
//! TPMS_ATTEST of the quote, TPMT_SIGNATURE) from their marshalled,
//! big-endian bytes, and checks a quote: the signature under the AK, the
//! nonce, and that the quoted PCR digest is the digest of the PCR values
//! given. The structures come from hostile snapshots: every length is
//! checked against the bytes left, and errors name the structure and the
//! byte offset.
//!
//! Supported AKs: RSA (RSASSA-PKCS1-v1_5) and ECC NIST P-256 (ECDSA), with
//! SHA-1, SHA-256, SHA-384 or SHA-512; the signatures go through the
//! RustCrypto `rsa` and `p256` crates.

use crate::eventlog::HashAlg;
use serde::Serialize;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};
use std::collections::BTreeMap;

use crate::snapshot::AlgorithmId;

/// TPM_GENERATED_VALUE, the magic of every TPMS_ATTEST.
const TPM_GENERATED: u32 = 0xff54_4347;
/// TPM_ST_ATTEST_QUOTE.
const ST_ATTEST_QUOTE: u16 = 0x8018;
const ALG_RSA: u16 = AlgorithmId::RSA.0;
const ALG_ECC: u16 = AlgorithmId::ECC.0;
const ALG_NULL: u16 = AlgorithmId::NULL.0;
const ALG_RSASSA: u16 = AlgorithmId::RSASSA.0;
const ALG_ECDSA: u16 = AlgorithmId::ECDSA.0;
const ECC_NIST_P256: u16 = 0x0003;

/// A malformed or unsupported structure.
#[derive(Debug, thiserror::Error)]
#[error("{structure}, byte {offset}: {why}")]
pub struct QuoteError {
    /// "TPMT_PUBLIC", "TPMS_ATTEST", "TPMT_SIGNATURE".
    pub structure: &'static str,
    /// Offset in its bytes.
    pub offset: usize,
    /// What is wrong.
    pub why: String,
}

/// A big-endian reader that names its structure in errors.
struct Reader<'a> {
    b: &'a [u8],
    at: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn new(b: &'a [u8], what: &'static str) -> Self {
        Reader { b, at: 0, what }
    }
    fn err(&self, why: impl Into<String>) -> QuoteError {
        QuoteError {
            structure: self.what,
            offset: self.at,
            why: why.into(),
        }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], QuoteError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.b.len())
            .ok_or_else(|| {
                self.err(format!("{n} bytes needed, {} left", self.b.len() - self.at))
            })?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, QuoteError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, QuoteError> {
        Ok(u16::from_be_bytes(
            self.take(2)?.try_into().unwrap_or_default(),
        ))
    }
    fn u32(&mut self) -> Result<u32, QuoteError> {
        Ok(u32::from_be_bytes(
            self.take(4)?.try_into().unwrap_or_default(),
        ))
    }
    fn u64(&mut self) -> Result<u64, QuoteError> {
        Ok(u64::from_be_bytes(
            self.take(8)?.try_into().unwrap_or_default(),
        ))
    }
    /// A TPM2B: a u16 size, then that many bytes.
    fn sized(&mut self) -> Result<&'a [u8], QuoteError> {
        let n = self.u16()? as usize;
        self.take(n)
    }
}

/// The hash a TPM_ALG_ID names.
fn hash_alg(id: u16) -> Option<HashAlg> {
    Some(match AlgorithmId(id) {
        AlgorithmId::SHA1 => HashAlg::Sha1,
        AlgorithmId::SHA256 => HashAlg::Sha256,
        AlgorithmId::SHA384 => HashAlg::Sha384,
        AlgorithmId::SHA512 => HashAlg::Sha512,
        _ => return None,
    })
}

fn digest(alg: HashAlg, data: &[u8]) -> Option<Vec<u8>> {
    Some(match alg {
        HashAlg::Sha1 => Sha1::digest(data).to_vec(),
        HashAlg::Sha256 => Sha256::digest(data).to_vec(),
        HashAlg::Sha384 => Sha384::digest(data).to_vec(),
        HashAlg::Sha512 => Sha512::digest(data).to_vec(),
        _ => return None,
    })
}

/// An attestation key's public part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AkPublic {
    /// RSA: modulus and exponent (big-endian).
    Rsa {
        /// The modulus.
        n: Vec<u8>,
        /// The public exponent.
        e: u32,
    },
    /// ECC P-256: the point's coordinates.
    P256 {
        /// X.
        x: Vec<u8>,
        /// Y.
        y: Vec<u8>,
    },
}

/// Reads a TPMT_PUBLIC, or a TPM2B_PUBLIC (the same with its size first,
/// as `tpm2_readpublic -o` writes it).
pub fn parse_public(b: &[u8]) -> Result<AkPublic, QuoteError> {
    Ok(public_area(b)?.key)
}

/// A public area, with what a name and an enrolment need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicArea {
    /// The TPMT_PUBLIC bytes exactly (without a TPM2B size), as the
    /// object's name hashes them.
    pub tpmt: Vec<u8>,
    /// nameAlg (TPM_ALG_ID).
    pub name_alg: u16,
    /// objectAttributes (TPMA_OBJECT).
    pub attributes: u32,
    /// The key.
    pub key: AkPublic,
    /// Bytes after the TPMT_PUBLIC's end, which a name would not cover.
    pub trailing: usize,
}

/// Reads a TPMT_PUBLIC or TPM2B_PUBLIC, as [`parse_public`], keeping its
/// header and exact bytes.
pub fn public_area(b: &[u8]) -> Result<PublicArea, QuoteError> {
    let b = match b {
        [h, l, rest @ ..] if u16::from_be_bytes([*h, *l]) as usize == rest.len() => rest,
        _ => b,
    };
    let mut r = Reader::new(b, "TPMT_PUBLIC");
    let key = public_key(&mut r)?;
    let name_alg = u16::from_be_bytes([b[2], b[3]]);
    let attributes = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
    Ok(PublicArea {
        tpmt: b[..r.at].to_vec(),
        name_alg,
        attributes,
        key,
        trailing: b.len() - r.at,
    })
}

fn public_key(r: &mut Reader<'_>) -> Result<AkPublic, QuoteError> {
    let ty = r.u16()?;
    let _name_alg = r.u16()?;
    let _attributes = r.u32()?;
    let _policy = r.sized()?;
    // TPMT_SYM_DEF_OBJECT: NULL for a signing key; skip it either way.
    if r.u16()? != ALG_NULL {
        r.take(4)?;
    }
    // The key's scheme (its hash is read again from the signature).
    if r.u16()? != ALG_NULL {
        r.u16()?;
    }
    match ty {
        ALG_RSA => {
            let _bits = r.u16()?;
            let e = match r.u32()? {
                0 => 65537,
                e => e,
            };
            let n = r.sized()?.to_vec();
            if n.is_empty() {
                return Err(r.err("empty RSA modulus"));
            }
            Ok(AkPublic::Rsa { n, e })
        }
        ALG_ECC => {
            let curve = r.u16()?;
            if r.u16()? != ALG_NULL {
                r.u16()?;
            }
            let x = r.sized()?.to_vec();
            let y = r.sized()?.to_vec();
            if curve != ECC_NIST_P256 {
                return Err(r.err(format!(
                    "ECC curve {curve:#06x}: only NIST P-256 is supported"
                )));
            }
            Ok(AkPublic::P256 { x, y })
        }
        t => Err(QuoteError {
            structure: "TPMT_PUBLIC",
            offset: 0,
            why: format!("key type {t:#06x} is neither RSA nor ECC"),
        }),
    }
}

/// What a quote says (TPMS_ATTEST of type quote).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuoteInfo {
    /// extraData: the verifier's nonce.
    pub extra_data: Vec<u8>,
    /// The quoted PCRs: (bank, PCR indices ascending), in quote order.
    pub selection: Vec<(HashAlg, Vec<u32>)>,
    /// The digest of the selected PCR values.
    pub pcr_digest: Vec<u8>,
    /// clockInfo.resetCount: boots since the TPM was cleared.
    pub reset_count: u32,
    /// clockInfo.clock: milliseconds the TPM has been powered, monotonic.
    pub clock: u64,
    /// clockInfo.restartCount: TPM restarts and resumes in this boot.
    pub restart_count: u32,
}

/// Reads a TPMS_ATTEST that must be a quote.
pub fn parse_attest(b: &[u8]) -> Result<QuoteInfo, QuoteError> {
    let mut r = Reader::new(b, "TPMS_ATTEST");
    if r.u32()? != TPM_GENERATED {
        return Err(QuoteError {
            structure: "TPMS_ATTEST",
            offset: 0,
            why: "magic is not TPM_GENERATED_VALUE: the TPM did not make this".into(),
        });
    }
    let ty = r.u16()?;
    if ty != ST_ATTEST_QUOTE {
        return Err(r.err(format!("type {ty:#06x} is not a quote")));
    }
    let _signer = r.sized()?;
    let extra_data = r.sized()?.to_vec();
    let clock = r.u64()?;
    let reset_count = r.u32()?;
    let restart_count = r.u32()?;
    let _safe = r.u8()?;
    let _fw = r.u64()?;
    let count = r.u32()?;
    if count > 16 {
        return Err(r.err(format!("{count} PCR selections")));
    }
    let mut selection = Vec::new();
    for _ in 0..count {
        let id = r.u16()?;
        let alg = hash_alg(id).ok_or_else(|| r.err(format!("PCR bank {id:#06x}")))?;
        let n = r.u8()? as usize;
        let bits = r.take(n)?;
        let pcrs = (0..n * 8)
            .filter(|i| bits[i / 8] & (1 << (i % 8)) != 0)
            .map(|i| i as u32)
            .collect();
        selection.push((alg, pcrs));
    }
    let pcr_digest = r.sized()?.to_vec();
    Ok(QuoteInfo {
        extra_data,
        selection,
        pcr_digest,
        reset_count,
        clock,
        restart_count,
    })
}

/// A signature: its hash and the signature value(s).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QuoteSignature {
    /// RSASSA-PKCS1-v1_5.
    RsaSsa {
        /// The hash signed.
        hash: HashAlg,
        /// The signature.
        sig: Vec<u8>,
    },
    /// ECDSA.
    Ecdsa {
        /// The hash signed.
        hash: HashAlg,
        /// r.
        r: Vec<u8>,
        /// s.
        s: Vec<u8>,
    },
}

/// Reads a TPMT_SIGNATURE.
pub fn parse_signature(b: &[u8]) -> Result<QuoteSignature, QuoteError> {
    let mut r = Reader::new(b, "TPMT_SIGNATURE");
    let alg = r.u16()?;
    let h = r.u16()?;
    let hash = hash_alg(h).ok_or_else(|| r.err(format!("hash {h:#06x}")))?;
    match alg {
        ALG_RSASSA => Ok(QuoteSignature::RsaSsa {
            hash,
            sig: r.sized()?.to_vec(),
        }),
        ALG_ECDSA => Ok(QuoteSignature::Ecdsa {
            hash,
            r: r.sized()?.to_vec(),
            s: r.sized()?.to_vec(),
        }),
        a => Err(QuoteError {
            structure: "TPMT_SIGNATURE",
            offset: 0,
            why: format!("signature scheme {a:#06x} (RSASSA and ECDSA are supported)"),
        }),
    }
}

/// Why a quote's signature does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The AK's modulus or exponent is not a usable RSA key.
    #[error("the AK is not a usable RSA key: {0}")]
    BadRsaKey(String),
    /// A hash this verifier does not compute.
    #[error("hash {0} is not supported")]
    UnsupportedHash(HashAlg),
    /// The AK's point is not on P-256.
    #[error("the AK is not a point on P-256")]
    NotOnCurve,
    /// r or s is not a valid scalar.
    #[error("malformed ECDSA signature")]
    MalformedEcdsa,
    /// A valid signature by another key, or over other bytes.
    #[error("the signature does not verify under the AK")]
    DoesNotVerify,
    /// An RSA signature with an ECC key, or the reverse.
    #[error("the signature's scheme does not match the AK's type")]
    SchemeMismatch,
}

fn verify_signature(
    ak: &AkPublic,
    sig: &QuoteSignature,
    message: &[u8],
) -> Result<(), SignatureError> {
    match (ak, sig) {
        (AkPublic::Rsa { n, e }, QuoteSignature::RsaSsa { hash, sig }) => {
            use rsa::{BigUint, Pkcs1v15Sign, RsaPublicKey};
            let key = RsaPublicKey::new(BigUint::from_bytes_be(n), BigUint::from(*e))
                .map_err(|e| SignatureError::BadRsaKey(e.to_string()))?;
            let scheme = match hash {
                HashAlg::Sha1 => Pkcs1v15Sign::new::<Sha1>(),
                HashAlg::Sha256 => Pkcs1v15Sign::new::<Sha256>(),
                HashAlg::Sha384 => Pkcs1v15Sign::new::<Sha384>(),
                HashAlg::Sha512 => Pkcs1v15Sign::new::<Sha512>(),
                h => return Err(SignatureError::UnsupportedHash(*h)),
            };
            let d = digest(*hash, message).ok_or(SignatureError::UnsupportedHash(*hash))?;
            key.verify(scheme, &d, sig)
                .map_err(|_| SignatureError::DoesNotVerify)
        }
        (AkPublic::P256 { x, y }, QuoteSignature::Ecdsa { hash, r, s }) => {
            use p256::ecdsa::signature::hazmat::PrehashVerifier;
            use p256::ecdsa::{Signature, VerifyingKey};
            // Big-endian values, left-padded (or cut) to 32 bytes.
            let pad = |v: &[u8]| -> [u8; 32] {
                let v = &v[v.len().saturating_sub(32)..];
                let mut o = [0u8; 32];
                o[32 - v.len()..].copy_from_slice(v);
                o
            };
            let point =
                p256::EncodedPoint::from_affine_coordinates(&pad(x).into(), &pad(y).into(), false);
            let key =
                VerifyingKey::from_encoded_point(&point).map_err(|_| SignatureError::NotOnCurve)?;
            let sig = Signature::from_scalars(pad(r), pad(s))
                .map_err(|_| SignatureError::MalformedEcdsa)?;
            let d = digest(*hash, message).ok_or(SignatureError::UnsupportedHash(*hash))?;
            key.verify_prehash(&d, &sig)
                .map_err(|_| SignatureError::DoesNotVerify)
        }
        _ => Err(SignatureError::SchemeMismatch),
    }
}

/// One check of a quote and its verdict.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    /// "signature", "nonce", "pcr-digest", ...
    pub check: &'static str,
    /// Passed.
    pub ok: bool,
    /// What was found.
    pub detail: String,
}

/// Checks a quote: signature under `ak`, `nonce` in extraData, and the
/// quoted digest against `pcrs` (bank name → index → value).
pub fn verify(
    ak: &AkPublic,
    attest: &[u8],
    signature: &[u8],
    nonce: &[u8],
    pcrs: &BTreeMap<String, BTreeMap<u32, Vec<u8>>>,
) -> Result<Vec<Check>, QuoteError> {
    verify_parsed(ak, &parse_attest(attest)?, attest, signature, nonce, pcrs)
}

/// [`verify`], with the TPMS_ATTEST already parsed into `info`.
fn verify_parsed(
    ak: &AkPublic,
    info: &QuoteInfo,
    attest: &[u8],
    signature: &[u8],
    nonce: &[u8],
    pcrs: &BTreeMap<String, BTreeMap<u32, Vec<u8>>>,
) -> Result<Vec<Check>, QuoteError> {
    let sig = parse_signature(signature)?;
    let mut out = Vec::new();
    let signed = verify_signature(ak, &sig, attest);
    out.push(Check {
        check: "signature",
        ok: signed.is_ok(),
        detail: signed.map_or_else(|e| e.to_string(), |()| "valid under the AK".into()),
    });
    out.push(Check {
        check: "nonce",
        ok: info.extra_data == nonce,
        detail: format!(
            "quote's extraData {} (expected {})",
            crate::hexser::encode(&info.extra_data),
            crate::hexser::encode(nonce)
        ),
    });
    let hash = match &sig {
        QuoteSignature::RsaSsa { hash, .. } | QuoteSignature::Ecdsa { hash, .. } => *hash,
    };
    let mut cat = Vec::new();
    let mut missing = Vec::new();
    for (bank, idx) in &info.selection {
        for i in idx {
            match pcrs.get(&bank.name()).and_then(|b| b.get(i)) {
                Some(v) => cat.extend_from_slice(v),
                None => missing.push(format!("{bank} PCR{i}")),
            }
        }
    }
    let quoted: Vec<String> = info
        .selection
        .iter()
        .map(|(b, i)| format!("{b} {i:?}"))
        .collect();
    let d = digest(hash, &cat).unwrap_or_default();
    out.push(Check {
        check: "pcr-digest",
        ok: missing.is_empty() && d == info.pcr_digest,
        detail: if missing.is_empty() {
            format!(
                "quoted {}: digest {} of the values given {}",
                quoted.join(", "),
                if d == info.pcr_digest {
                    "matches"
                } else {
                    "DIFFERS from"
                },
                "the quote's"
            )
        } else {
            format!("the values given lack {}", missing.join(", "))
        },
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_structures_are_errors_with_offsets() {
        let e = parse_attest(&[0xff, 0x54, 0x43, 0x47, 0x80]).unwrap_err();
        assert_eq!((e.structure, e.offset), ("TPMS_ATTEST", 4));
        assert!(parse_public(&[]).is_err());
        assert!(parse_signature(&[0, 0x14, 0, 0x0b, 1]).is_err());
        let e = parse_attest(&[0, 0, 0, 0, 0, 0]).unwrap_err();
        assert!(e.why.contains("TPM_GENERATED"));
    }
}

/// The PCRs a quote must cover, bank by bank: every PCR the snapshot
/// records for a quoted bank and every PCR the log extends, narrowed to
/// `narrow` when that is not empty. Fails when the quote selects no PCR,
/// when nothing is left to cover, or when a required PCR is not quoted.
fn coverage(
    selection: &[(HashAlg, Vec<u32>)],
    pcrs: &BTreeMap<String, BTreeMap<u32, Vec<u8>>>,
    log: Option<&crate::eventlog::EventLog>,
    narrow: &[u32],
) -> Check {
    use std::collections::BTreeSet;
    let keep = |i: &u32| narrow.is_empty() || narrow.contains(i);
    let extended: BTreeSet<u32> = log
        .map(|l| {
            l.events
                .iter()
                .filter(|e| {
                    e.event_type != crate::eventlog::EventType::NO_ACTION
                        && e.pcr < crate::eventlog::replay::PCR_COUNT
                })
                .map(|e| e.pcr)
                .collect()
        })
        .unwrap_or_default();
    let fail = |detail: String| Check {
        check: "pcr-selection",
        ok: false,
        detail,
    };
    let quoted_any = selection.iter().any(|(_, i)| !i.is_empty());
    if !quoted_any {
        return fail("the quote selects no PCR: it vouches for nothing".into());
    }
    let mut missing = Vec::new();
    let mut covered = 0usize;
    for (bank, idx) in selection.iter().filter(|(_, i)| !i.is_empty()) {
        let quoted: BTreeSet<u32> = idx.iter().copied().collect();
        let mut required: BTreeSet<u32> = extended.iter().copied().filter(keep).collect();
        if let Some(b) = pcrs.get(&bank.name()) {
            required.extend(b.keys().copied().filter(keep));
        }
        covered += required.len();
        missing.extend(
            required
                .difference(&quoted)
                .map(|i| format!("{bank} PCR{i}")),
        );
    }
    if covered == 0 {
        return fail(
            "no PCR to cover: the snapshot records none for the quoted banks and the log extends none"
                .into(),
        );
    }
    if !missing.is_empty() {
        return fail(format!(
            "the quote does not cover {} (recorded by the snapshot or extended by its log)",
            missing.join(", ")
        ));
    }
    Check {
        check: "pcr-selection",
        ok: true,
        detail: format!(
            "the quote covers every PCR the snapshot records and the log extends{}",
            if narrow.is_empty() {
                String::new()
            } else {
                format!(" among {narrow:?}")
            }
        ),
    }
}

/// The verdict of `bootaudit verify-quote`.
#[derive(Clone, Debug, Serialize)]
pub struct QuoteReport {
    /// The snapshot checked.
    pub snapshot: String,
    /// Every check, in order.
    pub checks: Vec<Check>,
    /// True when every check passed.
    pub ok: bool,
}

/// Why a snapshot's quote cannot be checked at all.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The snapshot has no quote.
    #[error("{0}: the snapshot holds no TPM quote (collect it with --quote)")]
    NoQuote(String),
    /// A field is not hex.
    #[error("{file}: tpm.quote.{field} is not hex")]
    Hex {
        /// The snapshot.
        file: String,
        /// The field.
        field: &'static str,
    },
    /// A structure is malformed.
    #[error("{file}: {source}")]
    Structure {
        /// The file.
        file: String,
        /// What is wrong.
        source: QuoteError,
    },
}

/// Checks a snapshot's quote against the trusted AK (`ak`: TPMT_PUBLIC or
/// TPM2B_PUBLIC bytes, `ak_file` names it in errors) and the nonce the
/// verifier chose: the snapshot's AK is the trusted one, the signature
/// verifies under it, the nonce is in it, the quoted PCR digest is that of
/// the snapshot's PCR values, and the snapshot's event log replays to them.
///
/// The quote must also cover every PCR the snapshot records for each
/// quoted bank and every PCR the log extends (`narrow`, when not empty,
/// limits both to those PCRs): a genuine quote over no PCRs, or over one
/// the log never touches, vouches for nothing.
pub fn verify_snapshot(
    name: &str,
    s: &crate::snapshot::Snapshot,
    ak: &[u8],
    ak_file: &str,
    nonce: &[u8],
    narrow: &[u32],
) -> Result<QuoteReport, VerifyError> {
    let tpm = s.tpm.as_ref();
    let q = tpm
        .and_then(|t| t.quote.as_ref())
        .ok_or_else(|| VerifyError::NoQuote(name.to_string()))?;
    let hex = |field: &'static str, v: &str| {
        hex::decode(v).map_err(|_| VerifyError::Hex {
            file: name.to_string(),
            field,
        })
    };
    let trusted = parse_public(ak).map_err(|source| VerifyError::Structure {
        file: ak_file.to_string(),
        source,
    })?;
    let theirs = parse_public(&hex("ak_public", &q.ak_public)?).map_err(|source| {
        VerifyError::Structure {
            file: name.to_string(),
            source,
        }
    })?;
    let mut checks = vec![Check {
        check: "ak",
        ok: theirs == trusted,
        detail: if theirs == trusted {
            format!("the snapshot's AK is the one in {ak_file}")
        } else {
            format!("the snapshot names another AK than {ak_file}")
        },
    }];
    let mut pcrs: BTreeMap<String, BTreeMap<u32, Vec<u8>>> = BTreeMap::new();
    for (bank, values) in tpm.map(|t| &t.pcrs).into_iter().flatten() {
        for (i, v) in values {
            pcrs.entry(bank.clone())
                .or_default()
                .insert(*i, hex("pcrs", v)?);
        }
    }
    let structure = |source| VerifyError::Structure {
        file: name.to_string(),
        source,
    };
    let attest = hex("attest", &q.attest)?;
    let info = parse_attest(&attest).map_err(structure)?;
    checks.extend(
        verify_parsed(
            &trusted,
            &info,
            &attest,
            &hex("signature", &q.signature)?,
            nonce,
            &pcrs,
        )
        .map_err(structure)?,
    );
    // The log, decoded and parsed once for both checks that read it.
    let log = tpm.map(|t| (t, crate::snapshot::event_log(t, name)));
    let parsed = log
        .as_ref()
        .and_then(|(_, l)| l.as_ref().ok().and_then(Option::as_ref));
    checks.push(coverage(&info.selection, &pcrs, parsed, narrow));
    // The log against the PCR values the quote vouches for.
    let replay = |ok: bool, detail: String| Check {
        check: "log-replay",
        ok,
        detail,
    };
    checks.push(match &log {
        Some((t, Ok(Some(log)))) => {
            let bad: Vec<String> = crate::snapshot::self_check(t, log)
                .into_iter()
                .filter(|v| v.verdict == crate::pcrs::Verdict::Mismatch)
                .map(|v| format!("{} PCR{}", v.bank, v.pcr))
                .collect();
            if bad.is_empty() {
                replay(
                    true,
                    "the event log replays to the quoted PCR values".into(),
                )
            } else {
                replay(
                    false,
                    format!("the event log does not replay to {}", bad.join(", ")),
                )
            }
        }
        Some((_, Err(e))) => replay(false, e.to_string()),
        _ => replay(false, "the snapshot has no event log".into()),
    });
    Ok(QuoteReport {
        snapshot: name.to_string(),
        ok: checks.iter().all(|c| c.ok),
        checks,
    })
}

/// The SSHSIG namespace of a verifier's signature over an enrolled-AK
/// record (`ak verify --sign-key`).
pub const AK_NAMESPACE: &str = "bootaudit-ak";

/// The AK a verifier trusts for `verify-quote`.
pub enum TrustedAk {
    /// An enrolled AK (`bootaudit ak verify`): proven to live in a TPM
    /// whose EK certificate chains to the CAs the verifier gave, as far as
    /// the record is the verifier's own: `vouched` is the verifier's
    /// signature over it, verified against `--ak-signers`. A record
    /// without one is a file anyone can write around any key.
    Enrolled {
        /// The record.
        record: crate::attest::Enrolled,
        /// Who signed the record, when a signature verified.
        vouched: Option<crate::signing::Verified>,
    },
    /// A bare public key: nothing proves it is in a TPM at all.
    Raw(Vec<u8>),
}

impl TrustedAk {
    /// Reads `--ak FILE`: an enrolled-AK JSON file, or a TPMT_PUBLIC /
    /// TPM2B_PUBLIC. The record's signature is not checked
    /// ([`TrustedAk::read_vouched`] does).
    pub fn read(bytes: &[u8], file: &str) -> Result<TrustedAk, crate::attest::AttestError> {
        if bytes.first() == Some(&b'{') {
            let e: crate::attest::Enrolled =
                crate::attest::enrol::read(bytes, file, crate::attest::enrol::ENROLLED)?;
            crate::attest::enrol::hex_field(&e.ak_public, file, "ak_public", 4096)?;
            Ok(TrustedAk::Enrolled {
                record: e,
                vouched: None,
            })
        } else {
            Ok(TrustedAk::Raw(bytes.to_vec()))
        }
    }

    /// [`TrustedAk::read`] of `path`, and, with `signers`, the verifier's
    /// signature over an enrolled-AK record (`FILE.sig`, namespace
    /// [`AK_NAMESPACE`]): one that is missing or does not verify refuses
    /// the file.
    pub fn read_vouched(
        bytes: &[u8],
        path: &std::path::Path,
        signers: Option<&[crate::signing::AllowedSigner]>,
    ) -> anyhow::Result<TrustedAk> {
        let file = path.display().to_string();
        let mut ak = TrustedAk::read(bytes, &file)?;
        if let (TrustedAk::Enrolled { vouched, .. }, Some(allowed)) = (&mut ak, signers) {
            let v = crate::signing::verify_in(
                AK_NAMESPACE,
                bytes,
                &crate::signing::sig_path(path),
                allowed,
            )
            .map_err(|e| anyhow::anyhow!("{file}: the enrolment record is refused: {e}"))?;
            *vouched = Some(v);
        }
        Ok(ak)
    }

    /// The AK's public area bytes.
    pub fn public(&self) -> Vec<u8> {
        match self {
            TrustedAk::Enrolled { record, .. } => {
                crate::hexser::decode(&record.ak_public).unwrap_or_default()
            }
            TrustedAk::Raw(b) => b.clone(),
        }
    }

    /// Whether the AK is certified: an enrolled one whose record a
    /// verifier's signature vouches for. `Err` says why not.
    pub fn certified(&self, ak_file: &str) -> Result<String, String> {
        match self {
            TrustedAk::Enrolled {
                record: e,
                vouched: Some(v),
            } => Ok(format!(
                "enrolled {}: it unwrapped a credential for the {} EK certified by {}; the record is signed by {} ({})",
                e.enrolled_at,
                e.ek_key,
                e.ek_chain
                    .iter()
                    .skip(1)
                    .map(|p| p.subject.as_str())
                    .collect::<Vec<_>>()
                    .join(" < "),
                v.principal,
                v.fingerprint
            )),
            TrustedAk::Enrolled { vouched: None, .. } => Err(format!(
                "{ak_file} is an enrolment record no verifier's signature vouches for (give --ak-signers; sign it with `ak verify --sign-key`): anyone can write one around any key"
            )),
            TrustedAk::Raw(_) => Err(format!(
                "{ak_file} is a bare public key: nothing proves it lives in a TPM (enrol it with `bootaudit ak`)"
            )),
        }
    }
}

/// [`verify_snapshot`] against the AK the verifier trusts, and one check
/// more, `ak-certified`: it passes only for an enrolled AK. A bare public
/// key fails it, since a compromised OS can make a software key and sign
/// any PCR values with it.
pub fn verify_trusted(
    name: &str,
    s: &crate::snapshot::Snapshot,
    ak: &TrustedAk,
    ak_file: &str,
    nonce: &[u8],
    narrow: &[u32],
) -> Result<QuoteReport, VerifyError> {
    let mut r = verify_snapshot(name, s, &ak.public(), ak_file, nonce, narrow)?;
    let certified = ak.certified(ak_file);
    r.checks.insert(
        1,
        Check {
            check: "ak-certified",
            ok: certified.is_ok(),
            detail: certified.unwrap_or_else(|e| e),
        },
    );
    r.ok = r.checks.iter().all(|c| c.ok);
    Ok(r)
}
