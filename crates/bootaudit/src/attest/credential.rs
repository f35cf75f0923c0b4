//! TPM2_MakeCredential in software (TPM 2.0 Library, Part 1, 24 "Credential
//! Protection"), so that a verifier can wrap a secret that only the TPM
//! holding a given EK can unwrap, and only for an object with a given name
//! (the attestation key): the TPM's ActivateCredential returns the secret
//! only if the AK is loaded in the same TPM as the EK.
//!
//! - a random seed, sent to the EK: RSA-OAEP with the label `IDENTITY`, or
//!   for an ECC EK an ephemeral ECDH whose shared x goes through KDFe;
//! - the credential, encrypted with AES-CFB under KDFa(seed, "STORAGE",
//!   name), with a zero IV;
//! - an HMAC under KDFa(seed, "INTEGRITY") over the encrypted credential
//!   and the name.
//!
//! Also the readers of those two blobs, for the attester side, which gets
//! them from the verifier over a channel it does not trust either.

use super::ekcert::{Curve, EkKey};
use super::AttestError;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha384};

/// The hash an EK uses for names, KDFa and the integrity HMAC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameHash {
    /// TPM_ALG_SHA256.
    Sha256,
    /// TPM_ALG_SHA384.
    Sha384,
}

impl NameHash {
    /// The digest size in bytes.
    pub fn size(self) -> usize {
        match self {
            NameHash::Sha256 => 32,
            NameHash::Sha384 => 48,
        }
    }

    /// The TPM_ALG_ID.
    pub fn alg_id(self) -> u16 {
        match self {
            NameHash::Sha256 => crate::snapshot::AlgorithmId::SHA256.0,
            NameHash::Sha384 => crate::snapshot::AlgorithmId::SHA384.0,
        }
    }

    /// The hash of `parts`, concatenated.
    pub fn hash(self, parts: &[&[u8]]) -> Vec<u8> {
        match self {
            NameHash::Sha256 => {
                let mut h = Sha256::new();
                parts.iter().for_each(|p| h.update(p));
                h.finalize().to_vec()
            }
            NameHash::Sha384 => {
                let mut h = Sha384::new();
                parts.iter().for_each(|p| h.update(p));
                h.finalize().to_vec()
            }
        }
    }

    /// HMAC under `key` of `parts`, concatenated.
    pub fn hmac(self, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        match self {
            NameHash::Sha256 => {
                let mut m = <Hmac<Sha256>>::new_from_slice(key).expect("HMAC takes any key");
                parts.iter().for_each(|p| m.update(p));
                m.finalize().into_bytes().to_vec()
            }
            NameHash::Sha384 => {
                let mut m = <Hmac<Sha384>>::new_from_slice(key).expect("HMAC takes any key");
                parts.iter().for_each(|p| m.update(p));
                m.finalize().into_bytes().to_vec()
            }
        }
    }
}

/// KDFa (Part 1, 11.4.10.2): counter-mode HMAC over
/// `[i]32 || label || 00 || context_u || context_v || [bits]32`.
pub fn kdfa(h: NameHash, key: &[u8], label: &str, u: &[u8], v: &[u8], bits: u32) -> Vec<u8> {
    let want = bits.div_ceil(8) as usize;
    let mut out = Vec::with_capacity(want + h.size());
    let mut i: u32 = 1;
    while out.len() < want {
        out.extend(h.hmac(
            key,
            &[
                &i.to_be_bytes(),
                label.as_bytes(),
                &[0],
                u,
                v,
                &bits.to_be_bytes(),
            ],
        ));
        i += 1;
    }
    out.truncate(want);
    out
}

/// KDFe (Part 1, 11.4.10.3): counter-mode hash over
/// `[i]32 || Z || label || 00 || party_u || party_v`.
pub fn kdfe(h: NameHash, z: &[u8], label: &str, u: &[u8], v: &[u8], bits: u32) -> Vec<u8> {
    let want = bits.div_ceil(8) as usize;
    let mut out = Vec::with_capacity(want + h.size());
    let mut i: u32 = 1;
    while out.len() < want {
        out.extend(h.hash(&[&i.to_be_bytes(), z, label.as_bytes(), &[0], u, v]));
        i += 1;
    }
    out.truncate(want);
    out
}

