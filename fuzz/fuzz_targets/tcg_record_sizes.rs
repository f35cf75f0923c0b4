//! Fuzz target for the record sizes the collector walks the firmware's
//! event log and final-events table by (`bootaudit_snapshot::tcglog`):
//! the Spec ID event's algorithms, then every record's size from its
//! header, as far as the input goes. Every size is within the cap and
//! long enough to move the walk on, so the walk ends.
#![no_main]

use bootaudit::snapshot::tcglog::{self, event1_size, event2_size, MAX_RECORD};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(first) = event1_size(data, 0) else {
        return;
    };
    assert!((32..=MAX_RECORD).contains(&first));
    let algs = tcglog::spec_algorithms(data);
    if let Some(a) = &algs {
        assert!(!a.is_empty() && a.len() <= tcglog::MAX_ALGORITHMS);
    }
    let mut at = first;
    let mut steps = 0usize;
    while at < data.len() {
        let size = match &algs {
            Some(a) => event2_size(data, at, a),
            None => event1_size(data, at),
        };
        let Some(size) = size else { break };
        // The smallest record: a TCG_PCR_EVENT2 with no digest and no data.
        assert!((16..=MAX_RECORD).contains(&size));
        at += size;
        steps += 1;
        assert!(steps <= data.len() / 16);
    }
});
