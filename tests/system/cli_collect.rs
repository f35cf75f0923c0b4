//! `bootaudit collect`: on the machine the tests run on (which shows ACPI
//! tables and a memory map in /sys), and on fixtures/linux-host/root, a
//! copy of what a real Linux host showed (Debian's kernel booted by OVMF
//! with Secure Boot on and a swtpm TPM; made by `cargo xtask regen linux-host`) for the parts this
//! machine lacks: EFI variables, the TPM, SMBIOS. Each fact is checked
//! against another reader: sha256sum, iasl, the kernel's own DMI summary,
//! tpm2_eventlog.

use crate::common;

use bootaudit::snapshot::{self, Snapshot};
use std::path::{Path, PathBuf};
use std::process::Command;

fn collect(root: &Path) -> Snapshot {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("host.json");
    collect_to(&out, Some(root))
}

/// `bootaudit collect [--root ROOT] -o OUT`, which must succeed.
fn collect_to(out: &Path, root: Option<&Path>) -> Snapshot {
    let mut c = common::bootaudit();
    c.arg("collect");
    if let Some(r) = root {
        c.arg("--root").arg(r);
    }
    let o = c.arg("-o").arg(out).output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    snapshot::read_file(out).unwrap()
}

fn fixture_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/linux-host/root")
}

fn sha256sum(bytes: &[u8]) -> String {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("x");
    std::fs::write(&p, bytes).unwrap();
    let o = Command::new("sha256sum").arg(&p).output().unwrap();
    String::from_utf8(o.stdout).unwrap()[..64].to_string()
}

#[test]
fn on_this_machine_every_acpi_table_and_memory_range_is_recorded() {
    let tables = Path::new("/sys/firmware/acpi/tables");
    assert!(
        tables.is_dir(),
        "this test needs a machine that shows its ACPI tables in /sys (the CI machine does)"
    );
    let s = collect(Path::new("/"));
    assert_eq!(s.source.kind.as_str(), "linux-host");
    let acpi = s.acpi.as_ref().unwrap();
    let mut files: Vec<PathBuf> = std::fs::read_dir(tables)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let top: Vec<_> = acpi.tables.iter().filter(|t| t.via == "sysfs").collect();
    assert_eq!(top.len(), files.len());
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        let hash = sha256sum(&bytes);
        let t = top
            .iter()
            .find(|t| t.sha256 == hash)
            .unwrap_or_else(|| panic!("{} ({hash}) not in the snapshot", f.display()));
        assert_eq!(t.length as usize, bytes.len());
        assert_eq!(&bytes[..4], t.signature.as_bytes());
    }
    // iasl reads the DSDT's OEM ID as the snapshot does.
    let d = tempfile::tempdir().unwrap();
    std::fs::copy(tables.join("DSDT"), d.path().join("dsdt.dat")).unwrap();
    let o = Command::new("iasl")
        .args(["-d", "dsdt.dat"])
        .current_dir(d.path())
        .output()
        .expect("iasl (acpica-tools)");
    assert!(o.status.success());
    let dsl = std::fs::read_to_string(d.path().join("dsdt.dsl")).unwrap();
    let dsdt = top.iter().find(|t| t.signature == "DSDT").unwrap();
    assert!(
        dsl.contains(&format!("\"{}\"", dsdt.oem_id)),
        "iasl's DSDT header does not name OEM {:?}",
        dsdt.oem_id
    );

    // The firmware memory map: one descriptor per /sys/firmware/memmap entry.
    let map = s
        .memory_maps
        .iter()
        .find(|m| m.label.as_str() == "firmware-memmap")
        .unwrap();
    let dir = Path::new("/sys/firmware/memmap");
    let n = std::fs::read_dir(dir).unwrap().count();
    assert_eq!(map.descriptors.len(), n);
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap().path();
        let rd = |f: &str| {
            std::fs::read_to_string(e.join(f))
                .unwrap()
                .trim()
                .to_string()
        };
        let start = u64::from_str_radix(rd("start").trim_start_matches("0x"), 16).unwrap();
        let d = map
            .descriptors
            .iter()
            .find(|d| d.physical_start == start)
            .unwrap();
        // Every name the kernel's firmware_map_add_entry gives (see
        // drivers/firmware/memmap.c and e820_type_to_string), mapped to the
        // EFI memory type of the UEFI specification's table 7.10; a name
        // this list lacks fails the test rather than passing anything.
        let want = match rd("type").as_str() {
            "System RAM" | "Soft Reserved" => 7,
            "Reserved" | "reserved" => 0,
            "ACPI Tables" => 9,
            "ACPI Non-volatile Storage" => 10,
            "Unusable memory" => 8,
            "Persistent Memory" | "Persistent Memory (legacy)" => 14,
            other => panic!(
                "{}: firmware-map type {other:?} unknown to this test",
                e.display()
            ),
        };
        assert_eq!(d.ty.0, want, "{}", e.display());
    }
    // What this machine does not have is recorded, with the reason.
    if !Path::new("/sys/firmware/efi").exists() {
        assert!(s.secure_boot.is_none());
        assert!(s
            .errors
            .iter()
            .any(|e| e.part.as_str() == "secure-boot"
                && e.status.as_deref().unwrap().contains("no EFI")));
    }
}

