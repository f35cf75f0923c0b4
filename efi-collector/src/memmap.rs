//! UEFI memory maps, read with the raw GetMemoryMap into buffers the
//! collector owns, so that the quiet window can take two maps and poll the
//! MapKey without allocating anything in between.

use alloc::format;
use alloc::string::ToString;
use alloc::vec;
use alloc::vec::Vec;
use bootaudit_snapshot::{
    CollectError, MapKeyWatch, MapLabel, MemoryAttributes, MemoryDescriptor, MemoryMap, Part,
    Snapshot,
};
use core::time::Duration;
use uefi::prelude::*;

/// Polls of GetMemoryMap in the quiet window, and the pause between them.
const POLLS: u32 = 50;
const POLL_PAUSE_US: u64 = 2_000;
/// Descriptors of slack in every buffer: our own allocations before a call
/// add a few.
const SLACK: usize = 32;
/// Bound on the buffer size (a map of 64k descriptors of 48 bytes).
const MAX_MAP: usize = 3 << 20;

pub(crate) struct Meta {
    pub size: usize,
    pub key: usize,
    pub desc_size: usize,
    pub version: u32,
}

/// GetMemoryMap into `buf`; Err(status, bytes needed) on failure.
pub(crate) fn raw(buf: &mut [u8]) -> Result<Meta, (Status, usize)> {
    let Some(st) = uefi::table::system_table_raw() else {
        return Err((Status::NOT_READY, 0));
    };
    let mut m = Meta {
        size: buf.len(),
        key: 0,
        desc_size: 0,
        version: 0,
    };
    // SAFETY: the system table pointer is valid while boot services run (we
    // are an application, so they do); the buffer is ours and `m.size` says
    // how large it is.
    let status = unsafe {
        let bs = (*st.as_ptr()).boot_services;
        ((*bs).get_memory_map)(
            &mut m.size,
            buf.as_mut_ptr().cast(),
            &mut m.key,
            &mut m.desc_size,
            &mut m.version,
        )
    };
    if status == Status::SUCCESS && m.desc_size >= 40 && m.size <= buf.len() {
        Ok(m)
    } else {
        Err((status, m.size))
    }
}

/// A buffer large enough for the current map plus slack.
pub(crate) fn buffer() -> Result<Vec<u8>, Status> {
    let needed = match raw(&mut []) {
        Ok(_) => 0,
        Err((Status::BUFFER_TOO_SMALL, n)) => n,
        Err((s, _)) => return Err(s),
    };
    let size = needed.saturating_add(SLACK * 64).min(MAX_MAP);
    Ok(vec![0u8; size])
}

fn decode(label: MapLabel, buf: &[u8], m: &Meta) -> MemoryMap {
    let descriptors = buf[..m.size]
        .chunks_exact(m.desc_size)
        .filter_map(MemoryDescriptor::from_bytes)
        .collect();
    MemoryMap {
        label,
        map_key: m.key as u64,
        descriptor_size: m.desc_size as u64,
        descriptor_version: m.version,
        descriptors,
    }
}

/// Appends one labelled map to the snapshot.
pub fn take(snap: &mut Snapshot, label: MapLabel, errors: &mut Vec<CollectError>) {
    // The map can grow between sizing and reading (our own allocation adds
    // to it): a bounded number of attempts.
    for _ in 0..4 {
        let mut buf = match buffer() {
            Ok(b) => b,
            Err(s) => {
                crate::failed(
                    errors,
                    Part::MemoryMap,
                    format!("GetMemoryMap size ({label})"),
                    Some(s),
                );
                return;
            }
        };
        match raw(&mut buf) {
            Ok(m) => {
                snap.memory_maps.push(decode(label.clone(), &buf, &m));
                return;
            }
            Err((Status::BUFFER_TOO_SMALL, _)) => continue,
            Err((s, _)) => {
                crate::failed(
                    errors,
                    Part::MemoryMap,
                    format!("GetMemoryMap ({label})"),
                    Some(s),
                );
                return;
            }
        }
    }
    crate::failed(
        errors,
        Part::MemoryMap,
        format!("GetMemoryMap ({label}): map kept growing"),
        None,
    );
}

