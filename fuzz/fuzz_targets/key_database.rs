//! Fuzz target for the key-database readers: EFI_SIGNATURE_LISTs with
//! their X.509 certificates (PK, KEK, db, dbx, as a snapshot records them
//! and as PCR7 measured them), and the authenticated dbx updates read by
//! `check --dbx`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let db = bootaudit_snapshot::siglist::parse(data, &|d| bootaudit::hexser::sha256(d));
    assert!(db.signatures.len() <= bootaudit_snapshot::siglist::MAX_SIGNATURES);
    let _ = bootaudit_snapshot::x509::parse(data);
    let _ = bootaudit::secure_boot::dbx::parse_update(data, "fuzz");
});
