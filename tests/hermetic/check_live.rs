//! `bootaudit check --live`: the platform posture checks, on trees built
//! here from the Intel PCH datasheets' register layouts (BIOS Control at
//! PCI config 0xDC; the SPI BAR from BAR0 of 00:1f.5, or RCBA + 0x3800 on
//! ICH9; HSFS.FLOCKDN at +4; PR0-PR4; MSR 0x13A), and on this machine's
//! own values, which the test reads itself.

use crate::common;

use serde_json::Value;
use std::os::unix::fs::FileExt;
use std::path::Path;

fn write(root: &Path, rel: &str, bytes: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

/// Writes `bytes` at `offset` of a sparse file (a stand-in for /dev/mem
/// or an MSR device).
fn poke(root: &Path, rel: &str, offset: u64, bytes: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&p)
        .unwrap();
    if f.metadata().unwrap().len() < offset + bytes.len() as u64 {
        f.set_len(offset + bytes.len() as u64 + 0x1000).unwrap();
    }
    f.write_all_at(bytes, offset).unwrap();
}

/// A PCI device's sysfs directory: vendor, device, class and a 256-byte
/// config space with `regs` (offset, little-endian u32) set.
fn pci(root: &Path, bdf: &str, vendor: u16, device: u16, class: u32, regs: &[(usize, u32)]) {
    let d = format!("sys/bus/pci/devices/{bdf}");
    write(
        root,
        &format!("{d}/vendor"),
        format!("0x{vendor:04x}\n").as_bytes(),
    );
    write(
        root,
        &format!("{d}/device"),
        format!("0x{device:04x}\n").as_bytes(),
    );
    write(
        root,
        &format!("{d}/class"),
        format!("0x{class:06x}\n").as_bytes(),
    );
    let mut c = vec![0u8; 256];
    c[..2].copy_from_slice(&vendor.to_le_bytes());
    c[2..4].copy_from_slice(&device.to_le_bytes());
    for &(o, v) in regs {
        c[o..o + 4].copy_from_slice(&v.to_le_bytes());
    }
    write(root, &format!("{d}/config"), &c);
}

/// A protected range register: base and limit in 4 KiB units, WPE.
fn pr(base: u32, limit: u32, wpe: bool) -> u32 {
    (base & 0x1fff) | ((limit & 0x1fff) << 16) | if wpe { 1 << 31 } else { 0 }
}

struct Host {
    bc: u32,
    hsfs: u32,
    prs: [u32; 5],
    msr: u64,
    cmdline: &'static str,
    dmar: bool,
    iommu_units: bool,
    lockdown: &'static str,
}

const SPI_BAR: u64 = 0xfe01_0000;

/// The posture checks that a locked platform passes and an open one fails.
const PROTECTIONS: [&str; 8] = [
    "platform.spi.bioswe",
    "platform.spi.ble",
    "platform.spi.smm-bwp",
    "platform.spi.flockdn",
    "platform.spi.protected-ranges",
    "platform.boot-guard",
    "platform.iommu",
    "platform.kernel-lockdown",
];

/// A 100-series PCH host (SPI controller 8086:a143 at 00:1f.5).
fn pch100(root: &Path, h: &Host) {
    pci(root, "0000:00:00.0", 0x8086, 0x191f, 0x060000, &[]);
    pci(
        root,
        "0000:00:1f.5",
        0x8086,
        0xa143,
        0x0c8000,
        &[(0x10, SPI_BAR as u32), (0xdc, h.bc)],
    );
    poke(root, "dev/mem", SPI_BAR + 4, &h.hsfs.to_le_bytes());
    for (i, p) in h.prs.iter().enumerate() {
        poke(
            root,
            "dev/mem",
            SPI_BAR + 0x84 + 4 * i as u64,
            &p.to_le_bytes(),
        );
    }
    common_host(root, h);
}

