//! The firmware's own inventory and a copy of its flash.
//!
//! - Every EFI_FIRMWARE_VOLUME2_PROTOCOL instance: its name (the `Fv(GUID)`
//!   of its handle's device path), base (EFI_FIRMWARE_VOLUME_BLOCK2's
//!   GetPhysicalAddress) and size (the header there), and every file with
//!   GetNextFile, each executable body read with ReadSection and hashed. A
//!   driver that is stored but never dispatched (a dependency that is never
//!   met) is here and not among the loaded images.
//! - The flash the machine runs from, as ESET found LoJax: the
//!   memory-mapped I/O region of the UEFI memory map that ends at 4 GiB
//!   (where the reset vector is) is the BIOS window. Only that region is
//!   read, never a blind address. Within it, the volumes that chain
//!   downward from 4 GiB (each ending where the one above begins) are the
//!   code; the chain stops at a variable store, which changes at every
//!   boot and is recorded by the Secure Boot part instead.
//!
//! Bounded: at most [`MAX_FIRMWARE_VOLUMES`] volumes and
//! [`MAX_VOLUME_FILES`] files each, [`MAX_BODY_BYTES`] hashed in all, and
//! [`MAX_FLASH`] copied.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use bootaudit_snapshot::{
    CollectError, FirmwareFlash, FirmwareVolume, FirmwareVolumeFile, MemoryMap, Part,
    MAX_FIRMWARE_VOLUMES, MAX_FLASH, MAX_VOLUME_FILES,
};
use core::ffi::c_void;
use sha2::{Digest, Sha256};
use uefi::prelude::*;
use uefi::proto::device_path::DevicePath;
use uefi::proto::unsafe_protocol;
use uefi_raw::protocol::firmware_volume::{
    FirmwareVolume2Protocol, FirmwareVolumeBlock2Protocol, FvAttributes, FvFileAttributes,
    FvFiletype, SectionType,
};

/// EFI_FIRMWARE_VOLUME2_PROTOCOL, called through its raw function table.
#[repr(transparent)]
#[unsafe_protocol("220e73b6-6bdb-4413-8405-b974b108619a")]
struct RawFv2(FirmwareVolume2Protocol);

/// EFI_FIRMWARE_VOLUME_BLOCK2_PROTOCOL, likewise.
#[repr(transparent)]
#[unsafe_protocol("8f644fa9-e850-4db1-9ce2-0b44698e8da4")]
struct RawFvb2(FirmwareVolumeBlock2Protocol);

/// The most body bytes hashed over every volume.
const MAX_BODY_BYTES: usize = 64 << 20;
/// The largest key GetNextFile may ask for.
const MAX_KEY: usize = 256;
/// EfiMemoryMappedIO.
const MMIO: u32 = 11;
const FOUR_GIB: u64 = 1 << 32;
/// The variable-store file systems (EFI_SYSTEM_NV_DATA_FV_GUID and
/// gEdkiiWorkingBlockSignatureGuid), where the code chain stops.
const NV_STORES: [[u8; 16]; 2] = [
    [
        0x8d, 0x2b, 0xf1, 0xff, 0x96, 0x76, 0x8b, 0x4c, 0xa9, 0x85, 0x27, 0x47, 0x07, 0x5b, 0x4f,
        0x50,
    ],
    [
        0xa3, 0xb9, 0xf5, 0xce, 0x6d, 0x47, 0x7f, 0x49, 0x9f, 0xdc, 0xe9, 0x81, 0x43, 0xe0, 0x42,
        0x2c,
    ],
];

fn guid_text(g: &uefi::Guid) -> String {
    format!("{g}").to_uppercase()
}

/// `Fv(GUID)` in a device path's text.
fn fv_name(text: &str) -> Option<String> {
    let at = text.find("Fv(")? + 3;
    let end = text[at..].find(')')?;
    Some(text[at..at + end].to_uppercase())
}

