//! `bootaudit eventlog` as a scheduler and a person see it: output shapes,
//! exit codes (0 clean, 1 mismatch, 2 bad usage or unreadable input), and
//! every PCR source but the live TPM (see tpm_swtpm.rs).

use crate::common;

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

const LOG: &str = "go-attestation/ubuntu_2104_shielded_vm_no_secure_boot_eventlog";

/// `eventlog LOG --format json --pcrs PCRS`, which must exit with `code`.
#[track_caller]
fn against(log: &Path, pcrs: &str, code: i32) -> Value {
    json_of(
        &[
            "eventlog",
            log.to_str().unwrap(),
            "--format",
            "json",
            "--pcrs",
            pcrs,
        ],
        code,
    )
}

/// The JSON report of a run that must exit with `code`.
#[track_caller]
fn json_of(args: &[&str], code: i32) -> Value {
    common::run(args).exits(code).json()
}

/// The oracle's PCR values in the `--pcrs` JSON shape.
fn oracle_json(log: &Path) -> BTreeMap<String, BTreeMap<String, String>> {
    common::tpm2_eventlog_pcrs(log)
        .into_iter()
        .map(|(b, m)| (b, m.into_iter().map(|(i, v)| (i.to_string(), v)).collect()))
        .collect()
}

#[test]
fn json_shape_pcrs_events_and_exit_zero() {
    let f = common::log(LOG);
    let v = json_of(&["eventlog", f.to_str().unwrap(), "--format", "json"], 0);
    // `pcrs` maps bank -> "index" -> lowercase hex: exactly the oracle's.
    let pcrs: BTreeMap<String, BTreeMap<String, String>> =
        serde_json::from_value(v["pcrs"].clone()).unwrap();
    assert_eq!(pcrs, oracle_json(&f));
    let events = v["events"].as_array().unwrap();
    assert_eq!(events.len(), 105); // INDEX.md: 106 PCRIndex lines, one is the Spec ID header
    assert!(v.get("verdicts").is_none());
    // A decoded boot variable and a boot application's device path.
    let boot = events
        .iter()
        .find(|e| e["type"] == "EV_EFI_VARIABLE_BOOT" && e["data"]["name"] == "Boot0000")
        .expect("Boot0000 event");
    assert!(boot["data"]["load_option"]["description"].is_string());
    let app = events
        .iter()
        .find(|e| e["type"] == "EV_EFI_BOOT_SERVICES_APPLICATION")
        .expect("a boot application");
    let path = app["data"]["device_path"].as_str().unwrap();
    assert!(
        path.contains("PciRoot(0x0)") || path.contains("FvFile("),
        "{path}"
    );
}

#[test]
fn pcr_filter_restricts_events_and_pcrs() {
    let f = common::log(LOG);
    let v = json_of(
        &[
            "eventlog",
            f.to_str().unwrap(),
            "--format",
            "json",
            "--pcr",
            "4,7",
        ],
        0,
    );
    for e in v["events"].as_array().unwrap() {
        let p = e["pcr"].as_u64().unwrap();
        assert!(p == 4 || p == 7, "{p}");
    }
    let keys: Vec<&String> = v["pcrs"]["sha256"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["4", "7"]);
}

#[test]
fn json_pcr_file_match_then_mismatch() {
    let f = common::log(LOG);
    let dir = tempfile::tempdir().unwrap();
    let pcrs = dir.path().join("pcrs.json");
    let mut oracle = oracle_json(&f);
    std::fs::write(&pcrs, serde_json::to_string(&oracle).unwrap()).unwrap();
    let v = against(&f, pcrs.to_str().unwrap(), 0);
    let verdicts = v["verdicts"].as_array().unwrap();
    assert!(!verdicts.is_empty());
    assert!(verdicts.iter().all(|x| x["verdict"] == "match"));

    // One PCR altered: exit 1, and the verdict names it.
    let v7 = oracle.get_mut("sha256").unwrap().get_mut("7").unwrap();
    *v7 = format!("{}00", &v7[..62]);
    std::fs::write(&pcrs, serde_json::to_string(&oracle).unwrap()).unwrap();
    let v = against(&f, pcrs.to_str().unwrap(), 1);
    let bad: Vec<&Value> = v["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["verdict"] == "mismatch")
        .collect();
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0]["bank"], "sha256");
    assert_eq!(bad[0]["pcr"], 7);
}