fn common_host(root: &Path, h: &Host) {
    write(
        root,
        "proc/cpuinfo",
        b"processor\t: 0\nvendor_id\t: GenuineIntel\n",
    );
    poke(root, "dev/cpu/0/msr", 0x13a, &h.msr.to_le_bytes());
    write(root, "proc/cmdline", format!("{}\n", h.cmdline).as_bytes());
    std::fs::create_dir_all(root.join("sys/firmware/acpi/tables")).unwrap();
    if h.dmar {
        write(root, "sys/firmware/acpi/tables/DMAR", b"DMAR");
    }
    std::fs::create_dir_all(root.join("sys/class/iommu")).unwrap();
    if h.iommu_units {
        std::fs::create_dir_all(root.join("sys/class/iommu/dmar0")).unwrap();
    }
    write(root, "sys/kernel/security/lockdown", h.lockdown.as_bytes());
    write(root, "sys/bus/pci/devices/0000:01:00.0/rom", b"");
}

fn live(root: &Path) -> (i32, Value) {
    common::check_json(Path::new("--live"), &["--root", root.to_str().unwrap()])
}

fn outcome(r: &Value, id: &str) -> (String, String) {
    let c = common::check_result(r, id);
    (
        c["result"].as_str().unwrap().to_string(),
        c["reason"].as_str().unwrap().to_string(),
    )
}

#[test]
fn a_locked_100_series_platform_passes_and_an_open_one_fails_bit_by_bit() {
    let d = tempfile::tempdir().unwrap();
    let locked = d.path().join("locked");
    pch100(
        &locked,
        &Host {
            bc: 0x22 | 0x80, // BLE, SMM_BWP, BILD; BIOSWE clear
            hsfs: 0xc000,    // FLOCKDN, FDV
            prs: [pr(0x700, 0xfff, true), 0, 0, 0, 0],
            msr: 1 << 32 | 0x69, // capable; verified, measured, TPM success, NEM
            cmdline: "quiet intel_iommu=on",
            dmar: true,
            iommu_units: true,
            lockdown: "none [integrity] confidentiality\n",
        },
    );
    let (_, r) = live(&locked);
    for id in PROTECTIONS {
        assert_eq!(outcome(&r, id).0, "pass", "{id}: {:?}", outcome(&r, id));
    }
    // What was read is named: the controller, the register, the range.
    assert!(outcome(&r, "platform.spi.bioswe")
        .1
        .contains("8086:a143 at 00:1f.5"));
    assert!(outcome(&r, "platform.spi.flockdn").1.contains("0xfe010000"));
    assert!(outcome(&r, "platform.spi.protected-ranges")
        .1
        .contains("PR0 0x700000-0xffffff"));
    let (o, why) = outcome(&r, "platform.option-roms");
    assert_eq!(o, "fail");
    assert!(why.contains("0000:01:00.0"));

    let open = d.path().join("open");
    pch100(
        &open,
        &Host {
            bc: 0x01, // BIOSWE set, nothing locks it
            hsfs: 0x4000,
            prs: [pr(0x700, 0xfff, false), 0, 0, 0, 0],
            msr: 1 << 32 | 0x21, // capable; measured only
            cmdline: "quiet intel_iommu=off -- iommu=on",
            dmar: true,
            iommu_units: false,
            lockdown: "[none] integrity confidentiality\n",
        },
    );
    let (code, r) = live(&open);
    assert_eq!(code, 1);
    for id in PROTECTIONS {
        assert_eq!(outcome(&r, id).0, "fail", "{id}: {:?}", outcome(&r, id));
    }
    assert!(outcome(&r, "platform.boot-guard")
        .1
        .contains("measured only"));
    // Off on the command line is told apart from absent (fwupd #5275).
    let (_, why) = outcome(&r, "platform.iommu");
    assert!(
        why.contains("off on the kernel command line (intel_iommu=off)"),
        "{why}"
    );
    std::fs::remove_file(open.join("sys/firmware/acpi/tables/DMAR")).unwrap();
    write(&open, "proc/cmdline", b"quiet\n");
    let (_, r) = live(&open);
    let (o, why) = outcome(&r, "platform.iommu");
    assert_eq!(o, "fail");
    assert!(why.starts_with("absent"), "{why}");
}

