//! Endorsement-key certificates: the X.509 certificate a TPM's vendor (or
//! swtpm's local CA) issues for the EK, read from the TPM's NV memory, and
//! its chain to CA certificates the verifier gives. The certificate comes
//! from the attester, so from a possibly compromised host: it is decoded as
//! strict DER (RustCrypto's `x509-cert`), every signature on the path is
//! verified, and an error names the certificate and the byte offset.

use super::AttestError;
use rsa::pkcs1::DecodeRsaPublicKey;
use sha2::{Digest, Sha256, Sha384, Sha512};
use x509_cert::der::{Decode, Encode};
use x509_cert::Certificate;

/// The NV indices of EK certificates, from the TCG EK Credential Profile
/// 2.5: the low range (templates L-1, L-2) and the high range (H-1, H-2,
/// H-3), with what each holds.
pub const EK_CERT_INDICES: [(u32, &str); 5] = [
    (0x01c0_0002, "RSA 2048 (low range)"),
    (0x01c0_000a, "ECC NIST P-256 (low range)"),
    (0x01c0_0012, "RSA 2048 (high range)"),
    (0x01c0_0014, "ECC NIST P-256 (high range)"),
    (0x01c0_0016, "ECC NIST P-384 (high range)"),
];

/// The largest certificate read or accepted: TPM NV indices hold a few
/// KiB at most.
pub const MAX_CERT: usize = 16 * 1024;
/// The longest chain followed from the EK certificate to a root.
pub const MAX_DEPTH: usize = 8;
/// The most CA certificates a verifier may give.
pub const MAX_CAS: usize = 256;

/// An EK's public key, as its certificate states it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EkKey {
    /// RSA: the modulus and public exponent (big-endian).
    Rsa {
        /// The modulus.
        n: Vec<u8>,
        /// The exponent.
        e: Vec<u8>,
    },
    /// An ECC key on a NIST curve: the point's coordinates, each the
    /// curve's size.
    Ecc {
        /// The curve.
        curve: Curve,
        /// X.
        x: Vec<u8>,
        /// Y.
        y: Vec<u8>,
    },
}

/// The NIST curves EKs use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Curve {
    /// NIST P-256 (TPM_ECC_NIST_P256).
    P256,
    /// NIST P-384 (TPM_ECC_NIST_P384).
    P384,
}

impl Curve {
    /// The size of a coordinate in bytes.
    pub fn size(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
        }
    }
}

impl EkKey {
    /// The name hash and AES key size the EK templates of this key's
    /// kind use (TCG EK Credential Profile, templates L-1/L-2 and H-1 to
    /// H-3): SHA-256 and AES-128, or SHA-384 and AES-256 for P-384.
    pub fn profile(&self) -> (super::credential::NameHash, usize) {
        use super::credential::NameHash;
        match self {
            EkKey::Ecc {
                curve: Curve::P384, ..
            } => (NameHash::Sha384, 256),
            _ => (NameHash::Sha256, 128),
        }
    }

    /// A short description: `RSA 2048`, `ECC P-256`.
    pub fn describe(&self) -> String {
        match self {
            EkKey::Rsa { n, .. } => format!("RSA {}", significant(n).len() * 8),
            EkKey::Ecc { curve, .. } => match curve {
                Curve::P256 => "ECC P-256".into(),
                Curve::P384 => "ECC P-384".into(),
            },
        }
    }
}

/// `b` without its leading zero bytes.
pub fn significant(b: &[u8]) -> &[u8] {
    let i = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    &b[i..]
}

/// A decoded certificate, with what the checks need.
pub struct Cert {
    /// Where it came from, for messages (`the EK certificate`,
    /// `ca.pem`).
    pub origin: String,
    /// The DER bytes.
    pub der: Vec<u8>,
    /// The decoded certificate.
    pub cert: Certificate,
    /// The bytes of tbsCertificate, as signed.
    tbs: Vec<u8>,
}

impl Cert {
    /// Decodes one DER certificate, or the first `CERTIFICATE` block of a
    /// PEM file.
    pub fn parse(bytes: &[u8], origin: &str) -> Result<Cert, AttestError> {
        let der = if bytes.starts_with(b"-----BEGIN") || pem_start(bytes).is_some() {
            pem_decode(bytes).ok_or_else(|| AttestError {
                file: origin.into(),
                structure: "PEM certificate",
                offset: 0,
                why: "no well-formed -----BEGIN CERTIFICATE----- block".into(),
            })?
        } else {
            bytes.to_vec()
        };
        if der.len() > MAX_CERT {
            return Err(AttestError {
                file: origin.into(),
                structure: "X.509 certificate",
                offset: MAX_CERT,
                why: format!("{} bytes, over the {MAX_CERT}-byte cap", der.len()),
            });
        }
        let cert = Certificate::from_der(&der).map_err(|e| der_error(origin, &e))?;
        let tbs = cert
            .tbs_certificate
            .to_der()
            .map_err(|e| der_error(origin, &e))?;
        // Strict DER decodes to one encoding only: what was signed is what
        // re-encodes. A certificate for which that fails is not DER.
        if find(&der, &tbs).is_none() {
            return Err(AttestError {
                file: origin.into(),
                structure: "X.509 certificate",
                offset: 4,
                why: "tbsCertificate is not in its DER encoding".into(),
            });
        }
        Ok(Cert {
            origin: origin.into(),
            der,
            cert,
            tbs,
        })
    }

