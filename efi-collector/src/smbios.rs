//! SMBIOS from the configuration table: the SMBIOS 3 (64-bit) entry point,
//! else the SMBIOS 2 one; the BIOS (type 0) and system (type 1) facts, and
//! the SHA-256 of the whole structure table. The parsing is the snapshot
//! crate's (`bootaudit_snapshot::smbios`), shared with the host.

use alloc::format;
use alloc::string::ToString;
use alloc::vec::Vec;
use bootaudit_snapshot::smbios;
use bootaudit_snapshot::{CollectError, Part, Smbios};
use sha2::{Digest, Sha256};
use uefi::prelude::*;

const SMBIOS3: uefi::Guid = uefi::guid!("f2fd1544-9794-4a2c-992e-e5bbcf20e394");
const SMBIOS2: uefi::Guid = uefi::guid!("eb9d2d31-2d88-11d3-9a16-0090273fc14d");
const MAX_TABLE: usize = 1 << 20;

/// SAFETY: `addr` was published by the firmware as an SMBIOS structure.
unsafe fn phys(addr: u64, n: usize) -> &'static [u8] {
    core::slice::from_raw_parts(addr as usize as *const u8, n)
}

/// Collects the SMBIOS facts.
pub fn collect(errors: &mut Vec<CollectError>) -> Option<Smbios> {
    let (g3, g2) = system::with_config_table(|t| {
        (
            t.iter()
                .find(|e| e.guid == SMBIOS3)
                .map(|e| e.address as u64),
            t.iter()
                .find(|e| e.guid == SMBIOS2)
                .map(|e| e.address as u64),
        )
    });
    // SAFETY: the firmware publishes the entry point at these addresses;
    // 24 and 31 bytes are the SMBIOS 3 and 2 entry points' sizes.
    let ep = if let Some(a) = g3.filter(|a| *a != 0) {
        // SAFETY: the firmware publishes the SMBIOS 3 entry point (24 bytes) at this address.
        smbios::entry_point(unsafe { phys(a, 24) })
    } else if let Some(a) = g2.filter(|a| *a != 0) {
        // SAFETY: the firmware publishes the SMBIOS 2 entry point (31 bytes) at this address.
        smbios::entry_point(unsafe { phys(a, 31) })
    } else {
        Err("no SMBIOS entry point in the configuration table".to_string())
    };
    let ep = match ep {
        Ok(ep) => ep,
        Err(e) => {
            crate::failed(errors, Part::Smbios, e, None);
            return None;
        }
    };
    if ep.table_address == 0 || ep.table_length == 0 || ep.table_length > MAX_TABLE {
        crate::failed(
            errors,
            Part::Smbios,
            format!(
                "implausible table {:#x} length {}",
                ep.table_address, ep.table_length
            ),
            None,
        );
        return None;
    }
    // SAFETY: the entry point describes this table.
    let table = unsafe { phys(ep.table_address, ep.table_length) };
    let mut s = smbios::parse(&ep, table);
    s.sha256 = crate::hex(&Sha256::digest(&table[..s.table_length as usize]));
    Some(s)
}