/// What MakeCredential returns: the contents of TPM2B_ID_OBJECT and of
/// TPM2B_ENCRYPTED_SECRET (without their own size fields).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    /// TPM2B_DIGEST(integrity HMAC) || encrypted TPM2B_DIGEST(credential).
    pub id_object: Vec<u8>,
    /// The seed, encrypted to the EK.
    pub encrypted_secret: Vec<u8>,
}

/// The longest credential a TPM accepts (a TPM2B_DIGEST of the largest
/// hash).
pub const MAX_CREDENTIAL: usize = 64;

/// Wraps `credential` for the object named `name` (nameAlg || digest of
/// its TPMT_PUBLIC) so that only the TPM with the EK `ek` can unwrap it.
pub fn make_credential(
    ek: &EkKey,
    name: &[u8],
    credential: &[u8],
) -> Result<Credential, AttestError> {
    let err = |why: String| AttestError {
        file: "the EK public key".into(),
        structure: "TPM2_MakeCredential",
        offset: 0,
        why,
    };
    if credential.is_empty() || credential.len() > MAX_CREDENTIAL {
        return Err(err(format!(
            "a credential of {} bytes (1 to {MAX_CREDENTIAL})",
            credential.len()
        )));
    }
    let (h, sym_bits) = ek.profile();
    let mut rng = rand_core::OsRng;
    let (seed, encrypted_secret) = match ek {
        EkKey::Rsa { n, e } => {
            use rand_core::RngCore;
            let mut seed = vec![0u8; h.size()];
            rng.fill_bytes(&mut seed);
            let key = rsa::RsaPublicKey::new(
                rsa::BigUint::from_bytes_be(n),
                rsa::BigUint::from_bytes_be(e),
            )
            .map_err(|e| err(format!("the EK's RSA key: {e}")))?;
            let enc = match h {
                NameHash::Sha256 => key.encrypt(
                    &mut rng,
                    rsa::Oaep::new_with_label::<Sha256, _>("IDENTITY\0"),
                    &seed,
                ),
                NameHash::Sha384 => key.encrypt(
                    &mut rng,
                    rsa::Oaep::new_with_label::<Sha384, _>("IDENTITY\0"),
                    &seed,
                ),
            }
            .map_err(|e| err(format!("RSA-OAEP: {e}")))?;
            (seed, enc)
        }
        EkKey::Ecc { curve, x, y } => {
            let (z, ex, ey) = ecdh(*curve, x, y).map_err(err)?;
            let seed = kdfe(h, &z, "IDENTITY", &ex, x, (h.size() * 8) as u32);
            let mut point = Vec::new();
            for c in [&ex, &ey] {
                point.extend((c.len() as u16).to_be_bytes());
                point.extend_from_slice(c);
            }
            (seed, point)
        }
    };
    let sym = kdfa(h, &seed, "STORAGE", name, &[], sym_bits as u32);
    let mut plain = (credential.len() as u16).to_be_bytes().to_vec();
    plain.extend_from_slice(credential);
    cfb_encrypt(&sym, &mut plain);
    let hmac_key = kdfa(h, &seed, "INTEGRITY", &[], &[], (h.size() * 8) as u32);
    let integrity = h.hmac(&hmac_key, &[&plain, name]);
    let mut id_object = (integrity.len() as u16).to_be_bytes().to_vec();
    id_object.extend(integrity);
    id_object.extend(plain);
    Ok(Credential {
        id_object,
        encrypted_secret,
    })
}

/// AES-CFB with a zero IV, in place, with a 128- or 256-bit key.
fn cfb_encrypt(key: &[u8], data: &mut [u8]) {
    use cfb_mode::cipher::{AsyncStreamCipher, KeyIvInit};
    let iv = [0u8; 16];
    match key.len() {
        16 => cfb_mode::Encryptor::<aes::Aes128>::new(key.into(), &iv.into()).encrypt(data),
        _ => cfb_mode::Encryptor::<aes::Aes256>::new(key.into(), &iv.into()).encrypt(data),
    }
}

/// (shared x, ephemeral x, ephemeral y).
type Ecdh = (Vec<u8>, Vec<u8>, Vec<u8>);

