//! The collector booted for real: `cargo xtask boot` builds it, boots
//! OVMF + swtpm under QEMU and hands back the snapshot. Checked with
//! independent means where there are some: tpm2_eventlog replays the
//! collected log, sha256 is recomputed here, and two boots of the same
//! configuration must agree.

use crate::common;

use bootaudit::snapshot;
use sha2::Digest;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The boot applications a log measured into PCR 4, as their summaries.
fn pcr4_applications(log: &bootaudit::eventlog::EventLog) -> Vec<String> {
    log.events
        .iter()
        .filter(|e| {
            e.pcr == 4
                && e.event_type == bootaudit::eventlog::EventType::EFI_BOOT_SERVICES_APPLICATION
        })
        .map(|e| e.decode().summary())
        .collect()
}

fn boot_with(out: &Path, args: &[&str]) -> PathBuf {
    common::boot_collector(out, args)
}

/// The collector's own inventory and flash copy, checked by other means:
/// the flash sidecar is Debian's OVMF_CODE_4M.fd byte for byte (cmp and
/// sha256sum's hash), and every body the firmware's ReadSection returned
/// hashes to what bootaudit's own FFS reader finds in that image for the
/// same volume and GUID; every file the firmware lists is in the image.
fn firmware_inventory_is_the_image(s: &snapshot::Snapshot, snap_path: &Path) {
    let image = std::fs::read("/usr/share/OVMF/OVMF_CODE_4M.fd").unwrap();
    let fl = s.firmware_flash.as_ref().expect("the flash copy");
    let copy = std::fs::read(snap_path.parent().unwrap().join(fl.file.as_ref().unwrap())).unwrap();
    assert!(copy == image, "the flash copy is not OVMF_CODE_4M.fd");
    assert_eq!(
        common::sha256sum(Path::new("/usr/share/OVMF/OVMF_CODE_4M.fd")),
        fl.sha256
    );
    assert_eq!(fl.base + fl.size, 1 << 32);
    let inv = bootaudit::firmware::read(&image).unwrap();
    let vols = s.firmware_volumes.as_ref().expect("the volume inventory");
    let dxe = vols
        .iter()
        .find(|v| v.name.as_deref() == Some("7CB8BDC9-F8EB-4F34-AAEA-3EE4AF6516A1"))
        .expect("DXEFV");
    assert_eq!(dxe.size, Some(0xc0_0000));
    let ours: Vec<_> = inv
        .files
        .iter()
        .filter(|f| inv.volume_label(f.volume) == "7CB8BDC9-F8EB-4F34-AAEA-3EE4AF6516A1")
        .collect();
    assert_eq!(
        dxe.files.len(),
        ours.iter().filter(|f| f.file_type != 0xf0).count()
    );
    // The boots lift the collector's time budget (hash-budget-ms=0), so
    // every executable file with a PE32 or TE body is hashed, whatever the
    // machine's speed: exactly those our reader finds a body in.
    let mut hashed = 0;
    for f in &dxe.files {
        let mine = ours
            .iter()
            .find(|o| o.guid.to_string() == f.guid)
            .unwrap_or_else(|| panic!("{} is not in the image", f.guid));
        assert_eq!(mine.file_type, f.file_type, "{}", f.guid);
        if let Some(h) = &f.body_sha256 {
            assert_eq!(mine.body.as_ref().map(|b| &b.sha256), Some(h), "{}", f.guid);
            hashed += 1;
        }
    }
    let with_body = ours
        .iter()
        .filter(|o| o.file_type != 0xf0 && o.body.is_some())
        .count();
    assert!(with_body >= 10, "only {with_body} bodies in DXEFV");
    assert_eq!(hashed, with_body, "bodies hashed by the collector");
}

