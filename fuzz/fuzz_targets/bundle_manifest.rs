//! Fuzz target for a bundle's manifest and quote files, and for the path
//! check every manifest entry passes through.
#![no_main]

use bootaudit::bundle;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = bundle::parse_json::<bundle::Manifest>(data, "fuzz") {
        for k in m.files.keys() {
            let _ = bundle::safe_rel(k);
        }
        let _ = bundle::manifest_bytes(&m);
    }
    let _ = bundle::parse_json::<bundle::BundleQuote>(data, "fuzz");
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = bundle::safe_rel(s);
    }
});