    /// The subject, RFC 4514 (`CN=swtpm-localca`); may be empty (EK
    /// certificates often have no subject).
    pub fn subject(&self) -> String {
        self.cert.tbs_certificate.subject.to_string()
    }

    /// The issuer, RFC 4514.
    pub fn issuer(&self) -> String {
        self.cert.tbs_certificate.issuer.to_string()
    }

    /// The SHA-256 of the DER bytes, hex.
    pub fn sha256(&self) -> String {
        crate::hexser::sha256(&self.der)
    }

    /// notBefore and notAfter, seconds since the Unix epoch.
    pub fn validity(&self) -> (u64, u64) {
        let v = &self.cert.tbs_certificate.validity;
        (
            v.not_before.to_unix_duration().as_secs(),
            v.not_after.to_unix_duration().as_secs(),
        )
    }

    /// The subject public key.
    pub fn key(&self) -> Result<EkKey, AttestError> {
        let spki = &self.cert.tbs_certificate.subject_public_key_info;
        let bits = spki.subject_public_key.raw_bytes();
        let oid = spki.algorithm.oid.to_string();
        let bad = |why: String| AttestError {
            file: self.origin.clone(),
            structure: "subjectPublicKeyInfo",
            offset: 0,
            why,
        };
        match oid.as_str() {
            "1.2.840.113549.1.1.1" => {
                let k = rsa::RsaPublicKey::from_pkcs1_der(bits)
                    .map_err(|e| bad(format!("RSA public key: {e}")))?;
                use rsa::traits::PublicKeyParts;
                Ok(EkKey::Rsa {
                    n: k.n().to_bytes_be(),
                    e: k.e().to_bytes_be(),
                })
            }
            "1.2.840.10045.2.1" => {
                let curve_oid = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p| p.decode_as::<x509_cert::der::asn1::ObjectIdentifier>().ok())
                    .map(|o| o.to_string())
                    .unwrap_or_default();
                let curve = match curve_oid.as_str() {
                    "1.2.840.10045.3.1.7" => Curve::P256,
                    "1.3.132.0.34" => Curve::P384,
                    o => {
                        return Err(bad(format!(
                            "ECC curve {o:?} (P-256 and P-384 are supported)"
                        )))
                    }
                };
                let n = curve.size();
                // An uncompressed SEC1 point, checked to be on the curve.
                let on_curve = match curve {
                    Curve::P256 => p256::PublicKey::from_sec1_bytes(bits).is_ok(),
                    Curve::P384 => p384::PublicKey::from_sec1_bytes(bits).is_ok(),
                };
                if bits.len() != 1 + 2 * n || bits[0] != 4 || !on_curve {
                    return Err(bad(
                        "the ECC point is not an uncompressed point on its curve".into(),
                    ));
                }
                Ok(EkKey::Ecc {
                    curve,
                    x: bits[1..1 + n].to_vec(),
                    y: bits[1 + n..].to_vec(),
                })
            }
            o => Err(bad(format!("key algorithm {o} is neither RSA nor ECC"))),
        }
    }

    /// Whether basicConstraints says cA (and, when keyUsage is present,
    /// it allows keyCertSign).
    fn is_ca(&self) -> bool {
        use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages};
        let mut ca = false;
        let mut sign = true;
        for ext in self.cert.tbs_certificate.extensions.iter().flatten() {
            match ext.extn_id.to_string().as_str() {
                "2.5.29.19" => {
                    ca = BasicConstraints::from_der(ext.extn_value.as_bytes())
                        .map(|b| b.ca)
                        .unwrap_or(false)
                }
                "2.5.29.15" => {
                    sign = KeyUsage::from_der(ext.extn_value.as_bytes())
                        .map(|k| k.0.contains(KeyUsages::KeyCertSign))
                        .unwrap_or(false)
                }
                _ => {}
            }
        }
        ca && sign
    }

    /// Whether this may be an EK certificate by the TCG EK Credential
    /// Profile: not a CA (basicConstraints cA false), with a keyUsage that
    /// allows keyEncipherment (an RSA EK) or keyAgreement (an ECC EK).
    /// A certificate that may sign certificates is no EK, and a secret
    /// wrapped for it is wrapped for a key that may not be a TPM's.
    pub fn ek_usage(&self) -> Result<(), String> {
        use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages};
        let mut usage = None;
        for ext in self.cert.tbs_certificate.extensions.iter().flatten() {
            match ext.extn_id.to_string().as_str() {
                "2.5.29.19"
                    if BasicConstraints::from_der(ext.extn_value.as_bytes())
                        .map_or(true, |b| b.ca) =>
                {
                    return Err("basicConstraints says cA (or does not decode): a CA certificate is no EK certificate".into());
                }
                "2.5.29.15" => {
                    usage = Some(
                        KeyUsage::from_der(ext.extn_value.as_bytes())
                            .map_err(|e| format!("keyUsage does not decode: {e}"))?,
                    )
                }
                _ => {}
            }
        }
        let Some(k) = usage else {
            return Err("no keyUsage extension: the TCG EK profile requires keyEncipherment (RSA) or keyAgreement (ECC)".into());
        };
        if k.0.contains(KeyUsages::KeyEncipherment) || k.0.contains(KeyUsages::KeyAgreement) {
            Ok(())
        } else {
            Err(format!(
                "keyUsage {:?} allows neither keyEncipherment nor keyAgreement, which an EK certificate must (TCG EK profile)",
                k.0
            ))
        }
    }

    /// Whether `issuer`'s key made this certificate's signature.
    fn signed_by(&self, issuer: &Cert) -> Result<(), String> {
        let alg = self.cert.signature_algorithm.oid.to_string();
        let sig = self.cert.signature.raw_bytes();
        let spki = &issuer.cert.tbs_certificate.subject_public_key_info;
        let key = spki.subject_public_key.raw_bytes();
        let tbs = &self.tbs;
        let rsa = |scheme: rsa::Pkcs1v15Sign, digest: Vec<u8>| -> Result<(), String> {
            let k = rsa::RsaPublicKey::from_pkcs1_der(key)
                .map_err(|e| format!("the issuer's RSA key: {e}"))?;
            k.verify(scheme, &digest, sig)
                .map_err(|_| "the RSA signature does not verify".to_string())
        };
        match alg.as_str() {
            "1.2.840.113549.1.1.11" => rsa(
                rsa::Pkcs1v15Sign::new::<Sha256>(),
                Sha256::digest(tbs).to_vec(),
            ),
            "1.2.840.113549.1.1.12" => rsa(
                rsa::Pkcs1v15Sign::new::<Sha384>(),
                Sha384::digest(tbs).to_vec(),
            ),
            "1.2.840.113549.1.1.13" => rsa(
                rsa::Pkcs1v15Sign::new::<Sha512>(),
                Sha512::digest(tbs).to_vec(),
            ),
            "1.2.840.10045.4.3.2" | "1.2.840.10045.4.3.3" => {
                use p256::ecdsa::signature::hazmat::PrehashVerifier;
                let digest = if alg.ends_with(".2") {
                    Sha256::digest(tbs).to_vec()
                } else {
                    Sha384::digest(tbs).to_vec()
                };
                if let Ok(k) = p256::ecdsa::VerifyingKey::from_sec1_bytes(key) {
                    let s = p256::ecdsa::Signature::from_der(sig)
                        .map_err(|e| format!("ECDSA signature: {e}"))?;
                    return k
                        .verify_prehash(&digest, &s)
                        .map_err(|_| "the ECDSA signature does not verify".into());
                }
                if let Ok(k) = p384::ecdsa::VerifyingKey::from_sec1_bytes(key) {
                    let s = p384::ecdsa::Signature::from_der(sig)
                        .map_err(|e| format!("ECDSA signature: {e}"))?;
                    return k
                        .verify_prehash(&digest, &s)
                        .map_err(|_| "the ECDSA signature does not verify".into());
                }
                Err("the issuer's key is not a P-256 or P-384 ECDSA key".into())
            }
            "1.2.840.113549.1.1.5" => {
                Err("signed with SHA-1, which is not accepted for a chain of trust".into())
            }
            o => Err(format!("signature algorithm {o} is not supported")),
        }
    }
}