#[test]
fn the_copied_tree_of_a_real_host_gives_every_part() {
    let root = fixture_root();
    let s = collect(&root);
    // Everything but the ESP, which this tree does not hold.
    let parts: Vec<_> = s.errors.iter().map(|e| e.part.as_str()).collect();
    assert_eq!(parts, ["esp"], "{:?}", s.errors);
    let id = s.identity.as_ref().unwrap();
    assert_eq!(id.hostname.as_deref(), Some("bootaudit-fixture"));
    assert_eq!(
        id.machine_id.as_deref(),
        Some("5b0a7d1e2c3f4a5b8c9d0e1f2a3b4c5d")
    );
    // SMBIOS from the raw tables agrees with the kernel's own parse of them
    // (/sys/class/dmi/id), and with what the xtask told QEMU.
    let sm = id.smbios.as_ref().unwrap();
    let dmi = |f: &str| {
        std::fs::read_to_string(root.join("sys/class/dmi/id").join(f))
            .unwrap()
            .trim()
            .to_string()
    };
    assert_eq!(sm.bios_vendor, dmi("bios_vendor"));
    assert_eq!(sm.bios_version, dmi("bios_version"));
    assert_eq!(sm.bios_release_date, dmi("bios_date"));
    assert_eq!(sm.system_manufacturer, "bootaudit");
    assert_eq!(sm.system_manufacturer, dmi("sys_vendor"));
    assert_eq!(sm.system_product, dmi("product_name"));
    assert_eq!(sm.system_serial, "BA-0001");

    // Secure Boot was on, with the snakeoil PK/KEK/db: the variables'
    // hashes are those of the efivarfs files minus their 4 attribute bytes.
    let sb = s.secure_boot.as_ref().unwrap();
    assert_eq!((sb.secure_boot, sb.setup_mode), (Some(1), Some(0)));
    let vars = root.join("sys/firmware/efi/efivars");
    for v in &sb.variables {
        let f = vars.join(format!("{}-{}", v.name, v.vendor.to_ascii_lowercase()));
        let bytes = std::fs::read(&f).unwrap();
        assert_eq!(v.sha256, sha256sum(&bytes[4..]), "{}", v.name);
        assert_eq!(
            v.attributes,
            u32::from_le_bytes(bytes[..4].try_into().unwrap())
        );
    }
    let names: Vec<_> = sb.variables.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["PK", "KEK", "db", "dbx"]);
    assert!(sb
        .boot_entries
        .iter()
        .any(|e| e.description == "UiApp" && e.device_path.contains("FvFile(462CAA21")));

    // The TPM: the kernel's copy of the log, and the PCRs sysfs showed,
    // which tpm2_eventlog's replay of that log reproduces.
    let t = s.tpm.as_ref().unwrap();
    let log_file = root.join("sys/kernel/security/tpm0/binary_bios_measurements");
    assert_eq!(
        hex::decode(&t.event_log).unwrap(),
        std::fs::read(&log_file).unwrap()
    );
    let oracle = common::tpm2_eventlog_pcrs(&log_file);
    for (bank, pcrs) in &oracle {
        for (i, v) in pcrs {
            assert_eq!(t.pcrs[bank][i], *v, "{bank} PCR{i}");
        }
    }
    // The EFI runtime map, as the kernel mapped it.
    let rt = s
        .memory_maps
        .iter()
        .find(|m| m.label.as_str() == "efi-runtime-map")
        .unwrap();
    let n = std::fs::read_dir(root.join("sys/firmware/efi/runtime-map"))
        .unwrap()
        .count();
    assert_eq!(rt.descriptors.len(), n);
    assert!(rt.descriptors.iter().all(|d| d.attributes >> 63 == 1));
    // `show` reads it, and its log replays to its PCRs.
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("s.json");
    std::fs::write(&p, serde_json::to_vec(&s).unwrap()).unwrap();
    common::run_command(common::bootaudit().arg("show").arg(&p)).exits(0);
}

