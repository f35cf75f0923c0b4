//! The live-TPM path against a real TPM 2.0 (swtpm over TCP): the PCRs are
//! first extended, by the TPM itself, with every digest of a fixture log, so
//! that a match is real; then once more, so that a mismatch is real.

#![cfg(feature = "tpm")]

mod common;

use bootaudit::eventlog::{self, types::ev, HashAlg};
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

fn run(log: &str, tcti: &str) -> (i32, Value) {
    let out = common::bootaudit()
        .args(["eventlog", log, "--format", "json", "--tpm", tcti])
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap(), v)
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
    {
        let mut ctx = Context::new(TctiNameConf::from_str(&tpm.tcti()).unwrap()).unwrap();
        for e in log.events.iter().filter(|e| e.event_type != ev::NO_ACTION) {
            let digests: Vec<_> = e
                .digests
                .iter()
                .map(|d| (tpm_alg(d.algorithm), d.digest.clone()))
                .collect();
            extend(&mut ctx, e.pcr, &digests);
        }
    } // the context closes: swtpm serves one client at a time

    let (code, v) = run(f.to_str().unwrap(), &tpm.tcti());
    let verdicts = v["verdicts"].as_array().unwrap();
    assert_eq!(code, 0, "{verdicts:?}");
    assert_eq!(verdicts.len(), 4 * 3, "{verdicts:?}");
    assert!(
        verdicts.iter().all(|x| x["verdict"] == "match"),
        "{verdicts:?}"
    );

    {
        let mut ctx = Context::new(TctiNameConf::from_str(&tpm.tcti()).unwrap()).unwrap();
        extend(&mut ctx, 7, &[(HashingAlgorithm::Sha256, vec![0xbb; 32])]);
    }
    let (code, v) = run(f.to_str().unwrap(), &tpm.tcti());
    assert_eq!(code, 1);
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
    let out = common::bootaudit()
        .args([
            "eventlog",
            f.to_str().unwrap(),
            "--tpm",
            "swtpm:host=127.0.0.1,port=1",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("port=1"));
}
