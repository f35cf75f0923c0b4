//! TPM quote verification on a real quote: go-attestation's
//! windows_gcp_shielded_vm.json (a Windows GCP Shielded VM's AK, quote,
//! PCRs and event log; ../shared/fixtures/eventlogs/INDEX.md). The quote
//! verifies under its AK, its PCR digest is that of the recorded PCRs, and
//! the log replays to them; one changed byte anywhere fails its check.

use crate::common;

use base64::Engine;
use bootaudit::quote;
use std::collections::BTreeMap;

struct Gcp {
    ak: Vec<u8>,
    attest: Vec<u8>,
    signature: Vec<u8>,
    nonce: Vec<u8>,
    pcrs: BTreeMap<String, BTreeMap<u32, Vec<u8>>>,
    log: Vec<u8>,
}

fn gcp() -> Gcp {
    let p = common::eventlogs().join("go-attestation/windows_gcp_shielded_vm.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
    let b64 = |x: &serde_json::Value| {
        base64::engine::general_purpose::STANDARD
            .decode(x.as_str().unwrap())
            .unwrap()
    };
    let mut pcrs: BTreeMap<String, BTreeMap<u32, Vec<u8>>> = BTreeMap::new();
    for p in v["Log"]["PCRs"].as_array().unwrap() {
        // Go's crypto.Hash: 3 is SHA-1, 5 is SHA-256.
        let bank = match p["DigestAlg"].as_u64().unwrap() {
            3 => "sha1",
            5 => "sha256",
            x => panic!("DigestAlg {x}"),
        };
        pcrs.entry(bank.into())
            .or_default()
            .insert(p["Index"].as_u64().unwrap() as u32, b64(&p["Digest"]));
    }
    Gcp {
        ak: b64(&v["AK"]["Public"]),
        attest: b64(&v["Quote"]["Quote"]),
        signature: b64(&v["Quote"]["Signature"]),
        nonce: b64(&v["Quote"]["Nonce"]),
        pcrs,
        log: b64(&v["Log"]["Raw"]),
    }
}

fn all_ok(c: &[quote::Check]) -> bool {
    c.iter().all(|c| c.ok)
}

#[test]
fn a_real_quote_verifies_and_its_log_replays_to_the_quoted_pcrs() {
    let g = gcp();
    let ak = quote::parse_public(&g.ak).unwrap();
    assert!(matches!(ak, quote::AkPublic::Rsa { .. }));
    let checks = quote::verify(&ak, &g.attest, &g.signature, &g.nonce, &g.pcrs).unwrap();
    assert!(all_ok(&checks), "{checks:?}");
    // The log replays to the PCR values the quote covers.
    let info = quote::parse_attest(&g.attest).unwrap();
    let log = bootaudit::eventlog::parse(&g.log).unwrap();
    let replayed = bootaudit::eventlog::replay::replay(&log);
    let mut n = 0;
    for (bank, idx) in &info.selection {
        for i in idx {
            // A PCR no event extends holds its reset value.
            let v = replayed
                .banks
                .get(bank)
                .and_then(|b| b.get(i))
                .cloned()
                .or_else(|| {
                    bootaudit::eventlog::replay::initial_value(*bank, *i, replayed.startup_locality)
                });
            assert_eq!(
                v.as_deref(),
                Some(g.pcrs[&bank.name()][i].as_slice()),
                "{bank} PCR{i}"
            );
            n += 1;
        }
    }
    assert!(n >= 8, "the quote covers {n} PCRs");
}

#[test]
fn any_change_fails_the_check_it_belongs_to() {
    let g = gcp();
    let ak = quote::parse_public(&g.ak).unwrap();
    let failed = |c: Vec<quote::Check>| -> Vec<&'static str> {
        c.into_iter().filter(|c| !c.ok).map(|c| c.check).collect()
    };
    // One PCR value.
    let mut pcrs = g.pcrs.clone();
    pcrs.get_mut("sha1").unwrap().get_mut(&7).unwrap()[0] ^= 1;
    let c = quote::verify(&ak, &g.attest, &g.signature, &g.nonce, &pcrs).unwrap();
    assert_eq!(failed(c), ["pcr-digest"]);
    // Another nonce.
    let c = quote::verify(&ak, &g.attest, &g.signature, b"fresh", &g.pcrs).unwrap();
    assert_eq!(failed(c), ["nonce"]);
    // One byte of the signed structure (its firmware version field).
    let mut attest = g.attest.clone();
    let last = attest.len() - 40;
    attest[last] ^= 1;
    let c = quote::verify(&ak, &attest, &g.signature, &g.nonce, &g.pcrs).unwrap();
    assert!(failed(c).contains(&"signature"));
    // Another key.
    let mut other = g.ak.clone();
    let l = other.len() - 1;
    other[l] ^= 1;
    let ak2 = quote::parse_public(&other).unwrap();
    let c = quote::verify(&ak2, &g.attest, &g.signature, &g.nonce, &g.pcrs).unwrap();
    assert_eq!(failed(c), ["signature"]);
    // Truncations of every structure are errors, not panics.
    for n in 0..g.attest.len() {
        let _ = quote::verify(&ak, &g.attest[..n], &g.signature, &g.nonce, &g.pcrs);
    }
    for n in 0..g.ak.len() {
        let _ = quote::parse_public(&g.ak[..n]);
    }
    for n in 0..g.signature.len() {
        let _ = quote::parse_signature(&g.signature[..n]);
    }
}
