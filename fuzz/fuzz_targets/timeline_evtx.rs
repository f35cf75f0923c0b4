//! Fuzz target for `timeline`'s Windows event log reader
//! (`timeline::windows::read_from`): the evtx crate under our wrapper. Any
//! bytes give events or an error naming the file, never a panic; every
//! damage note names where.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((input, events)) =
        bootaudit::timeline::windows::read_from(std::io::Cursor::new(data.to_vec()), "fuzz.evtx")
    {
        assert_eq!(input.events, events.len());
        assert!(input.records >= events.len() as u64);
        for d in &input.damage {
            assert!(d.contains("chunk") || d.contains("record"), "{d}");
        }
    }
});
