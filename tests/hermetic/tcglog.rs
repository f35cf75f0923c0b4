//! The record sizes the collector walks the firmware's event log by
//! (`bootaudit_snapshot::tcglog`), on the shipped logs: they walk each log
//! record by record where the event-log parser reads its records, and no
//! truncated or damaged log makes them panic, loop, or step past the cap.

use bootaudit::eventlog;
use bootaudit::snapshot::tcglog::{self, event1_size, event2_size, MAX_RECORD};

/// The shipped crypto-agile logs: OVMF's under swtpm, and a real host's.
const LOGS: [&str; 2] = [
    "fixtures/ovmf-swtpm/binary_bios_measurements",
    "fixtures/linux-host/root/sys/kernel/security/tpm0/binary_bios_measurements",
];

/// The start of every record the sizes walk to, from the Spec ID event at
/// 0 until a size is refused or the data ends; whether the walk ended
/// exactly at the end.
fn walk(data: &[u8]) -> (Vec<usize>, bool) {
    let mut starts = Vec::new();
    let Some(first) = event1_size(data, 0) else {
        return (starts, false);
    };
    starts.push(0);
    let algs = tcglog::spec_algorithms(data);
    let mut at = first;
    while at < data.len() {
        let size = match &algs {
            Some(a) => event2_size(data, at, a),
            None => event1_size(data, at),
        };
        let Some(size) = size else {
            return (starts, false);
        };
        assert!((16..=MAX_RECORD).contains(&size), "{size} at {at}");
        starts.push(at);
        at += size;
        assert!(starts.len() <= data.len() / 16 + 1, "the walk does not end");
    }
    (starts, at == data.len())
}

#[test]
fn the_sizes_walk_each_shipped_log_where_the_parser_reads_its_records() {
    for f in LOGS {
        let data = std::fs::read(f).unwrap();
        let (starts, exact) = walk(&data);
        assert!(exact, "{f}: the walk ends short or past the end");
        // The parser's records: the Spec ID header, then every event.
        let log = eventlog::parse(&data).unwrap();
        let mut want = vec![0];
        want.extend(log.events.iter().map(|e| e.offset));
        assert_eq!(starts, want, "{f}");
        assert!(starts.len() >= 20, "{f}: {} records", starts.len());
    }
}

/// Every truncation of the log stops the walk at the record it cuts (or,
/// cut between records, at the end), and no flipped byte makes a size
/// panic, loop or pass the cap.
#[test]
fn truncated_and_flipped_logs_stop_the_walk_and_nothing_else() {
    let data = std::fs::read(LOGS[0]).unwrap();
    let (whole, _) = walk(&data);
    let mut boundaries = 0;
    for len in 0..data.len() {
        let (starts, exact) = walk(&data[..len]);
        // The records that start before the cut are walked to, in order...
        let before: Vec<usize> = whole.iter().copied().filter(|&s| s < len).collect();
        if exact {
            // ...and a walk ends exactly only on a record boundary.
            assert!(whole.contains(&len), "ended exactly at {len}");
            assert_eq!(starts, before);
            boundaries += 1;
        } else {
            // Cut inside a record: its header may still read whole, so
            // it is walked to or not, but nothing past it is.
            assert!(starts.len() <= before.len(), "cut at {len}");
            assert_eq!(starts[..], before[..starts.len()], "cut at {len}");
        }
    }
    // Every record boundary but 0 (where not even the Spec ID reads).
    assert_eq!(boundaries, whole.len() - 1);
    let mut flipped = 0;
    let mut completed = 0;
    for i in 0..data.len() {
        let mut d = data.clone();
        d[i] ^= 0xff;
        completed += usize::from(walk(&d).1);
        flipped += 1;
    }
    assert_eq!(flipped, data.len());
    // Most flips land in event data, which the sizes never read.
    assert!(completed > data.len() / 2, "{completed} of {flipped}");
    assert!(completed < data.len(), "no flip stopped the walk");
}
