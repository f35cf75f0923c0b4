//! The few facts of an X.509 certificate a key database is judged by: its
//! subject, issuer, serial number and validity. A certificate in PK, KEK or
//! db comes from a machine that may be compromised, so this is a bounded DER
//! walk over the fixed path to those fields (RFC 5280 §4.1), not a general
//! ASN.1 parser: it never recurses, never panics, and allocates only the
//! text it returns. Signatures are not checked here; what vouches for a
//! key database is its measurement in PCR7.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

/// The longest attribute value kept (longer ones are cut, with "...").
pub const MAX_TEXT: usize = 256;
/// At most this many attributes are read from one name.
pub const MAX_ATTRIBUTES: usize = 32;

/// What a certificate says of itself.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    /// The subject, as `C=US, O=Microsoft Corporation, CN=...`, attributes
    /// in the order the certificate holds them.
    pub subject: String,
    /// The issuer, written the same way.
    pub issuer: String,
    /// The serial number (hex).
    pub serial: String,
    /// notBefore, as `YYYY-MM-DDTHH:MM:SSZ`.
    pub not_before: String,
    /// notAfter, as `YYYY-MM-DDTHH:MM:SSZ`.
    pub not_after: String,
    /// SHA-256 of the SubjectPublicKeyInfo: the key, whatever certificate
    /// carries it (filled by [`crate::siglist::parse`]; empty in snapshots
    /// of older producers).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub spki_sha256: String,
}

/// Where a certificate stopped making sense: the byte offset in the DER
/// and the field being read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DerError {
    /// Byte offset in the certificate.
    pub offset: usize,
    /// The field.
    pub field: &'static str,
}

impl core::fmt::Display for DerError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "X.509 {} at byte {}", self.field, self.offset)
    }
}

/// One TLV: its tag, where its content starts, and the content.
struct Tlv<'a> {
    tag: u8,
    start: usize,
    body: &'a [u8],
}

/// Reads the TLV at `at` of `d` (short tags; lengths of up to four bytes),
/// which must end by `limit`, the end of what holds it: a child's length
/// is checked against its parent, not only against the whole certificate.
fn tlv<'a>(
    d: &'a [u8],
    at: usize,
    limit: usize,
    field: &'static str,
) -> Result<(Tlv<'a>, usize), DerError> {
    let err = |offset| DerError { offset, field };
    let tag = *d.get(at).ok_or(err(at))?;
    if tag & 0x1f == 0x1f {
        return Err(err(at));
    }
    let first = *d.get(at + 1).ok_or(err(at + 1))?;
    let (len, hdr) = if first < 0x80 {
        (first as usize, 2)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 {
            return Err(err(at + 1));
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *d.get(at + 2 + i).ok_or(err(at + 2 + i))? as usize;
        }
        (len, 2 + n)
    };
    let start = at + hdr;
    let end = start.checked_add(len).ok_or(err(at))?;
    if end > limit {
        return Err(err(at));
    }
    let body = d.get(start..end).ok_or(err(at))?;
    Ok((Tlv { tag, start, body }, end))
}

impl Tlv<'_> {
    /// The offset just past its content.
    fn end(&self) -> usize {
        self.start + self.body.len()
    }
}

/// Reads the TLV at `at`, which must carry `tag`.
fn expect<'a>(
    d: &'a [u8],
    at: usize,
    limit: usize,
    tag: u8,
    field: &'static str,
) -> Result<(Tlv<'a>, usize), DerError> {
    let (t, next) = tlv(d, at, limit, field)?;
    if t.tag != tag {
        return Err(DerError { offset: at, field });
    }
    Ok((t, next))
}

/// Where the tbsCertificate's fields start (past the `[0] EXPLICIT`
/// version, when there is one) and where the tbsCertificate ends.
fn tbs_fields(der: &[u8]) -> Result<(usize, usize), DerError> {
    let (cert, _) = expect(der, 0, der.len(), 0x30, "Certificate SEQUENCE")?;
    let (tbs, _) = expect(der, cert.start, cert.end(), 0x30, "tbsCertificate SEQUENCE")?;
    let end = tbs.end();
    let (first, next) = tlv(der, tbs.start, end, "tbsCertificate")?;
    Ok((if first.tag == 0xa0 { next } else { tbs.start }, end))
}

