//! Fuzz target for the firmware-table readers `collect` and the collector
//! share: an ACPI table's header facts and address masking, and an SMBIOS
//! entry point and structure table (the input split at its first byte).
#![no_main]

use bootaudit::snapshot::{acpi_table_facts, mask_acpi_addresses, smbios};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = acpi_table_facts(data, 0, "fuzz");
    let mut m = data.to_vec();
    let _ = mask_acpi_addresses(&mut m);
    if let Some((&n, rest)) = data.split_first() {
        let (ep, table) = rest.split_at((n as usize).min(rest.len()));
        if let Ok(ep) = smbios::entry_point(ep) {
            let _ = smbios::parse(&ep, table);
        }
    }
});
