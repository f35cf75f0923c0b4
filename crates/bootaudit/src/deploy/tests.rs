//! Plans and their rollback against an in-memory variable store. What is
//! tested here is the reading of hostile boot entries and the undo logic;
//! efivarfs itself, the firmware and the partition are proven by the real
//! boot in tests/system/collector_install.rs.

use super::efivarfs::{VarError, VarStore};
use super::*;
use std::collections::BTreeMap;

const G: &str = GLOBAL_VARIABLE;

#[derive(Clone, Default, PartialEq, Debug)]
struct Vars {
    map: BTreeMap<(String, String), (u32, Vec<u8>)>,
    fail_on: Option<String>,
    immutable: Option<String>,
}

impl VarStore for Vars {
    fn get(&self, name: &str, guid: &str) -> Result<Option<(u32, Vec<u8>)>, VarError> {
        Ok(self.map.get(&(name.into(), guid.into())).cloned())
    }
    fn boot_numbers(&self) -> Result<Vec<u16>, VarError> {
        Ok(self
            .map
            .keys()
            .filter(|(_, g)| g == G)
            .filter_map(|(n, _)| efivarfs::boot_number(n))
            .collect())
    }
    fn check_writable(&self, name: &str, _: &str) -> Result<(), VarError> {
        if self.immutable.as_deref() == Some(name) {
            return Err(VarError::Refused(format!("{name} is immutable")));
        }
        Ok(())
    }
    fn set(&mut self, name: &str, guid: &str, a: u32, v: &[u8]) -> Result<(), VarError> {
        if self.fail_on.as_deref() == Some(name) {
            return Err(VarError::Refused(format!("{name}: the firmware said no")));
        }
        self.map.insert((name.into(), guid.into()), (a, v.to_vec()));
        Ok(())
    }
    fn delete(&mut self, name: &str, guid: &str) -> Result<(), VarError> {
        self.map.remove(&(name.into(), guid.into()));
        Ok(())
    }
    fn describe(&self, name: &str, _: &str) -> String {
        name.to_string()
    }
}

/// A minimal PE32+ EFI application for `machine`: DOS stub, COFF header,
/// optional header with 16 data directories, one 512-byte section.
fn pe(machine: u16) -> Vec<u8> {
    let mut b = vec![0u8; 0x400];
    b[..2].copy_from_slice(b"MZ");
    b[0x3c..0x40].copy_from_slice(&0x40u32.to_le_bytes());
    b[0x40..0x44].copy_from_slice(b"PE\0\0");
    let c = 0x44;
    b[c..c + 2].copy_from_slice(&machine.to_le_bytes());
    b[c + 2..c + 4].copy_from_slice(&1u16.to_le_bytes());
    b[c + 16..c + 18].copy_from_slice(&240u16.to_le_bytes());
    b[c + 18..c + 20].copy_from_slice(&0x22u16.to_le_bytes());
    let o = c + 20;
    b[o..o + 2].copy_from_slice(&0x20bu16.to_le_bytes());
    b[o + 4..o + 8].copy_from_slice(&0x200u32.to_le_bytes()); // SizeOfCode
    b[o + 16..o + 20].copy_from_slice(&0x1000u32.to_le_bytes()); // entry
    b[o + 20..o + 24].copy_from_slice(&0x1000u32.to_le_bytes()); // BaseOfCode
    b[o + 32..o + 36].copy_from_slice(&0x1000u32.to_le_bytes()); // SectionAlignment
    b[o + 36..o + 40].copy_from_slice(&0x200u32.to_le_bytes()); // FileAlignment
    b[o + 56..o + 60].copy_from_slice(&0x2000u32.to_le_bytes()); // SizeOfImage
    b[o + 60..o + 64].copy_from_slice(&0x200u32.to_le_bytes()); // SizeOfHeaders
    b[o + 68..o + 70].copy_from_slice(&10u16.to_le_bytes()); // Subsystem
    b[o + 108..o + 112].copy_from_slice(&16u32.to_le_bytes());
    let s = o + 240;
    b[s..s + 5].copy_from_slice(b".text");
    b[s + 8..s + 12].copy_from_slice(&0x200u32.to_le_bytes());
    b[s + 12..s + 16].copy_from_slice(&0x1000u32.to_le_bytes());
    b[s + 16..s + 20].copy_from_slice(&0x200u32.to_le_bytes());
    b[s + 20..s + 24].copy_from_slice(&0x200u32.to_le_bytes());
    b[s + 36..s + 40].copy_from_slice(&0x6000_0020u32.to_le_bytes());
    b[0x200] = 0xc3;
    b
}

