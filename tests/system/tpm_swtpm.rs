//! The live-TPM path against a real TPM 2.0 (swtpm over TCP): the PCRs are
//! first extended, by the TPM itself, with every digest of a fixture log, so
//! that a match is real; then once more, so that a mismatch is real.

#[cfg(not(feature = "tpm"))]
#[test]
#[ignore = "built without the `tpm` feature, so nothing here was tested: run `cargo test --features tpm`"]
fn nothing_is_tested_without_the_tpm_feature() {}

#[cfg(feature = "tpm")]
use crate::common;

#[cfg(feature = "tpm")]
mod live {
    use super::common;

    use bootaudit::eventlog::{self, EventType, HashAlg};
    use serde_json::Value;
    use std::str::FromStr;
    use tss_esapi::handles::PcrHandle;
    use tss_esapi::interface_types::algorithm::HashingAlgorithm;
    use tss_esapi::structures::{Digest, DigestValues};
    use tss_esapi::tcti_ldr::TctiNameConf;
    use tss_esapi::tss2_esys::ESYS_TR_PCR0;
    use tss_esapi::Context;

    /// TPM2_PCR_Extend with one digest per bank, done by the TPM.
    fn extend(ctx: &mut Context, pcr: u32, digests: &[(HashingAlgorithm, Vec<u8>)]) {
        let mut dv = DigestValues::new();
        for (alg, d) in digests {
            dv.set(*alg, Digest::try_from(d.clone()).unwrap());
        }
        let h = PcrHandle::try_from(ESYS_TR_PCR0 + pcr).unwrap();
        ctx.execute_with_nullauth_session(|c| c.pcr_extend(h, dv))
            .unwrap();
    }

    /// `eventlog LOG --format json --tpm TCTI`, which must exit with `code`.
    #[track_caller]
    fn run(log: &str, tcti: &str, code: i32) -> Value {
        common::run(&["eventlog", log, "--format", "json", "--tpm", tcti])
            .exits(code)
            .json()
    }

    fn tpm_alg(a: HashAlg) -> HashingAlgorithm {
        match a {
            HashAlg::Sha1 => HashingAlgorithm::Sha1,
            HashAlg::Sha256 => HashingAlgorithm::Sha256,
            HashAlg::Sha384 => HashingAlgorithm::Sha384,
            other => panic!("{other} not used by this fixture"),
        }
    }

