//! Fuzz target for tar bundles: every entry of a hostile tar stream
//! (names, types, sizes, GNU and PAX extensions), judged against the
//! manifest it carries.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = bootaudit::bundle::verify_tar(std::path::Path::new("fuzz.tar"), data, None);
});