/// The volume header at `base`: FvLength, when `_FVH` is there.
fn header_len(base: u64) -> Option<u64> {
    if base == 0 {
        return None;
    }
    // SAFETY: the FVB protocol gave `base` as the volume's physical
    // address; the firmware maps it, and 56 bytes is the smallest header.
    let h = unsafe { core::slice::from_raw_parts(base as *const u8, 56) };
    (&h[40..44] == b"_FVH").then(|| u64::from_le_bytes(h[32..40].try_into().unwrap_or_default()))
}

/// What reading one section gave.
enum Section {
    /// Its SHA-256.
    Hashed(String),
    /// The file has no such section (or the firmware would not read it).
    Absent,
    /// It was read, but hashing it would pass the byte cap.
    OverCap,
}

/// Reads the first section of `ty` of file `name`; its SHA-256.
fn section_sha(fv: &RawFv2, name: &uefi::Guid, ty: SectionType, budget: &mut usize) -> Section {
    let mut buf: *mut c_void = core::ptr::null_mut();
    let mut size = 0usize;
    let mut auth = 0u32;
    // SAFETY: ReadSection with a null buffer allocates one from pool and
    // returns it with its size; we free it below.
    let st = unsafe { (fv.0.read_section)(&fv.0, name, ty, 0, &mut buf, &mut size, &mut auth) };
    if st != uefi_raw::Status::SUCCESS || buf.is_null() {
        return Section::Absent;
    }
    let out = if size <= *budget {
        *budget -= size;
        // SAFETY: the firmware wrote `size` bytes at `buf`.
        let b = unsafe { core::slice::from_raw_parts(buf as *const u8, size) };
        Section::Hashed(crate::hex(&Sha256::digest(b)))
    } else {
        Section::OverCap
    };
    // SAFETY: `buf` came from the firmware's pool (ReadSection allocated it).
    let _ = unsafe { boot::free_pool(core::ptr::NonNull::new_unchecked(buf as *mut u8)) };
    out
}

fn open<P: uefi::proto::ProtocolPointer + ?Sized>(h: Handle) -> Option<boot::ScopedProtocol<P>> {
    let params = boot::OpenProtocolParams {
        handle: h,
        agent: boot::image_handle(),
        controller: None,
    };
    // SAFETY: GET_PROTOCOL does not take the protocol from its owner; we
    // only read it while the handle exists (within this module's calls).
    unsafe { boot::open_protocol::<P>(params, boot::OpenProtocolAttributes::GetProtocol).ok() }
}

/// How long body hashing may take by default (`hash-budget-ms=` in the
/// configuration sets another; 0, none), over every volume, counting the
/// hashing only. SHA-256 runs at about 10 MB/s in QEMU under TCG (OVMF's
/// DXE volume holds 5 MB of bodies), slower on a loaded host, and at
/// hundreds of MB/s on hardware: past the budget, the rest is recorded
/// unhashed and said so, never silently.
const HASH_BUDGET_US: u64 = 500_000;

/// What body hashing may still spend.
struct Budget<'a> {
    bytes: usize,
    clock: &'a crate::clock::Clock,
    spent_us: u64,
    /// The time limit in microseconds; `None`, no limit.
    limit_us: Option<u64>,
    unhashed: u32,
    /// Bodies left unhashed because the byte cap was reached.
    over_cap: u32,
}

/// One volume as enumerated: its record, and what hashing its bodies needs.
struct Listed {
    volume: FirmwareVolume,
    fv: Option<boot::ScopedProtocol<RawFv2>>,
    names: Vec<uefi::Guid>,
}

