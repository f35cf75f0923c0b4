//! Fuzz target for the ESP image reader: partition tables (MBR, GPT) and the
//! FAT file system behind them, read through the read-only overlay.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = bootaudit::esp::read_image(
        std::io::Cursor::new(data),
        data.len() as u64,
        "bootaudit",
        "fuzz",
    );
});
