//! efi-collector: a UEFI application that records the boot state (identity,
//! memory maps, the TPM event log and PCRs) into a bootaudit snapshot on the
//! ESP it was loaded from, before any OS runs.
//!
//! Firmware-context rules this code keeps: every failure is recorded in the
//! snapshot and the collector moves on to the next part; nothing panics on
//! purpose (a panic would hang the boot, so the watchdog is armed first);
//! every loop is bounded; every file is closed (the `uefi::fs` handles close
//! on drop) and every pool freed (owned buffers free on drop).

#![no_std]
#![no_main]
// Every unsafe block says why it is sound.
#![deny(clippy::undocumented_unsafe_blocks)]

extern crate alloc;

mod acpi;
mod arch;
mod chain;
mod clock;
mod config;
mod devicetree;
mod ebs;
mod firmware;
mod identity;
mod images;
mod memmap;
mod output;
mod panic;
mod secure_boot;
mod smbios;
mod tpm;

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use bootaudit_snapshot::{CollectError, MapLabel, Part, Snapshot, Source, SourceKind, FORMAT};
use uefi::prelude::*;
use uefi::runtime::ResetType;

/// The collector's version, recorded in every snapshot.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The image's SBAT metadata (shim's revocation by generation, which shim
/// requires of every image it loads): the SBAT format line, then this
/// component's line, CSV as shim's SBAT.md specifies (the vendor URL is a
/// placeholder under `.invalid` until the project has a public home). Its
/// own `.sbat` section, as shim and `pesign` find it.
#[used]
#[link_section = ".sbat"]
static SBAT: [u8; SBAT_LEN] = sbat();
const SBAT_TEXT: &str = concat!(
    "sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n",
    "bootaudit,1,bootaudit,bootaudit,",
    env!("CARGO_PKG_VERSION"),
    ",https://bootaudit.invalid/\n"
);
const SBAT_LEN: usize = SBAT_TEXT.len();
const fn sbat() -> [u8; SBAT_LEN] {
    let mut out = [0u8; SBAT_LEN];
    let b = SBAT_TEXT.as_bytes();
    let mut i = 0;
    while i < SBAT_LEN {
        out[i] = b[i];
        i += 1;
    }
    out
}

/// Initialised bytes in `.data`: without any, the linker leaves `.data`
/// with no file contents (PointerToRawData 0), a section header that shim
/// refuses ("Section 2 is inside image headers") and with it the image.
#[used]
#[link_section = ".data"]
static DATA_IS_INITIALISED: [u8; 8] = *b"bootaud\0";

/// Lowercase hex, the snapshot's encoding for bytes.
pub fn hex(b: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for &x in b {
        s.push(D[(x >> 4) as usize] as char);
        s.push(D[(x & 15) as usize] as char);
    }
    s
}

/// Records a failed part.
pub fn failed(errors: &mut Vec<CollectError>, part: Part, what: String, status: Option<Status>) {
    errors.push(CollectError {
        part,
        what,
        status: status.map(|s| format!("{s:?}")),
    });
}

