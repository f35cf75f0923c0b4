//! Fuzz target for the key-database readers: EFI_SIGNATURE_LISTs with
//! their X.509 certificates (PK, KEK, db, dbx, as a snapshot records them
//! and as PCR7 measured them), and the authenticated dbx updates read by
//! `check --dbx`, and the SBAT levels of a shim (`check --shim`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let db = bootaudit_snapshot::siglist::parse(data, &|d| bootaudit::hexser::sha256(d));
    assert!(db.signatures.len() <= bootaudit_snapshot::siglist::MAX_SIGNATURES);
    let _ = bootaudit_snapshot::x509::parse(data);
    let _ = bootaudit::secure_boot::dbx::parse_update(data, "fuzz");
    let _ = bootaudit::secure_boot::sbat::shim_levels(data);
    let l = bootaudit::secure_boot::sbat::parse_level(data);
    assert!(l.components.len() <= bootaudit::secure_boot::sbat::MAX_LINES);
});
