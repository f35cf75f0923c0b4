//! `bootaudit esp`: the EFI binaries of an ESP with their Authenticode
//! hashes, checked against pesign on Debian's signed shim and grub and on
//! the collector; and the PCR4 match, on a real boot of the collector whose
//! ESP is then left alone, swapped, or emptied.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn pesign_hash(p: &Path) -> String {
    let o = Command::new("pesign")
        .args(["-h", "-i"])
        .arg(p)
        .output()
        .expect("pesign (Debian package pesign, installed by .ci/run)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8(o.stdout).unwrap();
    out.trim()
        .strip_prefix("hash: ")
        .unwrap_or_else(|| panic!("pesign printed {out:?}"))
        .to_string()
}

/// `esp ARGS --format json`, which must exit with `code`.
#[track_caller]
fn esp(args: &[&std::ffi::OsStr], code: i32) -> serde_json::Value {
    common::run_command(
        common::bootaudit()
            .arg("esp")
            .args(args)
            .args(["--format", "json"]),
    )
    .exits(code)
    .json()
}

/// The collector as built now (built first, once per test binary: a fresh
/// clone has none until then).
fn collector_efi() -> PathBuf {
    static BUILT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        common::collector_copy(&d.path().join("c.efi"));
    });
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("efi-collector/target/x86_64-unknown-uefi/release/efi-collector.efi")
}

#[test]
fn authenticode_hashes_agree_with_pesign_in_a_directory_and_a_fat_image() {
    let (shim, grub) = common::debian_signed_efi();
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("esp");
    let efi = root.join("EFI");
    std::fs::create_dir_all(efi.join("BOOT")).unwrap();
    std::fs::create_dir_all(efi.join("debian")).unwrap();
    common::collector_copy(&efi.join("debian/collector.efi"));
    std::fs::copy(&shim, efi.join("BOOT/BOOTX64.EFI")).unwrap();
    std::fs::copy(&grub, efi.join("debian/grubx64.efi")).unwrap();
    std::fs::write(efi.join("debian/broken.efi"), b"MZ not really").unwrap();
    std::fs::write(efi.join("debian/notes.txt"), b"not a binary").unwrap();
    let want = [
        ("EFI/BOOT/BOOTX64.EFI", pesign_hash(&shim), true),
        (
            "EFI/debian/collector.efi",
            pesign_hash(&collector_efi()),
            false,
        ),
        ("EFI/debian/grubx64.efi", pesign_hash(&grub), true),
    ];
    let fat = common::fat_image(d.path(), &efi, "16384");
    for source in [&root, &fat] {
        let v = esp(&[source.as_os_str()], 0);
        let b = v["binaries"].as_array().unwrap();
        assert_eq!(b.len(), 4, "{v}");
        for (path, hash, signed) in &want {
            let r = b.iter().find(|x| x["path"] == *path).unwrap();
            assert_eq!(r["authenticode_sha256"], *hash, "{path}");
            assert_eq!(r["certificates"].as_u64().unwrap() > 0, *signed, "{path}");
            assert_eq!(r["machine"], 0x8664);
        }
        let broken = b
            .iter()
            .find(|x| x["path"] == "EFI/debian/broken.efi")
            .unwrap();
        assert!(broken["error"]
            .as_str()
            .unwrap()
            .contains("not a readable PE image"));
    }
}

#[test]
fn boot_applications_are_matched_to_the_esp_they_ran_from() {
    // A real boot: the firmware measured the collector into PCR4.
    let d = tempfile::tempdir().unwrap();
    let snap = common::boot_collector(&d.path().join("boot"), &[]);
    let root = d.path().join("esp");
    std::fs::create_dir_all(root.join("EFI/BOOT")).unwrap();
    // xtask boot booted the binary it had just built, this one.
    let loader = root.join("EFI/BOOT/BOOTX64.EFI");
    std::fs::copy(collector_efi(), &loader).unwrap();
    let args = |r: &Path| -> Vec<std::ffi::OsString> {
        vec![r.into(), "--snapshot".into(), snap.as_os_str().into()]
    };
    let run = |r: &Path, code: i32| {
        let a = args(r);
        esp(&a.iter().map(|x| x.as_os_str()).collect::<Vec<_>>(), code)
    };
    let v = run(&root, 0);
    let apps = v["boot_applications"].as_array().unwrap();
    assert_eq!(apps.len(), 1, "{v}");
    assert_eq!(apps[0]["verdict"], "on-esp");
    assert_eq!(apps[0]["digest"], pesign_hash(&loader));
    assert_eq!(apps[0]["matching_files"][0], "EFI/BOOT/BOOTX64.EFI");

    // The loader swapped for another signed binary after boot.
    let (shim, _) = common::debian_signed_efi();
    std::fs::copy(&shim, &loader).unwrap();
    let v = run(&root, 1);
    assert_eq!(v["boot_applications"][0]["verdict"], "differs-from-file");
    assert_eq!(
        v["boot_applications"][0]["file_at_path"],
        "EFI/BOOT/BOOTX64.EFI"
    );

    // Gone from the ESP.
    std::fs::remove_file(&loader).unwrap();
    let v = run(&root, 1);
    assert_eq!(v["boot_applications"][0]["verdict"], "not-on-esp");
}

