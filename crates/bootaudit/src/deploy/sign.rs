//! Authenticode signing of the collector with the owner's own key in db
//! (`collector install|media --sign-key KEY --sign-cert CERT`), for
//! machines whose Secure Boot trusts the owner's keys (sbctl-style
//! setups): the PKCS#7 SignedData of Microsoft's Authenticode format, as
//! sbsign and osslsigncode write it, over the image's Authenticode SHA-256
//! ([`crate::pe`]), in a WIN_CERTIFICATE appended to the image and named by
//! its certificate-table directory entry.
//!
//! The structures (Authenticode PE format, §"Authenticode signature
//! format"; PKCS #7 v1.5, RFC 2315):
//!
//! ```text
//! ContentInfo { signedData, [0] SignedData {
//!   1, { sha256 }, ContentInfo { SPC_INDIRECT_DATA, [0] SpcIndirectDataContent {
//!        { SPC_PE_IMAGE_DATA, SpcPeImageData { flags, [0] { [2] { [0] "<<<Obsolete>>>" } } } },
//!        DigestInfo { sha256, the image's Authenticode hash } } },
//!   [0] { the certificate },
//!   { SignerInfo { 1, { issuer, serial }, sha256,
//!       [0] { contentType, messageDigest (SHA-256 of SpcIndirectDataContent's
//!             value, its tag and length left out), SpcSpOpusInfo },
//!       rsaEncryption, RSA PKCS#1 v1.5 over the attributes as a SET } } } }
//! ```
//!
//! Only RSA keys are taken: UEFI's db verification is RSA-2048 with SHA-256
//! (UEFI 2.10 §32.5). Nothing here reads hostile input: the key and
//! certificate are the owner's, the image is bootaudit's collector.

use sha2::{Digest, Sha256};

const OID_SIGNED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
const OID_SPC_INDIRECT_DATA: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x01, 0x04];
const OID_SPC_PE_IMAGE_DATA: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x01, 0x0f];
const OID_SPC_SP_OPUS_INFO: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x01, 0x0c];
const OID_SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
const OID_RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_CONTENT_TYPE: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x03];
const OID_MESSAGE_DIGEST: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04];

/// A DER tag, length and value.
fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = value.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes: Vec<u8> = (n as u64)
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(value);
    out
}

fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

fn oid(o: &[u8]) -> Vec<u8> {
    tlv(0x06, o)
}

/// An AlgorithmIdentifier with NULL parameters.
fn alg(o: &[u8]) -> Vec<u8> {
    seq(&[&oid(o), &[0x05, 0x00]])
}

/// A DER SET OF: its elements sorted by their encodings (X.690 §11.6).
fn set_of(tag: u8, mut elements: Vec<Vec<u8>>) -> Vec<u8> {
    elements.sort();
    tlv(tag, &elements.concat())
}

/// The value (content octets) of the DER element at the start of `der`.
fn value_of(der: &[u8]) -> &[u8] {
    let (len, head) = match der.get(1) {
        Some(&l) if l < 0x80 => (l as usize, 2),
        Some(&l) => {
            let n = (l & 0x7f) as usize;
            let len = der
                .get(2..2 + n)
                .map(|b| b.iter().fold(0usize, |a, x| (a << 8) | *x as usize))
                .unwrap_or(0);
            (len, 2 + n)
        }
        None => (0, der.len()),
    };
    der.get(head..head + len).unwrap_or(&[])
}

/// Why the image could not be signed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SignError(pub String);

/// Where a PE32+ image keeps its certificate-table directory entry, after
/// checking that it has one.
fn cert_dir_at(pe: &[u8]) -> Result<usize, SignError> {
    let bad = |w: &str| SignError(format!("not a PE32+ image: {w}"));
    let lfanew = crate::le::u32_at(pe, 0x3c).ok_or_else(|| bad("no e_lfanew"))? as usize;
    if pe.get(lfanew..lfanew + 4) != Some(b"PE\0\0".as_slice()) {
        return Err(bad("no PE signature"));
    }
    let opt = lfanew + 24;
    if crate::le::u16_at(pe, opt) != Some(0x20b) {
        return Err(bad("not PE32+ (optional header magic 0x20b)"));
    }
    let count = crate::le::u32_at(pe, opt + 108).ok_or_else(|| bad("short optional header"))?;
    let at = opt + 112 + 4 * 8;
    if count < 5 || pe.len() < at + 8 {
        return Err(bad("no certificate-table directory entry"));
    }
    Ok(at)
}