fn volume(h: Handle) -> Listed {
    let device_path = open::<DevicePath>(h)
        .map(|dp| crate::images::text(&dp))
        .unwrap_or_default();
    let mut v = FirmwareVolume {
        name: fv_name(&device_path),
        device_path,
        ..FirmwareVolume::default()
    };
    if let Some(fvb) = open::<RawFvb2>(h) {
        let mut addr = 0u64;
        // SAFETY: GetPhysicalAddress writes one address.
        if unsafe { (fvb.0.get_physical_address)(&fvb.0, &mut addr) } == uefi_raw::Status::SUCCESS {
            v.base = Some(addr);
            v.size = header_len(addr);
        }
    }
    let mut names = Vec::new();
    let Some(fv) = open::<RawFv2>(h) else {
        return Listed {
            volume: v,
            fv: None,
            names,
        };
    };
    let mut attrs = FvAttributes::empty();
    // SAFETY: GetVolumeAttributes writes one attribute word.
    if unsafe { (fv.0.get_volume_attributes)(&fv.0, &mut attrs) } == uefi_raw::Status::SUCCESS {
        v.attributes = attrs.bits();
    }
    let key_size = (fv.0.key_size as usize).min(MAX_KEY);
    if key_size < fv.0.key_size as usize {
        return Listed {
            volume: v,
            fv: None,
            names,
        };
    }
    let mut key = [0u8; MAX_KEY];
    for _ in 0..MAX_VOLUME_FILES + 1 {
        let mut ty = FvFiletype::ALL;
        let mut name = uefi::Guid::ZERO;
        let mut fattr = FvFileAttributes::empty();
        let mut size = 0usize;
        // SAFETY: the key buffer holds KeySize bytes, zeroed to start the
        // search; the out parameters are plain values.
        let st = unsafe {
            (fv.0.get_next_file)(
                &fv.0,
                key.as_mut_ptr().cast(),
                &mut ty,
                &mut name,
                &mut fattr,
                &mut size,
            )
        };
        if st != uefi_raw::Status::SUCCESS {
            break;
        }
        if v.files.len() >= MAX_VOLUME_FILES {
            v.files_dropped = v.files_dropped.saturating_add(1);
            continue;
        }
        v.files.push(FirmwareVolumeFile {
            guid: guid_text(&name),
            file_type: ty.0,
            size: size as u64,
            ..FirmwareVolumeFile::default()
        });
        names.push(name);
    }
    Listed {
        volume: v,
        fv: Some(fv),
        names,
    }
}

/// Which bodies are hashed first, over every volume: DXE-phase drivers
/// before PEI modules before applications (an implant is a DXE driver),
/// those never dispatched before those loaded (what the loaded-image list
/// cannot show), the smallest first (as many as the budget allows).
fn priority(f: &FirmwareVolumeFile, loaded: &[String]) -> (u8, bool, u64) {
    let tier = match f.file_type {
        0x09 => 2,
        0x03 | 0x04 | 0x06 => 1,
        _ => 0,
    };
    (tier, loaded.iter().any(|g| g.contains(&f.guid)), f.size)
}

/// Hashes file `i` of `l` if the budget allows.
fn hash_body(l: &mut Listed, i: usize, budget: &mut Budget) {
    let Some(fv) = &l.fv else { return };
    if budget.limit_us.is_some_and(|l| budget.spent_us > l) {
        budget.unhashed += 1;
        return;
    }
    let start = budget.clock.elapsed_us();
    let mut over_cap = false;
    for (sec, label) in [(SectionType::PE32, "pe32"), (SectionType::TE, "te")] {
        match section_sha(fv, &l.names[i], sec, &mut budget.bytes) {
            Section::Hashed(h) => {
                l.volume.files[i].body = Some(label.to_string());
                l.volume.files[i].body_sha256 = Some(h);
                over_cap = false;
                break;
            }
            Section::OverCap => over_cap = true,
            Section::Absent => {}
        }
    }
    if over_cap {
        budget.over_cap += 1;
    }
    budget.spent_us = budget
        .spent_us
        .saturating_add(budget.clock.elapsed_us().saturating_sub(start));
}