#[test]
fn ich9_reaches_its_spi_bar_through_rcba() {
    // QEMU q35's LPC bridge, 8086:2918: RCBA at 0xf0 (enabled), SPIBAR =
    // RCBA + 0x3800, protected ranges from +0x74.
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    let rcba: u64 = 0xfed1_c000;
    pci(root, "0000:00:00.0", 0x8086, 0x29c0, 0x060000, &[]);
    pci(
        root,
        "0000:00:1f.0",
        0x8086,
        0x2918,
        0x060100,
        &[(0xdc, 0x02), (0xf0, rcba as u32 | 1)],
    );
    let bar = rcba + 0x3800;
    poke(root, "dev/mem", bar + 4, &0x8000u32.to_le_bytes());
    poke(
        root,
        "dev/mem",
        bar + 0x74 + 8,
        &pr(0, 0x1ff, true).to_le_bytes(),
    );
    let (_, r) = live(root);
    let (o, why) = outcome(&r, "platform.spi.flockdn");
    assert_eq!(o, "pass", "{why}");
    assert!(why.contains(&format!("{bar:#x}")), "{why}");
    assert!(outcome(&r, "platform.spi.protected-ranges")
        .1
        .contains("PR2 0x0-0x1fffff"));
    assert_eq!(outcome(&r, "platform.spi.ble").0, "pass");
    assert_eq!(outcome(&r, "platform.spi.smm-bwp").0, "fail");
    // A later LPC bridge without a visible SPI controller: BIOS Control is
    // read, the BAR's registers are unknown, naming the device.
    pci(
        root,
        "0000:00:1f.0",
        0x8086,
        0xa143,
        0x060100,
        &[(0xdc, 0x22)],
    );
    let (_, r) = live(root);
    assert_eq!(outcome(&r, "platform.spi.ble").0, "pass");
    let (o, why) = outcome(&r, "platform.spi.flockdn");
    assert_eq!(o, "unknown");
    assert!(why.contains("8086:a143"), "{why}");
}

#[test]
fn unknown_platforms_short_config_space_and_escaping_links_are_unknown() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("root");
    // No Intel controller: every SPI check is unknown, naming why.
    pci(&root, "0000:00:00.0", 0x1022, 0x1480, 0x060000, &[]);
    write(&root, "proc/cpuinfo", b"vendor_id\t: AuthenticAMD\n");
    let (_, r) = live(&root);
    // The host bridge is the one device, without a ROM.
    assert_eq!(outcome(&r, "platform.option-roms").0, "pass");
    let (o, why) = outcome(&r, "platform.spi.bioswe");
    assert_eq!(o, "unknown");
    assert!(
        why.contains("platform not known") && why.contains("1022"),
        "{why}"
    );
    assert_eq!(outcome(&r, "platform.boot-guard").0, "not-applicable");
    assert_eq!(outcome(&r, "platform.kernel-lockdown").0, "unknown");
    // A config space read without root is 64 bytes: BIOS Control is not
    // in it.
    pci(&root, "0000:00:1f.5", 0x8086, 0xa143, 0x0c8000, &[]);
    write(&root, "sys/bus/pci/devices/0000:00:1f.5/config", &[0u8; 64]);
    let (_, r) = live(&root);
    let (o, why) = outcome(&r, "platform.spi.ble");
    assert_eq!(o, "unknown");
    assert!(why.contains("needs root"), "{why}");
    // A device link that leaves the root is refused, not followed.
    let outside = d.path().join("outside");
    pci(&outside, "x", 0x8086, 0xa143, 0x0c8000, &[(0xdc, 0x22)]);
    std::fs::remove_dir_all(root.join("sys/bus/pci/devices/0000:00:1f.5")).unwrap();
    std::os::unix::fs::symlink(
        outside.join("sys/bus/pci/devices/x"),
        root.join("sys/bus/pci/devices/0000:00:1f.5"),
    )
    .unwrap();
    let (_, r) = live(&root);
    assert_eq!(outcome(&r, "platform.spi.ble").0, "unknown");
    // A link that stays inside (as sysfs's do) is followed.
    let inside = root.join("sys/devices/pci0000:00/0000:00:1f.5");
    pci(
        &root,
        "../../../devices/pci0000:00/0000:00:1f.5",
        0x8086,
        0xa143,
        0x0c8000,
        &[(0xdc, 0x22)],
    );
    std::fs::remove_file(root.join("sys/bus/pci/devices/0000:00:1f.5")).unwrap();
    std::os::unix::fs::symlink(&inside, root.join("sys/bus/pci/devices/0000:00:1f.5")).unwrap();
    let (_, r) = live(&root);
    assert_eq!(outcome(&r, "platform.spi.ble").0, "pass");
}

