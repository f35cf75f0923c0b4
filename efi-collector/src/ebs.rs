//! The `exit-boot-services` lab mode: ExitBootServices with the MapKey retry
//! loop an OS loader needs (GetMemoryMap, ExitBootServices; on
//! EFI_INVALID_PARAMETER the map changed in between, so read it again and
//! retry, a bounded number of times). The attempts and the final map go
//! into a non-volatile variable, then the machine resets; the next
//! collection reports the variable and deletes it.
//!
//! After the first ExitBootServices call only GetMemoryMap, ExitBootServices
//! and runtime services may be used: nothing here allocates or frees after
//! that point, and the function never returns (it resets), so no buffer is
//! ever dropped without boot services.

use alloc::format;
use alloc::string::ToString;
use alloc::vec;
use alloc::vec::Vec;
use bootaudit_snapshot::{CollectError, ExitBootServicesRecord, MemoryDescriptor, Part};
use uefi::prelude::*;
use uefi::runtime::{ResetType, VariableAttributes, VariableVendor};
use uefi::CStr16;

/// bootaudit's own vendor GUID for its variables.
const VENDOR: VariableVendor = VariableVendor(uefi::guid!("b0a7a0d1-7e57-4c0e-9d1b-5eba11ed0001"));
const NAME: &CStr16 = cstr16!("BootauditExitBootServices");
const MAGIC: &[u8; 8] = b"BAEBS001";
const MAX_ATTEMPTS: usize = 8;
/// OVMF's default maximum variable size is 33 KiB; stay well inside it.
const RECORD_MAX: usize = 24 << 10;
const HEADER: usize = 8 + 4 + 4 + 4 + 4 + 8 + 8 * MAX_ATTEMPTS;

fn status_name(s: u64) -> alloc::string::String {
    format!("{:?}", Status(s as usize))
}

/// Reads, decodes and deletes the previous lab run's record.
pub fn previous(errors: &mut Vec<CollectError>) -> Option<ExitBootServicesRecord> {
    let (v, _) = match runtime::get_variable_boxed(NAME, &VENDOR) {
        Ok(x) => x,
        Err(e) if e.status() == Status::NOT_FOUND => return None,
        Err(e) => {
            crate::failed(
                errors,
                Part::ExitBootServices,
                "read the lab record".to_string(),
                Some(e.status()),
            );
            return None;
        }
    };
    let _ = runtime::delete_variable(NAME, &VENDOR);
    let u32at = |o: usize| {
        v.get(o..o + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let u64at = |o: usize| {
        v.get(o..o + 8).map(|b| {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            u64::from_le_bytes(a)
        })
    };
    if v.len() < HEADER || &v[..8] != MAGIC {
        crate::failed(
            errors,
            Part::ExitBootServices,
            "lab record malformed".to_string(),
            None,
        );
        return None;
    }
    let attempts = u32at(8)?.min(MAX_ATTEMPTS as u32);
    let desc_size = u32at(12)? as usize;
    let stored = u32at(16)? as usize;
    let total = u32at(20)?;
    let key = u64at(24)?;
    let statuses: Vec<u64> = (0..attempts as usize)
        .filter_map(|i| u64at(32 + 8 * i))
        .collect();
    let mut descriptors = Vec::new();
    if desc_size >= 40 {
        for i in 0..stored {
            let o = HEADER + i * desc_size;
            let (Some(ty), Some(ps), Some(vs), Some(pg), Some(at)) = (
                u32at(o),
                u64at(o + 8),
                u64at(o + 16),
                u64at(o + 24),
                u64at(o + 32),
            ) else {
                break;
            };
            descriptors.push(MemoryDescriptor {
                ty: bootaudit_snapshot::MemoryType(ty),
                physical_start: ps,
                virtual_start: vs,
                pages: pg,
                attributes: at,
            });
        }
    }
    Some(ExitBootServicesRecord {
        attempts,
        succeeded: statuses.last() == Some(&0),
        statuses: statuses.iter().map(|&s| status_name(s)).collect(),
        final_map_key: key,
        descriptors_total: total,
        descriptors,
    })
}

/// Exits boot services with the retry loop, records, and resets. With
/// `disturb`, allocates between GetMemoryMap and ExitBootServices on the
/// first attempt, so that the retry path is taken.
pub fn run(disturb: bool) -> ! {
    // Everything is allocated before the first ExitBootServices call.
    let mut map = match crate::memmap::buffer() {
        Ok(mut b) => {
            b.extend_from_slice(&[0u8; 4096]);
            b
        }
        Err(_) => vec![0u8; 64 << 10],
    };
    let mut rec = vec![0u8; RECORD_MAX];
    let image = boot::image_handle();
    let bs = match uefi::table::system_table_raw() {
        // SAFETY: a valid system table while boot services run.
        Some(st) => unsafe { (*st.as_ptr()).boot_services },
        None => runtime::reset(ResetType::COLD, Status::ABORTED, None),
    };
    let mut statuses = [0u64; MAX_ATTEMPTS];
    let mut attempts = 0usize;
    let mut last: Option<crate::memmap::Meta> = None;
    for (i, status) in statuses.iter_mut().enumerate() {
        let meta = match crate::memmap::raw(&mut map) {
            Ok(m) => m,
            Err((s, _)) => {
                *status = s.0 as u64;
                attempts = i + 1;
                continue;
            }
        };
        if i == 0 && disturb {
            // Somebody allocates after GetMemoryMap: the key is now stale.
            let _ = boot::allocate_pool(uefi::boot::MemoryType::LOADER_DATA, 4096);
        }
        // SAFETY: `bs` is the boot services table; the image handle is ours.
        let st = unsafe { ((*bs).exit_boot_services)(image.as_ptr(), meta.key) };
        *status = st.0 as u64;
        attempts = i + 1;
        last = Some(meta);
        if st == Status::SUCCESS {
            break;
        }
        if st != Status::INVALID_PARAMETER {
            break;
        }
    }
    // Boot services are gone (or unusable): fill the preallocated record.
    let (key, desc_size, count) = last.as_ref().map_or((0, 0, 0), |m| {
        (m.key, m.desc_size, m.size / m.desc_size.max(1))
    });
    let room = (RECORD_MAX - HEADER).checked_div(desc_size).unwrap_or(0);
    let stored = count.min(room);
    rec[..8].copy_from_slice(MAGIC);
    rec[8..12].copy_from_slice(&(attempts as u32).to_le_bytes());
    rec[12..16].copy_from_slice(&(desc_size as u32).to_le_bytes());
    rec[16..20].copy_from_slice(&(stored as u32).to_le_bytes());
    rec[20..24].copy_from_slice(&(count as u32).to_le_bytes());
    rec[24..32].copy_from_slice(&(key as u64).to_le_bytes());
    for (i, s) in statuses.iter().enumerate() {
        rec[32 + 8 * i..40 + 8 * i].copy_from_slice(&s.to_le_bytes());
    }
    let n = stored * desc_size;
    rec[HEADER..HEADER + n].copy_from_slice(&map[..n]);
    let attrs = VariableAttributes::NON_VOLATILE
        | VariableAttributes::BOOTSERVICE_ACCESS
        | VariableAttributes::RUNTIME_ACCESS;
    let _ = runtime::set_variable(NAME, &VENDOR, attrs, &rec[..HEADER + n]);
    runtime::reset(ResetType::COLD, Status::SUCCESS, None)
}
