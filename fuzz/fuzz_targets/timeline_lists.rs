//! Fuzz target for `timeline`'s list and database readers: LOLDrivers'
//! drivers.csv and fwupd's history database (SQLite under our checks).
//! Any bytes give a list, rows or an error naming the file, never a panic
//! or an endless query.
#![no_main]

use bootaudit::timeline::{fwupd, lists};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(l) = lists::parse_loldrivers(data, "fuzz.csv") {
        assert!(!l.entries.is_empty());
    }
    if let Ok((input, events)) = fwupd::parse(data, "fuzz.db") {
        assert_eq!(input.events, events.len());
    }
});