/// The quiet window: two maps and `POLLS` key reads into buffers allocated
/// beforehand; nothing of ours allocates between the first and last call.
pub fn quiet_window(snap: &mut Snapshot, errors: &mut Vec<CollectError>) {
    let (mut a, mut b) = match (buffer(), buffer()) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(s), _) | (_, Err(s)) => {
            crate::failed(
                errors,
                Part::MemoryMap,
                "quiet window buffers".to_string(),
                Some(s),
            );
            return;
        }
    };
    // --- quiet window: no allocation from here ---
    let first = raw(&mut a);
    let mut prev = first.as_ref().map(|m| m.key).unwrap_or(0);
    let mut changes = 0u32;
    let mut last = Err((Status::NOT_READY, 0));
    let mut polls = 0u32;
    for _ in 0..POLLS {
        boot::stall(Duration::from_micros(POLL_PAUSE_US));
        last = raw(&mut b);
        polls += 1;
        if let Ok(m) = &last {
            if m.key != prev {
                changes += 1;
                prev = m.key;
            }
        }
    }
    // --- end of the quiet window ---
    match (first, last) {
        (Ok(ma), Ok(mb)) => {
            let ka = decode(MapLabel::Quiet1, &a, &ma);
            let kb = decode(MapLabel::Quiet2, &b, &mb);
            let removed = ka
                .descriptors
                .iter()
                .filter(|d| !kb.descriptors.contains(d))
                .copied()
                .collect();
            let added = kb
                .descriptors
                .iter()
                .filter(|d| !ka.descriptors.contains(d))
                .copied()
                .collect();
            snap.map_key_watch = Some(MapKeyWatch {
                polls,
                key_changes: changes,
                window_us: polls as u64 * POLL_PAUSE_US,
                removed,
                added,
            });
            snap.memory_maps.push(ka);
            snap.memory_maps.push(kb);
        }
        (Err((s, _)), _) | (_, Err((s, _))) => {
            crate::failed(
                errors,
                Part::MemoryMap,
                "quiet window GetMemoryMap".to_string(),
                Some(s),
            );
        }
    }
}

/// The largest Memory Attributes Table read (4096 entries of 256 bytes).
const MAX_MAT_BYTES: usize = 1 << 20;

/// The UEFI Memory Attributes Table from the configuration table, or that
/// there is none.
pub fn attributes_table(errors: &mut Vec<CollectError>) -> Option<MemoryAttributes> {
    let guid = uefi::guid!("dcfa911d-26eb-469f-a220-38b7dc461220");
    let at = uefi::system::with_config_table(|t| {
        t.iter()
            .find(|e| e.guid == guid)
            .map(|e| e.address as *const u8)
    });
    let Some(at) = at else {
        return Some(MemoryAttributes::default());
    };
    // SAFETY: the firmware published this table; its 16-byte header is
    // read first, and then no more than the entries it declares (bounded).
    let header: [u8; 16] = unsafe { core::ptr::read_unaligned(at.cast::<[u8; 16]>()) };
    let count = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
    let size = u32::from_le_bytes([header[8], header[9], header[10], header[11]]) as usize;
    let total = count.saturating_mul(size).saturating_add(16);
    if total > MAX_MAT_BYTES {
        errors.push(CollectError {
            part: Part::MemoryAttributes,
            what: format!("Memory Attributes Table claims {count} entries of {size} bytes"),
            status: None,
        });
        return None;
    }
    // SAFETY: as above, `total` bytes at most 1 MiB from the table's start.
    let bytes = unsafe { core::slice::from_raw_parts(at, total) }.to_vec();
    let t = bootaudit_snapshot::memory_attributes(&bytes);
    if t.is_none() {
        errors.push(CollectError {
            part: Part::MemoryAttributes,
            what: format!("Memory Attributes Table header does not hold (DescriptorSize {size})"),
            status: None,
        });
    }
    t
}
