//! `bootaudit collect`: the same evidence the collector records at boot,
//! gathered on a running Linux host from what the kernel exposes (sysfs,
//! securityfs, efivarfs, procfs), into the same snapshot format, so that
//! `diff` works on it unchanged. Every path is read under a root (`/` on
//! the live host; a copied tree, a mounted disk or an unpacked tarball of
//! /sys for tests and offline forensics). What is missing or unreadable is
//! recorded in the snapshot's `errors` with the reason, never a crash.
//!
//! One module per artefact, as in the collector: ACPI tables, memory maps,
//! the TPM, Secure Boot variables and boot entries, identity; and the ESP's
//! EFI binaries ([`crate::esp::binaries`]).

mod acpi;
mod ccel;
mod efivars;
mod identity;
mod memmap;
mod tpm;

use crate::snapshot::{CollectError, Part, Snapshot, Source, SourceKind, FORMAT};
use std::path::{Path, PathBuf};

/// What to collect from where.
#[derive(Clone, Debug)]
pub struct Options {
    /// The filesystem root the kernel's trees are read under.
    pub root: PathBuf,
    /// A TCTI for reading PCRs from the TPM itself when sysfs does not
    /// offer them (`feature = "tpm"`); `None` skips that.
    pub tpm_tcti: Option<String>,
    /// Quote the PCRs with this nonce (`feature = "tpm"`), through
    /// `tpm_tcti` or `device:/dev/tpmrm0`; the PCRs recorded are then the
    /// ones read from the TPM for the quote.
    pub quote_nonce: Option<Vec<u8>>,
    /// The mounted ESP (or an image of it) whose EFI binaries to record;
    /// `None` looks for `<root>/boot/efi` and `<root>/efi`.
    pub esp: Option<PathBuf>,
    /// A dump of this host's flash (flashrom, CHIPSEC) to hash into the
    /// snapshot's `firmware_flash`; `None` records none.
    pub firmware: Option<PathBuf>,
}

/// Why a file could not be read, in the words `errors` records.
pub(crate) fn reason(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::NotFound => "absent",
        std::io::ErrorKind::PermissionDenied => "permission denied (not root?)",
        _ => "unreadable",
    }
}

/// Reads at most `max` bytes of `p` with [`crate::fsutil::read_input`]
/// (sysfs files report a size of 4096 whatever they hold, so the size is
/// not trusted), a failure recorded under `part` (None then).
pub(crate) fn read_or_record(
    p: &Path,
    max: u64,
    part: Part,
    errors: &mut Vec<CollectError>,
) -> Option<Vec<u8>> {
    match crate::fsutil::read_input(p, max) {
        Ok(b) => Some(b),
        Err(e) => {
            failed(errors, part, format!("{}: {e}", p.display()), reason(&e));
            None
        }
    }
}

/// A short text file (sysfs attribute), trimmed.
pub(crate) fn read_text(p: &Path) -> std::io::Result<String> {
    let b = crate::fsutil::read_input(p, 64 << 10)?;
    Ok(String::from_utf8_lossy(&b).trim().to_string())
}

/// `root` joined with an absolute path like `/sys/firmware`.
pub(crate) fn under(root: &Path, abs: &str) -> PathBuf {
    root.join(abs.trim_start_matches('/'))
}

/// Records a part that could not be read.
pub(crate) fn failed(errors: &mut Vec<CollectError>, part: Part, what: String, why: &str) {
    errors.push(CollectError {
        part,
        what,
        status: Some(why.to_string()),
    });
}

/// Directory entries of `p`, sorted, at most `max` (a tree with more is
/// cut, and the cut recorded).
pub(crate) fn entries(
    p: &Path,
    max: usize,
    part: Part,
    errors: &mut Vec<CollectError>,
) -> Option<Vec<PathBuf>> {
    let rd = match std::fs::read_dir(p) {
        Ok(r) => r,
        Err(e) => {
            failed(errors, part.clone(), format!("{}", p.display()), reason(&e));
            return None;
        }
    };
    let mut v: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .take(max + 1)
        .collect();
    if v.len() > max {
        v.truncate(max);
        failed(
            errors,
            part,
            format!(
                "{}: more than {max} entries, the rest not read",
                p.display()
            ),
            "too many",
        );
    }
    v.sort();
    Some(v)
}

