//! FOR TESTS ONLY. A harmless UEFI boot-service driver that bootaudit's
//! diff scenarios load as a PCI option ROM (QEMU `romfile=`), to prove that
//! every trace a firmware implant of this kind leaves is reported. It does
//! what such implants do, and nothing more:
//!
//! - it is an option-ROM driver, so the firmware measures it into PCR2 and
//!   lists it among the loaded images;
//! - it allocates a RuntimeServicesData region (where runtime implants keep
//!   code that survives into the OS), filled with a marker text. It takes
//!   [`RUNTIME_PAGES`] pages, more than EDK II's pre-reserved runtime bin
//!   holds: an allocation that fits in the bin lands inside a region the
//!   map already has and leaves no new region (the README says so);
//! - it installs an ACPI WPBT through EFI_ACPI_TABLE_PROTOCOL, as real
//!   implants do to have Windows run a binary; this one's handoff points at
//!   the marker text, which is no executable;
//! - it allocates and frees a page from a periodic timer event, so that the
//!   memory map's MapKey moves while the collector watches it. The timer
//!   stops at ExitBootServices.
//!
//! It never touches a disk, a variable or the network.

#![no_std]
#![no_main]
// Every unsafe block says why it is sound.
#![deny(clippy::undocumented_unsafe_blocks)]

use core::ffi::c_void;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use uefi::boot::{self, AllocateType, EventType, MemoryType, TimerTrigger, Tpl};
use uefi::{Event, Status};
use uefi_raw::protocol::acpi::AcpiTableProtocol;

/// The text in the runtime region and the WPBT's handoff.
const MARKER: &[u8] = b"bootaudit test implant: harmless, for tests only\0";

/// Size of the runtime region: over OVMF's RuntimeServicesData bin of 256
/// pages (its MemoryTypeInformation), so the firmware places it outside.
const RUNTIME_PAGES: usize = 260;

/// The page the timer allocated last (0: none held).
static HELD: AtomicU64 = AtomicU64::new(0);
/// Set at ExitBootServices: the timer does nothing after it.
static STOPPED: AtomicBool = AtomicBool::new(false);

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    // A driver that panics must not hang the boot: leave through Exit().
    if uefi::table::system_table_raw().is_some() {
        // SAFETY: we are an image started by the firmware.
        unsafe {
            boot::exit(
                boot::image_handle(),
                Status::ABORTED,
                0,
                core::ptr::null_mut(),
            )
        }
    }
    loop {
        core::hint::spin_loop();
    }
}

#[uefi::entry]
fn main() -> Status {
    let region = runtime_region();
    let _ = install_wpbt(region);
    start_timer();
    Status::SUCCESS
}

/// RuntimeServicesData with the marker text at its start.
fn runtime_region() -> u64 {
    match boot::allocate_pages(
        AllocateType::AnyPages,
        MemoryType::RUNTIME_SERVICES_DATA,
        RUNTIME_PAGES,
    ) {
        Ok(p) => {
            // SAFETY: the fresh pages are ours; the marker is shorter.
            unsafe {
                core::ptr::write_bytes(p.as_ptr(), 0, RUNTIME_PAGES * 4096);
                core::ptr::copy_nonoverlapping(MARKER.as_ptr(), p.as_ptr(), MARKER.len());
            }
            p.as_ptr() as u64
        }
        Err(_) => 0,
    }
}

/// A WPBT (ACPI table, 52 bytes + an empty command line) whose handoff
/// memory is the marker text. The checksum makes all bytes sum to 0.
fn wpbt(handoff: u64) -> [u8; 54] {
    let mut t = [0u8; 54];
    t[0..4].copy_from_slice(b"WPBT");
    t[4..8].copy_from_slice(&54u32.to_le_bytes());
    t[8] = 1; // revision
    t[10..16].copy_from_slice(b"BATEST");
    t[16..24].copy_from_slice(b"IMPLANT ");
    t[24..28].copy_from_slice(&1u32.to_le_bytes());
    t[28..32].copy_from_slice(b"BATI");
    t[32..36].copy_from_slice(&1u32.to_le_bytes());
    t[36..40].copy_from_slice(&(MARKER.len() as u32).to_le_bytes());
    t[40..48].copy_from_slice(&handoff.to_le_bytes());
    t[48] = 1; // content layout: a PE image (it is not one)
    t[49] = 1; // content type: native user-mode application
    t[50..52].copy_from_slice(&0u16.to_le_bytes()); // no command line
    let sum = t.iter().fold(0u8, |a, b| a.wrapping_add(*b));
    t[9] = 0u8.wrapping_sub(sum);
    t
}

fn install_wpbt(handoff: u64) -> Status {
    let Some(st) = uefi::table::system_table_raw() else {
        return Status::NOT_READY;
    };
    // SAFETY: the system table and its boot services are valid while boot
    // services run; LocateProtocol writes one interface pointer.
    unsafe {
        let bs = &*(*st.as_ptr()).boot_services;
        let mut iface: *mut c_void = core::ptr::null_mut();
        let s = (bs.locate_protocol)(&AcpiTableProtocol::GUID, core::ptr::null_mut(), &mut iface);
        if s.is_error() || iface.is_null() {
            return s;
        }
        let p = iface as *const AcpiTableProtocol;
        let table = wpbt(handoff);
        let mut key = 0usize;
        // The protocol copies the table.
        ((*p).install_acpi_table)(p, table.as_ptr().cast(), table.len(), &mut key)
    }
}

/// Every 10 ms: allocate a page, or free the one held.
unsafe extern "efiapi" fn tick(_: Event, _: Option<NonNull<c_void>>) {
    if STOPPED.load(Ordering::Relaxed) {
        return;
    }
    let held = HELD.swap(0, Ordering::Relaxed);
    if let Some(p) = NonNull::new(held as *mut u8) {
        // SAFETY: the page was allocated below and nothing refers to it.
        let _ = unsafe { boot::free_pages(p, 1) };
    } else if let Ok(p) =
        boot::allocate_pages(AllocateType::AnyPages, MemoryType::BOOT_SERVICES_DATA, 1)
    {
        HELD.store(p.as_ptr() as u64, Ordering::Relaxed);
    }
}

unsafe extern "efiapi" fn stop(_: Event, _: Option<NonNull<c_void>>) {
    STOPPED.store(true, Ordering::Relaxed);
}

fn start_timer() {
    // SAFETY: both callbacks only touch atomics and boot services, and
    // `tick` does nothing once `stop` ran at ExitBootServices.
    unsafe {
        if let Ok(e) = boot::create_event(
            EventType::TIMER | EventType::NOTIFY_SIGNAL,
            Tpl::CALLBACK,
            Some(tick),
            None,
        ) {
            if boot::set_timer(&e, TimerTrigger::Periodic(100_000)).is_err() {
                let _ = boot::close_event(e);
            }
        }
        let _ = boot::create_event(
            EventType::SIGNAL_EXIT_BOOT_SERVICES,
            Tpl::CALLBACK,
            Some(stop),
            None,
        );
    }
}