/// The byte range of the certificate's SubjectPublicKeyInfo (its whole
/// TLV): what identifies the key, whatever certificate carries it.
pub fn spki_range(der: &[u8]) -> Result<core::ops::Range<usize>, DerError> {
    let (mut next, end) = tbs_fields(der)?;
    for field in [
        "serialNumber",
        "signature AlgorithmIdentifier",
        "issuer Name",
        "validity",
        "subject Name",
    ] {
        next = tlv(der, next, end, field)?.1;
    }
    let (_, after) = expect(der, next, end, 0x30, "subjectPublicKeyInfo")?;
    Ok(next..after)
}

/// Parses the subject, issuer, serial and validity of a DER certificate.
pub fn parse(der: &[u8]) -> Result<Certificate, DerError> {
    let (at, end) = tbs_fields(der)?;
    let (serial, next) = expect(der, at, end, 0x02, "serialNumber")?;
    let (_, next) = expect(der, next, end, 0x30, "signature AlgorithmIdentifier")?;
    let (issuer, next) = expect(der, next, end, 0x30, "issuer Name")?;
    let (validity, next) = expect(der, next, end, 0x30, "validity")?;
    let (subject, next) = expect(der, next, end, 0x30, "subject Name")?;
    expect(der, next, end, 0x30, "subjectPublicKeyInfo")?;
    let (nb, after) = tlv(der, validity.start, validity.end(), "notBefore")?;
    let (na, _) = tlv(der, after, validity.end(), "notAfter")?;
    Ok(Certificate {
        subject: name(der, &subject)?,
        issuer: name(der, &issuer)?,
        serial: serial.body.iter().map(|b| format!("{b:02x}")).collect(),
        not_before: time(&nb).ok_or(DerError {
            offset: nb.start,
            field: "notBefore",
        })?,
        not_after: time(&na).ok_or(DerError {
            offset: na.start,
            field: "notAfter",
        })?,
        spki_sha256: String::new(),
    })
}

/// A Name (SEQUENCE OF SET OF AttributeTypeAndValue) as text.
fn name(d: &[u8], n: &Tlv<'_>) -> Result<String, DerError> {
    let end = n.end();
    let mut at = n.start;
    let mut parts: Vec<String> = Vec::new();
    while at < end && parts.len() < MAX_ATTRIBUTES {
        let (set, next) = expect(d, at, end, 0x31, "RelativeDistinguishedName SET")?;
        let set_end = set.end();
        let mut a = set.start;
        while a < set_end && parts.len() < MAX_ATTRIBUTES {
            let (atv, after) = expect(d, a, set_end, 0x30, "AttributeTypeAndValue")?;
            let (oid, vat) = expect(d, atv.start, atv.end(), 0x06, "attribute type OID")?;
            let (value, _) = tlv(d, vat, atv.end(), "attribute value")?;
            parts.push(format!("{}={}", short_name(oid.body), text(&value)));
            a = after;
        }
        at = next;
    }
    Ok(parts.join(", "))
}

/// The usual short name of an attribute type, or its dotted OID.
fn short_name(oid: &[u8]) -> String {
    match oid {
        [0x55, 0x04, 0x03] => "CN".into(),
        [0x55, 0x04, 0x05] => "serialNumber".into(),
        [0x55, 0x04, 0x06] => "C".into(),
        [0x55, 0x04, 0x07] => "L".into(),
        [0x55, 0x04, 0x08] => "ST".into(),
        [0x55, 0x04, 0x0a] => "O".into(),
        [0x55, 0x04, 0x0b] => "OU".into(),
        [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01] => "emailAddress".into(),
        _ => dotted(oid),
    }
}

/// An OID's dotted form (an arc too large for 64 bits ends it with "?").
fn dotted(oid: &[u8]) -> String {
    let mut arcs: Vec<String> = Vec::new();
    let mut v: u64 = 0;
    for &b in oid {
        if v > (u64::MAX >> 7) {
            arcs.push("?".into());
            break;
        }
        v = (v << 7) | (b & 0x7f) as u64;
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let (a, r) = if v < 80 {
                    (v / 40, v % 40)
                } else {
                    (2, v - 80)
                };
                arcs.push(format!("{a}"));
                arcs.push(format!("{r}"));
            } else {
                arcs.push(format!("{v}"));
            }
            v = 0;
        }
    }
    arcs.join(".")
}