#[test]
fn a_tree_that_lists_no_pci_device_says_nothing_of_option_roms() {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(d.path().join("sys/bus/pci/devices")).unwrap();
    let (_, r) = live(d.path());
    assert_eq!(outcome(&r, "platform.option-roms").0, "unknown");
}

#[test]
fn this_machine_is_judged_on_what_it_has() {
    let (_, r) = live(Path::new("/"));
    // The test reads the same facts itself.
    let tables = Path::new("/sys/firmware/acpi/tables");
    let has_table = ["DMAR", "IVRS"].iter().any(|t| tables.join(t).exists());
    let (o, why) = outcome(&r, "platform.iommu");
    if !tables.exists() {
        assert_eq!(o, "unknown");
    } else if !has_table
        && !std::fs::read_to_string("/proc/cmdline")
            .unwrap_or_default()
            .contains("iommu=off")
    {
        assert_eq!(
            (o.as_str(), why.starts_with("absent")),
            ("fail", true),
            "{why}"
        );
    } else {
        // A DMAR or IVRS table (or the IOMMU turned off on purpose): judged
        // from it, never said to be absent, never left out.
        assert!(
            ["pass", "fail", "unknown"].contains(&o.as_str()),
            "{o}: {why}"
        );
        assert!(!(has_table && why.starts_with("absent")), "{why}");
    }
    let lockdown = std::fs::read_to_string("/sys/kernel/security/lockdown");
    let (o, _) = outcome(&r, "platform.kernel-lockdown");
    match lockdown {
        Err(_) => assert_eq!(o, "unknown"),
        Ok(t) if t.contains("[none]") => assert_eq!(o, "fail"),
        Ok(_) => assert_eq!(o, "pass"),
    }
    let intel_spi = ["0000:00:1f.5", "0000:00:1f.0"].iter().any(|d| {
        std::fs::read_to_string(format!("/sys/bus/pci/devices/{d}/vendor"))
            .is_ok_and(|v| v.trim() == "0x8086")
    });
    let (o, why) = outcome(&r, "platform.spi.flockdn");
    if !intel_spi {
        assert_eq!(o, "unknown");
        assert!(why.contains("platform not known"), "{why}");
    } else {
        // An Intel LPC or SPI controller: a verdict or an unknown with its
        // reason (the registers need root), never not-applicable.
        assert!(
            ["pass", "fail", "unknown"].contains(&o.as_str()),
            "{o}: {why}"
        );
        assert!(!why.is_empty());
    }
    let cpu = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let (o, why) = outcome(&r, "platform.boot-guard");
    if !cpu.contains("GenuineIntel") && cpu.contains("vendor_id") {
        assert_eq!(o, "not-applicable");
    } else {
        // An Intel CPU (or one /proc/cpuinfo does not name): Boot Guard is
        // judged, or unknown with its reason.
        assert!(
            ["pass", "fail", "unknown"].contains(&o.as_str()),
            "{o}: {why}"
        );
        assert!(!why.is_empty());
    }
}
