//! Fuzz target for the event-log parser and everything downstream of it:
//! decoding, replay, digest checks and the report. Seed the corpus with the
//! shared fixtures and the hand-made regressions:
//! `cargo fuzz run eventlog seeds/eventlog ../../shared/fixtures/eventlogs/*/`.
#![no_main]

use bootaudit::eventlog::{check, parse, replay, report};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match parse(data) {
        Ok(log) => {
            let r = replay::replay(&log);
            let _ = check::check(&log);
            let rep = report::build("fuzz", &log, &[], Some(("self".into(), &r.banks)));
            let _ = serde_json::to_string(&rep);
            let _ = bootaudit::render::eventlog::write_table(&rep, &mut std::io::sink());
        }
        Err(e) => {
            assert!(e.offset <= data.len());
            let _ = e.to_string();
        }
    }
});
