//! AK enrolment against real TPMs: swtpm over TCP, manufactured by
//! swtpm_setup with EK certificates from swtpm's local CA (a real chain:
//! root, intermediate, EK). The TPM itself is the oracle of the software
//! TPM2_MakeCredential: it unwraps the secret only if the KDFs, the
//! encryption and the HMAC are right, and only for an AK loaded beside the
//! EK. What must fail: a software key, another TPM, another CA, an expired
//! certificate.

#[cfg(not(feature = "tpm"))]
#[test]
#[ignore = "built without the `tpm` feature, so nothing here was tested: run `cargo test --features tpm`"]
fn nothing_is_tested_without_the_tpm_feature() {}

#[cfg(feature = "tpm")]
use crate::common;

#[cfg(feature = "tpm")]
mod live {
    use super::common;
    use common::swtpm::Swtpm;
    use serde_json::Value;
    use std::path::{Path, PathBuf};
    use std::process::Command;

    /// Runs bootaudit with `args`, which must exit with `code`: (stdout
    /// JSON, or null when it printed none; stderr).
    #[track_caller]
    fn ba(args: &[&str], code: i32) -> (Value, String) {
        let r = common::run(args).exits(code);
        let v = if r.stdout.is_empty() {
            Value::Null
        } else {
            r.json()
        };
        (v, r.stderr)
    }

    fn p(x: &Path) -> &str {
        x.to_str().unwrap()
    }

    fn cas(ca: &Path) -> [PathBuf; 2] {
        [
            ca.join("issuercert.pem"),
            ca.join("swtpm-localca-rootca-cert.pem"),
        ]
    }

    /// `ak request` on `tpm` into dir/name.
    fn request(tpm: &Swtpm, dir: &Path, name: &str, index: Option<&str>) -> PathBuf {
        let out = dir.join(name);
        let mut args = vec!["ak", "request", "--format", "json", "--tpm"];
        let t = tpm.tcti();
        args.push(&t);
        if let Some(i) = index {
            args.extend(["--ek-index", i]);
        }
        args.extend(["--out", p(&out)]);
        ba(&args, 0);
        out
    }

    /// `ak challenge`, which must exit with `code`: (summary, challenge
    /// path, state path).
    #[track_caller]
    fn challenge(
        req: &Path,
        ca_files: &[PathBuf],
        dir: &Path,
        code: i32,
    ) -> (Value, PathBuf, PathBuf) {
        challenge_with(req, ca_files, dir, &[], code)
    }

    /// [`challenge`] with further arguments (`--at TIME`).
    #[track_caller]
    fn challenge_with(
        req: &Path,
        ca_files: &[PathBuf],
        dir: &Path,
        more: &[String],
        code: i32,
    ) -> (Value, PathBuf, PathBuf) {
        let ch = dir.join("challenge.json");
        let st = dir.join("state.json");
        let mut args = vec!["ak", "challenge", p(req), "--format", "json", "--ek-ca"];
        args.extend(ca_files.iter().map(|f| p(f)));
        args.extend(["--out", p(&ch), "--state", p(&st)]);
        args.extend(more.iter().map(String::as_str));
        let (v, _) = ba(&args, code);
        (v, ch, st)
    }

    #[track_caller]
    fn activate(tpm: &Swtpm, ch: &Path, dir: &Path, code: i32) -> (Value, PathBuf) {
        let resp = dir.join("response.json");
        let t = tpm.tcti();
        let (v, _) = ba(
            &[
                "ak",
                "activate",
                p(ch),
                "--format",
                "json",
                "--tpm",
                &t,
                "--out",
                p(&resp),
            ],
            code,
        );
        (v, resp)
    }

    #[track_caller]
    fn verify(st: &Path, resp: &Path, dir: &Path, code: i32) -> (Value, PathBuf) {
        let en = dir.join("enrolled.json");
        let (key, _) = common::verifier_key(dir);
        let (v, _) = ba(
            &[
                "ak",
                "verify",
                p(st),
                p(resp),
                "--format",
                "json",
                "--out",
                p(&en),
                "--sign-key",
                p(&key),
            ],
            code,
        );
        (v, en)
    }

