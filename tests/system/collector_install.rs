//! `bootaudit collector install|uninstall|media` on real boots: a Linux
//! that installs the collector on its own ESP and reboots into it through
//! BootNext (`cargo xtask install-boot`), and a `collector media` image
//! booted as a machine's only disk. The oracles are the firmware (OVMF runs
//! what the entry names, and prints it), the Linux kernel (efivarfs checks
//! every Boot#### it is given), util-linux's sfdisk, mtools and pesign.

use crate::common;
use bootaudit::snapshot;
use std::path::Path;
use std::process::Command;

/// The hex value of `VAR NAME hex` in the order printed, attributes first.
fn var_lines<'a>(vars: &'a str, name: &str) -> Vec<&'a str> {
    let tag = format!("VAR {name} ");
    vars.lines()
        .filter_map(|l| l.strip_prefix(&tag).or((l == tag.trim_end()).then_some("")))
        .collect()
}

fn pesign_hash(efi: &Path) -> String {
    let o = Command::new("pesign")
        .arg("-h")
        .arg("-i")
        .arg(efi)
        .output()
        .expect("pesign (.ci/run installs it)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout)
        .unwrap()
        .trim()
        .strip_prefix("hash: ")
        .expect("pesign -h prints `hash: HEX`")
        .to_string()
}

/// The SHA-256 digests and device paths of the boot applications measured
/// into PCR 4, in order.
fn pcr4_applications(s: &snapshot::Snapshot) -> Vec<(String, String)> {
    let log = snapshot::event_log(s.tpm.as_ref().unwrap(), "snapshot")
        .unwrap()
        .unwrap();
    log.events
        .iter()
        .filter(|e| {
            e.pcr == 4
                && e.event_type == bootaudit::eventlog::EventType::EFI_BOOT_SERVICES_APPLICATION
        })
        .map(|e| {
            (
                hex::encode(e.digest(bootaudit::eventlog::HashAlg::Sha256).unwrap()),
                match e.decode() {
                    bootaudit_eventlog::decode::EventData::ImageLoad { device_path, .. } => {
                        device_path
                    }
                    other => other.summary(),
                },
            )
        })
        .collect()
}

#[test]
fn installed_from_linux_the_collector_runs_once_through_boot_next_and_hands_the_boot_back() {
    let d = tempfile::tempdir().unwrap();
    let (snap, _) = install_boot(&d.path().join("install"), false);
    assert_ne!(snap.secure_boot.as_ref().unwrap().secure_boot, Some(1));
}

#[test]
fn under_secure_boot_install_via_shim_runs_the_mok_signed_collector_as_shims_second_stage() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("install");
    let (snap, console) = install_boot(&out, true);
    let sb = snap.secure_boot.as_ref().unwrap();
    assert_eq!(sb.secure_boot, Some(1), "{sb:?}");
    // shim handed the collector's EFI_ABORTED back to the firmware, which
    // went on with BootOrder.
    let handed = console
        .find("start_image() returned Aborted")
        .expect("shim's report of its second stage's status");
    assert!(
        console[handed..].contains("BdsDxe: starting Boot0000 \"Debian Linux\""),
        "{console}"
    );
    // The MOK shim checked the collector against, in MokList and in shim's
    // runtime mirror MokListRT: the SHA-256 of the certificate's DER.
    let der = out.join("mok.der");
    common::openssl(&[
        "x509",
        "-in",
        out.join("mok.pem").to_str().unwrap(),
        "-outform",
        "DER",
        "-out",
        der.to_str().unwrap(),
    ]);
    let mok = common::sha256sum(&der);
    for name in ["MokList", "MokListRT"] {
        let v = sb
            .variables
            .iter()
            .find(|v| v.name == name)
            .unwrap_or_else(|| panic!("no {name} among {:?}", sb.variables));
        let listed = serde_json::to_string(&v.signatures).unwrap();
        assert!(listed.contains(&mok), "{name}: {listed}");
    }
    let r = common::run(&[
        "check".as_ref(),
        out.join("snap-0000.json").as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ])
    .json();
    assert_eq!(
        common::check_result(&r, "secure-boot.on")["result"],
        "pass",
        "{r}"
    );
}

