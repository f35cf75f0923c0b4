//! Fuzz target for the firmware-image reader (`bootaudit firmware`): any
//! bytes give an inventory (with problems) or an error, never a panic, and
//! the inventory serializes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(inv) = bootaudit::firmware::read(data) {
        let _ = serde_json::to_vec(&inv);
    }
});