#[test]
fn two_plain_boots_give_consistent_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    // No time budget on hashing firmware bodies: the snapshots must not
    // depend on how fast this machine is.
    let no_budget = ["--config", "mode=shutdown hash-budget-ms=0"];
    let a = boot_with(&dir.path().join("a"), &no_budget);
    let b = boot_with(&dir.path().join("b"), &no_budget);

    // `check` on a real boot: its SecureBoot variable agrees with PCR7;
    // edited in the file, it fails against PCR7's event.
    let state = |p: &Path| -> String {
        let (_, r) = common::check_json(p, &[]);
        common::check_result(&r, "secure-boot.state.measured")["result"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(state(&a), "pass");
    let mut edited: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&a).unwrap()).unwrap();
    assert_eq!(edited["secure_boot"]["secure_boot"], 0);
    edited["secure_boot"]["secure_boot"] = 1.into();
    let ed = dir.path().join("edited.json");
    std::fs::write(&ed, serde_json::to_vec(&edited).unwrap()).unwrap();
    assert_eq!(state(&ed), "fail");

    // The Memory Attributes Table OVMF publishes: every runtime entry is
    // read-only (RO, bit 17) or non-executable (XP, bit 14), by the bits
    // here, and `check` passes it. With one entry's RO and XP cleared, or
    // the table gone on this UEFI 2.7 firmware, it fails.
    let outcome = |p: &Path, id: &str| -> String {
        let (_, r) = common::check_json(p, &[]);
        common::check_result(&r, id)["result"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let snap: serde_json::Value = serde_json::from_slice(&std::fs::read(&a).unwrap()).unwrap();
    let mat = &snap["memory_attributes"];
    assert_eq!(mat["present"], true);
    let entries = mat["descriptors"].as_array().unwrap();
    assert!(entries.len() > 4, "{mat}");
    for d in entries {
        let at = d["attributes"].as_u64().unwrap();
        assert!([5, 6].contains(&d["type"].as_u64().unwrap()), "{d}");
        assert!(at & (1 << 17) != 0 || at & (1 << 14) != 0, "{d}");
    }
    assert_eq!(outcome(&a, "memory.runtime.no-wx"), "pass");
    assert_eq!(outcome(&a, "memory.attributes-table.present"), "pass");
    let mut wx = snap.clone();
    let attrs = wx["memory_attributes"]["descriptors"][0]["attributes"]
        .as_u64()
        .unwrap();
    wx["memory_attributes"]["descriptors"][0]["attributes"] =
        (attrs & !((1u64 << 17) | (1 << 14))).into();
    let wx_path = dir.path().join("wx.json");
    std::fs::write(&wx_path, serde_json::to_vec(&wx).unwrap()).unwrap();
    assert_eq!(outcome(&wx_path, "memory.runtime.no-wx"), "fail");
    let mut gone = snap.clone();
    gone["memory_attributes"] = serde_json::json!({"present": false});
    std::fs::write(&wx_path, serde_json::to_vec(&gone).unwrap()).unwrap();
    assert_eq!(outcome(&wx_path, "memory.attributes-table.present"), "fail");

    let mut pcr0 = Vec::new();
    let mut acpi_hashes = Vec::new();
    let mut drivers: Vec<Vec<String>> = Vec::new();
    for snap_path in [&a, &b] {
        let bytes = std::fs::read(snap_path).unwrap();
        // The sidecar the collector wrote after its read-back, recomputed here.
        let side = std::fs::read_to_string(snap_path.with_extension("sha256")).unwrap();
        assert_eq!(
            side,
            format!(
                "{}  snap-0000.json\n",
                hex::encode(sha2::Sha256::digest(&bytes))
            )
        );

        let s = snapshot::read_file(snap_path).unwrap();
        assert_eq!(s.source.kind.as_str(), "efi-collector");
        // With no hashing budget, a plain boot leaves no note at all.
        assert!(s.errors.is_empty(), "{:?}", s.errors);
        firmware_inventory_is_the_image(&s, snap_path);
        let labels: Vec<&str> = s.memory_maps.iter().map(|m| m.label.as_str()).collect();
        assert_eq!(labels, ["entry", "quiet-1", "quiet-2", "after"]);
        assert_eq!(s.map_key_watch.as_ref().unwrap().polls, 50);

        // The log replays to the PCRs the collector read from the TPM, in
        // every bank, and tpm2_eventlog agrees with those PCRs.
        let tpm = s.tpm.as_ref().unwrap();
        assert!(tpm.present);
        assert_eq!(tpm.active_banks, ["sha1", "sha256"]);
        let log = snapshot::event_log(tpm, "snap").unwrap().unwrap();
        let verdicts = snapshot::self_check(tpm, &log);
        assert!(verdicts.len() >= 16, "{verdicts:?}");
        assert!(
            verdicts
                .iter()
                .all(|v| v.verdict == bootaudit::pcrs::Verdict::Match),
            "{verdicts:?}"
        );
        let raw = snap_path.with_extension("log");
        std::fs::write(&raw, hex::decode(&tpm.event_log).unwrap()).unwrap();
        let oracle = common::tpm2_eventlog_pcrs(&raw);
        for (bank, pcrs) in &oracle {
            for (i, v) in pcrs {
                assert_eq!(&tpm.pcrs[bank][i], v, "tpm2_eventlog {bank} PCR{i}");
            }
        }
        pcr0.push((tpm.pcrs["sha1"][&0].clone(), tpm.pcrs["sha256"][&0].clone()));

        // ACPI: every table has a sidecar whose bytes hash to the recorded
        // SHA-256, and iasl (acpica-tools) reads the same signature from it;
        // the XSDT, disassembled by iasl, lists exactly the tables the
        // snapshot says it found through it.
        let acpi = s.acpi.as_ref().expect("ACPI part");
        assert!(acpi.rsdp.checksum_valid && acpi.rsdp.extended_checksum_valid == Some(true));
        let dir = snap_path
            .parent()
            .unwrap()
            .join(acpi.sidecar_dir.as_ref().unwrap());
        for t in &acpi.tables {
            let f = dir.join(t.file.as_ref().unwrap());
            let bytes = std::fs::read(&f).unwrap();
            assert_eq!(bytes.len(), t.length as usize);
            assert_eq!(
                hex::encode(sha2::Sha256::digest(&bytes)),
                t.sha256,
                "{}",
                t.signature
            );
            assert_eq!(iasl_signature(&f), t.signature);
            if t.signature != "FACS" {
                assert_eq!(t.checksum_valid, Some(true), "{}", t.signature);
            }
        }
        let xsdt = acpi.tables.iter().find(|t| t.signature == "XSDT").unwrap();
        let listed = iasl_table_addresses(&dir.join(xsdt.file.as_ref().unwrap()));
        let via: Vec<u64> = acpi
            .tables
            .iter()
            .filter(|t| t.via == "xsdt")
            .map(|t| t.address)
            .collect();
        assert_eq!(listed, via);
        for sig in ["FACP", "DSDT", "FACS", "APIC", "TPM2"] {
            assert!(
                acpi.tables.iter().any(|t| t.signature == sig),
                "{sig} missing"
            );
        }
        acpi_hashes.push(
            acpi.tables
                .iter()
                .map(|t| (t.signature.clone(), t.sha256.clone()))
                .collect::<Vec<_>>(),
        );

        // Secure Boot on Debian's plain OVMF: off, in setup mode, no keys.
        let sb = s.secure_boot.as_ref().expect("secure boot part");
        assert_eq!((sb.secure_boot, sb.setup_mode), (Some(0), Some(1)));
        assert!(
            sb.variables
                .iter()
                .all(|v| !["PK", "KEK", "db"].contains(&v.name.as_str())),
            "{:?}",
            sb.variables
        );
        let current = sb.boot_current.as_ref().unwrap();
        assert!(sb.boot_order.contains(current));
        assert!(sb
            .boot_entries
            .iter()
            .any(|e| &e.name == current && e.description.contains("HARDDISK")));

        // Loaded images: the collector finds itself, and what it read from
        // its own PE header in memory is what goblin reads from the file.
        let images = s.loaded_images.as_ref().expect("loaded images");
        let me: Vec<_> = images
            .iter()
            .filter(|i| i.device_path.ends_with("\\EFI\\BOOT\\BOOTX64.EFI"))
            .collect();
        assert_eq!(me.len(), 1, "{images:?}");
        let efi = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("efi-collector/target/x86_64-unknown-uefi/release/efi-collector.efi"),
        )
        .unwrap();
        let pe = goblin::pe::PE::parse(&efi).unwrap();
        let opt = pe.header.optional_header.unwrap();
        assert_eq!(me[0].format, "pe");
        assert_eq!(me[0].machine, Some(pe.header.coff_header.machine));
        assert_eq!(me[0].timestamp, Some(pe.header.coff_header.time_date_stamp));
        assert_eq!(me[0].size_of_image, Some(opt.windows_fields.size_of_image));
        assert_eq!(me[0].subsystem, Some(opt.windows_fields.subsystem));
        assert_eq!(me[0].subsystem, Some(10), "EFI application");
        // The log's PCR4 event for the collector, decoded by bootaudit's own
        // device-path renderer, reads exactly as the firmware's
        // DevicePathToText renders the loaded image.
        let from_log: Vec<String> = log
            .events
            .iter()
            .filter(|e| {
                e.pcr == 4
                    && e.event_type == bootaudit::eventlog::EventType::EFI_BOOT_SERVICES_APPLICATION
            })
            .filter_map(|e| match e.decode() {
                bootaudit::eventlog::decode::EventData::ImageLoad { device_path, .. } => {
                    Some(device_path)
                }
                _ => None,
            })
            .collect();
        assert!(
            from_log.contains(&me[0].device_path),
            "{from_log:?} vs {}",
            me[0].device_path
        );
        let mut fv: Vec<String> = images
            .iter()
            .filter(|i| i.device_path.contains("FvFile("))
            .map(|i| i.device_path.clone())
            .collect();
        assert!(fv.len() > 50, "{}", fv.len());
        fv.sort();
        drivers.push(fv);

        // And `bootaudit show` says so, with exit 0.
        let out = common::run_command(
            common::bootaudit()
                .args(["show", "--format", "json"])
                .arg(snap_path),
        )
        .exits(0);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["consistent"], true);
        assert_eq!(v["identity"]["firmware_vendor"], "EDK II");
    }
    // Same firmware, same configuration: the same PCR0 and ACPI tables.
    assert_eq!(pcr0[0], pcr0[1]);
    assert_eq!(acpi_hashes[0], acpi_hashes[1]);
    assert_eq!(drivers[0], drivers[1]);
}