#[test]
fn missing_and_malformed_parts_are_recorded_not_fatal() {
    let d = tempfile::tempdir().unwrap();
    // An empty root: nothing to read, every part says why.
    let s = collect(d.path());
    let parts: Vec<_> = s.errors.iter().map(|e| e.part.as_str()).collect();
    for p in ["smbios", "tpm", "secure-boot", "memory-map", "acpi"] {
        assert!(parts.contains(&p), "{p}: {:?}", s.errors);
    }
    // A table whose header claims more than the file holds, one with a bad
    // checksum, one shorter than a header, and a directory where an
    // efivarfs file should be.
    let t = d.path().join("sys/firmware/acpi/tables");
    std::fs::create_dir_all(&t).unwrap();
    let mut ssdt = vec![0u8; 40];
    ssdt[..4].copy_from_slice(b"SSDT");
    ssdt[4..8].copy_from_slice(&4000u32.to_le_bytes());
    std::fs::write(t.join("SSDT1"), &ssdt).unwrap();
    std::fs::write(t.join("XYZW"), b"XYZW").unwrap();
    let v = d.path().join("sys/firmware/efi/efivars");
    std::fs::create_dir_all(v.join("SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c")).unwrap();
    let s = collect(d.path());
    let acpi = s.acpi.as_ref().unwrap();
    assert_eq!(acpi.tables.len(), 1);
    assert_eq!(acpi.tables[0].checksum_valid, Some(false));
    let said = |needle: &str| s.errors.iter().any(|e| e.what.contains(needle));
    assert!(
        said("header length 4000 but the file holds 40 bytes"),
        "{:?}",
        s.errors
    );
    assert!(
        said("4 bytes, shorter than a table header"),
        "{:?}",
        s.errors
    );
    assert!(said("SecureBoot-8be4df61"), "{:?}", s.errors);
    // A root that is not a directory is bad usage.
    let o = common::run_command(common::bootaudit().args([
        "collect",
        "--root",
        "/nonexistent/bootaudit",
    ]))
    .exits(2);
    assert!(o.stderr.contains("/nonexistent/bootaudit"));
}