fn entry(desc: &str, file: &str) -> Vec<u8> {
    let hd = loadopt::HardDrive {
        number: 1,
        start_lba: 2048,
        size_lba: 4096,
        guid: [7; 16],
    };
    loadopt::load_option(1, desc, &loadopt::file_on_partition(&hd, file), &[])
}

fn machine() -> Vars {
    let mut v = Vars::default();
    v.map.insert(
        ("Boot0000".into(), G.into()),
        (7, entry("debian", "\\EFI\\debian\\shimx64.efi")),
    );
    v.map.insert(
        ("Boot0001".into(), G.into()),
        (7, entry("UEFI Shell", "\\EFI\\shell.efi")),
    );
    v.map
        .insert(("BootOrder".into(), G.into()), (7, vec![0, 0, 1, 0]));
    v
}

fn esp(dir: &Path) -> partition::EspPartition {
    partition::EspPartition {
        mount: dir.to_path_buf(),
        disk: "/dev/vda".into(),
        number: 1,
        unique_guid: [0x11; 16],
        first_lba: 2048,
        size_lba: 131072,
        lba_size: 512,
    }
}

fn once() -> Install {
    Install {
        when: When::Once,
        efi: pe(0x8664),
        via_shim: None,
        options: None,
    }
}

#[test]
fn install_once_then_uninstall_leaves_the_machine_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let mut vars = machine();
    let before = vars.clone();
    let plan = plan_install(&once(), &esp(dir.path()), &vars, Arch::X64).unwrap();
    assert_eq!(plan.boot_entry.as_deref(), Some("Boot0002"));
    apply(&plan, &mut vars).unwrap();
    let file = dir.path().join("EFI/bootaudit/bootaudit.efi");
    assert_eq!(std::fs::read(&file).unwrap(), pe(0x8664));
    assert_eq!(vars.map[&("BootNext".into(), G.into())], (7, vec![2, 0]));
    // BootOrder is untouched: BootNext runs the collector once.
    assert_eq!(vars.map[&("BootOrder".into(), G.into())].1, [0, 0, 1, 0]);
    let (a, v) = &vars.map[&("Boot0002".into(), G.into())];
    assert_eq!(*a, 7);
    let (opt, files) = loadopt::parse_strict(v).unwrap();
    assert_eq!(files, ["\\EFI\\bootaudit\\bootaudit.efi"]);
    assert_eq!(loadopt::optional_text(&opt).as_deref(), Some("mode=return"));

    // Installing again reuses the entry.
    let again = plan_install(&once(), &esp(dir.path()), &vars, Arch::X64).unwrap();
    assert_eq!(again.boot_entry.as_deref(), Some("Boot0002"));

    let un = plan_uninstall(dir.path(), &vars).unwrap();
    apply(&un, &mut vars).unwrap();
    assert_eq!(vars, before);
    assert!(!dir.path().join("EFI/bootaudit").exists());
}

#[test]
fn every_boot_puts_the_entry_first_and_uninstall_takes_it_out() {
    let dir = tempfile::tempdir().unwrap();
    let mut vars = machine();
    let before = vars.clone();
    let req = Install {
        when: When::EveryBoot,
        ..once()
    };
    let plan = plan_install(&req, &esp(dir.path()), &vars, Arch::X64).unwrap();
    apply(&plan, &mut vars).unwrap();
    assert_eq!(
        vars.map[&("BootOrder".into(), G.into())].1,
        [2, 0, 0, 0, 1, 0]
    );
    assert!(!vars.map.contains_key(&("BootNext".into(), G.into())));
    apply(&plan_uninstall(dir.path(), &vars).unwrap(), &mut vars).unwrap();
    assert_eq!(vars, before);
}

