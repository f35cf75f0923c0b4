//! The Device Tree the firmware hands the OS through the configuration
//! table (EFI_DTB_TABLE), on Arm machines that boot with one: its address,
//! size, SHA-256 and node summary (`bootaudit_snapshot::fdt`), and its raw
//! bytes for the `snap-NNNN.dtb` sidecar. The header is read first and
//! checked; only the size it states, at most `fdt::MAX_SIZE`, is copied.

use alloc::vec::Vec;
use bootaudit_snapshot::{fdt, CollectError, DeviceTree, Part};
use sha2::{Digest, Sha256};

const DTB_TABLE: uefi::Guid = uefi::guid!("b1b621d5-f19c-41a5-830b-d9152c69aae0");

/// The tree and its bytes; `None` when the configuration table holds none
/// (ACPI machines, x86) or it cannot be read (then recorded in `errors`).
pub fn collect(errors: &mut Vec<CollectError>) -> Option<(DeviceTree, Vec<u8>)> {
    let address = uefi::system::with_config_table(|t| {
        t.iter()
            .find(|e| e.guid == DTB_TABLE)
            .map(|e| e.address as u64)
    })?;
    let fail = |errors: &mut Vec<CollectError>, what: alloc::string::String| {
        crate::failed(errors, Part::DeviceTree, what, None);
        None
    };
    if address == 0 || address % 8 != 0 {
        return fail(
            errors,
            alloc::format!("the EFI_DTB_TABLE entry points at {address:#x}"),
        );
    }
    // SAFETY: the firmware published this address as a Device Tree; UEFI
    // maps memory one to one. The header is read alone first, and only
    // the size it states (capped) after it is checked.
    let head = unsafe { core::slice::from_raw_parts(address as usize as *const u8, fdt::HEADER) };
    let h = match fdt::header(head) {
        Ok(h) => h,
        Err(e) => return fail(errors, alloc::format!("at {address:#x}: {e}")),
    };
    // SAFETY: as above; `header` capped total_size at fdt::MAX_SIZE.
    let blob = unsafe {
        core::slice::from_raw_parts(address as usize as *const u8, h.total_size as usize)
    }
    .to_vec();
    let nodes = match fdt::summary(&blob, |b| crate::hex(&Sha256::digest(b))) {
        Ok(n) => n,
        Err(e) => return fail(errors, alloc::format!("at {address:#x}: {e}")),
    };
    let tree = DeviceTree {
        address,
        size: h.total_size,
        sha256: crate::hex(&Sha256::digest(&blob)),
        nodes,
        file: None,
    };
    Some((tree, blob))
}