#[test]
fn a_mutated_tree_never_crashes_collect() {
    // Random bytes in every file of a copy of the real tree, a file at a
    // time: collect still writes a snapshot that reads back.
    let src = fixture_root();
    let mut files = Vec::new();
    let mut stack = vec![src.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    files.sort();
    let mut rng = common::Rng(0x5eed_c011);
    for (i, f) in files.iter().enumerate().filter(|(i, _)| i % 3 == 0) {
        let d = tempfile::tempdir().unwrap();
        let o = Command::new("cp")
            .args(["-r"])
            .arg(&src)
            .arg(d.path().join("root"))
            .status()
            .unwrap();
        assert!(o.success());
        let target = d.path().join("root").join(f.strip_prefix(&src).unwrap());
        let mut bytes = std::fs::read(&target).unwrap();
        for _ in 0..(1 + bytes.len() / 16) {
            if bytes.is_empty() {
                break;
            }
            let at = (rng.next() as usize) % bytes.len();
            bytes[at] = rng.next() as u8;
        }
        if i % 2 == 0 {
            bytes.truncate((rng.next() as usize) % (bytes.len() + 1));
        }
        std::fs::write(&target, &bytes).unwrap();
        let _ = collect(&d.path().join("root"));
    }
}

/// `diff --format json A B`, which must exit with `code`.
#[track_caller]
fn diff_json(a: &Path, b: &Path, code: i32) -> serde_json::Value {
    diff_text(a, b, "json", code).json()
}

fn rules(v: &serde_json::Value) -> Vec<(String, String)> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn diff_works_on_host_snapshots_unchanged() {
    let d = tempfile::tempdir().unwrap();
    let base = d.path().join("base.json");
    std::fs::write(
        &base,
        serde_json::to_vec(&collect(&fixture_root())).unwrap(),
    )
    .unwrap();
    diff_json(&base, &base, 0);
    // The same host with an extra SSDT and a new EFI runtime region.
    let root = d.path().join("root");
    assert!(Command::new("cp")
        .arg("-r")
        .arg(fixture_root())
        .arg(&root)
        .status()
        .unwrap()
        .success());
    let aml = {
        let asl = d.path().join("x.asl");
        std::fs::write(
            &asl,
            "DefinitionBlock (\"x.aml\", \"SSDT\", 2, \"BATEST\", \"BAEXTRA\", 1)\n{ Scope (\\_SB) { Name (BAXT, 1) } }\n",
        )
        .unwrap();
        assert!(Command::new("iasl")
            .arg(&asl)
            .current_dir(d.path())
            .output()
            .unwrap()
            .status
            .success());
        d.path().join("x.aml")
    };
    std::fs::copy(aml, root.join("sys/firmware/acpi/tables/SSDT1")).unwrap();
    let rt = root.join("sys/firmware/efi/runtime-map/99");
    std::fs::create_dir_all(&rt).unwrap();
    for (f, v) in [
        ("type", "0x6"),
        ("phys_addr", "0x3e000000"),
        ("num_pages", "0x10"),
        ("attribute", "0x800000000000000f"),
        ("virt_addr", "0x0"),
    ] {
        std::fs::write(rt.join(f), format!("{v}\n")).unwrap();
    }
    let now = d.path().join("now.json");
    std::fs::write(&now, serde_json::to_vec(&collect(&root)).unwrap()).unwrap();
    let v = diff_json(&base, &now, 1);
    let r = rules(&v);
    assert!(
        r.contains(&("acpi.table.added".into(), "high".into())),
        "{r:?}"
    );
    assert!(
        r.contains(&("memory-map.region.added".into(), "critical".into())),
        "{r:?}"
    );
}

#[test]
fn a_host_snapshot_against_a_collector_one_compares_what_both_see() {
    let d = tempfile::tempdir().unwrap();
    let host = d.path().join("host.json");
    std::fs::write(
        &host,
        serde_json::to_vec(&collect(&fixture_root())).unwrap(),
    )
    .unwrap();
    // The same virtual machine (firmware, keys, SMBIOS), seen by the
    // collector before any OS (`cargo xtask regen linux-host` boots both).
    let collector = fixture_root().with_file_name("collector.json");
    let v = diff_json(&collector, &host, 1);
    let r = rules(&v);
    // The memory maps are different views: not compared region by region.
    assert!(
        r.contains(&("memory-map.not-comparable".into(), "info".into())),
        "{r:?}"
    );
    assert!(
        !r.iter().any(|x| x.0.starts_with("memory-map.region")),
        "{r:?}"
    );
    // The host cannot see the XSDT, and sees the FACP and TPM2 with the
    // kernel's addresses: no ACPI finding. Linux does not show the UEFI
    // vendor: no identity finding. The same firmware and keys: no PCR0 or
    // Secure Boot variable finding. (Booting a kernel instead of the
    // collector from disk does change PCR1/4/5/7 and the boot entries.)
    for prefix in [
        "acpi.",
        "identity.",
        "secure-boot.",
        "tpm.pcr0",
        "loaded-images.",
    ] {
        assert!(
            !r.iter().any(|x| x.0.starts_with(prefix)),
            "{prefix}: {r:?}"
        );
    }
}

#[test]
fn the_esp_binaries_go_into_the_snapshot_and_diff_sees_a_swapped_loader() {
    let (shim, grub) = common::debian_signed_efi();
    let d = tempfile::tempdir().unwrap();
    let esp = d.path().join("esp");
    std::fs::create_dir_all(esp.join("EFI/BOOT")).unwrap();
    std::fs::copy(&shim, esp.join("EFI/BOOT/BOOTX64.EFI")).unwrap();
    let snap = |name: &str| {
        let out = d.path().join(name);
        common::run_command(
            common::bootaudit()
                .args(["collect", "--root"])
                .arg(fixture_root())
                .arg("--esp")
                .arg(&esp)
                .arg("-o")
                .arg(&out),
        )
        .exits(0);
        out
    };
    let before = snap("before.json");
    let s = snapshot::read_file(&before).unwrap();
    assert!(s.errors.is_empty(), "{:?}", s.errors);
    let b = s.esp.as_ref().unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].path, "EFI/BOOT/BOOTX64.EFI");
    assert!(b[0].certificates > 0);
    // The loader replaced by another signed binary, and a new one beside.
    std::fs::copy(&grub, esp.join("EFI/BOOT/BOOTX64.EFI")).unwrap();
    std::fs::copy(&grub, esp.join("EFI/BOOT/stage2.efi")).unwrap();
    let after = snap("after.json");
    let v = diff_json(&before, &after, 1);
    let r = rules(&v);
    assert!(
        r.contains(&("esp.binary.changed".into(), "high".into())),
        "{r:?}"
    );
    assert!(
        r.contains(&("esp.binary.added".into(), "high".into())),
        "{r:?}"
    );
}

