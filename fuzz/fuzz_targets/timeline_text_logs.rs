//! Fuzz target for `timeline`'s text readers: journal JSON lines, auditd's
//! log, the kernel's log (kern.log, dmesg) and an EDK II DEBUG boot log. Any bytes give events (or an error
//! naming the file), never a panic; lines are held at most to their cap.
#![no_main]

use bootaudit::timeline::{firmware_log, linux};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((input, events)) = linux::read_journal_json_from(data, "fuzz.json") {
        assert_eq!(input.events, events.len());
    }
    if let Ok((input, events)) = linux::read_audit_from(data, "fuzz.log") {
        assert_eq!(input.events, events.len());
        assert!(input.records > 0);
    }
    if let Ok((input, events)) = linux::read_kernel_log_from(data, "fuzz.kern", Some(2026)) {
        assert_eq!(input.events, events.len());
    }
    let log = firmware_log::parse(data);
    assert!(log.drivers.len() <= data.len());
});
