//! Fuzz target for the snapshot reader's fast path (memory maps and loaded
//! images): whenever it reads a document, serde_json must read the same
//! value from it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(fast) = bootaudit::snapshot::parse_fast_path(text) {
        let slow: bootaudit::snapshot::Snapshot =
            serde_json::from_str(text).expect("the fast path read what serde_json refuses");
        assert_eq!(fast, slow);
    }
});
