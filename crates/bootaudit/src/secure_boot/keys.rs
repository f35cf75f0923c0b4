//! The key databases judged by what they hold: test keys in PK, KEK or db
//! (the 2024 "PKfail" disclosure: platforms shipped with AMI's sample PK,
//! "DO NOT TRUST - AMI Test PK"), and a KEK or db that trusts only
//! Microsoft's 2011 UEFI CAs, which expired in 2026.

use bootaudit_snapshot::siglist::{Signature, SignatureDatabase};
use serde::Serialize;

/// A test key whose private key is published: by the SHA-256 of its
/// SubjectPublicKeyInfo (the key itself, whatever certificate carries it:
/// a new certificate for the same key under an innocent subject is the
/// same test key), and of its published certificate.
struct KnownTestKey {
    spki_sha256: &'static str,
    sha256: &'static str,
    name: &'static str,
}

/// Published test keys. Debian's ovmf package ships the snakeoil key pair
/// (`/usr/share/ovmf/PkKek-1-snakeoil.{pem,key}`, passphrase "snakeoil")
/// and enrolls the certificate as PK, KEK and db in
/// `OVMF_VARS_4M.snakeoil.fd`: anyone can sign for such a machine.
const KNOWN_TEST_KEYS: &[KnownTestKey] = &[KnownTestKey {
    // `openssl x509 -in PkKek-1-snakeoil.pem -noout -pubkey | openssl pkey
    // -pubin -outform der | sha256sum`
    spki_sha256: "fcc97da097d023970ad000eac55462c77cd70fa888d3bcbe1d0a427800da83c4",
    sha256: "282e8130b7070f107aaecc25d3992ca4440270860b09088792a5075fab0d13f8",
    name: "Debian's OVMF snakeoil key (PkKek-1-snakeoil.pem; its private key ships in the ovmf package)",
}];

/// Words a vendor's sample key carries in its subject or issuer.
const TEST_KEY_WORDS: &[&str] = &["DO NOT TRUST", "DO NOT SHIP"];

/// One certificate found to be a test key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TestKey {
    /// The database (`PK`, `KEK`, `db`).
    pub database: String,
    /// The certificate's subject.
    pub subject: String,
    /// Its issuer.
    pub issuer: String,
    /// SHA-256 of the DER certificate.
    pub sha256: String,
    /// Why it is a test key.
    pub why: String,
}

/// Every test key in `db` (a database named `name`).
pub fn test_keys(name: &str, db: &SignatureDatabase) -> Vec<TestKey> {
    db.signatures
        .iter()
        .filter_map(|s| {
            let why = test_key_reason(s)?;
            let c = s.certificate.as_ref();
            Some(TestKey {
                database: name.to_string(),
                subject: c.map(|c| c.subject.clone()).unwrap_or_default(),
                issuer: c.map(|c| c.issuer.clone()).unwrap_or_default(),
                sha256: s.digest.clone(),
                why,
            })
        })
        .collect()
}

fn test_key_reason(s: &Signature) -> Option<String> {
    if s.kind != "x509" {
        return None;
    }
    if let Some(k) = KNOWN_TEST_KEYS.iter().find(|k| k.sha256 == s.digest) {
        return Some(format!("a published test key: {}", k.name));
    }
    let c = s.certificate.as_ref()?;
    if let Some(k) = KNOWN_TEST_KEYS
        .iter()
        .find(|k| !c.spki_sha256.is_empty() && k.spki_sha256 == c.spki_sha256)
    {
        return Some(format!(
            "the public key of a published test key, in another certificate: {}",
            k.name
        ));
    }
    for (field, text) in [("subject", &c.subject), ("issuer", &c.issuer)] {
        let words = normalised_words(text);
        if let Some(w) = TEST_KEY_WORDS.iter().find(|w| words.contains(*w)) {
            return Some(format!(
                "its {field} says \"{w}\" (a vendor's sample key, PKfail)"
            ));
        }
    }
    None
}

/// A name's attribute values as one line of words, as a person reads it:
/// NFKC, format characters (zero-width spaces and joiners, bidi controls,
/// soft hyphens, tags) removed, upper case, every run of anything but
/// letters and digits one space. "DO NOT" in one attribute and "TRUST" in
/// the next read as "DO NOT TRUST".
fn normalised_words(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let values = name
        .split(", ")
        .map(|p| p.split_once('=').map_or(p, |(_, v)| v))
        .collect::<Vec<_>>()
        .join(" ");
    let mut out = String::new();
    let mut gap = false;
    for c in values.nfkc().filter(|c| !is_format(*c)) {
        if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            out.extend(c.to_uppercase());
        } else {
            gap = true;
        }
    }
    out
}

/// Unicode's format characters (category Cf) that can sit invisibly
/// inside a word.
fn is_format(c: char) -> bool {
    matches!(c,
        '\u{ad}' | '\u{600}'..='\u{605}' | '\u{61c}' | '\u{6dd}' | '\u{70f}' | '\u{180e}'
        | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206f}' | '\u{feff}' | '\u{fff9}'..='\u{fffb}'
        | '\u{e0001}' | '\u{e0020}'..='\u{e007f}')
}