/// `collect --root fixtures --firmware DUMP -o OUT`, which must exit 0.
fn collect_with_firmware(dump: &Path, out: &Path) {
    common::run_command(
        common::bootaudit()
            .args(["collect", "--root"])
            .arg(fixture_root())
            .arg("--firmware")
            .arg(dump)
            .arg("-o")
            .arg(out),
    )
    .exits(0);
}

/// `firmware check --format json --references STORE SNAPSHOT`.
fn check_firmware(store: &Path, snap: &Path) -> serde_json::Value {
    let o = common::bootaudit()
        .args(["firmware", "check", "--format", "json", "--references"])
        .arg(store)
        .arg(snap)
        .output()
        .unwrap();
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn a_flash_dump_is_hashed_and_judged_against_the_vendor_image() {
    // A dump as flashrom would make it: here, Debian's OVMF code image.
    let d = tempfile::tempdir().unwrap();
    let dump = d.path().join("bios.bin");
    std::fs::copy("/usr/share/OVMF/OVMF_CODE_4M.fd", &dump).unwrap();
    let out = d.path().join("host.json");
    collect_with_firmware(&dump, &out);
    let s = snapshot::read_file(&out).unwrap();
    let fl = s.firmware_flash.as_ref().expect("firmware_flash");
    assert_eq!(fl.sha256, sha256sum(&std::fs::read(&dump).unwrap()));
    assert_eq!(fl.size, 3_653_632);
    // Judged by the reference of the same image: byte for byte the vendor's.
    let store = d.path().join("refs");
    common::reference_add(&store, "/usr/share/OVMF/OVMF_CODE_4M.fd", "v", "1");
    let v = check_firmware(&store, &out);
    assert_eq!(
        v["judgement"]["flash"], "byte for byte the vendor's image v 1",
        "{v:#}"
    );
    // One flipped byte in a driver: the flash is not the vendor's.
    let mut bytes = std::fs::read(&dump).unwrap();
    bytes[0x34_0000] ^= 1;
    std::fs::write(&dump, &bytes).unwrap();
    collect_with_firmware(&dump, &out);
    let v = check_firmware(&store, &out);
    let rules = common::finding_rules(&v);
    assert!(
        rules.contains(&"firmware.flash.differs-from-reference"),
        "{rules:?}"
    );
    // Not a firmware image, or a symbolic link: recorded as an error naming it.
    std::fs::write(&dump, b"not firmware").unwrap();
    let link = d.path().join("link.bin");
    std::os::unix::fs::symlink("/usr/share/OVMF/OVMF_CODE_4M.fd", &link).unwrap();
    for p in [&dump, &link] {
        collect_with_firmware(p, &out);
        let s = snapshot::read_file(&out).unwrap();
        assert!(s.firmware_flash.is_none());
        let e: Vec<_> = s
            .errors
            .iter()
            .filter(|e| e.part.as_str() == "firmware-flash")
            .collect();
        assert!(
            e.len() == 1 && e[0].what.contains(p.file_name().unwrap().to_str().unwrap()),
            "{e:?}"
        );
    }
}

/// `bootaudit diff --format FORMAT A B`, which must exit with `code`.
#[track_caller]
fn diff_text(a: &Path, b: &Path, format: &str, code: i32) -> common::Run {
    common::run_command(
        common::bootaudit()
            .args(["diff", "--format", format])
            .arg(a)
            .arg(b),
    )
    .exits(code)
}

#[test]
fn this_host_collected_then_diffed_with_itself_is_clean_whatever_identity_it_offers() {
    // A scheduled check's first run: collect, then diff against itself.
    // This machine may have no SMBIOS at all (a VM without DMI): its
    // machine-id then tells the two apart from another installation's.
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("a.json");
    let s = collect_to(&out, None);
    let dmi = Path::new("/sys/class/dmi/id/product_name").exists();
    let machine_id = std::fs::read_to_string("/etc/machine-id").unwrap_or_default();
    assert_eq!(
        s.identity
            .as_ref()
            .and_then(|i| i.smbios.as_ref())
            .is_some(),
        dmi,
        "the snapshot records SMBIOS exactly when the kernel shows DMI"
    );
    let json = diff_text(&out, &out, "json", 0).out();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let want = if dmi { "smbios" } else { "machine-id" };
    assert_eq!(v["machine_identity"], want, "{json}");
    if !dmi {
        assert_eq!(
            s.identity.as_ref().and_then(|i| i.machine_id.as_deref()),
            Some(machine_id.trim())
        );
    }
    let ran = diff_text(&out, &out, "table", 0);
    let table = ran.out();
    assert!(table.contains("the same machine by its"), "{table}");
}

/// Writes `s` as `dir/name`; returns the path.
fn write_snapshot(dir: &Path, name: &str, s: &Snapshot) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_vec(s).unwrap()).unwrap();
    p
}

