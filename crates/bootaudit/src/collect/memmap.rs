//! Memory maps the kernel keeps from boot: /sys/firmware/memmap (the
//! firmware map the kernel was handed, E820-style: start, end inclusive,
//! type name) and /sys/firmware/efi/runtime-map (the EFI runtime regions,
//! with their EFI types, as the kernel mapped them for runtime services).
//! They go into the snapshot as the maps `firmware-memmap` and
//! `efi-runtime-map`. The firmware map's types are names, mapped to the
//! EFI type that means the same (System RAM: Conventional; ACPI Tables:
//! ACPIReclaim; ...); its ranges are in bytes, recorded in whole pages.

use super::{entries, failed, read_text, under};
use crate::snapshot::{CollectError, MapLabel, MemoryDescriptor, MemoryMap, MemoryType, Part};
use std::path::Path;

/// More entries than any real map holds.
const MAX_ENTRIES: usize = 4096;

/// The EFI memory type that means what a firmware-map type name means.
fn efi_type(name: &str) -> MemoryType {
    match name {
        "System RAM" | "Soft Reserved" => MemoryType::CONVENTIONAL,
        "ACPI Tables" => MemoryType::ACPI_RECLAIM,
        "ACPI Non-volatile Storage" => MemoryType::ACPI_NVS,
        "Unusable memory" => MemoryType::UNUSABLE,
        "Persistent Memory" | "Persistent Memory (legacy)" => MemoryType::PERSISTENT,
        _ => MemoryType::RESERVED, // Reserved, and anything unknown
    }
}

fn hex(s: &str) -> Option<u64> {
    u64::from_str_radix(s.trim().trim_start_matches("0x"), 16).ok()
}

fn firmware_map(root: &Path, errors: &mut Vec<CollectError>) -> Option<MemoryMap> {
    let dir = under(root, "/sys/firmware/memmap");
    let mut v = Vec::new();
    for e in entries(&dir, MAX_ENTRIES, Part::MemoryMap, errors)? {
        let field = |f: &str| read_text(&e.join(f));
        match (field("start"), field("end"), field("type")) {
            (Ok(s), Ok(en), Ok(ty)) => match (hex(&s), hex(&en)) {
                (Some(start), Some(end)) if end >= start => v.push(MemoryDescriptor {
                    ty: efi_type(&ty),
                    physical_start: start,
                    virtual_start: 0,
                    pages: (end - start).saturating_add(1).div_ceil(4096),
                    attributes: 0,
                }),
                _ => failed(
                    errors,
                    Part::MemoryMap,
                    format!("{}: start {s:?} end {en:?}", e.display()),
                    "malformed",
                ),
            },
            (Err(x), _, _) | (_, Err(x), _) | (_, _, Err(x)) => failed(
                errors,
                Part::MemoryMap,
                format!("{}: {x}", e.display()),
                super::reason(&x),
            ),
        }
    }
    v.sort_by_key(|d| d.physical_start);
    Some(MemoryMap {
        label: MapLabel::FirmwareMemmap,
        descriptors: v,
        ..MemoryMap::default()
    })
}

fn runtime_map(root: &Path, errors: &mut Vec<CollectError>) -> Option<MemoryMap> {
    let dir = under(root, "/sys/firmware/efi/runtime-map");
    if !dir.is_dir() {
        return None;
    }
    let mut v = Vec::new();
    for e in entries(&dir, MAX_ENTRIES, Part::MemoryMap, errors)? {
        let field = |f: &str| read_text(&e.join(f)).ok().and_then(|s| hex(&s));
        match (
            field("type"),
            field("phys_addr"),
            field("num_pages"),
            field("attribute"),
            field("virt_addr"),
        ) {
            (Some(ty), Some(p), Some(n), Some(a), va) if ty <= u32::MAX as u64 => {
                v.push(MemoryDescriptor {
                    ty: MemoryType(ty as u32),
                    physical_start: p,
                    virtual_start: va.unwrap_or(0),
                    pages: n,
                    attributes: a,
                })
            }
            _ => failed(
                errors,
                Part::MemoryMap,
                format!("{}: missing or malformed fields", e.display()),
                "malformed",
            ),
        }
    }
    v.sort_by_key(|d| d.physical_start);
    Some(MemoryMap {
        label: MapLabel::EfiRuntimeMap,
        descriptors: v,
        ..MemoryMap::default()
    })
}

/// Both maps, those the kernel shows. Linux shows them on x86 only
/// (CONFIG_FIRMWARE_MEMMAP and CONFIG_EFI_RUNTIME_MAP are x86 options):
/// elsewhere, when neither exists, the part is recorded as not applicable,
/// with the reason.
pub(super) fn collect(root: &Path, errors: &mut Vec<CollectError>) -> Vec<MemoryMap> {
    if std::env::consts::ARCH != "x86_64"
        && !under(root, "/sys/firmware/memmap").exists()
        && !under(root, "/sys/firmware/efi/runtime-map").exists()
    {
        failed(
            errors,
            Part::MemoryMap,
            format!(
                "Linux on {} shows no firmware memory map: /sys/firmware/memmap and /sys/firmware/efi/runtime-map are x86-only",
                std::env::consts::ARCH
            ),
            "not-applicable",
        );
        return Vec::new();
    }
    firmware_map(root, errors)
        .into_iter()
        .chain(runtime_map(root, errors))
        .collect()
}