#[test]
fn mutated_pe_files_are_errors_or_facts_never_panics() {
    let (shim, _) = common::debian_signed_efi();
    let mut rng = common::Rng(0xa17e_c0de);
    let (mut ok, mut bad) = (0, 0);
    for src in [collector_efi(), shim] {
        let orig = std::fs::read(&src).unwrap();
        // The headers are where a reader can go wrong: mutate the first
        // 4 KiB, and cut the file at random places.
        for i in 0..300 {
            let mut b = orig.clone();
            for _ in 0..1 + (rng.next() % 8) {
                let at = (rng.next() as usize) % 4096;
                b[at] = rng.next() as u8;
            }
            if i % 3 == 0 {
                b.truncate((rng.next() as usize) % b.len());
            }
            let before = bootaudit::guard::fallbacks();
            match bootaudit::pe::inspect(&b) {
                Ok(_) => ok += 1,
                Err(e) => {
                    assert!(!e.0.is_empty());
                    bad += 1
                }
            }
            assert_eq!(
                bootaudit::guard::fallbacks(),
                before,
                "the PE reader panicked at {:?}",
                bootaudit::guard::last_panic()
            );
        }
    }
    // Both outcomes happen, and none of them is the guard catching a panic
    // of the PE reader: each is the reader's own answer.
    assert!(ok > 50 && bad > 50, "read {ok}, rejected {bad}");
    assert_eq!(
        bootaudit::guard::fallbacks(),
        0,
        "the PE reader panicked and the guard caught it"
    );
}

#[test]
fn a_bogus_section_table_is_an_error_naming_the_file() {
    // The collector with its first section's raw data placed far beyond
    // the end of the file, and a copy claiming 0xffff sections.
    let efi = std::fs::read(collector_efi()).unwrap();
    let pe = u32::from_le_bytes(efi[0x3c..0x40].try_into().unwrap()) as usize;
    let opt_size = u16::from_le_bytes(efi[pe + 20..pe + 22].try_into().unwrap()) as usize;
    let first = pe + 24 + opt_size;
    let mut far = efi.clone();
    far[first + 16..first + 20].copy_from_slice(&0x7fff_0000u32.to_le_bytes()); // SizeOfRawData
    far[first + 20..first + 24].copy_from_slice(&0x7fff_0000u32.to_le_bytes()); // PointerToRawData
    let mut many = efi.clone();
    many[pe + 6..pe + 8].copy_from_slice(&0xffffu16.to_le_bytes());
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("esp/EFI/BOOT");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("FAR.EFI"), &far).unwrap();
    std::fs::write(dir.join("MANY.EFI"), &many).unwrap();
    let v = esp(&[d.path().join("esp").as_os_str()], 0);
    assert_eq!(v["binaries"].as_array().unwrap().len(), 2, "{v}");
    for b in v["binaries"].as_array().unwrap() {
        let e = b["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{b} read as a PE image"));
        assert!(e.starts_with("not a readable PE image"), "{e}");
        assert_eq!(b["authenticode_sha256"], "");
    }
}

#[test]
fn every_truncation_of_a_real_pe_image_is_an_answer_not_a_panic() {
    // Debian's signed shim: cut at every 16th byte of its headers and at
    // every 4 KiB after. Every cut is an error or a reading of what is
    // left, given by the PE reader itself, never a panic the guard caught;
    // the whole file reads, and its Authenticode hash is pesign's (above).
    let (shim, _) = common::debian_signed_efi();
    let b = std::fs::read(&shim).unwrap();
    let cuts = (0..4096.min(b.len()))
        .step_by(16)
        .chain((4096..b.len()).step_by(4096));
    let (mut ok, mut bad) = (0, 0);
    for n in cuts {
        match bootaudit::pe::inspect(&b[..n]) {
            Ok(_) => ok += 1,
            Err(_) => bad += 1,
        }
    }
    assert!(bad > 256, "the cut headers are errors: {bad}");
    assert!(bootaudit::pe::inspect(&b).is_ok());
    assert_eq!(
        bootaudit::guard::fallbacks(),
        0,
        "the PE reader panicked on a truncation ({ok} read, {bad} rejected)"
    );
}