    /// The whole enrolment, for the RSA 2048 EK (RSA-OAEP seed) and the
    /// ECC P-384 EK (ECDH and KDFe), then a quote collected with the
    /// enrolled AK passes verify-quote, `ak-certified` included.
    #[test]
    fn enrolment_passes_for_rsa_and_ecc_eks_and_certifies_the_quote() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca");
        let tpm = Swtpm::start_certified("sha256", &ca);
        for (index, key) in [("0x01c00002", "RSA 2048"), ("0x01c00016", "ECC P-384")] {
            let d = dir.path().join(index);
            std::fs::create_dir(&d).unwrap();
            let req = request(&tpm, &d, "request.json", Some(index));
            let (v, ch, st) = challenge(&req, &cas(&ca), &d, 0);
            // The chain, checked by openssl too: EK < intermediate < root.
            let chain = v["ek_chain"].as_array().unwrap();
            assert_eq!(chain.len(), 3, "{v}");
            assert_eq!(chain[1]["subject"], "CN=swtpm-localca");
            assert_eq!(chain[2]["subject"], "CN=swtpm-localca-rootca");
            let r: Value = serde_json::from_slice(&std::fs::read(&req).unwrap()).unwrap();
            let der = hex::decode(r["ek_certificate"].as_str().unwrap()).unwrap();
            let ek_pem = d.join("ek.der");
            std::fs::write(&ek_pem, &der).unwrap();
            let o = Command::new("openssl")
                .args(["verify", "-CAfile"])
                .arg(ca.join("swtpm-localca-rootca-cert.pem"))
                .arg("-untrusted")
                .arg(ca.join("issuercert.pem"))
                .arg(common::der_to_pem(&ek_pem, &d, "ek.pem"))
                .output()
                .unwrap();
            assert!(
                o.status.success(),
                "openssl verify: {}",
                String::from_utf8_lossy(&o.stdout)
            );
            let (_, resp) = activate(&tpm, &ch, &d, 0);
            let (_, en) = verify(&st, &resp, &d, 0);
            let e: Value = serde_json::from_slice(&std::fs::read(&en).unwrap()).unwrap();
            assert_eq!(e["format"], "bootaudit-enrolled-ak/1");
            assert_eq!(e["ek_key"], key);
            assert_eq!(e["ak_public"], r["ak_public"]);
        }

        // collect --quote with the enrolled AK, then verify-quote --ak. A
        // host tree with no sysfs PCRs: they come from the TPM; and no log.
        let en = dir.path().join("0x01c00002/enrolled.json");
        let snap = dir.path().join("snap.json");
        let nonce = "0123456789abcdef0123456789abcdef";
        let root = empty_host(dir.path());
        let t = tpm.tcti();
        common::collect_quote(&t, &root, nonce, "--ak", &en, &snap).exits(0);
        let v = verify_quote(&snap, "--ak", &en, nonce, 1);
        // Everything holds but the replay of a log this host does not have.
        assert_eq!(failed(&v), ["log-replay"], "{v}");
        assert!(
            v["checks"][1]["detail"]
                .as_str()
                .unwrap()
                .contains("CN=swtpm-localca"),
            "{v}"
        );
        // The same record handed over without the verifier's signature (as
        // a hand-written one would be): ak-certified fails, since whoever
        // hands over the file would decide which AK counts.
        let loose = dir.path().join("loose");
        std::fs::create_dir_all(&loose).unwrap();
        std::fs::copy(&en, loose.join("enrolled.json")).unwrap();
        let v = verify_quote(&snap, "--ak", &loose.join("enrolled.json"), nonce, 1);
        assert_eq!(failed(&v), ["ak-certified", "log-replay"], "{v}");
        // Signed, but by a key the verifier's allowed signers do not list:
        // refused (exit 2).
        let (mallory, _) = common::verifier_key(&{
            let m = dir.path().join("mallory-keys");
            std::fs::create_dir_all(&m).unwrap();
            m
        });
        let s = Command::new("ssh-keygen")
            .args(["-Y", "sign", "-n", "bootaudit-ak", "-f"])
            .arg(&mallory)
            .arg(loose.join("enrolled.json"))
            .output()
            .unwrap();
        assert!(s.status.success());
        let (_, allowed) = common::verifier_key(en.parent().unwrap());
        let (_, err) = ba(
            &[
                "verify-quote",
                p(&snap),
                "--ak",
                p(&loose.join("enrolled.json")),
                "--ak-signers",
                p(&allowed),
                "--nonce",
                nonce,
            ],
            2,
        );
        assert!(err.contains("the enrolment record is refused"), "{err}");