#[test]
fn smbios_facts_are_what_qemu_was_told() {
    let dir = tempfile::tempdir().unwrap();
    let p = boot_with(
        dir.path(),
        &[
            "--smbios",
            "type=0,version=bootaudit-test-1.2",
            "--smbios",
            "type=1,serial=BA-SERIAL-42,manufacturer=Bootaudit Labs",
        ],
    );
    let s = snapshot::read_file(&p).unwrap();
    let sm = s.identity.unwrap().smbios.expect("SMBIOS part");
    assert_eq!(sm.bios_version, "bootaudit-test-1.2");
    assert_eq!(sm.system_serial, "BA-SERIAL-42");
    assert_eq!(sm.system_manufacturer, "Bootaudit Labs");
    assert!(sm.system_product.contains("Q35"), "{}", sm.system_product);
    assert_eq!(sm.sha256.len(), 64);
    assert!(sm.table_length > 0);
}

#[test]
fn exit_boot_services_retry_loop_survives_a_disturbed_map() {
    // The lab mode: the collector allocates between GetMemoryMap and
    // ExitBootServices on its first attempt, so the firmware must refuse the
    // stale MapKey and the loop must read the map again; the record goes to
    // a non-volatile variable, the machine resets, and the next collection
    // (snap-0001) reports it.
    let dir = tempfile::tempdir().unwrap();
    let first = boot_with(
        dir.path(),
        &["--config", "mode=exit-boot-services disturb=1"],
    );
    let s0 = snapshot::read_file(&first).unwrap();
    assert!(s0.previous_exit_boot_services.is_none());
    let s1 = snapshot::read_file(&first.with_file_name("snap-0001.json")).unwrap();
    let r = s1
        .previous_exit_boot_services
        .expect("the record of the lab run");
    assert_eq!(r.attempts, 2);
    assert_eq!(r.statuses, ["INVALID_PARAMETER", "SUCCESS"]);
    assert!(r.succeeded);
    assert_eq!(r.descriptors.len() as u32, r.descriptors_total);
    // The final map is a real map of this machine: it covers the same
    // conventional memory ranges' neighbourhood as the pre-exit map, i.e.
    // its total pages equal those of the map the first boot took last.
    let total = |d: &[snapshot::MemoryDescriptor]| d.iter().map(|x| x.pages).sum::<u64>();
    let after = s0
        .memory_maps
        .iter()
        .find(|m| m.label.as_str() == "after")
        .unwrap();
    assert_eq!(total(&r.descriptors), total(&after.descriptors));
    // Reported once: the variable was deleted, so a later plain collection
    // in the same machine would not see it again (snap-0001 is the last).
    assert!(!first.with_file_name("snap-0002.json").exists());
}

