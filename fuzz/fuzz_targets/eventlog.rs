//! Fuzz target for the event-log parser and everything downstream of it:
//! decoding, replay, digest checks, the report and the tpm2-yaml output. Seed the corpus with the
//! shared fixtures and the hand-made regressions:
//! `cargo fuzz run eventlog seeds/eventlog ../../shared/fixtures/eventlogs/*/`.
#![no_main]

use bootaudit::eventlog::{check, parse, replay};
use bootaudit::logreport as report;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match parse(data) {
        Ok(log) => {
            let r = replay::replay(&log);
            let _ = check::check(&log);
            let rep = report::build("fuzz", &log, &[], Some(("self".into(), &r.banks)));
            let _ = serde_json::to_string(&rep);
            let _ = bootaudit::render::eventlog::write_table(&rep, &mut std::io::sink());
            for v in [
                bootaudit::eventlog::tpm2_yaml::Version::V1,
                bootaudit::eventlog::tpm2_yaml::Version::V2,
            ] {
                // What tpm2-yaml prints is always UTF-8 (a String) and
                // holds no raw control character but line feeds, and none
                // of the characters YAML reads as a break or a BOM.
                let y = bootaudit::eventlog::tpm2_yaml::render(&log, v);
                assert!(!y.chars().any(|c| (c.is_control() && c != '\n')
                    || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}')));
            }
        }
        Err(e) => {
            assert!(e.offset <= data.len());
            let _ = e.to_string();
        }
    }
});