/// An ephemeral ECDH with the EK's point: (shared x, ephemeral x, ephemeral
/// y), each the curve's size.
fn ecdh(curve: Curve, x: &[u8], y: &[u8]) -> Result<Ecdh, String> {
    let mut sec1 = vec![4u8];
    sec1.extend_from_slice(x);
    sec1.extend_from_slice(y);
    macro_rules! on {
        ($c:ident) => {{
            use $c::elliptic_curve::sec1::ToEncodedPoint;
            let ek = $c::PublicKey::from_sec1_bytes(&sec1)
                .map_err(|_| "the EK's point is not on its curve".to_string())?;
            let eph = $c::ecdh::EphemeralSecret::random(&mut rand_core::OsRng);
            let shared = eph.diffie_hellman(&ek);
            let p = $c::PublicKey::from(&eph).to_encoded_point(false);
            let (Some(ex), Some(ey)) = (p.x(), p.y()) else {
                return Err("the ephemeral point is the identity".into());
            };
            Ok((shared.raw_secret_bytes().to_vec(), ex.to_vec(), ey.to_vec()))
        }};
    }
    match curve {
        Curve::P256 => on!(p256),
        Curve::P384 => on!(p384),
    }
}

/// Checks the two blobs of a challenge before they go to the TPM: an
/// integrity HMAC of a known hash size and an encrypted TPM2B_DIGEST of at
/// most [`MAX_CREDENTIAL`] bytes; an encrypted secret that is an RSA
/// ciphertext (up to 512 bytes) or a TPMS_ECC_POINT whose two sizes add up.
pub fn check_blobs(id_object: &[u8], secret: &[u8], file: &str) -> Result<(), AttestError> {
    let bad = |structure: &'static str, offset: usize, why: String| AttestError {
        file: file.into(),
        structure,
        offset,
        why,
    };
    if id_object.len() < 2 {
        return Err(bad(
            "TPM2B_ID_OBJECT",
            0,
            "shorter than its HMAC's size".into(),
        ));
    }
    let hn = u16::from_be_bytes([id_object[0], id_object[1]]) as usize;
    if !matches!(hn, 20 | 32 | 48 | 64) {
        return Err(bad(
            "TPM2B_ID_OBJECT",
            0,
            format!("an integrity HMAC of {hn} bytes is no hash size"),
        ));
    }
    let rest = id_object.len().checked_sub(2 + hn).ok_or_else(|| {
        bad(
            "TPM2B_ID_OBJECT",
            2,
            format!("{hn} bytes of HMAC needed, {} left", id_object.len() - 2),
        )
    })?;
    if !(3..=2 + MAX_CREDENTIAL).contains(&rest) {
        return Err(bad(
            "TPM2B_ID_OBJECT",
            2 + hn,
            format!(
                "an encrypted credential of {rest} bytes (3 to {})",
                2 + MAX_CREDENTIAL
            ),
        ));
    }
    if secret.is_empty() || secret.len() > 512 {
        return Err(bad(
            "TPM2B_ENCRYPTED_SECRET",
            0,
            format!("{} bytes (1 to 512)", secret.len()),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// KDFa's layout, block by block. That the KDFs are right at all is
    /// proven by a real TPM unwrapping what they made
    /// (tests/system/attest_swtpm.rs).
    #[test]
    fn kdfa_matches_the_spec_layout() {
        // One block, then a truncated second one.
        let k = kdfa(NameHash::Sha256, b"key", "STORAGE", b"u", b"v", 128);
        assert_eq!(k.len(), 16);
        let manual = NameHash::Sha256.hmac(
            b"key",
            &[
                b"\0\0\0\x01",
                b"STORAGE\0",
                b"u",
                b"v",
                &128u32.to_be_bytes(),
            ],
        );
        assert_eq!(k, manual[..16]);
        let long = kdfa(NameHash::Sha256, b"key", "X", b"", b"", 320);
        assert_eq!(long.len(), 40);
        let second = NameHash::Sha256.hmac(b"key", &[b"\0\0\0\x02", b"X\0", &320u32.to_be_bytes()]);
        assert_eq!(long[32..], second[..8]);
    }

    #[test]
    fn blobs_with_impossible_sizes_are_refused_with_offsets() {
        assert!(check_blobs(&[], &[1], "f").is_err());
        let e = check_blobs(&[0, 7, 0, 0], &[1], "f").unwrap_err();
        assert_eq!((e.structure, e.offset), ("TPM2B_ID_OBJECT", 0));
        let mut ok = vec![0, 32];
        ok.extend([0u8; 32]);
        ok.extend([0u8; 34]);
        assert!(check_blobs(&ok, &[1; 256], "f").is_ok());
        assert!(check_blobs(&ok, &[], "f").is_err());
        assert!(check_blobs(&ok[..35], &[1], "f").is_err());
        assert!(check_blobs(&ok[..20], &[1], "f").is_err());
    }
}