        // The same TPM with the ECC-enrolled file: the same AK, so it passes
        // too; a snapshot quoted by another TPM does not match the enrolment.
        let other = Swtpm::start("sha256");
        let t2 = other.tcti();
        let err = common::collect_quote(
            &t2,
            &root,
            nonce,
            "--ak",
            &en,
            &dir.path().join("other.json"),
        )
        .exits(2)
        .stderr;
        assert!(err.contains("another AK than the enrolled one"), "{err}");
        assert!(!dir.path().join("other.json").exists());
    }

    /// `verify-quote --format json` with `flag file` (`--ak`, `--ak-pub`).
    #[track_caller]
    fn verify_quote(snap: &Path, flag: &str, file: &Path, nonce: &str, code: i32) -> Value {
        let allowed = file.with_file_name("ak-signers");
        let mut args = vec![
            "verify-quote",
            p(snap),
            flag,
            p(file),
            "--nonce",
            nonce,
            "--format",
            "json",
        ];
        if allowed.exists() {
            args.extend(["--ak-signers", p(&allowed)]);
        }
        ba(&args, code).0
    }

    fn failed(v: &Value) -> Vec<String> {
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["ok"] == false)
            .map(|c| c["check"].as_str().unwrap().to_string())
            .collect()
    }

    /// A host tree with a TPM but no sysfs PCRs and no log.
    fn empty_host(d: &Path) -> PathBuf {
        let root = d.join("root");
        std::fs::create_dir_all(root.join("sys/class/tpm/tpm0")).unwrap();
        root
    }

    /// The challenge for TPM A's EK, answered by TPM B (same CA, so its own
    /// certificate would pass): B cannot unwrap it. Two ways: the whole
    /// request from A (B's AK has another name), and A's public EK
    /// certificate sent with B's own AK, which B's TPM must refuse.
    #[test]
    fn another_tpm_cannot_answer() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca");
        let a = Swtpm::start_certified("sha256", &ca);
        let b = Swtpm::start_certified("sha256", &ca);
        let d = dir.path();
        let req_a = request(&a, d, "a.json", Some("0x01c00002"));
        let req_b = request(&b, d, "b.json", Some("0x01c00002"));

        let (_, ch, st) = challenge(&req_a, &cas(&ca), d, 0);
        let (v, _) = activate(&b, &ch, d, 1);
        assert!(v["detail"].as_str().unwrap().contains("another key"), "{v}");

        // A's certificate, B's AK.
        let mut mixed: Value = serde_json::from_slice(&std::fs::read(&req_a).unwrap()).unwrap();
        let rb: Value = serde_json::from_slice(&std::fs::read(&req_b).unwrap()).unwrap();
        mixed["ak_public"] = rb["ak_public"].clone();
        let mixed_path = d.join("mixed.json");
        std::fs::write(&mixed_path, serde_json::to_vec(&mixed).unwrap()).unwrap();
        let (_, ch, st2) = challenge(&mixed_path, &cas(&ca), d, 0);
        let (v, _) = activate(&b, &ch, d, 1);
        assert!(
            v["detail"]
                .as_str()
                .unwrap()
                .contains("TPM2_ActivateCredential"),
            "the TPM itself refused: {v}"
        );
        // And a response made up by B does not pass the verifier.
        let fake = d.join("fake.json");
        std::fs::write(
            &fake,
            br#"{"format":"bootaudit-ak-response/1","secret":"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"}"#,
        )
        .unwrap();
        for s in [&st, &st2] {
            let (_, en) = verify(s, &fake, d, 1);
            assert!(!en.exists());
        }
    }

    /// A software key presented as the AK, with the attributes of a TPM
    /// key: the verifier cannot tell from the request, so it challenges;
    /// the TPM holds no such key, and loading its public part beside the
    /// EK (TPM2_LoadExternal, what an attacker with the TPM would try)
    /// does not make the TPM release the secret.
    #[test]
    fn a_software_key_cannot_be_enrolled() {
        use tss_esapi::interface_types::resource_handles::Hierarchy;
        use tss_esapi::structures::{EncryptedSecret, IdObject, Public};
        use tss_esapi::traits::{Marshall, UnMarshall};
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca");
        let tpm = Swtpm::start_certified("sha256", &ca);
        let d = dir.path();
        let req = request(&tpm, d, "request.json", Some("0x01c00002"));
        let mut r: Value = serde_json::from_slice(&std::fs::read(&req).unwrap()).unwrap();
        // The TPM's AK public area with a software RSA key's modulus.
        let mut ak = hex::decode(r["ak_public"].as_str().unwrap()).unwrap();
        let key = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048).unwrap();
        use rsa::traits::PublicKeyParts;
        let n = key.n().to_bytes_be();
        let at = ak.len() - 256;
        ak[at..].copy_from_slice(&n);
        r["ak_public"] = Value::String(hex::encode(&ak));
        let soft = d.join("soft.json");
        std::fs::write(&soft, serde_json::to_vec(&r).unwrap()).unwrap();
        let (_, ch, st) = challenge(&soft, &cas(&ca), d, 0);
        // bootaudit's attester refuses: its TPM's AK is another key.
        activate(&tpm, &ch, d, 1);

        // The attacker's own attempt, straight at the TPM.
        let c: Value = serde_json::from_slice(&std::fs::read(&ch).unwrap()).unwrap();
        let mut ctx = bootaudit::pcrs::tpm::open(&tpm.tcti()).unwrap();
        let public = Public::unmarshall(&ak).unwrap();
        assert_eq!(public.marshall().unwrap(), ak);
        let loaded =
            ctx.execute_with_nullauth_session(|x| x.load_external_public(public, Hierarchy::Owner));
        // The TPM takes the public part of any key, fixedTPM or not...
        let handle = loaded.expect("TPM2_LoadExternal of the software key's public part");
        let unwrapped = {
            let ek = tss_esapi::abstraction::ek::create_ek_object_2(
                &mut ctx,
                tss_esapi::abstraction::AsymmetricAlgorithmSelection::Rsa(
                    tss_esapi::interface_types::key_bits::RsaKeyBits::Rsa2048,
                ),
                None,
            )
            .unwrap();
            let blob =
                IdObject::try_from(hex::decode(c["credential_blob"].as_str().unwrap()).unwrap())
                    .unwrap();
            let sec = EncryptedSecret::try_from(
                hex::decode(c["encrypted_secret"].as_str().unwrap()).unwrap(),
            )
            .unwrap();
            activate_raw(&mut ctx, handle, ek, blob, sec)
        };
        // ...but an object loaded without its private part cannot be
        // authorised for ActivateCredential (ADMIN role), so the TPM
        // refuses: the secret never leaves it.
        let err = unwrapped.expect_err("the TPM released the credential to a software key");
        assert!(err.contains("TPM2_ActivateCredential"), "{err}");
        let _ = st;
    }

    /// TPM2_ActivateCredential with a PolicySecret session for the EK.
    fn activate_raw(
        ctx: &mut tss_esapi::Context,
        key: tss_esapi::handles::KeyHandle,
        ek: tss_esapi::handles::KeyHandle,
        blob: tss_esapi::structures::IdObject,
        secret: tss_esapi::structures::EncryptedSecret,
    ) -> Result<Vec<u8>, String> {
        use tss_esapi::attributes::SessionAttributesBuilder;
        use tss_esapi::constants::SessionType;
        use tss_esapi::interface_types::algorithm::HashingAlgorithm;
        use tss_esapi::interface_types::session_handles::PolicySession;
        use tss_esapi::structures::SymmetricDefinition;
        let start = |ctx: &mut tss_esapi::Context, t| {
            let s = ctx
                .start_auth_session(
                    None,
                    None,
                    None,
                    t,
                    SymmetricDefinition::AES_128_CFB,
                    HashingAlgorithm::Sha256,
                )
                .unwrap()
                .unwrap();
            let (a, m) = SessionAttributesBuilder::new().build();
            ctx.tr_sess_set_attributes(s, a, m).unwrap();
            s
        };
        let s1 = start(ctx, SessionType::Hmac);
        let s2 = start(ctx, SessionType::Policy);
        ctx.execute_with_session(Some(s1), |c| {
            c.policy_secret(
                PolicySession::try_from(s2).unwrap(),
                tss_esapi::handles::AuthHandle::Endorsement,
                Default::default(),
                Default::default(),
                Default::default(),
                None,
            )
        })
        .unwrap();
        ctx.execute_with_sessions((Some(s1), Some(s2), None), |c| {
            c.activate_credential(key, ek, blob, secret)
        })
        .map(|d| d.value().to_vec())
        .map_err(|e| format!("TPM2_ActivateCredential: {e}"))
    }

    /// An EK certificate whose chain is to another CA than the one given
    /// fails; so does one that has expired (issued by the right CA with
    /// swtpm_cert --days 0, for this very EK).
    #[test]
    fn another_ca_or_an_expired_certificate_fails() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let ca = d.join("ca");
        let other = d.join("other-ca");
        let tpm = Swtpm::start_certified("sha256", &ca);
        // A second TPM only to make the other CA.
        let _o = Swtpm::start_certified("sha256", &other);
        let req = request(&tpm, d, "request.json", Some("0x01c00002"));
        let (v, ch, _) = challenge(&req, &cas(&other), d, 1);
        assert!(
            v["detail"]
                .as_str()
                .unwrap()
                .contains("not among the CAs given"),
            "{v}"
        );
        assert!(
            !ch.exists(),
            "no challenge is written for a refused certificate"
        );
        // Only the root of the right CA: the intermediate is missing.
        challenge(&req, &cas(&ca)[1..], d, 1);

        // The same EK, certified by the same CA, valid for 0 days.
        let r: Value = serde_json::from_slice(&std::fs::read(&req).unwrap()).unwrap();
        let der = hex::decode(r["ek_certificate"].as_str().unwrap()).unwrap();
        let ek_der = d.join("ek.der");
        std::fs::write(&ek_der, &der).unwrap();
        let pem = common::der_to_pem(&ek_der, d, "ek.pem");
        let pubkey = d.join("ek-pub.pem");
        let o = Command::new("openssl")
            .args(["x509", "-pubkey", "-noout", "-in"])
            .arg(&pem)
            .output()
            .unwrap();
        std::fs::write(&pubkey, o.stdout).unwrap();
        let expired = d.join("expired.der");
        let o = Command::new("swtpm_cert")
            .args(["--tpm2", "--type", "ek", "--days", "0", "--serial", "77"])
            .arg("--pubkey")
            .arg(&pubkey)
            .arg("--signkey")
            .arg(ca.join("signkey.pem"))
            .arg("--issuercert")
            .arg(ca.join("issuercert.pem"))
            .arg("--out-cert")
            .arg(&expired)
            .args([
                "--tpm-manufacturer",
                "id:00001014",
                "--tpm-model",
                "swtpm",
                "--tpm-version",
                "id:20191023",
            ])
            .args([
                "--tpm-spec-family",
                "2.0",
                "--tpm-spec-level",
                "0",
                "--tpm-spec-revision",
                "164",
            ])
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "swtpm_cert: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let exp = std::fs::read(&expired).unwrap();
        // Its notAfter as openssl reads it (with --days 0, its notBefore).
        // Judged at that second it is valid; one second later, expired.
        // The times are passed with --at: no clock decides the verdict.
        let o = Command::new("openssl")
            .args(["x509", "-inform", "der", "-noout", "-enddate"])
            .args(["-dateopt", "iso_8601", "-in"])
            .arg(&expired)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout);
        let not_after: jiff::Timestamp = text
            .trim()
            .strip_prefix("notAfter=")
            .unwrap_or_else(|| panic!("openssl -enddate printed {text:?}"))
            .replacen(' ', "T", 1)
            .parse()
            .unwrap();
        let mut r2 = r.clone();
        r2["ek_certificate"] = Value::String(hex::encode(&exp));
        let f = d.join("expired.json");
        std::fs::write(&f, serde_json::to_vec(&r2).unwrap()).unwrap();
        let at = |t: jiff::Timestamp| vec!["--at".to_string(), t.to_string()];
        challenge_with(&f, &cas(&ca), d, &at(not_after), 0);
        let later = not_after + jiff::SignedDuration::from_secs(1);
        let (v, _, _) = challenge_with(&f, &cas(&ca), d, &at(later), 1);
        assert!(v["detail"].as_str().unwrap().contains("expired"), "{v}");
        // The untouched request still passes with the right CA.
        challenge(&req, &cas(&ca), d, 0);
    }

    /// A quote under a bare, unenrolled AK fails `ak-certified`.
    #[test]
    fn a_bare_ak_fails_the_certification_check() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let tpm = Swtpm::start("sha256");
        let snap = d.join("snap.json");
        let ak = d.join("ak.pub");
        let nonce = "aa55aa55aa55aa55";
        let root = empty_host(d);
        let t = tpm.tcti();
        common::collect_quote(&t, &root, nonce, "--ak-pub-out", &ak, &snap).exits(0);
        let v = verify_quote(&snap, "--ak-pub", &ak, nonce, 1);
        assert_eq!(failed(&v), ["ak-certified", "log-replay"], "{v}");
    }
}
