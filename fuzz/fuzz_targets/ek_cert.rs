//! Fuzz target for EK certificates: DER (or PEM) decoding, the public key,
//! and chain verification with the input as its own CA and as the issuer
//! of itself, at a time inside and outside its validity.
#![no_main]

use bootaudit::attest::ekcert::{verify_chain, Cert};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(c) = Cert::parse(data, "fuzz") else {
        return;
    };
    let _ = c.key();
    let (nb, na) = c.validity();
    for now in [nb, na, na.saturating_add(1)] {
        if let Ok(again) = Cert::parse(data, "ca") {
            let _ = verify_chain(&c, &[again], now);
        }
    }
});