/// `cargo xtask install-boot OUT [--via-shim]`, and what holds either way:
/// the order of the boots, the plan and its dry run, the entry OVMF
/// started, BootOrder and BootNext through it all, uninstall, the ESP's
/// partition GUID three ways, and PCR 4. Returns the ingested snapshot and
/// the console.
fn install_boot(out: &Path, via_shim: bool) -> (snapshot::Snapshot, String) {
    let mut cmd = common::xtask();
    cmd.arg("install-boot").arg(out);
    if via_shim {
        cmd.arg("--via-shim");
    }
    let st = cmd.status().unwrap();
    let console =
        String::from_utf8_lossy(&std::fs::read(out.join("console.txt")).unwrap_or_default())
            .into_owned();
    assert!(
        st.success(),
        "xtask install-boot failed (needs Debian's kernel with its virtio and FAT modules, busybox-static, the static bootaudit, virt-firmware, and for --via-shim Debian's signed shim and grub: .ci/run); console: {console}"
    );
    let vars = std::fs::read_to_string(out.join("vars.txt")).unwrap();

    // The order of events: the first Linux installs and reboots, the
    // collector writes its snapshot, the second Linux boots.
    let at = |marker: &str| {
        vars.find(marker)
            .unwrap_or_else(|| panic!("{marker} not in {vars}"))
    };
    assert!(at("BOOTAUDIT-FIRST-BOOT") < at("BOOTAUDIT-REBOOT"));
    assert!(
        at("BOOTAUDIT-REBOOT") < at("bootaudit: snapshot written to bootaudit\\snap-0000.json")
    );
    assert!(at("bootaudit: snapshot written") < at("BOOTAUDIT-SECOND-BOOT"));
    for step in [
        "DRY-EXIT 0",
        "INSTALL-EXIT 0",
        "INGEST-EXIT 0",
        "UNINSTALL-EXIT 0",
    ] {
        assert!(vars.contains(step), "{step}: {vars}");
    }

    // The plan: the file, the entry and BootNext; the dry run's is the
    // same, and it changed nothing.
    let read = |f: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(out.join(f)).unwrap()).unwrap()
    };
    let (dry, install) = (read("dry-run.json"), read("install.json"));
    assert_eq!(dry["dry_run"], true);
    assert_eq!(install["dry_run"], false);
    assert_eq!(dry["steps"], install["steps"], "{dry}\n{install}");
    let entry = install["boot_entry"].as_str().unwrap().to_string();
    let number = u16::from_str_radix(entry.strip_prefix("Boot").unwrap(), 16).unwrap();
    let steps = install["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 3, "{install}");
    assert_eq!(steps[0]["esp_path"], "\\EFI\\bootaudit\\bootaudit.efi");
    assert_eq!(steps[1]["name"], entry.as_str());
    assert_eq!(steps[2]["name"], "BootNext");
    // The entry the kernel accepted, decoded by bootaudit's reader and by
    // the firmware, which printed the path it started.
    let value = hex::decode(steps[1]["value"].as_str().unwrap()).unwrap();
    let opt = bootaudit_eventlog::loadoption::LoadOption::parse(&value).unwrap();
    assert_eq!(opt.description, "bootaudit collector");
    let (file, options) = if via_shim {
        (
            "\\EFI\\debian\\shimx64.efi",
            "\\EFI\\bootaudit\\bootaudit.efi mode=return",
        )
    } else {
        ("\\EFI\\bootaudit\\bootaudit.efi", "mode=return")
    };
    assert!(
        opt.device_path.starts_with("HD(1,GPT,") && opt.device_path.ends_with(&format!(")/{file}")),
        "{}",
        opt.device_path
    );
    let mut want = options
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect::<Vec<u8>>();
    want.extend([0, 0]);
    assert_eq!(opt.optional_data, want);
    assert!(
        console.contains(&format!(
            "BdsDxe: starting {entry} \"bootaudit collector\" from {}",
            opt.device_path
        )),
        "the firmware did not start {entry} from {}: {console}",
        opt.device_path
    );

    // BootOrder: the same before, after the dry run, after the reboot and
    // after uninstall. BootNext: ours after install, gone after the boot
    // that used it.
    let orders = var_lines(&vars, "BootOrder");
    assert_eq!(orders.len(), 4, "{vars}");
    assert!(
        orders.iter().all(|o| *o == orders[0] && o.len() > 8),
        "{orders:?}"
    );
    let nexts = var_lines(&vars, "BootNext");
    assert_eq!(
        nexts,
        [
            "",
            "",
            &format!("07000000{}", hex::encode(number.to_le_bytes())),
            "",
            ""
        ],
        "{vars}"
    );
    // The second Linux booted from its own entry (Boot0000), not ours.
    assert_eq!(var_lines(&vars, "BootCurrent"), ["060000000000"], "{vars}");
    let entries = |tag: &str| -> Vec<String> {
        vars.lines()
            .find_map(|l| l.strip_prefix(tag))
            .unwrap_or_else(|| panic!("{tag}: {vars}"))
            .split_whitespace()
            .map(|e| e[..8].to_string())
            .collect()
    };
    let (before, after) = (entries("ENTRIES "), entries("ENTRIES-AFTER "));
    assert!(before.contains(&entry), "{before:?}");
    assert_eq!(
        after,
        before
            .iter()
            .filter(|e| **e != entry)
            .cloned()
            .collect::<Vec<_>>()
    );
    assert!(!vars.contains("COLLECTOR-DIR-LEFT"), "{vars}");
    let un = read("uninstall.json");
    let un_steps: Vec<&str> = un["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        un_steps,
        ["delete-variable", "remove-file", "remove-dir"],
        "{un}"
    );

    // The snapshot ingested from the ESP: the firmware ran the collector
    // through our entry (BootCurrent), and PCR 4's last boot application
    // is the collector, by its Authenticode hash (pesign's), with no OS
    // loader before it.
    let snap = snapshot::read_file(&out.join("snap-0000.json")).unwrap();
    let sb = snap.secure_boot.as_ref().unwrap();
    assert_eq!(sb.boot_current.as_deref(), Some(entry.as_str()), "{sb:?}");
    let ours = sb
        .boot_entries
        .iter()
        .find(|e| e.name == entry)
        .unwrap_or_else(|| panic!("{entry} not among {:?}", sb.boot_entries));
    assert!(ours.device_path.ends_with(file), "{}", ours.device_path);
    // The firmware's own list of loaded images holds the collector (under
    // shim, shim's image, in which shim runs its second stage itself), and
    // no kernel: the OS had not started.
    let images: Vec<&str> = snap
        .loaded_images
        .iter()
        .flatten()
        .map(|i| i.device_path.as_str())
        .collect();
    assert!(images.iter().any(|p| p.ends_with(file)), "{images:?}");
    assert!(!images.iter().any(|p| p.contains("vmlinuz")), "{images:?}");
    // The ESP's partition GUID, read three ways: the entry's HD() node
    // (OVMF started it), the collector's own device path, and the host's
    // `collect` from sysfs and the disk's GPT.
    let guid = opt.device_path["HD(1,GPT,".len()..]
        .split(',')
        .next()
        .unwrap();
    assert_eq!(guid.len(), 36, "{}", opt.device_path);
    let id = |s: &snapshot::Snapshot| s.identity.as_ref().unwrap().esp_partition_guid.clone();
    assert_eq!(id(&snap).as_deref(), Some(guid));
    assert!(vars.contains("COLLECT-EXIT 0"), "{vars}");
    let host = snapshot::read_file(&out.join("host.json")).unwrap();
    assert_eq!(id(&host).as_deref(), Some(guid));

    // PCR 4: the collector (its Authenticode hash, which its MOK
    // signature does not change: pesign's), after shim when it came
    // through shim (shim measures its second stage), and no OS loader.
    let (collector, _) = common::built_efi();
    let apps = pcr4_applications(&snap);
    let want: Vec<(String, &str)> = if via_shim {
        let (shim, _) = common::debian_signed_efi();
        vec![
            (pesign_hash(&shim), "\\EFI\\debian\\shimx64.efi"),
            (pesign_hash(&collector), "\\EFI\\bootaudit\\bootaudit.efi"),
        ]
    } else {
        vec![(pesign_hash(&collector), "\\EFI\\bootaudit\\bootaudit.efi")]
    };
    assert_eq!(apps.len(), want.len(), "{apps:?}");
    for ((hash, path), (want_hash, want_path)) in apps.iter().zip(&want) {
        assert_eq!(hash, want_hash, "{apps:?}");
        assert!(path.ends_with(want_path), "{apps:?}");
    }
    (snap, console)
}

