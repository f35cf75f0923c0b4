//! TPM 2.0 structures, read from their marshalled, big-endian bytes: the
//! AK's TPMT_PUBLIC, a quote's TPMS_ATTEST and its TPMT_SIGNATURE, and the
//! signature check under the AK. They come from hostile snapshots, bundles
//! and enrolment records: every length is checked against the bytes left,
//! and errors name the structure and the byte offset. What a verifier
//! decides from them (nonce, PCR coverage, trust in the AK) is
//! [`crate::quote`]'s.
//!
//! Supported AKs: RSA (RSASSA-PKCS1-v1_5) and ECC NIST P-256 (ECDSA), with
//! SHA-1, SHA-256, SHA-384 or SHA-512; the signatures go through the
//! RustCrypto `rsa` and `p256` crates.
use crate::eventlog::HashAlg;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};

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

/// A big-endian reader that names its structure in errors: the one byte
/// reader (`bootaudit_snapshot::bytes`), its short reads told as
/// [`QuoteError`]s.
struct Reader<'a> {
    r: bootaudit_snapshot::bytes::Reader<'a>,
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn new(b: &'a [u8], what: &'static str) -> Self {
        Reader {
            r: bootaudit_snapshot::bytes::Reader::new(b),
            what,
        }
    }
    fn err(&self, why: impl Into<String>) -> QuoteError {
        QuoteError {
            structure: self.what,
            offset: self.r.position(),
            why: why.into(),
        }
    }
    /// A short read, at the offset where it was asked.
    fn short(&self, s: bootaudit_snapshot::bytes::Short) -> QuoteError {
        QuoteError {
            structure: self.what,
            offset: s.offset,
            why: format!("{} bytes needed, {} left", s.need, s.have),
        }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], QuoteError> {
        self.r.take(n, self.what).map_err(|s| self.short(s))
    }
    fn u8(&mut self) -> Result<u8, QuoteError> {
        self.r.u8(self.what).map_err(|s| self.short(s))
    }
    fn u16(&mut self) -> Result<u16, QuoteError> {
        self.r.u16_be(self.what).map_err(|s| self.short(s))
    }
    fn u32(&mut self) -> Result<u32, QuoteError> {
        self.r.u32_be(self.what).map_err(|s| self.short(s))
    }
    fn u64(&mut self) -> Result<u64, QuoteError> {
        self.r.u64_be(self.what).map_err(|s| self.short(s))
    }
    /// A TPM2B: a u16 size, then that many bytes.
    fn sized(&mut self) -> Result<&'a [u8], QuoteError> {
        self.r.sized_u16_be(self.what).map_err(|s| self.short(s))
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

pub(crate) fn digest(alg: HashAlg, data: &[u8]) -> Option<Vec<u8>> {
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
        tpmt: b[..r.r.position()].to_vec(),
        name_alg,
        attributes,
        key,
        trailing: b.len() - r.r.position(),
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

pub(crate) fn verify_signature(
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
