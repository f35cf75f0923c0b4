//! EFI_SIGNATURE_LIST (UEFI 2.10 §32.4.1): what PK, KEK, db, dbx, dbt and
//! shim's MOK lists hold. Both producers parse a key database's value here,
//! so the certificates a snapshot records are read one way; the host parses
//! the values PCR7's events measured with the same code, so the two can be
//! compared. Parsing is total: what is malformed ends the list with an
//! error naming the byte offset, and what came before is kept.

use crate::x509;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

/// At most this many signatures are recorded per variable (a full dbx has
/// about 430); the rest are counted.
pub const MAX_SIGNATURES: usize = 4096;

/// EFI_CERT_X509_GUID.
pub const CERT_X509: &str = "A5C059A1-94E4-4AA7-87B5-AB155C2BF072";
/// EFI_CERT_SHA256_GUID.
pub const CERT_SHA256: &str = "C1C41626-504C-4092-ACA9-41F936934328";

/// The signature types a list may hold, by GUID, with the short name a
/// snapshot records.
const TYPES: [(&str, &str); 9] = [
    (CERT_X509, "x509"),
    (CERT_SHA256, "sha256"),
    ("826CA512-CF10-4AC9-B187-BE01496631BD", "sha1"),
    ("3C5766E8-269C-4E34-AA14-ED776E85B3B6", "rsa2048"),
    ("FF3E5307-9FD0-48C9-85F1-8AD56C701E01", "sha384"),
    ("093E0FAE-A6C4-4F50-9F1B-D41E2B89C19A", "sha512"),
    ("3BD2A492-96C0-4079-B420-FCF98EF103ED", "x509-sha256"),
    ("7076876E-80C2-4EE6-AAD2-28B349A6865B", "x509-sha384"),
    ("446DBF63-2502-4CDA-BCFA-2465D2B0FE9D", "x509-sha512"),
];

/// A key database, parsed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureDatabase {
    /// Every signature, in order, at most [`MAX_SIGNATURES`].
    pub signatures: Vec<Signature>,
    /// Signatures past [`MAX_SIGNATURES`], counted.
    #[serde(default)]
    pub dropped: u32,
    /// Where the value stopped being signature lists, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One EFI_SIGNATURE_DATA.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    /// The list's type: `x509`, `sha256`, ... or its GUID when unknown.
    pub kind: String,
    /// SignatureOwner (upper-case GUID).
    pub owner: String,
    /// For a hash entry, the hash (hex): what dbx revokes or db allows.
    /// For an X.509 entry, the SHA-256 of the DER certificate.
    pub digest: String,
    /// An X.509 entry's facts, when the certificate reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<x509::Certificate>,
    /// Why an X.509 entry did not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_error: Option<String>,
}

/// A GUID's text (upper case) from its 16 bytes in EFI order.
pub fn guid_text(b: &[u8; 16]) -> String {
    format!(
        "{:08X}-{:04X}-{:04X}-{:02X}{:02X}-{:02X}{:02X}{:02X}{:02X}{:02X}{:02X}",
        u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        u16::from_le_bytes([b[4], b[5]]),
        u16::from_le_bytes([b[6], b[7]]),
        b[8],
        b[9],
        b[10],
        b[11],
        b[12],
        b[13],
        b[14],
        b[15]
    )
}

use crate::bytes::u32_le_at as le32;

/// One EFI_SIGNATURE_DATA as stored: the list's type (short name or GUID),
/// its owner, its data, and where the data starts in the value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawSignature<'a> {
    /// The list's type: `x509`, `sha256`, ... or its GUID.
    pub kind: &'a str,
    /// SignatureOwner, as stored.
    pub owner: [u8; 16],
    /// SignatureData.
    pub data: &'a [u8],
    /// Byte offset of `data` in the value.
    pub offset: usize,
}

/// Calls `f` with every signature of a key database's value, in order;
/// returns where the value stopped being signature lists, if it did.
pub fn walk<'a>(value: &'a [u8], f: &mut dyn FnMut(RawSignature<'_>)) -> Option<String> {
    let mut at = 0usize;
    while at < value.len() {
        let fail = |what: &str| Some(format!("EFI_SIGNATURE_LIST at byte {at}: {what}"));
        let Some(ty) = value.get(at..at + 16) else {
            return fail("shorter than its 28-byte header");
        };
        let ty: [u8; 16] = ty.try_into().unwrap_or([0; 16]);
        let (Some(list), Some(header), Some(size)) = (
            le32(value, at + 16),
            le32(value, at + 20),
            le32(value, at + 24),
        ) else {
            return fail("shorter than its 28-byte header");
        };
        let (list, header, size) = (list as usize, header as usize, size as usize);
        let end = at.saturating_add(list);
        let first = at.saturating_add(28).saturating_add(header);
        if list < 28 || end > value.len() || first > end {
            return fail("SignatureListSize runs past the value");
        }
        if size < 16 || (end - first) % size != 0 {
            return fail("SignatureSize does not divide the list");
        }
        let guid = guid_text(&ty);
        let kind = TYPES
            .iter()
            .find(|(g, _)| *g == guid)
            .map(|(_, k)| *k)
            .unwrap_or(guid.as_str());
        let mut s = first;
        while s < end {
            f(RawSignature {
                kind,
                owner: value[s..s + 16].try_into().unwrap_or([0; 16]),
                data: &value[s + 16..s + size],
                offset: s + 16,
            });
            s += size;
        }
        at = end;
    }
    None
}

