//! Fuzz target for the PE reader and Authenticode hash (`bootaudit esp`,
//! `collect --esp`): any bytes give facts or an error, never a panic that
//! escapes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = bootaudit::pe::inspect(data);
});
