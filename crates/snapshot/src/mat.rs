//! The UEFI Memory Attributes Table (UEFI 2.10, §4.6.4), read from its
//! bytes into the snapshot's [`MemoryAttributes`].

use crate::{MemoryAttributes, MemoryDescriptor, MAX_MAT_ENTRIES};

/// Reads a Memory Attributes Table from its bytes (the 16-byte header,
/// then NumberOfEntries descriptors of DescriptorSize bytes each; `bytes`
/// may be longer). None when the header does not hold (a descriptor size
/// under 40 or over 4096, or entries past the bytes given).
pub fn memory_attributes(bytes: &[u8]) -> Option<MemoryAttributes> {
    let u32at = |o: usize| -> Option<u32> {
        Some(u32::from_le_bytes(bytes.get(o..o + 4)?.try_into().ok()?))
    };
    let (version, count, size, flags) = (
        u32at(0)?,
        u32at(4)? as usize,
        u32at(8)? as usize,
        u32at(12)?,
    );
    if !(40..=4096).contains(&size) {
        return None;
    }
    let body = bytes.get(16..16usize.checked_add(count.checked_mul(size)?)?)?;
    let descriptors = body
        .chunks_exact(size)
        .take(MAX_MAT_ENTRIES)
        .filter_map(MemoryDescriptor::from_bytes)
        .collect();
    Some(MemoryAttributes {
        present: true,
        version,
        flags,
        descriptor_size: size as u32,
        descriptors,
        descriptors_dropped: count.saturating_sub(MAX_MAT_ENTRIES) as u32,
    })
}
