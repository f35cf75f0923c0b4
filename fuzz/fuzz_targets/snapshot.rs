//! Fuzz target for snapshot reading, and the `show` summary and the
//! `check` verdict built on it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = bootaudit::snapshot::parse(data, "fuzz") {
        let r = bootaudit::show::build("fuzz", &s);
        let _ = bootaudit::render::show::table(&r);
        let c = bootaudit::check::run("fuzz", &s, &Default::default());
        let _ = bootaudit::render::check::table(&c);
    }
});