    #[test]
    fn live_swtpm_matches_the_log_it_was_extended_with_then_mismatches() {
        let tpm = common::swtpm::Swtpm::start("sha1,sha256,sha384");
        // A real firmware log with SHA-1, SHA-256 and SHA-384 banks that extends
        // PCRs 0, 4, 5 and 7 (all extendable from locality 0).
        let f = common::log("go-attestation/sb_cert_eventlog");
        let log = eventlog::read_file(&f).unwrap();
        assert_eq!(
            log.banks(),
            [HashAlg::Sha1, HashAlg::Sha256, HashAlg::Sha384]
        );
        // The context closes inside: swtpm serves one client at a time.
        extend_log(&tpm.tcti(), &log);

        let v = run(f.to_str().unwrap(), &tpm.tcti(), 0);
        let verdicts = v["verdicts"].as_array().unwrap();
        assert_eq!(verdicts.len(), 4 * 3, "{verdicts:?}");
        assert!(
            verdicts.iter().all(|x| x["verdict"] == "match"),
            "{verdicts:?}"
        );

        {
            let mut ctx = Context::new(TctiNameConf::from_str(&tpm.tcti()).unwrap()).unwrap();
            extend(&mut ctx, 7, &[(HashingAlgorithm::Sha256, vec![0xbb; 32])]);
        }
        let v = run(f.to_str().unwrap(), &tpm.tcti(), 1);
        let bad: Vec<(String, u64)> = v["verdicts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["verdict"] == "mismatch")
            .map(|x| {
                (
                    x["bank"].as_str().unwrap().to_string(),
                    x["pcr"].as_u64().unwrap(),
                )
            })
            .collect();
        // Only the bank that was extended moves.
        assert_eq!(bad, [("sha256".to_string(), 7)]);
    }

    #[test]
    fn unreachable_tpm_is_exit_2_with_the_tcti_named() {
        let f = common::log("go-attestation/crypto_agile_eventlog");
        let out = common::run(&[
            "eventlog",
            f.to_str().unwrap(),
            "--tpm",
            "swtpm:host=127.0.0.1,port=1",
        ])
        .exits(2);
        assert!(out.stderr.contains("port=1"), "{}", out.stderr);
    }

    /// Extends the swtpm's PCRs, through the TPM, with every digest of `log`.
    fn extend_log(tcti: &str, log: &eventlog::EventLog) {
        let mut ctx = Context::new(TctiNameConf::from_str(tcti).unwrap()).unwrap();
        for e in log
            .events
            .iter()
            .filter(|e| e.event_type != EventType::NO_ACTION)
        {
            let digests: Vec<_> = e
                .digests
                .iter()
                .map(|d| (tpm_alg(d.algorithm), d.digest.clone()))
                .collect();
            extend(&mut ctx, e.pcr, &digests);
        }
    }

    #[test]
    fn a_quote_from_collect_verifies_and_fails_on_any_change() {
        let tpm = common::swtpm::Swtpm::start("sha1,sha256,sha384");
        let f = common::log("go-attestation/sb_cert_eventlog");
        extend_log(&tpm.tcti(), &eventlog::read_file(&f).unwrap());
        // A host tree with the log, and no sysfs PCRs: they come from the TPM.
        let d = tempfile::tempdir().unwrap();
        let sec = d.path().join("root/sys/kernel/security/tpm0");
        std::fs::create_dir_all(&sec).unwrap();
        std::fs::copy(&f, sec.join("binary_bios_measurements")).unwrap();
        std::fs::create_dir_all(d.path().join("root/sys/class/tpm/tpm0")).unwrap();
        let (snap, ak) = (d.path().join("snap.json"), d.path().join("ak.pub"));
        let nonce = "0123456789abcdef0123456789abcdef";
        common::collect_quote(
            &tpm.tcti(),
            &d.path().join("root"),
            nonce,
            "--ak-pub-out",
            &ak,
            &snap,
        )
        .exits(0);
        // verify-quote under the bare AK: always exit 1 (see below).
        let verify = |snap: &std::path::Path, nonce: &str| -> Value {
            common::run_command(
                common::bootaudit()
                    .args([
                        "verify-quote",
                        "--format",
                        "json",
                        "--nonce",
                        nonce,
                        "--ak-pub",
                    ])
                    .arg(&ak)
                    .arg(snap),
            )
            .exits(1)
            .json()
        };
        // A bare AK always fails `ak-certified` (tests/system/attest_swtpm.rs
        // enrols one); here the other checks are what is judged.
        let failed = |v: &Value| -> Vec<String> {
            v["checks"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| c["ok"] == false && c["check"] != "ak-certified")
                .map(|c| c["check"].as_str().unwrap().to_string())
                .collect()
        };
        let v = verify(&snap, nonce);
        assert!(failed(&v).is_empty(), "{v}");
        assert_eq!(v["checks"][1]["check"], "ak-certified");
        assert_eq!(v["checks"][1]["ok"], false);

        // tpm2-tools' own checker agrees (TPM2B_PUBLIC: the size, then ours).
        let s: Value = serde_json::from_slice(&std::fs::read(&snap).unwrap()).unwrap();
        let q = &s["tpm"]["quote"];
        let ak_bytes = std::fs::read(&ak).unwrap();
        common::tpm2_checkquote_accepts(d.path(), q, &ak_bytes, nonce);

        // Another nonce: a replayed quote.
        let v = verify(&snap, "00");
        assert_eq!(failed(&v), vec!["nonce".to_string()]);
        // One PCR value edited in the snapshot: not what the TPM quoted, and
        // no longer what the log replays to.
        let mut edited = s.clone();
        edited["tpm"]["pcrs"]["sha256"]["7"] = Value::String("ab".repeat(32));
        let e = d.path().join("edited.json");
        std::fs::write(&e, serde_json::to_vec(&edited).unwrap()).unwrap();
        let v = verify(&e, nonce);
        assert_eq!(failed(&v), ["pcr-digest", "log-replay"]);

        // A genuine quote, signed by the same AK, over PCR23 only, and over no
        // PCR at all: the signature, the nonce and the digest all check out,
        // but the quote does not cover what the snapshot records.
        for pcrs in [vec![23u32], vec![]] {
            let conf = TctiNameConf::from_str(&tpm.tcti()).unwrap();
            let mut ctx = Context::new(conf).unwrap();
            let nonce_bytes = hex::decode(nonce).unwrap();
            let q =
                bootaudit::pcrs::tpm::quote_pcrs(&mut ctx, &nonce_bytes, HashAlg::Sha256, &pcrs)
                    .unwrap();
            drop(ctx);
            assert_eq!(q.ak_public, ak_bytes, "the same AK");
            let mut narrow = s.clone();
            narrow["tpm"]["quote"]["attest"] = Value::String(hex::encode(&q.attest));
            narrow["tpm"]["quote"]["signature"] = Value::String(hex::encode(&q.signature));
            let e = d.path().join("narrow.json");
            std::fs::write(&e, serde_json::to_vec(&narrow).unwrap()).unwrap();
            let v = verify(&e, nonce);
            assert_eq!(failed(&v), ["pcr-selection"], "{pcrs:?}: {v}");
        }
        // The genuine quote with a fabricated log of 8 events without digests:
        // nothing in it replays, so it cannot vouch for the quoted values.
        let mut fake = common::craft::agile_header();
        for pcr in 0..8u32 {
            fake.extend(pcr.to_le_bytes());
            fake.extend(0x8000_0007u32.to_le_bytes());
            fake.extend(0u32.to_le_bytes());
            fake.extend(0u32.to_le_bytes());
        }
        let mut fabricated = s.clone();
        fabricated["tpm"]["event_log"] = Value::String(hex::encode(&fake));
        let e = d.path().join("fabricated.json");
        std::fs::write(&e, serde_json::to_vec(&fabricated).unwrap()).unwrap();
        let v = verify(&e, nonce);
        assert!(failed(&v).contains(&"log-replay".to_string()), "{v}");
    }
}
