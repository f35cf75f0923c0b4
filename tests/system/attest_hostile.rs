//! The AK enrolment's parsers on hostile bytes, without a TPM: real
//! certificates (the shared Secure Boot fixtures) cut and flipped, chains
//! checked against openssl's verdict, and the enrolment files malformed.
//! No input may panic; errors name the file, the structure and an offset
//! inside the input; a certificate changed anywhere it is signed no longer
//! verifies.

use crate::common;

use bootaudit::attest::ekcert::{verify_chain, Cert};
use bootaudit::attest::{credential, enrol};
use std::path::PathBuf;
use std::process::Command;

fn secure_boot(name: &str) -> (PathBuf, Vec<u8>) {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures/secure-boot")
        .join(name);
    let b = std::fs::read(&p).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (the shared Secure Boot fixtures, ../shared/fixtures/secure-boot)",
            p.display()
        )
    });
    (p, b)
}

/// openssl's verdict on `cert` as its own trust anchor, at `at` (Unix).
fn openssl_self_verifies(cert: &std::path::Path, at: u64) -> bool {
    Command::new("openssl")
        .args(["verify", "-no-CApath", "-no-CAstore", "-attime"])
        .arg(at.to_string())
        .arg("-CAfile")
        .arg(cert)
        .arg(cert)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// GcePk (self-signed, CA:TRUE) verifies as its own root inside its
/// validity, as openssl says, and not after it; a KEK CA whose issuer was
/// not given does not chain to an unrelated CA.
#[test]
fn a_real_self_signed_ca_verifies_as_openssl_says() {
    let dir = tempfile::tempdir().unwrap();
    let (path, der) = secure_boot("GcePk.crt");
    let pem = common::der_to_pem(&path, dir.path(), "c.pem");
    let c = Cert::parse(&der, "GcePk.crt").unwrap();
    let (nb, na) = c.validity();
    // The same certificate read from PEM.
    let from_pem = Cert::parse(&std::fs::read(&pem).unwrap(), "c.pem").unwrap();
    assert_eq!(from_pem.der, der);
    let inside = nb + 3600;
    assert!(openssl_self_verifies(&pem, inside));
    let path_ok = verify_chain(&c, &[from_pem], inside).unwrap();
    assert_eq!(path_ok.len(), 2);
    assert_eq!(path_ok[1].subject, "CN=newpk");
    // Expired (openssl agrees).
    assert!(!openssl_self_verifies(&pem, na + 10));
    let again = Cert::parse(&der, "GcePk.crt").unwrap();
    let e = verify_chain(&c, &[again], na + 10).unwrap_err();
    assert!(e.why.contains("expired"), "{e}");
    // No CA at all is no chain.
    let e = verify_chain(&c, &[], inside).unwrap_err();
    assert!(e.why.contains("no CA"), "{e}");

    let (_, kek) = secure_boot("MicCorKEKCA2011_2011-06-24.crt");
    let (_, uefi) = secure_boot("MicCorUEFCA2011_2011-06-27.crt");
    let kek = Cert::parse(&kek, "kek").unwrap();
    let uefi = Cert::parse(&uefi, "uefi").unwrap();
    let (nb, _) = kek.validity();
    let e = verify_chain(&kek, &[uefi], nb + 10).unwrap_err();
    assert!(e.why.contains("not among the CAs given"), "{e}");
}

/// Every truncation of every shared certificate is an error inside the
/// input; 3000 single-byte changes never panic, and each change inside
/// GcePk's signed part makes its self-signature fail.
#[test]
fn cut_and_flipped_certificates_are_errors_or_fail_their_signature() {
    let names = [
        "GcePk.crt",
        "MicCorKEKCA2011_2011-06-24.crt",
        "MicCorUEFCA2011_2011-06-27.crt",
        "MicWinProPCA2011_2011-10-19.crt",
        "canonical-boothole.crt",
        "cisco-boothole.crt",
        "debian-boothole.crt",
    ];
    for n in names {
        let (_, der) = secure_boot(n);
        let c = Cert::parse(&der, n).unwrap_or_else(|e| panic!("{e}"));
        let _ = c.key().unwrap_or_else(|e| panic!("{n}: {e}"));
        for cut in 0..der.len() {
            let e = match Cert::parse(&der[..cut], n) {
                Err(e) => e,
                Ok(_) => panic!("{n} cut at {cut} parsed"),
            };
            assert!(e.offset <= cut, "{n} cut at {cut}: offset {}", e.offset);
            assert!(e.file == n);
        }
    }
    let (_, der) = secure_boot("GcePk.crt");
    let c = Cert::parse(&der, "GcePk").unwrap();
    let at = c.validity().0 + 60;
    // tbsCertificate starts after the outer header (4 bytes) and runs
    // for its own length.
    let tbs_len = 4 + u16::from_be_bytes([der[6], der[7]]) as usize;
    let mut rng = common::Rng(0x5eed_ce27);
    let mut verified_changed = Vec::new();
    let (mut reached, mut in_tbs) = (0, 0);
    for _ in 0..3000 {
        let mut m = der.clone();
        let i = (rng.next() as usize) % m.len();
        m[i] ^= 1 << (rng.next() % 8);
        let Ok(mc) = Cert::parse(&m, "mutated") else {
            continue;
        };
        let _ = mc.key();
        let Ok(anchor) = Cert::parse(&der, "GcePk") else {
            unreachable!()
        };
        let r = verify_chain(&mc, &[anchor], at);
        reached += 1;
        if (4..4 + tbs_len).contains(&i) {
            in_tbs += 1;
            assert!(
                r.is_err(),
                "byte {i} changed in the signed part, and it verified"
            );
        } else if r.is_ok() {
            verified_changed.push(i);
        }
    }
    // Most mutants parse and reach the chain check, most of them in the
    // signed part (the bulk of the certificate).
    assert!(
        reached >= 1000 && in_tbs >= 500,
        "{reached} reached, {in_tbs} in tbs"
    );
    // Outside the signed part lie the outer header, the signature
    // algorithm and the signature. A flipped bit in the signature never
    // verifies (RSA PKCS#1 v1.5 checks every byte); what may is a change
    // that does not alter what is checked, so every byte that verified
    // changed must lie in the signature algorithm's encoding, between
    // the signed part and the signature's BIT STRING.
    let sig_at = der.len() - 256;
    assert!(
        verified_changed
            .iter()
            .all(|&i| i >= 4 + tbs_len && i < sig_at),
        "bytes {verified_changed:?} changed and it verified"
    );
}

/// The enrolment files: malformed JSON names the byte, a wrong format or an
/// unknown field is refused, hex fields are checked.
#[test]
fn malformed_enrolment_files_name_the_file_and_field() {
    let e = enrol::read::<enrol::Request>(b"{\n  \"format\": 1,,\n}", "r.json", enrol::REQUEST)
        .unwrap_err();
    assert_eq!(e.file, "r.json");
    assert_eq!(e.offset, 16, "{e}");
    let e = enrol::read::<enrol::Request>(
        br#"{"format":"bootaudit-ak-challenge/1"}"#,
        "r.json",
        enrol::REQUEST,
    )
    .unwrap_err();
    assert!(e.why.contains("not \"bootaudit-ak-request/1\""), "{e}");
    let e = enrol::read::<enrol::Request>(
        br#"{"format":"bootaudit-ak-request/1","ek_nv_index":"0x01c00002","ek_certificate":"00","ak_public":"00","extra":1}"#,
        "r.json",
        enrol::REQUEST,
    )
    .unwrap_err();
    assert!(e.why.contains("extra"), "{e}");
    let req: enrol::Request = enrol::read(
        br#"{"format":"bootaudit-ak-request/1","ek_nv_index":"0x01c00003","ek_certificate":"zz","ak_public":"00"}"#,
        "r.json",
        enrol::REQUEST,
    )
    .unwrap();
    let e = enrol::challenge(&req, "r.json", &[], 0).unwrap_err();
    assert!(e.to_string().contains("ek_nv_index"), "{e}");
    let mut req = req;
    req.ek_nv_index = "0x01c00002".into();
    let e = enrol::challenge(&req, "r.json", &[], 0).unwrap_err();
    assert!(
        e.to_string().contains("ek_certificate, byte 0: not hex"),
        "{e}"
    );
}

/// An AK public area without the attributes of a key bound to its TPM is
/// refused (a verdict, not a parse error); one with bytes after it is
/// malformed; every truncation is an error.
#[test]
fn ak_public_areas_are_checked() {
    // bootaudit's AK template, as the TPM returns it (RSA 2048, restricted
    // signing, fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth).
    let mut ak = hex::decode("0001000b00050072000000100014000b0800000000000100").unwrap();
    ak.extend([0xc5; 256]);
    let (area, name) = enrol::check_ak(&ak, "ak").unwrap();
    assert_eq!(area.attributes, 0x0005_0072);
    // The name: nameAlg then SHA-256 of the area (sha256sum agrees).
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), &ak).unwrap();
    let o = Command::new("sha256sum").arg(f.path()).output().unwrap();
    let sum = String::from_utf8_lossy(&o.stdout)[..64].to_string();
    assert_eq!(hex::encode(&name), format!("000b{sum}"));
    for (bit, what) in [
        (1u32 << 1, "fixedTPM"),
        (1 << 16, "restricted"),
        (1 << 18, "sign"),
    ] {
        let mut m = ak.clone();
        let a = u32::from_be_bytes([m[4], m[5], m[6], m[7]]) & !bit;
        m[4..8].copy_from_slice(&a.to_be_bytes());
        match enrol::check_ak(&m, "ak") {
            Err(enrol::EnrolError::Refused(e)) => assert!(e.why.contains(what), "{e}"),
            other => panic!("{what} cleared: {other:?}"),
        }
    }
    let mut long = ak.clone();
    long.push(0);
    assert!(matches!(
        enrol::check_ak(&long, "ak"),
        Err(enrol::EnrolError::Malformed(_))
    ));
    for cut in 0..ak.len() {
        match enrol::check_ak(&ak[..cut], "ak") {
            Err(enrol::EnrolError::Malformed(e)) => assert!(e.offset <= cut),
            other => panic!("cut at {cut}: {other:?}"),
        }
    }
}