#[test]
fn chain_mode_starts_the_configured_loader_from_the_same_esp() {
    // The chained loader is a second copy of the collector, given the load
    // options `mode=shutdown`: it writes the next snapshot and powers off.
    let dir = tempfile::tempdir().unwrap();
    let next = dir.path().join("next.efi");
    common::collector_copy(&next);
    let first = boot_with(
        &dir.path().join("out"),
        &[
            "--file",
            &format!("{}=EFI\\BOOT\\next.efi", next.display()),
            "--config",
            "mode=chain chain=\\EFI\\BOOT\\next.efi chain-options=mode=shutdown",
        ],
    );
    let parent = snapshot::read_file(&first).unwrap();
    let child = snapshot::read_file(&first.with_file_name("snap-0001.json")).unwrap();
    let paths = |s: &snapshot::Snapshot| -> Vec<String> {
        s.loaded_images
            .as_ref()
            .unwrap()
            .iter()
            .map(|i| i.device_path.clone())
            .filter(|p| !p.contains("FvFile("))
            .collect()
    };
    let me = paths(&parent)
        .into_iter()
        .find(|p| p.ends_with("BOOTX64.EFI"))
        .unwrap();
    let prefix = me.trim_end_matches("\\EFI\\BOOT\\BOOTX64.EFI");
    // Loaded from the same device, by its full device path.
    assert!(
        paths(&child).contains(&format!("{prefix}\\EFI\\BOOT\\next.efi")),
        "{:?}",
        paths(&child)
    );
    // The firmware measured the chained loader into PCR4, and the child's
    // log still replays to the PCRs it read.
    let tpm = child.tpm.as_ref().unwrap();
    let log = snapshot::event_log(tpm, "child").unwrap().unwrap();
    let apps = pcr4_applications(&log);
    assert!(apps.iter().any(|a| a.contains("next.efi")), "{apps:?}");
    assert!(snapshot::self_check(tpm, &log)
        .iter()
        .all(|v| v.verdict == bootaudit::pcrs::Verdict::Match));
}