/// Where `needle` starts in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return None;
    }
    memchr::memmem::find(hay, needle)
}

fn der_error(origin: &str, e: &x509_cert::der::Error) -> AttestError {
    AttestError {
        file: origin.into(),
        structure: "X.509 certificate (DER)",
        offset: e.position().map(|p| u32::from(p) as usize).unwrap_or(0),
        why: e.kind().to_string(),
    }
}

fn pem_start(b: &[u8]) -> Option<usize> {
    find(b, b"-----BEGIN CERTIFICATE-----")
}

/// The DER of the first CERTIFICATE block of a PEM text.
fn pem_decode(b: &[u8]) -> Option<Vec<u8>> {
    let start = pem_start(b)? + b"-----BEGIN CERTIFICATE-----".len();
    let len = find(&b[start..], b"-----END CERTIFICATE-----")?;
    let body: Vec<u8> = b[start..start + len]
        .iter()
        .copied()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    base64_decode(&body)
}

/// Standard base64 with padding; `None` on any other byte.
fn base64_decode(s: &[u8]) -> Option<Vec<u8>> {
    if s.len() % 4 != 0 {
        return None;
    }
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    for (i, q) in s.chunks(4).enumerate() {
        let last = i + 1 == s.len() / 4;
        let pad = q.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for &c in &q[..4 - pad] {
            n = (n << 6) | val(c)?;
        }
        n <<= 6 * pad as u32;
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..4 - pad]);
    }
    Some(out)
}

