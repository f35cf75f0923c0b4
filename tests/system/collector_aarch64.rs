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

/// One boot of the collector for `arch`, with `more` xtask options.
fn boot(out: &Path, arch: &str, more: &[&str]) -> PathBuf {
    let mut args = vec!["--arch", arch];
    args.extend(more);
    args.extend(CONFIG);
    common::boot_collector(out, &args)
}

/// `diff A B --format json` with `more` options, which must exit with
/// `code`.
#[track_caller]
fn diff(a: &Path, b: &Path, more: &[&str], code: i32) -> serde_json::Value {
    let mut c = common::bootaudit();
    c.arg("diff")
        .arg(a)
        .arg(b)
        .args(more)
        .args(["--format", "json"]);
    common::run_command(&mut c).exits(code).json()
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

/// `check FILE --format json`, which fails (each boot here has Secure Boot
/// off or a test key).
#[track_caller]
fn check(p: &Path) -> serde_json::Value {
    common::run(&[
        "check".as_ref(),
        p.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ])
    .exits(1)
    .json()
}

/// Each check's result, by id.
fn results(p: &Path) -> Vec<(String, String)> {
    let r = check(p);
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
    let a = boot(&dir.path().join("a"), "aarch64", &[]);
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

    // The code flash, read where the platform's Device Tree names it (the
    // FDT HOB: with ACPI, the configuration table has none): the volumes
    // the firmware runs from, which are these bytes of the pflash image
    // QEMU maps at 0, read here straight from the file.
    let fl = s.firmware_flash.as_ref().expect("the flash copy");
    assert!(
        fl.how.contains("cfi-flash bank 0x0+0x4000000"),
        "{}",
        fl.how
    );
    assert!(fl.how.contains("FDT HOB"), "{}", fl.how);
    let copy = std::fs::read(a.with_file_name(fl.file.as_deref().unwrap())).unwrap();
    assert_eq!(copy.len() as u64, fl.size);
    assert!(
        copy == image[fl.base as usize..(fl.base + fl.size) as usize],
        "the copy at {:#x}+{:#x} is not AAVMF_CODE.fd's bytes there",
        fl.base,
        fl.size
    );
    assert_eq!(
        common::sha256sum(&a.with_file_name(fl.file.as_deref().unwrap())),
        fl.sha256
    );
    assert!(s.errors.is_empty(), "{:?}", s.errors);
    // Judged against the reference of the same image: byte for byte one
    // of its volumes, and the PCR0 blob that measures it is the vendor's.
    let j = firmware_check(a.as_path(), &aavmf_reference(dir.path()), 0);
    let flash = j["judgement"]["flash"].as_str().unwrap_or_default();
    assert!(
        flash.starts_with("byte for byte volume ")
            && flash.ends_with("of the vendor's image Debian aavmf"),
        "{j:#}"
    );

    // `check` gives each check the result it gives an x86 boot of the
    // same configuration (plain firmware, Secure Boot off, setup mode).
    let x = boot(&dir.path().join("x"), "x86_64", &[]);
    assert_eq!(read(&x).source.architecture.as_deref(), Some("x86_64"));
    let (arm, x86) = (results(&a), results(&x));
    assert!(arm.len() >= 20, "{arm:?}");
    assert_eq!(arm, x86);

    // Two plain boots of the same machine: nothing at or above low.
    let b = boot(&dir.path().join("b"), "aarch64", &[]);
    let r = diff(&a, &b, &["--fail-on", "low"], 0);
    assert_eq!(r["findings"].as_array().map(Vec::len), Some(0), "{r}");
}

#[test]
fn secure_boot_on_arm_with_debians_test_keys_fails_the_test_key_checks() {
    // AAVMF's snakeoil variable store: Debian's test certificate as PK,
    // KEK and db, Secure Boot on; xtask signs the collector with its key.
    let dir = tempfile::tempdir().unwrap();
    let a = boot(&dir.path().join("a"), "aarch64", &["--ovmf", "snakeoil"]);
    let r = check(&a);
    let result = |id: &str| {
        common::check_result(&r, id)["result"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(result("secure-boot.on"), "pass");
    assert_eq!(result("secure-boot.user-mode"), "pass");
    assert_eq!(result("secure-boot.keys.measured"), "pass");
    assert_eq!(result("secure-boot.db.test-key"), "fail");
    let pk = common::check_result(&r, "secure-boot.pk.test-key");
    assert_eq!(pk["result"], "fail");
    // The keys named are Debian's snakeoil certificate, by openssl's
    // SHA-256 of the ovmf package's PEM (the same certificate AAVMF's
    // store enrols).
    let keys = pk["evidence"]["test_keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "PK and KEK: {keys:?}");
    let fp = common::snakeoil_sha256();
    for k in keys {
        assert_eq!(k["sha256"], fp.as_str(), "{k}");
    }
    // The signed collector ran: it is the boot application PCR4 measured.
    assert_eq!(result("boot-application.measured"), "pass");
}

/// A reference store under `dir` made of Debian's AAVMF_CODE.fd.
fn aavmf_reference(dir: &Path) -> PathBuf {
    let refs = dir.join("refs");
    common::run(&[
        "reference".as_ref(),
        "add".as_ref(),
        "/usr/share/AAVMF/AAVMF_CODE.fd".as_ref(),
        "--vendor".as_ref(),
        "Debian".as_ref(),
        "--version".as_ref(),
        "aavmf".as_ref(),
        "-o".as_ref(),
        refs.as_os_str(),
    ])
    .exits(0);
    refs
}

/// `firmware check SNAPSHOT --references REFS` as JSON, exiting `code`.
fn firmware_check(snapshot: &Path, refs: &Path, code: i32) -> serde_json::Value {
    common::run(&[
        "firmware".as_ref(),
        "check".as_ref(),
        snapshot.as_os_str(),
        "--references".as_ref(),
        refs.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ])
    .exits(code)
    .json()
}

/// The nodes `dtc` (the Device Tree compiler, not ours) finds in a blob:
/// (path, first `compatible` string), in order, from its source output.
fn dtc_nodes(dtb: &Path) -> Vec<(String, Option<String>)> {
    let o = std::process::Command::new("dtc")
        .args(["-I", "dtb", "-O", "dts", "-q"])
        .arg(dtb)
        .output()
        .expect("dtc (package device-tree-compiler, installed by .ci/run)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    let mut stack: Vec<String> = Vec::new();
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_suffix(" {") {
            let path = match stack.last() {
                None => "/".to_string(),
                Some(p) if p == "/" => format!("/{name}"),
                Some(p) => format!("{p}/{name}"),
            };
            stack.push(path.clone());
            out.push((path, None));
        } else if line == "};" {
            stack.pop();
        } else if let Some(v) = line.strip_prefix("compatible = \"") {
            let first = v.split(['"', '\\']).next().unwrap().to_string();
            out.last_mut().unwrap().1 = Some(first);
        }
    }
    out
}

#[test]
fn without_acpi_the_device_tree_is_recorded_node_by_node_and_diffed() {
    // acpi=off: AAVMF hands the OS QEMU's Device Tree instead of ACPI.
    // Three boots side by side: two alike, one with twice the RAM.
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path();
    let plan = [("a", "1024"), ("b", "1024"), ("c", "2048")];
    let snaps: Vec<PathBuf> = std::thread::scope(|s| {
        let hs: Vec<_> = plan
            .iter()
            .map(|(n, ram)| {
                s.spawn(move || {
                    boot(
                        &w.join(n),
                        "aarch64",
                        &["--machine", "acpi=off", "--ram", ram],
                    )
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let (a, b, c) = (&snaps[0], &snaps[1], &snaps[2]);
    let s = read(a);
    assert!(s.acpi.is_none());
    let dt = s.device_tree.as_ref().expect("the Device Tree");
    // The sidecar is the blob the snapshot describes (sha256sum's hash).
    let dtb = a
        .parent()
        .unwrap()
        .join(dt.file.as_ref().expect("the .dtb sidecar"));
    assert_eq!(common::sha256sum(&dtb), dt.sha256);
    assert_eq!(std::fs::metadata(&dtb).unwrap().len(), u64::from(dt.size));
    // dtc finds the same nodes, in the same order, with the same first
    // compatible strings.
    let ours: Vec<(String, Option<String>)> = dt
        .nodes
        .iter()
        .map(|n| (n.path.clone(), n.compatible.clone()))
        .collect();
    let theirs = dtc_nodes(&dtb);
    assert!(theirs.len() >= 30, "{theirs:?}");
    assert_eq!(ours, theirs);
    assert!(ours.iter().any(|(p, _)| p == "/memory@40000000"));
    assert!(ours.iter().any(|(_, c)| c.as_deref() == Some("arm,pl011")));
    // The code flash was found through this tree, the configuration
    // table's: its cfi-flash node's reg as dtc prints it is the bank the
    // snapshot names.
    let dts = std::process::Command::new("dtc")
        .args(["-I", "dtb", "-O", "dts", "-q"])
        .arg(&dtb)
        .output()
        .unwrap();
    let dts = String::from_utf8(dts.stdout).unwrap();
    let flash_node = dts
        .split("flash@0 {")
        .nth(1)
        .expect("a flash@0 node in dtc's output");
    let reg = flash_node
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("reg = "))
        .unwrap();
    assert_eq!(
        reg,
        "reg = <0x00 0x00 0x00 0x4000000 0x00 0x4000000 0x00 0x4000000>;"
    );
    let fl = s.firmware_flash.as_ref().expect("the flash copy");
    assert!(
        fl.how
            .contains("cfi-flash bank 0x0+0x4000000 that the configuration table's Device Tree"),
        "{}",
        fl.how
    );

    // The ACPI checks have nothing to judge, and say why.
    let r = check(a);
    for id in ["acpi.checksums", "acpi.xsdt.complete", "acpi.wpbt.absent"] {
        let c = common::check_result(&r, id);
        assert_eq!(c["result"], "not-applicable", "{c}");
        assert!(c["reason"].as_str().unwrap().contains("Device Tree"), "{c}");
    }

    // Two boots alike: the blobs differ (QEMU writes fresh random seeds
    // into /chosen at every boot), yet diff finds nothing at or above low.
    let t2 = read(b).device_tree.unwrap();
    assert_ne!(
        t2.sha256, dt.sha256,
        "the per-boot seeds were expected to differ"
    );
    let r = diff(a, b, &["--fail-on", "low"], 0);
    assert_eq!(r["findings"].as_array().map(Vec::len), Some(0), "{r}");

    // Twice the RAM: the /memory node's reg changed, and that node only,
    // among the tree's; the RAM change diff sees explains it (exit 0 at
    // --fail-on low: every finding explained or info).
    let r = diff(a, c, &["--fail-on", "low"], 0);
    let dt_findings: Vec<&serde_json::Value> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"].as_str().unwrap().starts_with("device-tree."))
        .collect();
    assert_eq!(dt_findings.len(), 1, "{dt_findings:?}");
    assert_eq!(dt_findings[0]["rule"], "device-tree.node.changed");
    assert_eq!(dt_findings[0]["subject"], "/memory@40000000");
    assert_eq!(dt_findings[0]["explained"], true, "{}", dt_findings[0]);
    assert!(
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "memory-map.ram.changed"),
        "{r}"
    );

    // The real blob, mutated: every truncation is refused, and flipped
    // bytes in the header and the structure block never panic the reader.
    let blob = std::fs::read(&dtb).unwrap();
    let nodes = bootaudit::snapshot::fdt::parse(&blob).unwrap();
    assert_eq!(nodes.len(), dt.nodes.len());
    let h = bootaudit::snapshot::fdt::header(&blob).unwrap();
    let struct_end = (h.off_struct + h.size_struct) as usize;
    let mut reached = 0;
    for cut in (0..blob.len()).step_by(509) {
        assert!(
            bootaudit::snapshot::fdt::parse(&blob[..cut]).is_err(),
            "cut at {cut}"
        );
        reached += 1;
    }
    for i in 0..struct_end.min(8192) {
        let mut m = blob.clone();
        m[i] ^= 0xa5;
        if let Err(e) = bootaudit::snapshot::fdt::parse(&m) {
            assert!(e.offset <= m.len(), "{e}");
        }
        reached += 1;
    }
    assert!(reached > 2000, "{reached} mutants");
}

/// The GUID the Arm implant scenario gives the inserted driver.
const ARM_IMPLANT_GUID: &str = "8BA1D0E5-71AE-4B3B-9C1E-0A5E1E7BA064";

#[test]
fn a_driver_added_to_aavmfs_dxe_volume_is_caught_critical() {
    // The test implant, built for aarch64, inserted into AAVMF's DXE
    // volume (inside FVMAIN_COMPACT's LZMA section) with the tests' FFS
    // writer: the firmware dispatches it itself at every boot.
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path();
    let (_, implant) = common::built_efi_for("aarch64-unknown-uefi");
    let pe = std::fs::read(&implant).unwrap();
    assert_eq!(pe_machine(&pe), 0xaa64);
    let file = common::fwbuild::driver_file(
        common::fwbuild::guid(ARM_IMPLANT_GUID),
        &pe,
        "BootauditTestImplant",
        None,
    );
    let img = std::fs::read("/usr/share/AAVMF/AAVMF_CODE.fd").unwrap();
    let out = common::fwbuild::insert_into_dxe(&img, common::fwbuild::AAVMF_DXEFV, &[file]);
    assert_eq!(out.len(), img.len());
    let implanted = w.join("aavmf-implanted.fd");
    std::fs::write(&implanted, &out).unwrap();
    // bootaudit's reader finds it in the DXE volume of the new image.
    let inv = bootaudit::firmware::read(&out).unwrap();
    assert!(inv
        .files
        .iter()
        .any(|f| f.guid.to_string() == ARM_IMPLANT_GUID
            && inv.volume_label(f.volume) == common::fwbuild::AAVMF_DXEFV));

    let code = implanted.to_str().unwrap().to_string();
    let snaps: Vec<PathBuf> = std::thread::scope(|s| {
        let plain = s.spawn(|| boot(&w.join("plain"), "aarch64", &[]));
        let bad = s.spawn(|| boot(&w.join("implanted"), "aarch64", &["--ovmf-code", &code]));
        vec![plain.join().unwrap(), bad.join().unwrap()]
    });
    // The firmware ran it: an aarch64 image loaded from its file.
    let s = read(&snaps[1]);
    let loaded = s
        .loaded_images
        .as_ref()
        .unwrap()
        .iter()
        .find(|i| {
            i.device_path
                .contains(&format!("FvFile({ARM_IMPLANT_GUID})"))
        })
        .expect("the implant among the loaded images");
    assert_eq!(loaded.machine, Some(0xaa64));
    // diff catches it as on x86: a firmware-volume driver loaded that was
    // not before, critical, unexplained.
    let r = diff(&snaps[0], &snaps[1], &[], 1);
    common::firmware_driver_added(&r, ARM_IMPLANT_GUID);
    // The flash copy carries the implant too: against the vendor's image,
    // it is neither the image nor any volume of it, high.
    let fl = s.firmware_flash.as_ref().expect("the flash copy");
    assert_ne!(fl.sha256, read(&snaps[0]).firmware_flash.unwrap().sha256);
    let j = firmware_check(&snaps[1], &aavmf_reference(w), 1);
    let rules: Vec<&str> = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["rule"].as_str())
        .collect();
    assert!(
        rules.contains(&"firmware.flash.differs-from-reference"),
        "{rules:?}"
    );
}