/// Credential blobs of every size around the legal ones, and random
/// bytes: checked, never a panic.
#[test]
fn credential_blobs_of_any_shape_are_checked() {
    let mut rng = common::Rng(7);
    for _ in 0..5000 {
        let a: Vec<u8> = (0..rng.next() % 140).map(|_| rng.next() as u8).collect();
        let b: Vec<u8> = (0..rng.next() % 600).map(|_| rng.next() as u8).collect();
        if let Err(e) = credential::check_blobs(&a, &b, "c.json") {
            assert_eq!(e.file, "c.json");
        }
    }
    // What make_credential produces passes the attester's check, for an
    // RSA EK and both ECC curves.
    let rsa = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048).unwrap();
    use rsa::traits::PublicKeyParts;
    let keys = [
        bootaudit::attest::ekcert::EkKey::Rsa {
            n: rsa.n().to_bytes_be(),
            e: rsa.e().to_bytes_be(),
        },
        ecc_key(bootaudit::attest::ekcert::Curve::P256),
        ecc_key(bootaudit::attest::ekcert::Curve::P384),
    ];
    let name = [0, 0x0b, 1, 2, 3];
    for k in &keys {
        let c = credential::make_credential(k, &name, &[9; 32]).unwrap();
        credential::check_blobs(&c.id_object, &c.encrypted_secret, "made").unwrap();
    }
    // And it is what a TPM would activate: for the RSA EK, the test plays
    // TPM2_ActivateCredential itself (RSA-OAEP decryption with the private
    // key, KDFa, the HMAC and AES-CFB, written here from the TPM 2.0
    // specification, Part 1, 24.4 and 11.4.10.2) and recovers the
    // credential. (A real TPM activates RSA and P-384 credentials in
    // tests/system/attest_swtpm.rs.)
    let c = credential::make_credential(&keys[0], &name, &[9; 32]).unwrap();
    assert_eq!(activate_rsa(&rsa, &name, &c), Ok(vec![9; 32]));
    let mut tampered = c.clone();
    let last = tampered.id_object.len() - 1;
    tampered.id_object[last] ^= 1;
    assert_eq!(
        activate_rsa(&rsa, &name, &tampered),
        Err("the integrity HMAC does not hold")
    );
    assert!(credential::make_credential(&keys[0], b"n", &[]).is_err());
    assert!(credential::make_credential(&keys[0], b"n", &[0; 65]).is_err());
}