#[test]
fn through_shim_the_entry_starts_shim_with_the_collector_as_its_second_stage() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("EFI/debian")).unwrap();
    std::fs::write(dir.path().join("EFI/debian/shimx64.efi"), pe(0x8664)).unwrap();
    let mut vars = machine();
    let req = Install {
        via_shim: Some("/EFI/debian/shimx64.efi".into()),
        ..once()
    };
    let plan = plan_install(&req, &esp(dir.path()), &vars, Arch::X64).unwrap();
    apply(&plan, &mut vars).unwrap();
    let (opt, files) = loadopt::parse_strict(&vars.map[&("Boot0002".into(), G.into())].1).unwrap();
    assert_eq!(files, ["\\EFI\\debian\\shimx64.efi"]);
    assert_eq!(
        loadopt::optional_text(&opt).as_deref(),
        Some("\\EFI\\bootaudit\\bootaudit.efi mode=return")
    );
    // It is found again as the collector's entry, and removed.
    let un = plan_uninstall(dir.path(), &vars).unwrap();
    assert_eq!(un.boot_entry.as_deref(), Some("Boot0002"));
    // A shim path that does not exist is refused.
    let req = Install {
        via_shim: Some("\\EFI\\fedora\\shimx64.efi".into()),
        ..once()
    };
    let e = plan_install(&req, &esp(dir.path()), &machine(), Arch::X64).unwrap_err();
    assert!(e.0.contains("does not exist"), "{e}");
}

#[test]
fn a_malformed_entry_an_endless_boot_order_or_an_odd_one_refuses_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // A path list that claims more bytes than the variable holds.
    let mut bad = entry("evil", "\\x.efi");
    bad[4] = 0xff;
    bad[5] = 0x7f;
    let mut vars = machine();
    vars.map.insert(("Boot0007".into(), G.into()), (7, bad));
    let e = plan_install(&once(), &esp(dir.path()), &vars, Arch::X64).unwrap_err();
    assert!(
        e.0.starts_with("Boot0007: not a well-formed load option: byte 4:"),
        "{e}"
    );
    assert!(plan_uninstall(dir.path(), &vars).is_err());

    // A node whose length runs past the list.
    let mut bad = entry("evil", "\\x.efi");
    let at = 6 + loadopt::ucs2z("evil").len() + 2;
    bad[at] = 0xff;
    let mut vars = machine();
    vars.map.insert(("Boot0007".into(), G.into()), (7, bad));
    let e = plan_install(&once(), &esp(dir.path()), &vars, Arch::X64).unwrap_err();
    assert!(
        e.0.contains(&format!("byte {at}: a device-path node of")),
        "{e}"
    );

    let mut vars = machine();
    vars.map
        .insert(("BootOrder".into(), G.into()), (7, vec![0u8; 65_535 * 2]));
    let e = plan_install(&once(), &esp(dir.path()), &vars, Arch::X64).unwrap_err();
    assert!(e.0.contains("65535 entries, more than the 1024"), "{e}");

    // More Boot#### variables than any firmware store holds.
    let mut many = machine();
    for n in 2..=(MAX_ENTRIES as u16 + 1) {
        many.map.insert(
            (bootaudit_snapshot::efivar::boot_option_name(n), G.into()),
            (7, entry("x", "\\x.efi")),
        );
    }
    let e = plan_install(&once(), &esp(dir.path()), &many, Arch::X64).unwrap_err();
    assert!(e.0.contains("more than the 4096 bootaudit reads"), "{e}");

    vars.map
        .insert(("BootOrder".into(), G.into()), (7, vec![0u8; 3]));
    let e = plan_install(&once(), &esp(dir.path()), &vars, Arch::X64).unwrap_err();
    assert!(e.0.contains("3 bytes, not a list"), "{e}");
    assert!(!dir.path().join("EFI").exists());
}

#[test]
fn a_failed_variable_write_rolls_back_the_file_and_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let mut vars = machine();
    vars.fail_on = Some("BootNext".into());
    let before = vars.clone();
    let plan = plan_install(&once(), &esp(dir.path()), &vars, Arch::X64).unwrap();
    let e = apply(&plan, &mut vars).unwrap_err();
    assert!(e.failed.contains("BootNext"), "{e}");
    assert_eq!(e.rolled_back.len(), 2, "{e}");
    assert!(
        e.rolled_back.iter().all(|l| l.starts_with("undone: ")),
        "{e}"
    );
    assert_eq!(vars, before);
    assert!(!dir.path().join("EFI/bootaudit/bootaudit.efi").exists());

    // A collector already there is put back as it was.
    std::fs::create_dir_all(dir.path().join("EFI/bootaudit")).unwrap();
    std::fs::write(dir.path().join("EFI/bootaudit/bootaudit.efi"), b"older").unwrap();
    let plan = plan_install(&once(), &esp(dir.path()), &vars, Arch::X64).unwrap();
    assert!(apply(&plan, &mut vars).is_err());
    assert_eq!(
        std::fs::read(dir.path().join("EFI/bootaudit/bootaudit.efi")).unwrap(),
        b"older"
    );
}