/// A directory string's text: UTF-8, Printable, IA5, Teletex (as Latin-1),
/// BMP (UTF-16BE) or Universal (UTF-32BE), cut at [`MAX_TEXT`] characters.
fn text(v: &Tlv<'_>) -> String {
    let chars: Vec<char> = match v.tag {
        0x1e => char::decode_utf16(
            v.body
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]])),
        )
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .take(MAX_TEXT + 1)
        .collect(),
        0x1c => v
            .body
            .chunks_exact(4)
            .map(|c| {
                char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                    .unwrap_or(char::REPLACEMENT_CHARACTER)
            })
            .take(MAX_TEXT + 1)
            .collect(),
        0x14 => v
            .body
            .iter()
            .map(|&b| b as char)
            .take(MAX_TEXT + 1)
            .collect(),
        _ => String::from_utf8_lossy(v.body)
            .chars()
            .take(MAX_TEXT + 1)
            .collect(),
    };
    let mut s: String = chars.iter().take(MAX_TEXT).collect();
    if chars.len() > MAX_TEXT {
        s.push_str("...");
    }
    s
}

/// UTCTime or GeneralizedTime (the `Z` forms RFC 5280 requires) as
/// `YYYY-MM-DDTHH:MM:SSZ`; None for anything else.
fn time(t: &Tlv<'_>) -> Option<String> {
    let b = t.body;
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    let (year, rest) = match (t.tag, b.len()) {
        (0x17, 13) if digits(&b[..12]) && b[12] == b'Z' => {
            let yy = (b[0] - b'0') as u32 * 10 + (b[1] - b'0') as u32;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, &b[2..12])
        }
        (0x18, 15) if digits(&b[..14]) && b[14] == b'Z' => {
            let y = b[..4].iter().fold(0u32, |a, &c| a * 10 + (c - b'0') as u32);
            (y, &b[4..14])
        }
        _ => return None,
    };
    let p = |i: usize| core::str::from_utf8(&rest[i..i + 2]).unwrap_or("00");
    Some(format!(
        "{year:04}-{}-{}T{}:{}:{}Z",
        p(0),
        p(2),
        p(4),
        p(6),
        p(8)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oids_and_times() {
        assert_eq!(
            dotted(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d]),
            "1.2.840.113549"
        );
        assert_eq!(dotted(&[0x55, 0x1d, 0x0f]), "2.5.29.15");
        let t = Tlv {
            tag: 0x17,
            start: 0,
            body: b"110624205129Z",
        };
        assert_eq!(time(&t).unwrap(), "2011-06-24T20:51:29Z");
        let g = Tlv {
            tag: 0x18,
            start: 0,
            body: b"20500101000000Z",
        };
        assert_eq!(time(&g).unwrap(), "2050-01-01T00:00:00Z");
        let bad = Tlv {
            tag: 0x17,
            start: 0,
            body: b"1106242051+0Z",
        };
        assert_eq!(time(&bad), None);
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        // A minimal certificate skeleton: version, serial, alg, issuer CN=a,
        // validity, subject CN=b.
        let name = |c: u8| {
            let mut v = alloc::vec![0x30, 12, 0x31, 10, 0x30, 8, 0x06, 3, 0x55, 4, 3, 0x0c, 1];
            v.push(c);
            v
        };
        let mut tbs = alloc::vec![0xa0, 3, 0x02, 1, 2, 0x02, 1, 5, 0x30, 0];
        tbs.extend(name(b'a'));
        tbs.extend([0x30, 30, 0x17, 13]);
        tbs.extend(b"110624205129Z");
        tbs.extend([0x17, 13]);
        tbs.extend(b"260624205129Z");
        tbs.extend(name(b'b'));
        tbs.extend([0x30, 0]); // subjectPublicKeyInfo (empty)
        let mut cert = alloc::vec![0x30, tbs.len() as u8 + 2, 0x30, tbs.len() as u8];
        cert.extend(&tbs);
        let c = parse(&cert).unwrap();
        assert_eq!(c.issuer, "CN=a");
        assert_eq!(c.subject, "CN=b");
        assert_eq!(c.serial, "05");
        assert_eq!(c.not_after, "2026-06-24T20:51:29Z");
        for n in 0..cert.len() {
            assert!(parse(&cert[..n]).is_err(), "{n}");
        }
    }
}