#[test]
fn sysfs_tree_match_then_mismatch() {
    let f = common::log("tpm2-tools/event-arch-linux.bin");
    let root = tempfile::tempdir().unwrap();
    let oracle = oracle_json(&f);
    for (bank, pcrs) in &oracle {
        let d = root.path().join(format!("sys/class/tpm/tpm0/pcr-{bank}"));
        std::fs::create_dir_all(&d).unwrap();
        // The kernel prints upper-case hex and a newline.
        for (i, v) in pcrs {
            std::fs::write(d.join(i), format!("{}\n", v.to_uppercase())).unwrap();
        }
        // PCR10 (IMA) is extended by the OS, not in the firmware log: ignored.
        std::fs::write(d.join("10"), format!("{}\n", "AB".repeat(v_len(bank)))).unwrap();
    }
    let src = format!("sysfs:{}", root.path().display());
    against(&f, &src, 0);
    let p = root.path().join("sys/class/tpm/tpm0/pcr-sha1/0");
    std::fs::write(&p, format!("{}\n", "00".repeat(20))).unwrap();
    against(&f, &src, 1);
}

fn v_len(bank: &str) -> usize {
    match bank {
        "sha1" => 20,
        "sha384" => 48,
        "sha512" => 64,
        _ => 32,
    }
}

#[test]
fn tampered_event_data_is_a_digest_mismatch_with_exit_1() {
    let f = common::log(LOG);
    let mut bytes = std::fs::read(&f).unwrap();
    let needle = b"Calling EFI Application from Boot Option";
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("EV_EFI_ACTION text");
    bytes[at] = b'K';
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("tampered.bin");
    std::fs::write(&t, &bytes).unwrap();
    let v = json_of(&["eventlog", t.to_str().unwrap(), "--format", "json"], 1);
    let m = v["digest_checks"]["mismatches"].as_array().unwrap();
    assert!(!m.is_empty());
    assert!(
        m.iter()
            .all(|x| x["event_type"] == "EV_EFI_ACTION" && x["pcr"] == 4),
        "{m:?}"
    );
    // The table says so too.
    let out = common::run(&["eventlog", t.to_str().unwrap()]).exits(1);
    let text = out.out();
    assert!(
        text.contains("MISMATCH event") && text.contains("EV_EFI_ACTION"),
        "{text}"
    );
}

#[test]
fn unreadable_or_malformed_input_and_bad_usage_exit_2() {
    let out = common::run(&["eventlog", "/nonexistent/log.bin"]).exits(2);
    assert!(out.stderr.contains("/nonexistent/log.bin"));

    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("cut.bin");
    let bytes = std::fs::read(common::log(LOG)).unwrap();
    std::fs::write(&t, &bytes[..bytes.len() - 3]).unwrap();
    let out = common::run(&["eventlog", t.to_str().unwrap()]).exits(2);
    let err = out.stderr;
    // The log's last event holds 40 bytes of data: its EventSize field sits
    // 44 bytes before the end of the file, and that is the offset reported.
    let size_at = bytes.len() - 44;
    assert_eq!(bytes[size_at..size_at + 4], 40u32.to_le_bytes());
    let want = format!("byte offset {size_at} ");
    assert!(
        err.contains("cut.bin") && err.contains(&want) && err.contains("exceeds"),
        "{err}"
    );

    for args in [
        &["eventlog"][..],
        &["eventlog", "x", "--format", "yaml"],
        &["eventlog", "x", "--pcr", "24"],
        &["frobnicate"],
    ] {
        common::run(args).exits(2);
    }
    let out = common::run(&[
        "eventlog",
        common::log(LOG).to_str().unwrap(),
        "--pcrs",
        "/nonexistent.json",
    ])
    .exits(2);
    assert!(out.stderr.contains("/nonexistent.json"));
}

#[test]
fn table_output_fits_100_columns() {
    let out = common::run(&["eventlog", common::log(LOG).to_str().unwrap()]).exits(0);
    let text = out.out();
    assert!(text.contains("Replayed PCRs"));
    let log = bootaudit::eventlog::read_file(&common::log(LOG)).unwrap();
    // Every table line: the event rows (and their wrapped event text) and
    // the boxed PCR tables.
    let mut checked = 0;
    for line in text.lines().filter(|l| {
        l.starts_with('│') || l.starts_with('┌') || l.starts_with("     ") || l.starts_with("    ")
    }) {
        assert!(
            line.chars().count() <= 100,
            "{} columns: {line}",
            line.chars().count()
        );
        checked += 1;
    }
    // At least one line per event and per replayed PCR was measured.
    let pcrs = bootaudit::eventlog::replay::replay(&log)
        .banks
        .values()
        .map(|b| b.len())
        .sum::<usize>();
    assert!(
        checked >= log.events.len() + pcrs,
        "{checked} lines checked for {} events and {pcrs} PCRs",
        log.events.len()
    );
}