/// Every firmware volume the firmware exposes; `loaded` are the loaded
/// images' device paths (their bodies are hashed last); `budget_ms` the
/// configured hashing time (`None`: the default, 0: no time limit).
pub fn volumes(
    errors: &mut Vec<CollectError>,
    clock: &crate::clock::Clock,
    loaded: &[String],
    budget_ms: Option<u64>,
) -> Option<Vec<FirmwareVolume>> {
    let limit_us = match budget_ms {
        None => Some(HASH_BUDGET_US),
        Some(0) => None,
        Some(ms) => Some(ms.saturating_mul(1000)),
    };
    let handles = match boot::find_handles::<RawFv2>() {
        Ok(h) => h,
        Err(e) => {
            crate::failed(
                errors,
                Part::FirmwareVolumes,
                "LocateHandle(FirmwareVolume2)".to_string(),
                Some(e.status()),
            );
            return None;
        }
    };
    let mut listed: Vec<Listed> = handles
        .into_iter()
        .take(MAX_FIRMWARE_VOLUMES)
        .map(volume)
        .collect();
    let mut order: Vec<(usize, usize)> = Vec::new();
    for (vi, l) in listed.iter().enumerate() {
        for (fi, f) in l.volume.files.iter().enumerate() {
            if bootaudit_snapshot::is_executable_file_type(f.file_type) {
                order.push((vi, fi));
            }
        }
    }
    order.sort_by_key(|&(vi, fi)| priority(&listed[vi].volume.files[fi], loaded));
    let mut budget = Budget {
        bytes: MAX_BODY_BYTES,
        clock,
        spent_us: 0,
        limit_us,
        unhashed: 0,
        over_cap: 0,
    };
    for (vi, fi) in order {
        hash_body(&mut listed[vi], fi, &mut budget);
    }
    if budget.unhashed > 0 {
        crate::failed(
            errors,
            Part::FirmwareVolumes,
            format!(
                "{} executable files' bodies were not hashed: the {} ms hashing budget was spent (applications, then PEI modules, then the largest loaded drivers, are the ones left)",
                budget.unhashed,
                limit_us.unwrap_or(0) / 1000
            ),
            None,
        );
    }
    if budget.over_cap > 0 {
        crate::failed(
            errors,
            Part::FirmwareVolumes,
            format!(
                "{} executable files' bodies were not hashed: the {} MiB cap on hashed bytes was reached",
                budget.over_cap,
                MAX_BODY_BYTES >> 20
            ),
            None,
        );
    }
    Some(listed.into_iter().map(|l| l.volume).collect())
}

/// EFI_GCD_MEMORY_SPACE_DESCRIPTOR (PI, vol. 2).
#[repr(C)]
#[derive(Default)]
struct GcdDescriptor {
    base: u64,
    length: u64,
    capabilities: u64,
    attributes: u64,
    gcd_type: u32,
    image: usize,
    device: usize,
}

/// EfiGcdMemoryTypeMemoryMappedIo.
const GCD_MMIO: u32 = 3;

/// The largest flash window taken from the GCD map (a BIOS region is at
/// most 32 MiB; a larger MMIO range holds other devices).
const MAX_GCD_WINDOW: u64 = 32 << 20;

/// The GCD memory-space descriptor at 4 GiB - 4 KiB, through the DXE
/// services table (GetMemorySpaceDescriptor, its fifth service): where a
/// firmware whose variables live in SMM keeps its flash, which its UEFI
/// memory map then leaves out.
fn gcd_window() -> Option<(u64, u64)> {
    let dxe = uefi::system::with_config_table(|t| {
        t.iter()
            .find(|e| e.guid == uefi::table::cfg::ConfigTableEntry::DXE_SERVICES_GUID)
            .map(|e| e.address as usize)
    })?;
    if dxe == 0 {
        return None;
    }
    type GetDescriptor = unsafe extern "efiapi" fn(u64, *mut GcdDescriptor) -> uefi_raw::Status;
    // SAFETY: the DXE services table starts with EFI_TABLE_HEADER (24
    // bytes) and then its services, GetMemorySpaceDescriptor the fifth; its
    // signature is checked first.
    let get: GetDescriptor = unsafe {
        let sig = core::ptr::read_unaligned(dxe as *const u64);
        if sig != 0x5652_4553_5f45_5844 {
            // "DXE_SERV"
            return None;
        }
        core::ptr::read_unaligned((dxe + 24 + 4 * 8) as *const GetDescriptor)
    };
    let mut d = GcdDescriptor::default();
    // SAFETY: the service fills one descriptor.
    let st = unsafe { get(FOUR_GIB - 4096, &mut d) };
    let end = d.base.checked_add(d.length)?;
    (st == uefi_raw::Status::SUCCESS
        && d.gcd_type == GCD_MMIO
        && end == FOUR_GIB
        && d.length <= MAX_GCD_WINDOW)
        .then_some((d.base, d.length))
}