#[test]
fn a_failing_collector_hands_the_boot_back_to_the_firmware() {
    // test-panic=1 makes the collector panic at once. Its panic handler must
    // leave through Boot Services Exit(), so the boot manager goes on to the
    // next boot option: here the UEFI shell, whose startup.nsh powers off.
    let dir = tempfile::tempdir().unwrap();
    let nsh = dir.path().join("startup.nsh");
    std::fs::write(&nsh, "reset -s\r\n").unwrap();
    let out = dir.path().join("out");
    let st = common::xtask()
        .arg("boot")
        .arg(&out)
        .args(["--config", "test-panic=1", "--file"])
        .arg(format!("{}=startup.nsh", nsh.display()))
        .output()
        .unwrap();
    let console = std::fs::read_to_string(out.join("console.txt")).unwrap();
    // xtask boot fails only because there is no snapshot; QEMU powered off.
    assert_eq!(st.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&st.stderr).contains("no snapshot"),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let failed = console
        .find("bootaudit: collector failed")
        .expect("the panic message");
    let next = console
        .find("starting Boot0003")
        .expect("the boot manager went on");
    assert!(failed < next);
}

#[test]
fn boot_variations_ram_extra_acpi_table_and_ovmf_build() {
    // xtask boot's options for the tampering scenarios: an extra SSDT compiled
    // here with iasl and passed with -acpitable, 2 GiB of RAM, and the
    // Secure Boot build of OVMF.
    let dir = tempfile::tempdir().unwrap();
    let asl = dir.path().join("extra.asl");
    std::fs::write(
        &asl,
        "DefinitionBlock (\"extra.aml\", \"SSDT\", 2, \"BATEST\", \"BAEXTRA\", 0x42)\n{ Scope (\\_SB) { Name (BAXT, 0x1234) } }\n",
    )
    .unwrap();
    let st = Command::new("iasl")
        .arg(&asl)
        .current_dir(dir.path())
        .output()
        .expect("iasl (acpica-tools)");
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stdout)
    );
    let aml = dir.path().join("extra.aml");
    let p = boot_with(
        &dir.path().join("out"),
        &[
            "--ram",
            "2048",
            "--acpitable",
            aml.to_str().unwrap(),
            "--ovmf",
            "secboot",
        ],
    );
    let s = snapshot::read_file(&p).unwrap();
    let acpi = s.acpi.unwrap();
    let extra: Vec<_> = acpi
        .tables
        .iter()
        .filter(|t| t.oem_id == "BATEST")
        .collect();
    assert_eq!(extra.len(), 1, "{:?}", acpi.tables);
    assert_eq!(
        (
            extra[0].signature.as_str(),
            extra[0].oem_table_id.as_str(),
            extra[0].oem_revision
        ),
        ("SSDT", "BAEXTRA", 0x42)
    );
    assert_eq!(
        extra[0].length as u64,
        std::fs::metadata(&aml).unwrap().len()
    );
    assert_eq!(
        extra[0].sha256,
        hex::encode(sha2::Sha256::digest(std::fs::read(&aml).unwrap()))
    );
    // 2 GiB: conventional memory alone is over 1.5 GiB.
    let conventional: u64 = s.memory_maps[0]
        .descriptors
        .iter()
        .filter(|d| d.ty.0 == 7)
        .map(|d| d.pages)
        .sum();
    assert!(conventional * 4096 > 1536 << 20, "{conventional} pages");
    // The Secure Boot build (no keys enrolled in its variables here).
    assert_eq!(s.secure_boot.unwrap().setup_mode, Some(1));
}