#[entry]
fn main() -> Status {
    // Five minutes at most, whatever happens: the firmware resets a hung
    // collector rather than leave the machine stuck before its OS.
    let _ = boot::set_watchdog_timer(300, 0x1_0000, None);
    let clock = clock::Clock::start();
    let cfg = config::load();
    if cfg.test_panic {
        panic!("test-panic=1 in the configuration");
    }
    let mut snap = Snapshot {
        format: FORMAT.to_string(),
        source: Source {
            kind: SourceKind::EfiCollector,
            version: VERSION.to_string(),
            collection_us: None,
            architecture: Some(arch::NAME.to_string()),
        },
        ..Snapshot::default()
    };
    let mut errors = Vec::new();

    memmap::take(&mut snap, MapLabel::Entry, &mut errors);
    snap.previous_exit_boot_services = ebs::previous(&mut errors);
    let lab_cycle_done = snap.previous_exit_boot_services.is_some();
    let mut id = identity::collect(&mut errors);
    id.smbios = smbios::collect(&mut errors);
    snap.tpm = tpm::collect(&mut errors);
    if snap.tpm.as_ref().is_some_and(|t| t.present) {
        id.endorsement_key = tpm::endorsement_key(&mut errors);
    }
    id.esp_partition_guid = chain::esp_partition_guid();
    snap.identity = Some(id);
    snap.secure_boot = Some(secure_boot::collect(&mut errors));
    snap.loaded_images = Some(images::collect(&mut errors));
    let loaded: Vec<String> = snap
        .loaded_images
        .iter()
        .flatten()
        .map(|i| i.device_path.to_uppercase())
        .collect();
    snap.firmware_volumes = firmware::volumes(&mut errors, &clock, &loaded, cfg.hash_budget_ms);
    let flash = firmware::flash(
        &snap.memory_maps,
        cfg.flash_window,
        snap.firmware_volumes.as_deref().unwrap_or_default(),
        &mut errors,
    )
    .map(|(rec, bytes)| {
        snap.firmware_flash = Some(rec);
        bytes
    });
    let mut tables = Vec::new();
    if let Some((acpi, raw)) = acpi::collect(&mut errors) {
        snap.acpi = Some(acpi);
        tables = raw;
    }
    let dtb = devicetree::collect(&mut errors).map(|(tree, bytes)| {
        snap.device_tree = Some(tree);
        bytes
    });
    snap.memory_attributes = memmap::attributes_table(&mut errors);
    memmap::quiet_window(&mut snap, &mut errors);
    memmap::take(&mut snap, MapLabel::After, &mut errors);
    snap.errors = errors;
    snap.source.collection_us = Some(clock.elapsed_us());

    let written = output::write(&mut snap, &tables, flash.as_deref(), dtb.as_deref());
    print_status(&written);
    // The boot quote, once the snapshot's bytes are final: its nonce is
    // their SHA-256. Without a TPM there is nothing to quote with.
    if let (Ok(w), Some(true)) = (&written, snap.tpm.as_ref().map(|t| t.present)) {
        say(
            &match tpm::boot_quote(&w.sha256).and_then(|q| output::write_quote(w.n, &q)) {
                Ok(name) => format!("bootaudit: boot quote written to {name}\r\n"),
                Err(e) => format!("bootaudit: boot quote NOT written: {e}\r\n"),
            },
        );
    }

    // Disarm the watchdog before handing over.
    let _ = boot::set_watchdog_timer(0, 0x1_0000, None);
    match cfg.mode {
        config::Mode::Shutdown => runtime::reset(ResetType::SHUTDOWN, Status::SUCCESS, None),
        // Not EFI_SUCCESS: on that, a boot manager stops processing
        // BootOrder and shows its menu (UEFI 2.10 §3.1.1; EDK II does so,
        // for BootNext too). Any other status is a boot option that did
        // not boot, and the next one in BootOrder runs.
        config::Mode::Return => HAND_BACK,
        // The boot after a lab run reports its record, then powers off.
        config::Mode::ExitBootServices if lab_cycle_done => {
            runtime::reset(ResetType::SHUTDOWN, Status::SUCCESS, None)
        }
        config::Mode::ExitBootServices => ebs::run(cfg.disturb),
        config::Mode::Chain => match cfg.chain.as_deref() {
            Some(path) => match chain::run(path, cfg.chain_options.as_deref()) {
                Ok(s) => s,
                Err(e) => {
                    // Back to the boot manager: the next boot option runs.
                    say(&format!("bootaudit: chain-load failed: {e}\r\n"));
                    HAND_BACK
                }
            },
            None => HAND_BACK,
        },
    }
}

/// What the collector returns to the boot manager so that the next entry
/// of BootOrder runs: EFI_ABORTED (it collected, and boots nothing).
const HAND_BACK: Status = Status::ABORTED;

fn print_status(r: &Result<output::Written, String>) {
    say(&match r {
        Ok(w) => format!("bootaudit: snapshot written to {}\r\n", w.name),
        Err(e) => format!("bootaudit: snapshot NOT written: {e}\r\n"),
    });
}

/// One line on the firmware console.
fn say(line: &str) {
    system::with_stdout(|out| {
        let _ = core::fmt::Write::write_str(out, line);
    });
}
