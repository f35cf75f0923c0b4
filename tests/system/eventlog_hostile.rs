//! Hostile reads of the shared real logs: short reads until EOF, and every
//! truncation an error at or before the cut (the crafted hostile logs are
//! tests/hermetic/eventlog_hostile.rs).

use crate::common;

use bootaudit::eventlog::{self, parse};
use std::io::Read;

/// A reader that returns at most a few bytes per call and is sometimes
/// interrupted, like securityfs under load.
struct Dribble<'a> {
    data: &'a [u8],
    n: usize,
}

impl Read for Dribble<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.n += 1;
        if self.n % 5 == 0 {
            return Err(std::io::ErrorKind::Interrupted.into());
        }
        let k = (self.n % 7 + 1).min(buf.len()).min(self.data.len());
        buf[..k].copy_from_slice(&self.data[..k]);
        self.data = &self.data[k..];
        Ok(k)
    }
}

#[test]
fn short_reads_are_read_until_eof() {
    // tpm2-tools #1975: short reads of the securityfs file.
    let f = common::log("tpm2-tools/event-bootorder.bin");
    let whole = std::fs::read(&f).unwrap();
    let got = eventlog::read_all(Dribble { data: &whole, n: 0 }, "dribble").unwrap();
    assert_eq!(got, whole);
    assert_eq!(parse(&got).unwrap().events.len(), 103);
}

#[test]
fn every_truncation_of_a_real_log_is_an_error_at_or_before_the_cut() {
    let whole = std::fs::read(common::log("go-attestation/crypto_agile_eventlog")).unwrap();
    let full = parse(&whole).unwrap();
    for cut in 1..whole.len() {
        match parse(&whole[..cut]) {
            // A cut parses only at an event boundary, or where the bytes
            // after the last whole event are zeros (counted as padding).
            Ok(l) => {
                let k = l.events.len();
                assert_eq!(l.events[..], full.events[..k], "cut {cut}");
                let end = full.events.get(k).map_or(whole.len(), |e| e.offset);
                assert_eq!(cut - l.trailing_zero_bytes, end, "cut {cut}");
                assert!(whole[cut - l.trailing_zero_bytes..cut]
                    .iter()
                    .all(|&b| b == 0));
            }
            Err(e) => {
                assert!(e.offset <= cut, "cut {cut}: offset {}", e.offset);
                assert!(e.to_string().contains("byte offset"), "{e}");
            }
        }
    }
}