/// KDFa with SHA-256 (TPM 2.0 Part 1, 11.4.10.2): HMAC(key, i || label
/// || 0 || u || v || bits) for i = 1, 2, ..., truncated to `bits`.
fn kdfa_sha256(key: &[u8], label: &str, u: &[u8], v: &[u8], bits: u32) -> Vec<u8> {
    use hmac::Mac;
    let mut out = Vec::new();
    let mut i: u32 = 1;
    while out.len() * 8 < bits as usize {
        let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
        m.update(&i.to_be_bytes());
        m.update(label.as_bytes());
        m.update(&[0]);
        m.update(u);
        m.update(v);
        m.update(&bits.to_be_bytes());
        out.extend_from_slice(&m.finalize().into_bytes());
        i += 1;
    }
    out.truncate(bits as usize / 8);
    out
}

/// TPM2_ActivateCredential for an RSA 2048 EK (SHA-256 name, AES-128),
/// played by the test: the credential, once the integrity HMAC holds.
fn activate_rsa(
    key: &rsa::RsaPrivateKey,
    name: &[u8],
    c: &credential::Credential,
) -> Result<Vec<u8>, &'static str> {
    use cfb_mode::cipher::{AsyncStreamCipher, KeyIvInit};
    use hmac::Mac;
    let seed = key
        .decrypt(
            rsa::Oaep::new_with_label::<sha2::Sha256, _>("IDENTITY\0"),
            &c.encrypted_secret,
        )
        .unwrap();
    assert_eq!(seed.len(), 32);
    let n = u16::from_be_bytes([c.id_object[0], c.id_object[1]]) as usize;
    let (integrity, enc) = c.id_object[2..].split_at(n);
    let mut m =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(&kdfa_sha256(&seed, "INTEGRITY", &[], &[], 256))
            .unwrap();
    m.update(enc);
    m.update(name);
    m.verify_slice(integrity)
        .map_err(|_| "the integrity HMAC does not hold")?;
    let sym = kdfa_sha256(&seed, "STORAGE", name, &[], 128);
    let mut plain = enc.to_vec();
    cfb_mode::Decryptor::<aes::Aes128>::new(sym.as_slice().into(), &[0u8; 16].into())
        .decrypt(&mut plain);
    let len = u16::from_be_bytes([plain[0], plain[1]]) as usize;
    Ok(plain[2..2 + len].to_vec())
}

