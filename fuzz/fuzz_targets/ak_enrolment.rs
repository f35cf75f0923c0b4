//! Fuzz target for the AK enrolment's inputs from the other side: the four
//! JSON files, the AK public area a request carries, and the credential
//! blobs a challenge carries (first byte picks which).
#![no_main]

use bootaudit::attest::{credential, enrol};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    match pick % 4 {
        0 => {
            if let Ok(r) = enrol::read::<enrol::Request>(rest, "fuzz", enrol::REQUEST) {
                let _ = enrol::challenge(&r, "fuzz", &[], 0);
            }
            let _ = enrol::read::<enrol::Challenge>(rest, "fuzz", enrol::CHALLENGE);
            let _ = bootaudit::quote::TrustedAk::read(rest, "fuzz");
        }
        1 => {
            if let (Ok(s), Ok(r)) = (
                enrol::read::<enrol::State>(rest, "fuzz", enrol::STATE),
                enrol::read::<enrol::Response>(rest, "fuzz", enrol::RESPONSE),
            ) {
                let _ = enrol::verify(&s, &r, "fuzz", 0);
            }
        }
        2 => {
            let _ = enrol::check_ak(rest, "fuzz");
        }
        _ => {
            let cut = rest.first().copied().unwrap_or(0) as usize;
            let (a, b) = rest.split_at(cut.min(rest.len()));
            let _ = credential::check_blobs(a, b, "fuzz");
        }
    }
});
