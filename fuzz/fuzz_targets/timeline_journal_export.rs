//! Fuzz target for the journal export format reader
//! (`timeline::linux::parse_export`): any bytes give entries or an error
//! at a byte offset inside the input, never a panic or an allocation
//! larger than a field's cap.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut n = 0usize;
    let r = bootaudit::timeline::linux::parse_export(&mut &data[..], "fuzz", |m, at| {
        assert!(!m.is_empty());
        assert!(at <= data.len() as u64);
        n += 1;
        Ok(())
    });
    if let Err(e) = r {
        if let Some(o) = e.offset {
            assert!(o <= data.len() as u64, "{e}");
        }
    }
});