/// The MMIO region that ends at 4 GiB: the UEFI memory map's, else the GCD
/// map's, else the one the configuration names (`flash-window=`); (base,
/// size, where it came from).
fn window(maps: &[MemoryMap], named: Option<u64>) -> Option<(u64, u64, &'static str)> {
    memory_map_window(maps)
        .map(|(b, s)| (b, s, "the memory map's"))
        .or_else(|| gcd_window().map(|(b, s)| (b, s, "the GCD map's")))
        .or_else(|| named.map(|n| (FOUR_GIB - n, n, "the configured (flash-window=)")))
}

fn memory_map_window(maps: &[MemoryMap]) -> Option<(u64, u64)> {
    let m = maps.first()?;
    m.descriptors.iter().find_map(|d| {
        let end = d.physical_start.checked_add(d.pages.checked_mul(4096)?)?;
        (d.ty.0 == MMIO && end == FOUR_GIB && d.pages * 4096 <= MAX_FLASH)
            .then_some((d.physical_start, d.pages * 4096))
    })
}

/// Reads `len` bytes of the flash window at `addr`.
fn flash_bytes(addr: u64, len: usize) -> &'static [u8] {
    // SAFETY: callers stay inside the memory map's MMIO region that ends at
    // 4 GiB, which the firmware maps (identity) for its own runtime use.
    unsafe { core::slice::from_raw_parts(addr as *const u8, len) }
}

/// Where an architecture's code flash is found.
#[allow(dead_code)] // each target uses one
pub enum FlashFrom {
    /// x86: the memory-mapped I/O window that ends at 4 GiB.
    BelowFourGiB,
    /// Arm: the `cfi-flash` bank of the platform's Device Tree that holds
    /// the firmware volumes the firmware runs from.
    DeviceTree,
}

/// The copy of the code flash, and its record (the file name is set when
/// the sidecar is written).
pub fn flash(
    maps: &[MemoryMap],
    named: Option<u64>,
    volumes: &[FirmwareVolume],
    errors: &mut Vec<CollectError>,
) -> Option<(FirmwareFlash, Vec<u8>)> {
    match crate::arch::FLASH {
        FlashFrom::BelowFourGiB => flash_below_4g(maps, named, errors),
        FlashFrom::DeviceTree => flash_from_device_tree(volumes, errors),
    }
}