#[test]
fn an_immutable_variable_a_linked_directory_or_a_foreign_collector_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut vars = machine();
    vars.immutable = Some("BootNext".into());
    let e = plan_install(&once(), &esp(dir.path()), &vars, Arch::X64).unwrap_err();
    assert!(e.0.contains("immutable"), "{e}");

    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("EFI")).unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), dir.path().join("EFI/bootaudit")).unwrap();
    let e = plan_install(&once(), &esp(dir.path()), &machine(), Arch::X64).unwrap_err();
    assert!(e.0.contains("is a symbolic link"), "{e}");
    assert!(plan_uninstall(dir.path(), &machine()).is_err());

    let dir = tempfile::tempdir().unwrap();
    let req = Install {
        efi: pe(0xaa64),
        ..once()
    };
    let e = plan_install(&req, &esp(dir.path()), &machine(), Arch::X64).unwrap_err();
    assert!(e.0.contains("machine 0xaa64"), "{e}");
    let req = Install {
        efi: b"MZ not a PE".to_vec(),
        ..once()
    };
    assert!(plan_install(&req, &esp(dir.path()), &machine(), Arch::X64).is_err());
}

#[test]
fn esp_paths_are_normalised_and_escapes_refused() {
    assert_eq!(
        esp_path("/EFI/debian/shimx64.efi").unwrap(),
        "\\EFI\\debian\\shimx64.efi"
    );
    assert_eq!(esp_path("\\EFI\\x.efi").unwrap(), "\\EFI\\x.efi");
    for bad in [
        "",
        "\\",
        "..\\x.efi",
        "\\EFI\\..\\..\\etc",
        "\\EFI\\\u{202e}x.efi",
        "a\nb",
    ] {
        assert!(esp_path(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn media_is_a_gpt_disk_whose_esp_holds_the_loader_and_the_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("m.img");
    let m = media::write(
        &img,
        &pe(0x8664),
        "BOOTX64.EFI",
        "mode=shutdown",
        media::MIN_MIB,
    )
    .unwrap();
    assert_eq!(m.bytes, media::MIN_MIB << 20);
    let mut f = std::fs::File::open(&img).unwrap();
    let (parts, _) = crate::esp::gpt_partitions(&mut f, m.bytes, 512).unwrap();
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0].type_guid, crate::esp::ESP_TYPE);
    assert_eq!(
        bootaudit_eventlog::efi::Guid(parts[0].unique_guid).to_string(),
        m.partition_guid
    );
    assert_eq!(
        (
            parts[0].first_lba,
            parts[0].last_lba + 1 - parts[0].first_lba
        ),
        m.partition_lba
    );
    // bootaudit's own FAT reader, as `ingest` reads a stick.
    let (layout, files) = crate::esp::read_tree(&img, "bootaudit").unwrap();
    assert_eq!(layout, "gpt partition 1");
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].bytes, b"mode=shutdown\n");
    let (_, boot) = crate::esp::read_tree(&img, "EFI").unwrap();
    assert_eq!(boot[0].path.to_ascii_uppercase(), "EFI/BOOT/BOOTX64.EFI");
    assert_eq!(boot[0].bytes, pe(0x8664));
    // Sizes out of range, and a link in the output's place, are refused.
    assert!(media::write(&img, &pe(0x8664), "BOOTX64.EFI", "", media::MIN_MIB - 1).is_err());
    assert!(media::write(&img, &pe(0x8664), "BOOTX64.EFI", "", media::MAX_MIB + 1).is_err());
    let link = dir.path().join("link.img");
    std::os::unix::fs::symlink(&img, &link).unwrap();
    assert!(media::write(&link, &pe(0x8664), "BOOTX64.EFI", "", media::MIN_MIB).is_err());
}