#[test]
fn without_smbios_the_machine_id_decides_and_nothing_shared_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let mut s = collect(&fixture_root());
    let id = s.identity.as_mut().unwrap();
    id.smbios = None;
    id.machine_id = Some("0123456789abcdef0123456789abcdef".into());
    let write = |name: &str, s: &Snapshot| write_snapshot(d.path(), name, s);
    let a = write("a.json", &s);
    let json = diff_text(&a, &a, "json", 0).out();
    assert!(
        json.contains("\"machine_identity\": \"machine-id\""),
        "{json}"
    );
    // Another installation.
    s.identity.as_mut().unwrap().machine_id = Some("fedcba9876543210fedcba9876543210".into());
    let b = write("b.json", &s);
    let ran = diff_text(&a, &b, "json", 2);
    let err = ran.stderr;
    assert!(err.contains("another installation"), "{err}");
    // No identity shared: an unset machine-id (systemd's "uninitialized",
    // or all zeros) names nothing.
    for unusable in ["uninitialized", "00000000000000000000000000000000", ""] {
        s.identity.as_mut().unwrap().machine_id = Some(unusable.into());
        let c = write("c.json", &s);
        let ran = diff_text(&a, &c, "json", 2);
        let err = ran.stderr;
        assert!(err.contains("they share no identity"), "{err}");
    }
    // One side with SMBIOS, the other without: refused, not decided by the
    // weaker identity (an edited snapshot would look so).
    let mut with = collect(&fixture_root());
    with.identity.as_mut().unwrap().machine_id = Some("0123456789abcdef0123456789abcdef".into());
    assert!(with.identity.as_ref().unwrap().smbios.is_some());
    let w = write("w.json", &with);
    let ran = diff_text(&w, &a, "json", 2);
    let err = ran.stderr;
    assert!(
        err.contains("the snapshot has no SMBIOS system identity"),
        "{err}"
    );
}

