//! Fuzz target for what `collector install` reads of a machine before
//! changing it: an existing Boot#### load option, parsed whole with its
//! device path walked, and a hard-drive node's GPT GUID (the first byte
//! 0), or the ESP's disk's GPT with
//! 512- or 4096-byte blocks (the first byte 1 or 2).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    match sel % 3 {
        0 => {
            let _ = bootaudit_snapshot::efivar::hard_drive_gpt_guid(rest);
            if let Ok((opt, _)) = bootaudit::deploy::loadopt::parse_strict(rest) {
                let _ = bootaudit::deploy::loadopt::optional_text(&opt);
            }
        }
        s => {
            let _ = bootaudit::esp::gpt_partitions(
                &mut std::io::Cursor::new(rest),
                rest.len() as u64,
                if s == 1 { 512 } else { 4096 },
            );
        }
    }
});
