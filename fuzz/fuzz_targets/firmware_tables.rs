//! Fuzz target for the firmware-table readers `collect` and the collector
//! share: an ACPI table's header facts and address masking, a CCEL table,
//! an SMBIOS entry point and structure table, and the UEFI Memory
//! Attributes Table.
//!
//! Raw bytes almost never carry a known ACPI signature with a consistent
//! length and checksum, nor an SMBIOS anchor (31 million runs reached 159
//! coverage points), so the first byte chooses a shape and the rest fills
//! it: a table under one of the signatures whose address fields are masked,
//! with its length and checksum made consistent; an SMBIOS 3 or 2.x entry
//! point whose table length is that of the rest; or the raw bytes as before.
#![no_main]

use bootaudit::snapshot::{acpi_table_facts, ccel_table, mask_acpi_addresses, smbios};
use libfuzzer_sys::fuzz_target;

const SIGNATURES: [&[u8; 4]; 10] = [
    b"FACP", b"TPM2", b"BGRT", b"XSDT", b"RSDT", b"FACS", b"WPBT", b"SSDT", b"DSDT", b"CCEL",
];

fn acpi(sig: &[u8; 4], body: &[u8]) {
    let mut t = body.to_vec();
    if t.len() < 36 {
        t.resize(36, 0);
    }
    t[..4].copy_from_slice(sig);
    let len = t.len() as u32;
    t[4..8].copy_from_slice(&len.to_le_bytes());
    t[9] = 0;
    let sum = t.iter().fold(0u8, |a, &x| a.wrapping_add(x));
    t[9] = sum.wrapping_neg();
    let facts = acpi_table_facts(&t, 0x7fe0_0000, "fuzz");
    assert!(facts.is_some_and(|f| f.checksum_valid != Some(false)));
    let mut m = t.clone();
    let _ = mask_acpi_addresses(&mut m);
    assert_eq!(m.len(), t.len());
    // A CCEL table is read only when it holds its 56 bytes.
    assert_eq!(ccel_table(&t).is_some(), sig == b"CCEL" && t.len() >= 56);
}

fn smbios_with(ep: &[u8], table: &[u8]) {
    if let Ok(ep) = smbios::entry_point(ep) {
        let _ = smbios::parse(&ep, table);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => acpi(SIGNATURES[(mode as usize / 4) % SIGNATURES.len()], rest),
        1 => {
            let mut ep = [0u8; 24];
            ep[..5].copy_from_slice(b"_SM3_");
            ep[7] = 3;
            ep[8] = mode / 4;
            ep[12..16].copy_from_slice(&(rest.len() as u32).to_le_bytes());
            smbios_with(&ep, rest);
        }
        2 => {
            let mut ep = [0u8; 31];
            ep[..4].copy_from_slice(b"_SM_");
            ep[6] = 2;
            ep[7] = 8;
            ep[16..21].copy_from_slice(b"_DMI_");
            ep[22..24].copy_from_slice(&(rest.len().min(0xffff) as u16).to_le_bytes());
            smbios_with(&ep, rest);
        }
        _ => {
            let _ = acpi_table_facts(rest, 0, "fuzz");
            if let Some(m) = bootaudit_snapshot::memory_attributes(rest) {
                assert!(m.descriptors.len() <= bootaudit_snapshot::MAX_MAT_ENTRIES);
            }
            let mut m = rest.to_vec();
            let _ = mask_acpi_addresses(&mut m);
            if let Some((&n, rest)) = rest.split_first() {
                let (ep, table) = rest.split_at((n as usize).min(rest.len()));
                smbios_with(ep, table);
            }
        }
    }
});