/// Parses a key database's value. `sha256` is the caller's hash (this
/// crate does not hash): it names X.509 entries by their fingerprint.
pub fn parse(value: &[u8], sha256: &dyn Fn(&[u8]) -> String) -> SignatureDatabase {
    let mut db = SignatureDatabase::default();
    db.error = walk(value, &mut |r| {
        if db.signatures.len() >= MAX_SIGNATURES {
            db.dropped = db.dropped.saturating_add(1);
            return;
        }
        let mut sig = Signature {
            kind: String::from(r.kind),
            owner: guid_text(&r.owner),
            ..Signature::default()
        };
        if r.kind == "x509" {
            sig.digest = sha256(r.data);
            match x509::parse(r.data) {
                Ok(mut c) => {
                    if let Ok(k) = x509::spki_range(r.data) {
                        c.spki_sha256 = sha256(&r.data[k]);
                    }
                    sig.certificate = Some(c)
                }
                Err(e) => {
                    sig.certificate_error = Some(format!("{e} (signature at byte {})", r.offset))
                }
            }
        } else {
            // A hash entry holds the hash; x509-sha* entries add a
            // revocation time after it (kept out of the digest).
            let n = match r.kind {
                "x509-sha256" => 32,
                "x509-sha384" => 48,
                "x509-sha512" => 64,
                _ => r.data.len(),
            }
            .min(r.data.len());
            sig.digest = r.data[..n].iter().map(|b| format!("{b:02x}")).collect();
        }
        db.signatures.push(sig);
    });
    db
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_hash(d: &[u8]) -> String {
        format!("len{}", d.len())
    }

    fn list(ty: &str, sigs: &[&[u8]], size: usize) -> Vec<u8> {
        let g = TYPES.iter().find(|t| t.1 == ty).unwrap().0;
        let mut v = guid_bytes(g).to_vec();
        v.extend(((28 + sigs.len() * size) as u32).to_le_bytes());
        v.extend(0u32.to_le_bytes());
        v.extend((size as u32).to_le_bytes());
        for s in sigs {
            v.extend([0x11; 16]);
            v.extend(*s);
        }
        v
    }

    fn guid_bytes(g: &str) -> [u8; 16] {
        let h: String = g.chars().filter(|c| *c != '-').collect();
        let b: Vec<u8> = (0..16)
            .map(|i| u8::from_str_radix(&h[i * 2..i * 2 + 2], 16).unwrap())
            .collect();
        let mut o = [0u8; 16];
        o[..4].copy_from_slice(&[b[3], b[2], b[1], b[0]]);
        o[4..6].copy_from_slice(&[b[5], b[4]]);
        o[6..8].copy_from_slice(&[b[7], b[6]]);
        o[8..].copy_from_slice(&b[8..]);
        o
    }

    #[test]
    fn hash_lists_and_a_damaged_tail() {
        let mut v = list("sha256", &[&[0xab; 32], &[0xcd; 32]], 48);
        assert_eq!(guid_text(&guid_bytes(CERT_SHA256)), CERT_SHA256);
        let db = parse(&v, &fake_hash);
        assert_eq!(db.signatures.len(), 2);
        assert_eq!(db.signatures[1].digest, "cd".repeat(32));
        assert_eq!(
            db.signatures[0].owner,
            "11111111-1111-1111-1111-111111111111"
        );
        assert_eq!(db.error, None);
        let good = v.len();
        v.extend([1, 2, 3]);
        let db = parse(&v, &fake_hash);
        assert_eq!(db.signatures.len(), 2);
        assert!(db.error.unwrap().contains(&format!("byte {good}")));
        // Every truncation keeps the whole lists before it and names the rest.
        for n in 1..good {
            let db = parse(&v[..n], &fake_hash);
            assert!(db.signatures.is_empty() && db.error.is_some(), "{n}");
        }
    }

    #[test]
    fn a_bad_certificate_is_named_and_the_list_goes_on() {
        let v = list("x509", &[b"not a certificate"], 16 + 17);
        let db = parse(&v, &fake_hash);
        assert_eq!(db.signatures[0].digest, "len17");
        assert!(db.signatures[0].certificate.is_none());
        assert!(db.signatures[0].certificate_error.is_some());
    }

    #[test]
    fn zero_sized_signatures_cannot_loop() {
        let mut v = list("sha256", &[], 48);
        v[24..28].copy_from_slice(&0u32.to_le_bytes());
        v.extend([0; 48]);
        v[16..20].copy_from_slice(&(28u32 + 48).to_le_bytes());
        let db = parse(&v, &fake_hash);
        assert!(db.error.is_some());
    }
}
