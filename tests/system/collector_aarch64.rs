//! The collector on Arm: built for aarch64-unknown-uefi from the same
//! sources as the x86 one, booted for real by `cargo xtask boot --arch
//! aarch64` (QEMU `virt` under TCG, Debian's AAVMF, swtpm as
//! `tpm-tis-device`). Checked by other means where there are some: the log
//! is replayed by tests/oracle/tcg_replay.py (Python's hashlib) against the
//! PCRs the TPM gave; the collector's own image is the built binary, its
//! PE machine read here; the volume inventory is what bootaudit's FFS
//! reader finds in AAVMF_CODE.fd; and `check` judges the Arm boot as it
//! judges an x86 boot of the same configuration, made in the same test.

use crate::common;

use bootaudit::snapshot::{self, Snapshot};
use std::path::{Path, PathBuf};

/// No time budget on hashing bodies: nothing may depend on this machine's
/// speed.
const CONFIG: [&str; 2] = ["--config", "mode=shutdown hash-budget-ms=0"];

fn boot(out: &Path, arch: &str) -> PathBuf {
    let mut args = vec!["--arch", arch];
    args.extend(CONFIG);
    common::boot_collector(out, &args)
}

fn read(p: &Path) -> Snapshot {
    snapshot::read_file(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The PE machine field of an image file: the u16 after the "PE\0\0"
/// signature that e_lfanew (offset 0x3c) points at.
fn pe_machine(bytes: &[u8]) -> u16 {
    let at = u32::from_le_bytes(bytes[0x3c..0x40].try_into().unwrap()) as usize;
    assert_eq!(&bytes[at..at + 4], b"PE\0\0");
    u16::from_le_bytes([bytes[at + 4], bytes[at + 5]])
}

/// Each check's result, by id.
fn results(p: &Path) -> Vec<(String, String)> {
    let r = common::run(&[
        "check".as_ref(),
        p.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ])
    .exits(1)
    .json();
    let mut v: Vec<(String, String)> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                c["result"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn the_collector_boots_on_aarch64_and_is_judged_as_on_x86() {
    let dir = tempfile::tempdir().unwrap();
    let a = boot(&dir.path().join("a"), "aarch64");
    let s = read(&a);
    assert_eq!(s.source.architecture.as_deref(), Some("aarch64"));
    // What Arm's virt machine offers: SMBIOS 3, ACPI with a TPM2 table, a
    // TPM with both banks, a quiet memory map.
    let id = s.identity.as_ref().expect("identity");
    assert_eq!(id.smbios.as_ref().map(|m| m.version.as_str()), Some("3.0"));
    let acpi = s.acpi.as_ref().expect("ACPI");
    assert!(
        acpi.tables.iter().any(|t| t.signature == "TPM2"),
        "{:?}",
        acpi.tables.iter().map(|t| &t.signature).collect::<Vec<_>>()
    );
    let watch = s.map_key_watch.as_ref().expect("the quiet window");
    assert!(watch.polls > 0 && watch.key_changes == 0, "{watch:?}");

    // The log, replayed by Python's hashlib, gives the PCRs the TPM gave.
    let tpm = s.tpm.as_ref().expect("TPM");
    let log = dir.path().join("log.bin");
    std::fs::write(&log, hex::decode(&tpm.event_log).unwrap()).unwrap();
    let (_, replayed) = common::python_replay(&log);
    let mut compared = 0;
    for bank in ["sha1", "sha256"] {
        let read = &tpm.pcrs[bank];
        for pcr in 0..8u32 {
            let want = read
                .get(&pcr)
                .unwrap_or_else(|| panic!("{bank} PCR{pcr} not read"));
            assert_eq!(&replayed[bank][&pcr], want, "{bank} PCR{pcr}");
            compared += 1;
        }
    }
    assert_eq!(compared, 16);
    common::run(&["show".as_ref(), a.as_os_str()]).exits(0);

    // The collector's own image is the aarch64 binary xtask built, and
    // every image loaded from a firmware volume is an aarch64 one too.
    let images = s.loaded_images.as_ref().expect("loaded images");
    let me = images
        .iter()
        .find(|i| i.device_path.ends_with("\\EFI\\BOOT\\BOOTAA64.EFI"))
        .expect("the collector among the loaded images");
    let built = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("efi-collector/target/aarch64-unknown-uefi/release/efi-collector.efi"),
    )
    .unwrap();
    assert_eq!(pe_machine(&built), 0xaa64);
    assert_eq!(me.machine, Some(0xaa64));
    let from_fv: Vec<_> = images
        .iter()
        .filter(|i| i.device_path.contains("FvFile("))
        .collect();
    assert!(from_fv.len() >= 50, "{} images from volumes", from_fv.len());
    for i in &from_fv {
        assert_eq!(i.machine, Some(0xaa64), "{}", i.device_path);
    }

    // The volume inventory is AAVMF_CODE.fd's, by bootaudit's FFS reader:
    // every file the firmware lists is in the image with its type, and
    // every body the firmware's ReadSection returned hashes the same.
    let image = std::fs::read("/usr/share/AAVMF/AAVMF_CODE.fd").unwrap();
    let inv = bootaudit::firmware::read(&image).unwrap();
    let vols = s.firmware_volumes.as_ref().expect("the volume inventory");
    let (mut files, mut hashed) = (0, 0);
    for v in vols {
        for f in &v.files {
            let mine = inv
                .files
                .iter()
                .find(|o| o.guid.to_string() == f.guid && o.file_type == f.file_type)
                .unwrap_or_else(|| panic!("{} is not in AAVMF_CODE.fd", f.guid));
            files += 1;
            if let Some(h) = &f.body_sha256 {
                assert_eq!(mine.body.as_ref().map(|b| &b.sha256), Some(h), "{}", f.guid);
                hashed += 1;
            }
        }
    }
    assert!(
        files >= 100 && hashed >= 90,
        "{files} files, {hashed} hashed"
    );

    // No flash window on Arm: said, never silent.
    assert!(s.firmware_flash.is_none());
    let why: Vec<_> = s
        .errors
        .iter()
        .map(|e| (e.part.to_string(), e.what.clone()))
        .collect();
    assert_eq!(why.len(), 1, "{why:?}");
    assert_eq!(why[0].0, "firmware-flash");
    assert!(why[0].1.contains("aarch64"), "{why:?}");

    // `check` gives each check the result it gives an x86 boot of the
    // same configuration (plain firmware, Secure Boot off, setup mode).
    let x = boot(&dir.path().join("x"), "x86_64");
    assert_eq!(read(&x).source.architecture.as_deref(), Some("x86_64"));
    let (arm, x86) = (results(&a), results(&x));
    assert!(arm.len() >= 20, "{arm:?}");
    assert_eq!(arm, x86);

    // Two plain boots of the same machine: nothing at or above low.
    let b = boot(&dir.path().join("b"), "aarch64");
    let r = common::run(&[
        "diff".as_ref(),
        a.as_os_str(),
        b.as_os_str(),
        "--fail-on".as_ref(),
        "low".as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
    ])
    .exits(0)
    .json();
    assert_eq!(r["findings"].as_array().map(Vec::len), Some(0), "{r}");
}