/// The Device Tree's `cfi-flash` bank that holds the firmware volumes the
/// firmware reports in memory-mapped I/O (`MemoryMapped(0xB,…)`), and in
/// it the contiguous run of those volumes from the lowest: what the
/// firmware maps and runs from. The rest of the bank (on `virt`, the 4 KiB
/// of reset code before the first volume, and the padding after the last)
/// is not mapped by the firmware, so it is not read, and the record says
/// so.
fn flash_from_device_tree(
    volumes: &[FirmwareVolume],
    errors: &mut Vec<CollectError>,
) -> Option<(FirmwareFlash, Vec<u8>)> {
    let fail = |errors: &mut Vec<CollectError>, what: String| {
        crate::failed(errors, Part::FirmwareFlash, what, None);
        None
    };
    let Some((address, blob, from)) = crate::devicetree::platform() else {
        return fail(
            errors,
            "no Device Tree (neither the configuration table's nor an FDT HOB) names the code flash: not read (the firmware volumes are inventoried and hashed)".into(),
        );
    };
    let banks = match bootaudit_snapshot::fdt::compatible_regs(blob, "cfi-flash") {
        Ok(b) => b,
        Err(e) => return fail(errors, format!("{from} Device Tree at {address:#x}: {e}")),
    };
    let mut in_mmio: Vec<(u64, u64)> = volumes
        .iter()
        .filter(|v| v.device_path.starts_with("MemoryMapped(0xB,"))
        .filter_map(|v| Some((v.base?, v.size?)))
        .collect();
    in_mmio.sort_unstable();
    let inside = |&(b, s): &(u64, u64), (fb, fs): (u64, u64)| {
        fb >= b
            && fb
                .checked_add(fs)
                .is_some_and(|e| b.checked_add(s).is_some_and(|be| e <= be))
    };
    let Some(&bank) = banks
        .iter()
        .find(|bank| in_mmio.iter().any(|&fv| inside(bank, fv)))
    else {
        return fail(
            errors,
            format!(
                "none of the {} cfi-flash banks of {from} Device Tree holds a firmware volume the firmware reports in memory-mapped I/O: not read",
                banks.len()
            ),
        );
    };
    // The run of volumes, each starting where the one before ends.
    let mut run = in_mmio.iter().filter(|&&fv| inside(&bank, fv));
    let &(start, first) = run.next()?;
    let (mut end, mut count) = (start + first, 1);
    for &(b, s) in run {
        if b != end {
            break;
        }
        end = b + s;
        count += 1;
    }
    let len = end - start;
    if len > MAX_FLASH || len % 8 != 0 || start % 8 != 0 {
        return fail(
            errors,
            format!("the firmware volumes at {start:#x}+{len:#x}: over {MAX_FLASH} bytes or unaligned: not read"),
        );
    }
    let mut copy = Vec::new();
    if copy.try_reserve_exact(len as usize).is_err() {
        return fail(
            errors,
            format!("{len} bytes for the flash copy: out of memory"),
        );
    }
    for o in (start..end).step_by(8) {
        // SAFETY: inside volumes the firmware maps and runs from; aligned
        // 8-byte reads, as device memory requires; through the
        // architecture's load instruction, since a bank may start at 0.
        copy.extend_from_slice(&unsafe { crate::arch::read_u64(o as usize) }.to_le_bytes());
    }
    let rec = FirmwareFlash {
        base: start,
        size: len,
        sha256: crate::hex(&Sha256::digest(&copy)),
        file: None,
        how: format!(
            "{count} firmware volume{} the firmware runs from, at {start:#x}+{len:#x} in the cfi-flash bank {:#x}+{:#x} that {from} Device Tree names; the bank's other bytes are not mapped by the firmware and not read",
            if count == 1 { "" } else { "s" },
            bank.0,
            bank.1
        ),
    };
    Some((rec, copy))
}

/// x86: the code volumes chained down from 4 GiB inside the window.
fn flash_below_4g(
    maps: &[MemoryMap],
    named: Option<u64>,
    errors: &mut Vec<CollectError>,
) -> Option<(FirmwareFlash, Vec<u8>)> {
    let Some((lo, size, from)) = window(maps, named) else {
        crate::failed(
            errors,
            Part::FirmwareFlash,
            "no memory-mapped I/O region of the memory map or the GCD map ends at 4 GiB, and no flash-window= is configured: the flash is not read"
                .to_string(),
            None,
        );
        return None;
    };
    // Walk down from 4 GiB: each volume ends where the one above begins.
    let mut base = FOUR_GIB;
    let mut volumes = 0;
    'chain: while base > lo {
        let mut start = base - 4096;
        while start >= lo {
            let h = flash_bytes(start, 56);
            if &h[40..44] == b"_FVH" {
                let len = u64::from_le_bytes(h[32..40].try_into().unwrap_or_default());
                let fs: [u8; 16] = h[16..32].try_into().unwrap_or_default();
                if start.checked_add(len) == Some(base) {
                    if NV_STORES.contains(&fs) {
                        break 'chain;
                    }
                    base = start;
                    volumes += 1;
                    continue 'chain;
                }
            }
            if start < lo + 4096 {
                break;
            }
            start -= 4096;
        }
        break;
    }
    if volumes == 0 {
        crate::failed(
            errors,
            Part::FirmwareFlash,
            format!("no firmware volume ends at 4 GiB in the window {lo:#x}+{size:#x}"),
            None,
        );
        return None;
    }
    let copy = flash_bytes(base, (FOUR_GIB - base) as usize).to_vec();
    let rec = FirmwareFlash {
        base,
        size: copy.len() as u64,
        sha256: crate::hex(&Sha256::digest(&copy)),
        file: None,
        how: format!(
            "{volumes} firmware volumes chained down from 4 GiB, inside {from} MMIO window {lo:#x}+{size:#x}"
        ),
    };
    Some((rec, copy))
}