fn ecc_key(curve: bootaudit::attest::ekcert::Curve) -> bootaudit::attest::ekcert::EkKey {
    use bootaudit::attest::ekcert::{Curve, EkKey};
    let sec1 = match curve {
        Curve::P256 => {
            use p256::elliptic_curve::sec1::ToEncodedPoint;
            p256::SecretKey::random(&mut rand_core::OsRng)
                .public_key()
                .to_encoded_point(false)
                .as_bytes()
                .to_vec()
        }
        Curve::P384 => {
            use p384::elliptic_curve::sec1::ToEncodedPoint;
            p384::SecretKey::random(&mut rand_core::OsRng)
                .public_key()
                .to_encoded_point(false)
                .as_bytes()
                .to_vec()
        }
    };
    let n = curve.size();
    EkKey::Ecc {
        curve,
        x: sec1[1..1 + n].to_vec(),
        y: sec1[1 + n..].to_vec(),
    }
}

/// An "EK" certificate that is a CA (keyCertSign only) is refused by the
/// TCG EK profile's rule; one with keyEncipherment passes. openssl makes
/// both, from the same CA.
#[test]
fn a_ca_certificate_is_no_ek_certificate() {
    let d = tempfile::tempdir().unwrap();
    let p = |n: &str| d.path().join(n).to_str().unwrap().to_string();
    let run = |args: &[&str]| {
        common::openssl(args);
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        &p("ca.key"),
        "-out",
        &p("ca.pem"),
        "-subj",
        "/CN=Test EK CA",
        "-days",
        "30",
    ]);
    run(&["genrsa", "-out", &p("ek.key"), "2048"]);
    run(&[
        "req",
        "-new",
        "-key",
        &p("ek.key"),
        "-out",
        &p("ek.csr"),
        "-subj",
        "/CN=ek",
    ]);
    let mut checked = 0;
    for (name, ext, ok) in [
        (
            "ca-like",
            "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n",
            false,
        ),
        (
            "sign-only",
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n",
            false,
        ),
        ("no-usage", "basicConstraints=critical,CA:FALSE\n", false),
        (
            "ek",
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,keyEncipherment\n",
            true,
        ),
    ] {
        std::fs::write(p(&format!("{name}.ext")), ext).unwrap();
        run(&[
            "x509",
            "-req",
            "-in",
            &p("ek.csr"),
            "-CA",
            &p("ca.pem"),
            "-CAkey",
            &p("ca.key"),
            "-CAcreateserial",
            "-days",
            "30",
            "-extfile",
            &p(&format!("{name}.ext")),
            "-out",
            &p(&format!("{name}.pem")),
        ]);
        let c = Cert::parse(&std::fs::read(p(&format!("{name}.pem"))).unwrap(), name).unwrap();
        assert_eq!(c.ek_usage().is_ok(), ok, "{name}: {:?}", c.ek_usage());
        checked += 1;
    }
    assert_eq!(checked, 4);
}