/// Signs `pe` with the RSA private key `key_pem` (PKCS#8 or PKCS#1 PEM,
/// unencrypted) and its certificate `cert` (PEM or DER); refuses an image
/// that is signed already and a key that is not the certificate's.
pub fn sign(pe: &[u8], key_pem: &str, cert: &[u8]) -> Result<Vec<u8>, SignError> {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::signature::{SignatureEncoding, Signer};
    use rsa::traits::PublicKeyParts;
    use x509_cert::der::referenced::OwnedToRef;
    use x509_cert::der::Encode;

    let key = rsa::RsaPrivateKey::from_pkcs8_pem(key_pem)
        .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_pem(key_pem))
        .map_err(|e| {
            SignError(format!(
                "--sign-key: not an unencrypted RSA private key in PEM (PKCS#8 or PKCS#1): {e}"
            ))
        })?;
    let cert = crate::attest::ekcert::Cert::parse(cert, "--sign-cert")
        .map_err(|e| SignError(e.to_string()))?;
    let spki = &cert.cert.tbs_certificate.subject_public_key_info;
    let public = rsa::RsaPublicKey::try_from(spki.owned_to_ref())
        .map_err(|e| SignError(format!("--sign-cert: not an RSA key: {e}")))?;
    if public.n() != key.n() || public.e() != key.e() {
        return Err(SignError(
            "--sign-key is not the key of --sign-cert's certificate".into(),
        ));
    }

    let at = cert_dir_at(pe)?;
    if crate::le::u32_at(pe, at + 4).unwrap_or(0) != 0 {
        return Err(SignError(
            "the image is signed already (its certificate table is not empty)".into(),
        ));
    }
    // The certificate table starts 8-byte aligned; the padding is part of
    // the image, and of its hash.
    let mut image = pe.to_vec();
    image.resize(pe.len().div_ceil(8) * 8, 0);
    let facts = crate::pe::inspect(&image).map_err(|e| SignError(e.to_string()))?;
    let image_hash =
        hex::decode(&facts.authenticode_sha256).map_err(|e| SignError(e.to_string()))?;

    // "<<<Obsolete>>>" in UTF-16BE, as every Authenticode signer writes it.
    let obsolete: Vec<u8> = "<<<Obsolete>>>"
        .encode_utf16()
        .flat_map(u16::to_be_bytes)
        .collect();
    let link = tlv(0xa0, &tlv(0xa2, &tlv(0x80, &obsolete)));
    let pe_image_data = seq(&[&[0x03, 0x01, 0x00], &link]);
    let indirect = seq(&[
        &seq(&[&oid(OID_SPC_PE_IMAGE_DATA), &pe_image_data]),
        &seq(&[&alg(OID_SHA256), &tlv(0x04, &image_hash)]),
    ]);
    let content_digest = Sha256::digest(value_of(&indirect));
    let attributes = vec![
        seq(&[
            &oid(OID_CONTENT_TYPE),
            &tlv(0x31, &oid(OID_SPC_INDIRECT_DATA)),
        ]),
        seq(&[
            &oid(OID_MESSAGE_DIGEST),
            &tlv(0x31, &tlv(0x04, &content_digest)),
        ]),
        seq(&[&oid(OID_SPC_SP_OPUS_INFO), &tlv(0x31, &seq(&[]))]),
    ];
    // Signed as a SET OF; carried as [0] IMPLICIT.
    let signed_attrs = set_of(0x31, attributes.clone());
    let signature = rsa::pkcs1v15::SigningKey::<Sha256>::new(key)
        .try_sign(&signed_attrs)
        .map_err(|e| SignError(format!("RSA signing: {e}")))?
        .to_vec();
    let tbs = &cert.cert.tbs_certificate;
    let issuer = tbs
        .issuer
        .to_der()
        .map_err(|e| SignError(format!("--sign-cert's issuer: {e}")))?;
    let serial = tbs
        .serial_number
        .to_der()
        .map_err(|e| SignError(format!("--sign-cert's serial: {e}")))?;
    let signer_info = seq(&[
        &[0x02, 0x01, 0x01],
        &seq(&[&issuer, &serial]),
        &alg(OID_SHA256),
        &set_of(0xa0, attributes),
        &alg(OID_RSA_ENCRYPTION),
        &tlv(0x04, &signature),
    ]);
    let signed_data = seq(&[
        &[0x02, 0x01, 0x01],
        &tlv(0x31, &alg(OID_SHA256)),
        &seq(&[&oid(OID_SPC_INDIRECT_DATA), &tlv(0xa0, &indirect)]),
        &tlv(0xa0, &cert.der),
        &tlv(0x31, &signer_info),
    ]);
    let pkcs7 = seq(&[&oid(OID_SIGNED_DATA), &tlv(0xa0, &signed_data)]);

    // WIN_CERTIFICATE: length, revision 2.0, PKCS_SIGNED_DATA, padded to 8.
    let mut win = Vec::with_capacity(pkcs7.len() + 16);
    let len =
        u32::try_from(8 + pkcs7.len()).map_err(|_| SignError("signature too large".into()))?;
    win.extend(len.to_le_bytes());
    win.extend(0x0200u16.to_le_bytes());
    win.extend(0x0002u16.to_le_bytes());
    win.extend(&pkcs7);
    win.resize(win.len().div_ceil(8) * 8, 0);
    let offset = u32::try_from(image.len()).map_err(|_| SignError("image too large".into()))?;
    let size = u32::try_from(win.len()).map_err(|_| SignError("signature too large".into()))?;
    image[at..at + 4].copy_from_slice(&offset.to_le_bytes());
    image[at + 4..at + 8].copy_from_slice(&size.to_le_bytes());
    image.extend(win);
    Ok(image)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_lengths_take_the_long_form_from_128_bytes_and_read_back() {
        assert_eq!(tlv(0x04, &[7; 5])[..2], [0x04, 5]);
        assert_eq!(tlv(0x04, &[7; 127])[..2], [0x04, 127]);
        assert_eq!(tlv(0x04, &[7; 128])[..3], [0x04, 0x81, 128]);
        assert_eq!(tlv(0x04, &[7; 300])[..4], [0x04, 0x82, 0x01, 0x2c]);
        for n in [0, 5, 127, 128, 255, 256, 70_000] {
            let v = vec![9u8; n];
            assert_eq!(value_of(&tlv(0x30, &v)), &v[..], "{n}");
        }
        // A SET OF is sorted by encoding, whatever the order given.
        assert_eq!(
            set_of(0x31, vec![vec![2, 1, 9], vec![2, 1, 1]]),
            [0x31, 6, 2, 1, 1, 2, 1, 9]
        );
    }

    #[test]
    fn a_signed_image_or_a_key_that_is_not_pem_is_refused() {
        let e = sign(b"MZ", "not a key", b"").unwrap_err();
        assert!(e.0.contains("not an unencrypted RSA private key"), "{e}");
        assert!(cert_dir_at(b"MZ").is_err());
        let mut pe = vec![0u8; 0x200];
        pe[0x3c] = 0x40;
        pe[0x40..0x44].copy_from_slice(b"PE\0\0");
        pe[0x58..0x5a].copy_from_slice(&0x20bu16.to_le_bytes());
        pe[0x58 + 108] = 16;
        assert_eq!(cert_dir_at(&pe).unwrap(), 0x58 + 144);
        pe[0x58] = 0x0b;
        pe[0x59] = 0x01;
        assert!(cert_dir_at(&pe).unwrap_err().0.contains("not PE32+"));
    }
}