#[test]
fn media_boots_as_the_only_disk_and_ingest_reads_the_snapshot_off_it() {
    let d = tempfile::tempdir().unwrap();
    let w = d.path();
    let (collector, _) = common::built_efi();
    let img = w.join("stick.img");
    let r = common::run(&[
        "collector".as_ref(),
        "media".as_ref(),
        img.as_os_str(),
        "--efi".as_ref(),
        collector.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ])
    .exits(0)
    .json();
    assert_eq!(r["bytes"], 64 << 20);

    // util-linux reads the GPT as bootaudit wrote it.
    let o = Command::new("sfdisk")
        .arg("--json")
        .arg(&img)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let t: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let parts = t["partitiontable"]["partitions"].as_array().unwrap();
    assert_eq!(parts.len(), 1, "{t}");
    assert_eq!(parts[0]["type"], "C12A7328-F81F-11D2-BA4B-00A0C93EC93B");
    assert_eq!(parts[0]["uuid"], r["partition_guid"]);
    assert_eq!(t["partitiontable"]["id"], r["disk_guid"]);
    assert_eq!(parts[0]["start"], 2048);
    let o = Command::new("sfdisk")
        .arg("--verify")
        .arg(&img)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("No errors detected"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    // mtools reads the FAT: the loader is the collector, the configuration
    // powers off.
    let part = format!("{}@@1048576", img.display());
    let got = w.join("loader.efi");
    let o = Command::new("mcopy")
        .env("MTOOLS_SKIP_CHECK", "1")
        .args(["-i", &part, "::/EFI/BOOT/BOOTX64.EFI"])
        .arg(&got)
        .output()
        .expect("mcopy (mtools)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read(&got).unwrap(),
        std::fs::read(&collector).unwrap()
    );
    let o = Command::new("mtype")
        .env("MTOOLS_SKIP_CHECK", "1")
        .args(["-i", &part, "::/bootaudit/config"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout), "mode=shutdown\n");

    // Booted as the machine's only disk, the collector writes its snapshot
    // and powers off; ingest reads it off the image.
    let st = common::xtask()
        .arg("boot")
        .arg(w.join("boot"))
        .arg("--disk")
        .arg(&img)
        .status()
        .unwrap();
    assert!(
        st.success(),
        "{}",
        std::fs::read_to_string(w.join("boot/console.txt")).unwrap_or_default()
    );
    let got = w.join("ingested");
    common::run(&[
        "ingest".as_ref(),
        img.as_os_str(),
        "-o".as_ref(),
        got.as_os_str(),
    ])
    .exits(0);
    let snap = snapshot::read_file(&got.join("snap-0000.json")).unwrap();
    let apps = pcr4_applications(&snap);
    assert_eq!(apps.len(), 1, "{apps:?}");
    assert_eq!(apps[0].0, pesign_hash(&collector));
    assert!(apps[0].1.contains("\\EFI\\BOOT\\BOOTX64.EFI"), "{apps:?}");
    assert!(
        apps[0].1.contains(&format!(
            "HD(1,GPT,{},0x800,",
            r["partition_guid"].as_str().unwrap()
        )),
        "{apps:?}"
    );
}

#[test]
fn media_signed_with_the_owners_db_key_boots_under_secure_boot_and_unsigned_is_refused() {
    // The owner's key in db: Debian's snakeoil key, which OVMF's snakeoil
    // store enrols as PK, KEK and db (Secure Boot on).
    let d = tempfile::tempdir().unwrap();
    let w = d.path();
    let key = w.join("db.key");
    common::snakeoil_key(&key);
    let cert = Path::new("/usr/share/ovmf/PkKek-1-snakeoil.pem");
    let (collector, _) = common::built_efi();
    let media = |name: &str, sign: bool| {
        let img = w.join(name);
        let mut args = vec![
            "collector".as_ref(),
            "media".as_ref(),
            img.as_os_str(),
            "--efi".as_ref(),
            collector.as_os_str(),
        ];
        if sign {
            args.extend([
                "--sign-key".as_ref(),
                key.as_os_str(),
                "--sign-cert".as_ref(),
                cert.as_os_str(),
            ]);
        }
        common::run(&args).exits(0);
        img
    };
    let signed = media("signed.img", true);
    // sbsigntool's verifier accepts bootaudit's signature, and the
    // Authenticode hash is the unsigned image's (pesign's).
    let loader = w.join("signed.efi");
    let o = Command::new("mcopy")
        .env("MTOOLS_SKIP_CHECK", "1")
        .args([
            "-i",
            &format!("{}@@1048576", signed.display()),
            "::/EFI/BOOT/BOOTX64.EFI",
        ])
        .arg(&loader)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = Command::new("sbverify")
        .arg("--cert")
        .arg(cert)
        .arg(&loader)
        .output()
        .expect("sbverify (sbsigntool)");
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(pesign_hash(&loader), pesign_hash(&collector));
    // A key that is not the certificate's is refused, and nothing written.
    let (other_key, other_cert) = (w.join("other.key"), w.join("other.pem"));
    common::self_signed("another key", &other_key, &other_cert);
    let mismatched = w.join("mismatched.img");
    let r = common::run(&[
        "collector".as_ref(),
        "media".as_ref(),
        mismatched.as_os_str(),
        "--efi".as_ref(),
        collector.as_os_str(),
        "--sign-key".as_ref(),
        key.as_os_str(),
        "--sign-cert".as_ref(),
        other_cert.as_os_str(),
    ])
    .exits(2);
    assert!(r.stderr.contains("is not the key of"), "{}", r.stderr);
    assert!(!mismatched.exists());

    // OVMF with Secure Boot on runs the signed collector, which writes its
    // snapshot and powers off.
    let st = common::xtask()
        .arg("boot")
        .arg(w.join("boot-signed"))
        .args(["--ovmf", "snakeoil", "--disk"])
        .arg(&signed)
        .status()
        .unwrap();
    assert!(
        st.success(),
        "{}",
        std::fs::read_to_string(w.join("boot-signed/console.txt")).unwrap_or_default()
    );
    let got = w.join("ingested");
    common::run(&[
        "ingest".as_ref(),
        signed.as_os_str(),
        "-o".as_ref(),
        got.as_os_str(),
    ])
    .exits(0);
    let snap = snapshot::read_file(&got.join("snap-0000.json")).unwrap();
    assert_eq!(snap.secure_boot.as_ref().unwrap().secure_boot, Some(1));

    // Unsigned, the firmware refuses it.
    let unsigned = media("unsigned.img", false);
    let st = common::xtask()
        .arg("boot")
        .arg(w.join("boot-unsigned"))
        .args(["--ovmf", "snakeoil", "--until", "Access Denied", "--disk"])
        .arg(&unsigned)
        .status()
        .unwrap();
    let console = std::fs::read_to_string(w.join("boot-unsigned/console.txt")).unwrap_or_default();
    assert!(!st.success());
    assert!(console.contains("Access Denied"), "{console}");
    let err = common::run(&[
        "ingest".as_ref(),
        unsigned.as_os_str(),
        "-o".as_ref(),
        w.join("none").as_os_str(),
    ]);
    assert!(!w.join("none/snap-0000.json").exists(), "{}", err.stderr);
}