/// Collects a snapshot of the host.
pub fn collect(opts: &Options) -> Snapshot {
    let t0 = std::time::Instant::now();
    let mut errors = Vec::new();
    let root = opts.root.as_path();
    let mut s = Snapshot {
        format: FORMAT.to_string(),
        source: Source {
            kind: SourceKind::LinuxHost,
            version: env!("CARGO_PKG_VERSION").to_string(),
            collection_us: None,
            architecture: Some(std::env::consts::ARCH.to_string()),
        },
        ..Snapshot::default()
    };
    s.identity = Some(identity::collect(root, &mut errors));
    s.memory_maps = memmap::collect(root, &mut errors);
    s.acpi = acpi::collect(root, &mut errors);
    s.cc_event_log = ccel::collect(root, &mut errors);
    s.tpm = tpm::collect(
        root,
        opts.tpm_tcti.as_deref(),
        opts.quote_nonce.as_deref(),
        &mut errors,
    );
    s.secure_boot = efivars::collect(root, &mut errors);
    if let Some(id) = s.identity.as_mut() {
        id.endorsement_key = tpm::endorsement_key(root, opts.tpm_tcti.as_deref(), &mut errors);
    }
    s.esp = esp(root, opts.esp.as_deref(), &mut errors);
    if let Some(id) = s.identity.as_mut() {
        id.esp_partition_guid = esp_partition_guid(root, opts.esp.as_deref());
    }
    s.firmware_flash = opts
        .firmware
        .as_deref()
        .and_then(|p| flash_dump(p, &mut errors));
    s.errors = errors;
    s.source.collection_us = Some(t0.elapsed().as_micros() as u64);
    s
}

/// A flash dump named with `--firmware`: hashed when it reads as a
/// firmware image (the same reader as `bootaudit firmware`), else an error
/// naming the file.
fn flash_dump(p: &Path, errors: &mut Vec<CollectError>) -> Option<crate::snapshot::FirmwareFlash> {
    let fail = |errors: &mut Vec<CollectError>, what: String| {
        errors.push(CollectError {
            part: crate::snapshot::Part::FirmwareFlash,
            what,
            status: None,
        })
    };
    let bytes = match crate::fsutil::read_input(p, crate::snapshot::MAX_FLASH) {
        Ok(b) => b,
        Err(e) => {
            fail(errors, format!("{}: {e}", p.display()));
            return None;
        }
    };
    if let Err(e) = crate::firmware::read(&bytes) {
        fail(
            errors,
            format!("{}: not a firmware image: {e}", p.display()),
        );
        return None;
    }
    Some(crate::snapshot::FirmwareFlash {
        base: 0,
        size: bytes.len() as u64,
        sha256: crate::hexser::sha256(&bytes),
        file: None,
        how: format!(
            "the dump {} given with --firmware (flashrom, CHIPSEC)",
            p.display()
        ),
    })
}

/// The mounted ESP's GPT partition GUID, read from its disk's partition
/// table ([`crate::deploy::partition::locate`]); only on the live machine
/// (root `/`): a copied tree has no disk behind it. `None` when the ESP is
/// not a FAT mount of a GPT partition, or the disk is not readable (not
/// root): the identity is then absent, never guessed.
fn esp_partition_guid(root: &Path, given: Option<&Path>) -> Option<String> {
    if root != Path::new("/") {
        return None;
    }
    crate::deploy::partition::find(given)
        .ok()
        .map(|e| crate::snapshot::siglist::guid_text(&e.unique_guid))
}

/// The ESP's EFI binaries (see [`crate::esp::binaries`]).
fn esp(
    root: &Path,
    given: Option<&Path>,
    errors: &mut Vec<CollectError>,
) -> Option<Vec<crate::snapshot::EspBinary>> {
    let found = given.map(Path::to_path_buf).or_else(|| {
        crate::deploy::partition::ESP_MOUNTS
            .iter()
            .map(|p| under(root, p))
            .find(|p| p.join("EFI").is_dir())
    });
    let Some(dir) = found else {
        failed(
            errors,
            Part::Esp,
            "no ESP at /boot/efi or /efi (mounted?); --esp names one".into(),
            "absent",
        );
        return None;
    };
    match crate::esp::binaries::scan(&dir) {
        Ok((_, b)) => Some(b),
        Err(e) => {
            failed(errors, Part::Esp, e.to_string(), "unreadable");
            None
        }
    }
}