/// One certificate on a verified path, for the report.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct PathEntry {
    /// Its subject (RFC 4514).
    pub subject: String,
    /// Its issuer.
    pub issuer: String,
    /// SHA-256 of its DER, hex.
    pub sha256: String,
    /// The file it came from (or `the EK certificate`).
    pub origin: String,
}

/// Verifies the EK certificate's path to the CAs given: each certificate's
/// issuer is a CA certificate among `cas` whose key verifies its signature,
/// every certificate on the path is valid at `now` (seconds since the Unix
/// epoch), and the path ends at a self-signed CA or at a CA whose own
/// issuer was not given (the user trusted it directly). Returns the path,
/// the EK certificate first.
pub fn verify_chain(ek: &Cert, cas: &[Cert], now: u64) -> Result<Vec<PathEntry>, AttestError> {
    let fail = |c: &Cert, why: String| AttestError {
        file: c.origin.clone(),
        structure: "certificate chain",
        offset: 0,
        why,
    };
    if cas.is_empty() {
        return Err(fail(
            ek,
            "no CA certificate given (--ek-ca): an EK certificate that chains to nothing proves nothing".into(),
        ));
    }
    if cas.len() > MAX_CAS {
        return Err(fail(
            ek,
            format!("{} CA certificates, over the cap of {MAX_CAS}", cas.len()),
        ));
    }
    let entry = |c: &Cert| PathEntry {
        subject: c.subject(),
        issuer: c.issuer(),
        sha256: c.sha256(),
        origin: c.origin.clone(),
    };
    let in_time = |c: &Cert| -> Result<(), AttestError> {
        let (nb, na) = c.validity();
        if now < nb {
            return Err(fail(
                c,
                format!("not valid before {nb} (Unix time); now is {now}"),
            ));
        }
        if now > na {
            return Err(fail(
                c,
                format!("expired: valid until {na} (Unix time); now is {now}"),
            ));
        }
        Ok(())
    };
    in_time(ek)?;
    let mut path = vec![entry(ek)];
    let mut cur = ek;
    for _ in 0..MAX_DEPTH {
        let issuer = &cur.cert.tbs_certificate.issuer;
        let mut why = Vec::new();
        let found = cas.iter().find(|ca| {
            if &ca.cert.tbs_certificate.subject != issuer {
                return false;
            }
            match cur.signed_by(ca) {
                Ok(()) => true,
                Err(e) => {
                    why.push(format!("{}: {e}", ca.origin));
                    false
                }
            }
        });
        let Some(ca) = found else {
            let detail = if why.is_empty() {
                "no CA given has that subject".to_string()
            } else {
                why.join("; ")
            };
            return Err(fail(
                cur,
                format!(
                    "its issuer {:?} is not among the CAs given: {detail}",
                    cur.issuer()
                ),
            ));
        };
        if !ca.is_ca() {
            return Err(fail(
                ca,
                "is not a CA certificate (basicConstraints cA, keyUsage keyCertSign)".into(),
            ));
        }
        in_time(ca)?;
        path.push(entry(ca));
        let self_signed = ca.cert.tbs_certificate.issuer == ca.cert.tbs_certificate.subject;
        let parent_given = cas
            .iter()
            .any(|p| p.cert.tbs_certificate.subject == ca.cert.tbs_certificate.issuer);
        if self_signed {
            ca.signed_by(ca)
                .map_err(|e| fail(ca, format!("self-signed, but {e}")))?;
            return Ok(path);
        }
        if !parent_given {
            return Ok(path);
        }
        cur = ca;
    }
    Err(fail(ek, format!("the chain is longer than {MAX_DEPTH}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_and_refuses_junk() {
        assert_eq!(base64_decode(b"aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode(b"aGVsbG8h").unwrap(), b"hello!");
        assert!(base64_decode(b"aGVsbG8").is_none());
        assert!(base64_decode(b"aG=sbG8=").is_none());
        assert!(base64_decode(b"aGVs*G8=").is_none());
    }
}