/// A log laid out as Trusted Firmware-A's measured boot writes it
/// (drivers/measured_boot/event_log/event_log.c): a Spec ID event with one
/// bank (SHA-256, UINTN of 32 bits), the StartupLocality event, then one
/// EV_POST_CODE per image in PCR 0, its data the image's name with its NUL.
fn trusted_firmware_log(images: &[(&str, [u8; 32])]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut spec = b"Spec ID Event03\0".to_vec();
    spec.extend(0u32.to_le_bytes()); // platform class: client
    spec.extend([0, 2, 0, 1]); // minor, major, errata, uintn size
    spec.extend(1u32.to_le_bytes()); // one algorithm
    spec.extend(0x000bu16.to_le_bytes());
    spec.extend(32u16.to_le_bytes());
    spec.push(0); // no vendor information
    let mut log = Vec::new();
    log.extend(0u32.to_le_bytes()); // PCR 0
    log.extend(3u32.to_le_bytes()); // EV_NO_ACTION
    log.extend([0u8; 20]);
    log.extend((spec.len() as u32).to_le_bytes());
    log.extend(&spec);
    let mut event2 = |pcr: u32, ty: u32, digest: [u8; 32], data: &[u8]| {
        log.extend(pcr.to_le_bytes());
        log.extend(ty.to_le_bytes());
        log.extend(1u32.to_le_bytes());
        log.extend(0x000bu16.to_le_bytes());
        log.extend(digest);
        log.extend((data.len() as u32).to_le_bytes());
        log.extend(data);
    };
    event2(0, 3, [0; 32], b"StartupLocality\0\0");
    for (name, image) in images {
        let mut data = name.as_bytes().to_vec();
        data.push(0);
        // TF-A logs the SHA-256 of the image itself.
        event2(0, 1, Sha256::digest(image).into(), &data);
    }
    log
}

#[test]
fn trusted_firmware_a_measurements_are_decoded_by_name_and_replay_as_tpm2_tools_does() {
    // Names of both TF-A generations: metadata.h's (SECURE_RT_EL3,
    // SECURE_RT_EL1_OPTEE) and event_log.h's (BL_2, BL_33, HW_CONFIG).
    let images = [
        ("BL_2", [2u8; 32]),
        ("SECURE_RT_EL3", [31; 32]),
        ("SECURE_RT_EL1_OPTEE", [32; 32]),
        ("BL_33", [33; 32]),
        ("HW_CONFIG", [4; 32]),
    ];
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("tfa.bin");
    std::fs::write(&f, trusted_firmware_log(&images)).unwrap();
    let v = json_of(&["eventlog", f.to_str().unwrap(), "--format", "json"], 0);
    // Python's hashlib replays the same bytes to the same PCR 0. (Not
    // tpm2_eventlog: Debian's 5.4 extends the StartupLocality event's zero
    // digest into PCR 0, tpm2-tools #3224, reported on a TF-A log and fixed
    // in 5.5; it still reads every event's name, checked below.)
    let pcrs: BTreeMap<String, BTreeMap<String, String>> =
        serde_json::from_value(v["pcrs"].clone()).unwrap();
    let (_, replayed) = common::python_replay(&f);
    assert_eq!(pcrs["sha256"]["0"], replayed["sha256"][&0]);
    let o = std::process::Command::new("tpm2_eventlog")
        .arg(&f)
        .output()
        .expect("tpm2_eventlog (tpm2-tools)");
    let yaml = String::from_utf8_lossy(&o.stdout);
    for (name, _) in &images {
        assert!(yaml.contains(&format!("    {name}\n")), "{name}: {yaml}");
    }
    let named: Vec<(String, String)> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "EV_POST_CODE")
        .map(|e| {
            assert_eq!(e["data"]["kind"], "trusted-firmware", "{e}");
            (
                e["data"]["name"].as_str().unwrap().to_string(),
                e["data"]["component"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let names: Vec<&str> = named.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, images.map(|(n, _)| n));
    assert_eq!(named[1].1, "TF-A BL31, the EL3 runtime firmware");
    assert!(named[2].1.ends_with("OP-TEE"), "{named:?}");
    assert!(named[3].1.starts_with("BL33"), "{named:?}");
    // The table names them too.
    let table = common::run(&["eventlog", f.to_str().unwrap()])
        .exits(0)
        .out();
    assert!(table.contains("SECURE_RT_EL3: TF-A BL31"), "{table}");
    // An EDK II POST code string is still text, not a TF-A image.
    let plain = trusted_firmware_log(&[("SMM CODE", [9; 32])]);
    std::fs::write(&f, plain).unwrap();
    let v = json_of(&["eventlog", f.to_str().unwrap(), "--format", "json"], 0);
    let e = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "EV_POST_CODE")
        .unwrap();
    assert_eq!(e["data"]["kind"], "text", "{e}");
}