/// Disassembles one table with `iasl -d` and returns the signature it reads.
fn iasl_signature(table: &Path) -> String {
    let dsl = iasl(table);
    for line in dsl.lines() {
        // Data tables: `[000h 0000   4]   Signature : "FACP"    [...]`;
        // AML tables: ` *     Signature        "DSDT"`.
        if let Some(rest) = line.split("Signature").nth(1) {
            if line.contains("Hardware Signature") {
                continue;
            }
            if let Some(sig) = rest.split('"').nth(1) {
                return sig.to_string();
            }
        }
    }
    panic!("iasl printed no signature for {}", table.display());
}

/// The addresses iasl lists in a disassembled XSDT.
fn iasl_table_addresses(xsdt: &Path) -> Vec<u64> {
    iasl(xsdt)
        .lines()
        .filter(|l| l.contains("ACPI Table Address"))
        .map(|l| u64::from_str_radix(l.rsplit(':').next().unwrap().trim(), 16).unwrap())
        .collect()
}

fn iasl(table: &Path) -> String {
    let work = tempfile::tempdir().unwrap();
    let copy = work.path().join(table.file_name().unwrap());
    std::fs::copy(table, &copy).unwrap();
    let out = Command::new("iasl")
        .arg("-d")
        .arg(&copy)
        .current_dir(work.path())
        .output()
        .unwrap_or_else(|e| {
            panic!("iasl (Debian package acpica-tools, installed by .ci/run) could not run: {e}")
        });
    assert!(
        out.status.success(),
        "iasl -d {}: {}",
        table.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(copy.with_extension("dsl")).unwrap()
}

/// Through Debian's signed shim, as a Linux distribution boots: OVMF with
/// Microsoft's keys and Secure Boot on; shim (signed by Microsoft) as the
/// removable-media loader and the collector, signed with the user's MOK,
/// as its second stage (`\EFI\BOOT\grubx64.efi`); the MOK enrolled as
/// MokManager leaves it (`MokList`, written into the variable store by
/// virt-firmware's virt-fw-vars). shim accepts the collector: it has its
/// own `.sbat` section and a `.data` section with file contents. Unsigned,
/// the same collector is refused and writes nothing.
#[test]
fn through_shim_with_a_mok_the_signed_collector_runs_and_an_unsigned_one_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let w = d.path().canonicalize().unwrap();
    let (shim, _) = common::debian_signed_efi();
    let (key, cert) = (w.join("mok.key"), w.join("mok.pem"));
    common::self_signed("bootaudit test MOK", &key, &cert);
    let vars = w.join("vars-mok.fd");
    let fw_vars = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/virt-fw-vars");
    let o = Command::new(&fw_vars)
        .arg("--input")
        .arg("/usr/share/OVMF/OVMF_VARS_4M.ms.fd")
        .arg("--output")
        .arg(&vars)
        .args(["--add-mok", "605dab50-e046-4300-abb6-3dd810dd8b23"])
        .arg(&cert)
        .output()
        .expect("virt-fw-vars (virt-firmware, in the venv .ci/run makes)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let (collector, _) = common::built_efi();
    let signed = w.join("collector-mok.efi");
    let o = Command::new("sbsign")
        .arg("--key")
        .arg(&key)
        .arg("--cert")
        .arg(&cert)
        .arg("--output")
        .arg(&signed)
        .arg(&collector)
        .output()
        .expect("sbsign (sbsigntool)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = Command::new("sbverify")
        .arg("--cert")
        .arg(&cert)
        .arg(&signed)
        .output()
        .expect("sbverify (sbsigntool)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // The sections shim asks for, as binutils reads them: `.sbat` with its
    // CSV, and `.data` with file contents.
    let o = Command::new("objdump")
        .arg("-h")
        .arg(&collector)
        .output()
        .unwrap();
    let heads = String::from_utf8_lossy(&o.stdout).to_string();
    for name in [".sbat", ".data"] {
        let line = heads
            .lines()
            .position(|l| l.split_whitespace().nth(1) == Some(name))
            .unwrap_or_else(|| panic!("no {name} section: {heads}"));
        let flags = heads.lines().nth(line + 1).unwrap();
        assert!(flags.contains("CONTENTS"), "{name}: {flags}");
    }

    let run = |name: &str, second: &Path| {
        let out = w.join(name);
        let st = common::xtask()
            .arg("boot")
            .arg(&out)
            // shim's refusal waits for a key: the boot stops when it shows.
            .args(["--ovmf", "ms", "--until", "Verification failed", "--loader"])
            .arg(&shim)
            .arg("--vars")
            .arg(&vars)
            .arg("--file")
            .arg(format!("{}=\\EFI\\BOOT\\grubx64.efi", second.display()))
            .status()
            .unwrap();
        (st.success(), out)
    };
    let (ok, out) = run("signed", &signed);
    let console =
        String::from_utf8_lossy(&std::fs::read(out.join("console.txt")).unwrap()).into_owned();
    assert!(ok, "{console}");
    let snap = out.join("bootaudit/snap-0000.json");
    let s = snapshot::read_file(&snap).unwrap();
    let sb = s.secure_boot.as_ref().unwrap();
    assert_eq!(sb.secure_boot, Some(1), "{sb:?}");
    // shim and then the collector were measured into PCR 4.
    let log = snapshot::event_log(s.tpm.as_ref().unwrap(), "shim boot")
        .unwrap()
        .unwrap();
    let apps = pcr4_applications(&log);
    assert!(
        apps.iter().any(|a| a.contains("BOOTX64.EFI"))
            && apps.iter().any(|a| a.contains("grubx64.efi")),
        "{apps:?}"
    );
    // The MOK shim trusted is recorded: MokList holds the certificate
    // openssl wrote (its SHA-256, by sha256sum of the DER).
    let der = w.join("mok.der");
    common::openssl(&[
        "x509",
        "-in",
        cert.to_str().unwrap(),
        "-outform",
        "DER",
        "-out",
        der.to_str().unwrap(),
    ]);
    let mok = sb
        .variables
        .iter()
        .find(|v| v.name == "MokList")
        .expect("MokList among the recorded key databases");
    let listed = serde_json::to_string(&mok.signatures).unwrap();
    assert!(listed.contains(&common::sha256sum(&der)), "{listed}");
    let r = common::run(&[
        "check".as_ref(),
        snap.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ])
    .json();
    assert_eq!(
        common::check_result(&r, "secure-boot.on")["result"],
        "pass",
        "{r}"
    );

    // Unsigned: shim refuses it, and nothing is written.
    let (ok, out) = run("unsigned", &collector);
    // shim draws its error box in the firmware's code page: not UTF-8.
    let console =
        String::from_utf8_lossy(&std::fs::read(out.join("console.txt")).unwrap()).into_owned();
    assert!(!ok);
    assert!(console.contains("Verification failed"), "{console}");
    assert!(!out.join("bootaudit/snap-0000.json").exists());
}
