//! The Device Tree the firmware hands the OS through the configuration
//! table (EFI_DTB_TABLE), on Arm machines that boot with one: its address,
//! size, SHA-256 and node summary (`bootaudit_snapshot::fdt`), and its raw
//! bytes for the `snap-NNNN.dtb` sidecar. The header is read first and
//! checked; only the size it states, at most `fdt::MAX_SIZE`, is copied.

use alloc::vec::Vec;
use bootaudit_snapshot::{fdt, CollectError, DeviceTree, Part};
use sha2::{Digest, Sha256};

const DTB_TABLE: uefi::Guid = uefi::guid!("b1b621d5-f19c-41a5-830b-d9152c69aae0");
/// gEfiHobListGuid: the configuration table entry of the HOB list.
const HOB_LIST: uefi::Guid = uefi::guid!("7739f24c-93d7-11d4-9a3a-0090273fc14d");
/// gFdtHobGuid: EDK II's GUID HOB whose data is the platform Device
/// Tree's address (ArmVirtPkg, and other Arm platforms that start from a
/// Device Tree, keep it there for their drivers even when they give the OS
/// ACPI instead).
const FDT_HOB: [u8; 16] = [
    0x46, 0x84, 0x95, 0x16, 0xb7, 0x19, 0x0b, 0x48, 0xb0, 0x47, 0x74, 0x85, 0xad, 0x3f, 0x71, 0x6d,
];
/// The most HOBs walked.
const MAX_HOBS: usize = 1 << 16;

/// The platform's Device Tree: the one the configuration table hands the
/// OS, else the one the firmware's FDT HOB names. (address, its bytes,
/// where it was found); `None` when neither exists or its header does not
/// hold.
pub fn platform() -> Option<(u64, &'static [u8], &'static str)> {
    let table = |g: uefi::Guid| {
        uefi::system::with_config_table(|t| {
            t.iter().find(|e| e.guid == g).map(|e| e.address as u64)
        })
    };
    let (address, from) = match table(DTB_TABLE) {
        Some(a) => (a, "the configuration table's"),
        None => (fdt_hob(table(HOB_LIST)?)?, "the firmware's FDT HOB"),
    };
    if address == 0 || !address.is_multiple_of(8) {
        return None;
    }
    // SAFETY: as in `collect`: the header alone first, then the size it
    // states, capped.
    let head = unsafe { core::slice::from_raw_parts(address as usize as *const u8, fdt::HEADER) };
    let h = fdt::header(head).ok()?;
    // SAFETY: as above; `header` capped total_size at fdt::MAX_SIZE.
    let blob = unsafe {
        core::slice::from_raw_parts(address as usize as *const u8, h.total_size as usize)
    };
    Some((address, blob, from))
}

/// The Device Tree address in the FDT GUID HOB of the HOB list at `list`.
fn fdt_hob(list: u64) -> Option<u64> {
    if list == 0 || !list.is_multiple_of(8) {
        return None;
    }
    let mut at = list as usize;
    for _ in 0..MAX_HOBS {
        // SAFETY: the HOB list is boot-services memory the DXE core
        // published; each HOB's generic header (type, length) is read
        // before anything it states, and a length under the header's own
        // size, or not a multiple of 8, ends the walk.
        let (ty, len) = unsafe {
            (
                core::ptr::read_unaligned(at as *const u16),
                core::ptr::read_unaligned((at + 2) as *const u16) as usize,
            )
        };
        if ty == 0xffff || len < 8 || !len.is_multiple_of(8) {
            return None;
        }
        // EFI_HOB_TYPE_GUID_EXTENSION: the header, the name, the data.
        if ty == 0x0004 && len >= 8 + 16 + 8 {
            // SAFETY: inside the HOB's stated length.
            let name: [u8; 16] = unsafe { core::ptr::read_unaligned((at + 8) as *const [u8; 16]) };
            if name == FDT_HOB {
                // SAFETY: the data's first 8 bytes, inside the HOB's length.
                return Some(unsafe { core::ptr::read_unaligned((at + 24) as *const u64) });
            }
        }
        at = at.checked_add(len)?;
    }
    None
}

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