#[test]
fn with_no_stronger_identity_the_esp_partition_guid_decides() {
    // A collector's snapshots of a machine with no SMBIOS and no TPM: no
    // machine-id either (pre-OS), only the ESP's partition GUID.
    let d = tempfile::tempdir().unwrap();
    let mut s = collect(&fixture_root());
    let id = s.identity.as_mut().unwrap();
    id.smbios = None;
    id.machine_id = None;
    id.esp_partition_guid = Some("08F22034-F503-4C0D-8A0E-59E0F6A099CD".into());
    let write = |name: &str, s: &Snapshot| write_snapshot(d.path(), name, s);
    let a = write("a.json", &s);
    let v: serde_json::Value = serde_json::from_str(&diff_text(&a, &a, "json", 0).out()).unwrap();
    assert_eq!(v["machine_identity"], "esp-partition", "{v}");
    // Lower case is the same GUID.
    s.identity.as_mut().unwrap().esp_partition_guid =
        Some("08f22034-f503-4c0d-8a0e-59e0f6a099cd".into());
    let l = write("l.json", &s);
    diff_text(&a, &l, "json", 0);
    // Another disk: refused.
    s.identity.as_mut().unwrap().esp_partition_guid =
        Some("9F333044-3C89-4B6F-9A56-2F1E0B7C4D21".into());
    let b = write("b.json", &s);
    let err = diff_text(&a, &b, "json", 2).stderr;
    assert!(err.contains("a baseline of another disk"), "{err}");
    // A zero or malformed GUID names nothing.
    for unusable in ["00000000-0000-0000-0000-000000000000", "not a guid", ""] {
        s.identity.as_mut().unwrap().esp_partition_guid = Some(unusable.into());
        let c = write("c.json", &s);
        let err = diff_text(&a, &c, "json", 2).stderr;
        assert!(err.contains("they share no identity"), "{err}");
        assert!(
            err.contains("the baseline has only an ESP partition GUID"),
            "{err}"
        );
    }
}

/// `collect` of the fixture tree with the TPM `tcti`: the snapshot.
fn collect_with_tpm(tcti: &str, out: &Path) -> Snapshot {
    common::run(&[
        "collect".as_ref(),
        "--root".as_ref(),
        fixture_root().as_os_str(),
        "--tpm".as_ref(),
        tcti.as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
    ])
    .exits(0);
    snapshot::read_file(out).unwrap()
}