/// Microsoft's UEFI CAs of 2011, by subject common name: the KEK CA, the
/// Windows production PCA (in db, for Windows' boot manager) and the third
/// party UEFI CA (in db, for shim and option ROMs). All expired in 2026.
pub const MICROSOFT_2011: [&str; 3] = [
    "Microsoft Corporation KEK CA 2011",
    "Microsoft Windows Production PCA 2011",
    "Microsoft Corporation UEFI CA 2011",
];

/// Their 2023 successors, by subject common name.
pub const MICROSOFT_2023: [&str; 4] = [
    "Microsoft Corporation KEK 2K CA 2023",
    "Windows UEFI CA 2023",
    "Microsoft UEFI CA 2023",
    "Microsoft Option ROM UEFI CA 2023",
];

/// The common name of a subject written as `..., CN=name`.
fn common_name(subject: &str) -> Option<&str> {
    subject
        .split(", ")
        .filter_map(|p| p.strip_prefix("CN="))
        .last()
}

/// Which of Microsoft's CAs a database trusts: the 2011 ones and the 2023
/// ones, by common name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MicrosoftCas {
    /// The 2011 CAs found.
    pub ca_2011: Vec<String>,
    /// The 2023 CAs found.
    pub ca_2023: Vec<String>,
}

/// The Microsoft CAs in `db`.
pub fn microsoft_cas(db: &SignatureDatabase) -> MicrosoftCas {
    let mut m = MicrosoftCas::default();
    for s in db.signatures.iter().filter(|s| s.kind == "x509") {
        let Some(cn) = s.certificate.as_ref().and_then(|c| common_name(&c.subject)) else {
            continue;
        };
        if MICROSOFT_2011.contains(&cn) {
            m.ca_2011.push(cn.to_string());
        } else if MICROSOFT_2023.contains(&cn) {
            m.ca_2023.push(cn.to_string());
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use bootaudit_snapshot::x509::Certificate;

    fn cert(subject: &str, issuer: &str) -> Signature {
        Signature {
            kind: "x509".into(),
            digest: "00".into(),
            certificate: Some(Certificate {
                subject: subject.into(),
                issuer: issuer.into(),
                ..Certificate::default()
            }),
            ..Signature::default()
        }
    }

    #[test]
    fn the_words_are_read_across_attributes_and_through_invisible_characters() {
        let mut hits = 0;
        for name in [
            "CN=DO NOT, O=TRUST",
            "CN=DO\u{200b} NOT TRUST",
            "CN=ＤＯ ＮＯＴ ＴＲＵＳＴ",
            "O=Do not ship\u{00ad}, CN=x",
            "CN=DO_NOT-TRUST",
        ] {
            let db = SignatureDatabase {
                signatures: vec![cert(name, "CN=Vendor Root")],
                ..Default::default()
            };
            assert_eq!(test_keys("PK", &db).len(), 1, "{name}");
            hits += 1;
        }
        assert_eq!(hits, 5);
        for name in ["CN=DONOT TRUSTED", "CN=Do, O=Not, OU=x, CN=Trust Co"] {
            let db = SignatureDatabase {
                signatures: vec![cert(name, "CN=Vendor Root")],
                ..Default::default()
            };
            assert!(test_keys("PK", &db).is_empty(), "{name}");
        }
    }

    #[test]
    fn the_pkfail_words_are_found_in_subject_or_issuer() {
        let db = SignatureDatabase {
            signatures: vec![
                cert(
                    "CN=DO NOT TRUST - AMI Test PK",
                    "CN=DO NOT TRUST - AMI Test PK",
                ),
                cert("CN=Vendor PK", "CN=do not ship root"),
                cert("CN=Vendor PK", "CN=Vendor Root"),
            ],
            ..Default::default()
        };
        let t = test_keys("PK", &db);
        assert_eq!(t.len(), 2);
        assert!(t[0].why.contains("subject"));
        assert!(t[1].why.contains("issuer"));
    }

    #[test]
    fn common_names_and_the_microsoft_cas() {
        assert_eq!(
            common_name("C=US, O=Microsoft Corporation, CN=Microsoft Corporation UEFI CA 2011"),
            Some("Microsoft Corporation UEFI CA 2011")
        );
        let db = SignatureDatabase {
            signatures: vec![
                cert("C=US, CN=Microsoft Corporation UEFI CA 2011", "CN=x"),
                cert("C=US, CN=Microsoft UEFI CA 2023", "CN=x"),
                cert("C=US, CN=Microsoft UEFI CA 2023 (not)", "CN=x"),
            ],
            ..Default::default()
        };
        let m = microsoft_cas(&db);
        assert_eq!(m.ca_2011.len(), 1);
        assert_eq!(m.ca_2023, ["Microsoft UEFI CA 2023"]);
    }
}