#[test]
fn the_tpms_endorsement_key_names_the_machine_and_another_one_is_high() {
    let d = tempfile::tempdir().unwrap();
    let (one, two) = (
        common::swtpm::Swtpm::start("sha256"),
        common::swtpm::Swtpm::start("sha256"),
    );
    let a = collect_with_tpm(&one.tcti(), &d.path().join("a.json"));
    let b = collect_with_tpm(&one.tcti(), &d.path().join("b.json"));
    let c = collect_with_tpm(&two.tcti(), &d.path().join("c.json"));
    let ek = |s: &Snapshot| {
        s.identity
            .as_ref()
            .and_then(|i| i.endorsement_key.clone())
            .expect("an endorsement key")
    };
    // The key is the TCG default EK, as tpm2-tools makes it.
    assert_eq!(
        ek(&a).public_sha256,
        common::tpm2_tools_ek(&one.tcti(), d.path())
    );
    assert_eq!(ek(&a).template, "rsa-2048");
    assert_eq!(ek(&a), ek(&b));
    assert_ne!(ek(&a).public_sha256, ek(&c).public_sha256);

    // The same TPM: the same machine by its endorsement key, and clean.
    let (pa, pb, pc) = (
        d.path().join("a.json"),
        d.path().join("b.json"),
        d.path().join("c.json"),
    );
    let v = diff_json(&pa, &pb, 0);
    assert_eq!(v["machine_identity"], "endorsement-key", "{v}");
    // Another TPM under the same SMBIOS identity: the SMBIOS decides which
    // machine it is, and the other key is a high finding, unexplained.
    let v = diff_json(&pa, &pc, 1);
    assert_eq!(v["machine_identity"], "smbios", "{v}");
    let found: Vec<_> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "identity.endorsement-key.changed")
        .collect();
    assert_eq!(found.len(), 1, "{v}");
    assert_eq!(found[0]["severity"], "high");
    // No EK certificate in those TPMs: none recorded.
    assert!(ek(&a).certificate.is_none());

    // A TPM whose maker put its EK certificate in NV (swtpm's local CA):
    // read in 512-byte pieces, it is the certificate tpm2-tools reads, and
    // its issuer and serial are what openssl says.
    let ca = d.path().join("ca");
    let certified = common::swtpm::Swtpm::start_certified("sha256", &ca);
    let e = ek(&collect_with_tpm(
        &certified.tcti(),
        &d.path().join("e.json"),
    ));
    let cert = e.certificate.expect("the EK certificate");
    assert!(cert.unreadable.is_none(), "{cert:?}");
    let o = Command::new("tpm2_nvread")
        .args([
            "-T",
            &certified.tcti(),
            "-C",
            "o",
            "-o",
            "ek.der",
            "0x01c00002",
        ])
        .current_dir(d.path())
        .output()
        .expect("tpm2_nvread (tpm2-tools)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let der = std::fs::read(d.path().join("ek.der")).unwrap();
    assert!(der.len() > 512, "{} bytes: one NV read would do", der.len());
    assert_eq!(cert.sha256, sha256sum(&der));
    let ek_der = d.path().join("ek.der");
    let out = common::openssl(&[
        "x509",
        "-inform",
        "DER",
        "-in",
        ek_der.to_str().unwrap(),
        "-noout",
        "-serial",
        "-issuer",
        "-nameopt",
        "RFC2253",
    ]);
    let text = String::from_utf8_lossy(&out).to_string();
    let serial = text
        .lines()
        .find_map(|l| l.strip_prefix("serial="))
        .unwrap()
        .to_ascii_lowercase();
    assert_eq!(
        cert.serial.trim_start_matches('0'),
        serial.trim_start_matches('0'),
        "{text}"
    );
    let cn = text
        .lines()
        .find_map(|l| l.strip_prefix("issuer="))
        .and_then(|i| i.split(',').find_map(|p| p.strip_prefix("CN=")))
        .unwrap();
    assert!(
        cert.issuer.contains(&format!("CN={cn}")),
        "{} / {text}",
        cert.issuer
    );
}
