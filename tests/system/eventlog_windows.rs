//! Windows boot logs: the SIPA records Windows measures into PCRs 12-14,
//! decoded and summarised, checked against go-attestation's own test of the
//! same log (attest/win_events_test.go, TestParseWinEvents on
//! windows_gcp_shielded_vm.json); the findings `diff` makes of them; and
//! reading a MeasuredBoot directory.

use crate::common;

use bootaudit::eventlog::windows::{self, Reported};
use bootaudit::eventlog::{self, check, decode::EventData, sipa};

fn boot_of(raw: &[u8]) -> windows::WindowsBoot {
    let log = eventlog::parse(raw).unwrap();
    windows::from_log(&log, &check::check(&log).status).expect("SIPA events")
}

#[test]
fn the_gcp_windows_boot_matches_go_attestations_reading() {
    let w = boot_of(&common::gcp_windows_log());
    // go-attestation's want: BootCount 4, DEPEnabled and
    // CodeIntegrityEnabled true, BitlockerUnlocks [0, 0].
    assert_eq!(w.boot_count, Some(4));
    assert_eq!(w.dep, Reported::On);
    assert_eq!(w.code_integrity, Reported::On);
    assert_eq!(w.bitlocker_unlocks, [0, 0]);
    assert!(!w.test_signing.on() && !w.debugging());
    assert_eq!(w.unverified_events, 0);
    // Its three hand-checked modules.
    let want = [
        (
            "0fdce7d71936f79445e7d2c84cbeb97c948d3730e0b839166b0a4e625c2d4547",
            r"\Windows\System32\drivers\vioscsi.sys",
            81_416_192u64,
            "Microsoft Windows Third Party Component CA 2014",
            "Microsoft Windows Hardware Compatibility Publisher",
            "33000000253a2738690a3451c1000000000025",
            "2629e86aae6eb9c9adcc1c548d601a50fd96927a",
        ),
        (
            "055a36a9921b98cc04042ca95249c7eca655536868dafcec7508947ebe5e71f4",
            r"\Windows\System32\Drivers\ksecpkg.sys",
            82_952_192,
            "Microsoft Windows Production PCA 2011",
            "Microsoft Windows",
            "33000001c422b2f79b793dacb20000000001c4",
            "ae9c1ae54763822eec42474983d8b635116c8452",
        ),
        (
            "2bedd1589410b6fa13c82f35db735025b6a160595922750248771f5abd0fee58",
            r"\Windows\System32\drivers\volmgrx.sys",
            80_875_520,
            "Microsoft Windows Production PCA 2011",
            "Microsoft Windows",
            "33000001c422b2f79b793dacb20000000001c4",
            "ae9c1ae54763822eec42474983d8b635116c8452",
        ),
    ];
    for (hash, path, base, issuer, publisher, serial, sha1) in want {
        let m = w
            .modules
            .iter()
            .find(|m| hex::encode(&m.authenticode_hash) == hash)
            .unwrap_or_else(|| panic!("module {hash}"));
        assert_eq!(m.path.as_deref(), Some(path));
        assert_eq!(m.image_base, [base]);
        assert_eq!(m.hash_algorithm.map(|a| a & 0xff), Some(0x0c), "SHA-256");
        assert!(m.validated);
        assert_eq!(m.issuer.as_deref(), Some(issuer));
        assert_eq!(m.publisher.as_deref(), Some(publisher));
        assert_eq!(hex::encode(&m.serial), serial);
        assert_eq!(hex::encode(&m.thumbprint), sha1);
    }
    // ELAM: "Windows Defender" and its measured value.
    assert_eq!(w.elam.len(), 1);
    assert_eq!(w.elam[0].key_name, "Windows Defender");
    assert_eq!(
        hex::encode(&w.elam[0].measured),
        "067d5b9dc5627f97dcf3feff602a342ed698d2cc"
    );
    // The boot manager the firmware measured into PCR 4.
    let bm = w.boot_manager.as_ref().unwrap();
    assert!(bm
        .path
        .as_deref()
        .unwrap()
        .ends_with(r"\EFI\Microsoft\Boot\bootmgfw.efi"));
    // The OS loader it names.
    assert_eq!(
        w.os_loader.as_ref().and_then(|m| m.path.as_deref()),
        Some(r"\Windows\system32\winload.efi")
    );
}

#[test]
fn every_sipa_event_of_the_windows_logs_decodes_and_verifies() {
    let mut n = 0;
    let logs = [
        common::gcp_windows_log(),
        std::fs::read(common::log("keylime-uefi-eventlog/thinkpad-p511.bin")).unwrap(),
        std::fs::read(common::log("keylime-uefi-eventlog/ideapad-ideapad1.bin")).unwrap(),
    ];
    for raw in &logs {
        let log = eventlog::parse(raw).unwrap();
        let c = check::check(&log);
        for (e, st) in log.events.iter().zip(&c.status) {
            if e.event_type != eventlog::EventType::EVENT_TAG {
                continue;
            }
            let EventData::Sipa { records } = e.decode() else {
                panic!("event {}: {:?}", e.number, e.decode());
            };
            assert!(!records.is_empty());
            // Windows' digest of a tagged event is of the event itself.
            assert_eq!(*st, check::DigestStatus::Verified, "event {}", e.number);
            n += 1;
        }
        // The laptops run Windows clients: NX policy OptIn (0), DEP on.
        let w = windows::from_log(&log, &c.status).unwrap();
        assert_eq!(w.dep, Reported::On);
    }
    assert!(n >= 16 + 4, "{n} SIPA events");
}

/// Re-serializes a log (TCG_PCR_EVENT or TCG_PCR_EVENT2 records, as the
/// PFP lays them out) with each edited event's digests recomputed over its
/// new data, so that an edited SIPA event verifies.
fn rebuild(raw: &[u8], edit: impl Fn(usize, &mut Vec<u8>)) -> Vec<u8> {
    let log = eventlog::parse(raw).unwrap();
    let agile = log.format == eventlog::LogFormat::CryptoAgile;
    let first = log.events[0].offset;
    let mut out = raw[..first].to_vec();
    for (i, e) in log.events.iter().enumerate() {
        let mut data = e.data.clone();
        edit(i, &mut data);
        out.extend(e.pcr.to_le_bytes());
        out.extend(e.event_type.0.to_le_bytes());
        if agile {
            out.extend((e.digests.len() as u32).to_le_bytes());
        }
        for d in &e.digests {
            if agile {
                out.extend(d.algorithm.id().to_le_bytes());
            }
            if data == e.data {
                out.extend(&d.digest);
            } else {
                out.extend(sha_of(d.algorithm, &data));
            }
        }
        out.extend((data.len() as u32).to_le_bytes());
        out.extend(&data);
    }
    out
}

/// The digest of `data` by the sha1/sha2 crates (not bootaudit's code).
fn sha_of(alg: eventlog::HashAlg, data: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    match alg {
        eventlog::HashAlg::Sha1 => sha1::Sha1::digest(data).to_vec(),
        eventlog::HashAlg::Sha256 => sha2::Sha256::digest(data).to_vec(),
        eventlog::HashAlg::Sha384 => sha2::Sha384::digest(data).to_vec(),
        other => panic!("{other}"),
    }
}

/// Where an event's data starts in the raw log.
fn data_start(log: &eventlog::EventLog, e: &eventlog::Event) -> usize {
    match log.format {
        eventlog::LogFormat::Sha1 => e.offset + 32,
        eventlog::LogFormat::CryptoAgile => {
            e.offset + 16 + e.digests.iter().map(|d| 2 + d.digest.len()).sum::<usize>()
        }
    }
}

/// Sets the one-byte value of every SIPA record `id` in `data` to `v`.
fn set_flag(data: &mut [u8], id: u32, v: u8) -> usize {
    let pat = [id.to_le_bytes(), 1u32.to_le_bytes()].concat();
    let mut n = 0;
    let mut at = 0;
    while let Some(p) = data[at..].windows(8).position(|w| w == pat) {
        data[at + p + 8] = v;
        at += p + 9;
        n += 1;
    }
    n
}

fn snapshot_with_log(raw: &[u8]) -> bootaudit::snapshot::Snapshot {
    let p =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/collector/snap-0000.json");
    let mut s: bootaudit::snapshot::Snapshot =
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
    s.tpm.as_mut().unwrap().event_log = hex::encode(raw);
    s
}

fn rules(a: &[u8], b: &[u8]) -> Vec<(String, String)> {
    let r = bootaudit::diff::diff("a", &snapshot_with_log(a), "b", &snapshot_with_log(b));
    r.findings
        .iter()
        .filter(|f| f.rule.starts_with("windows."))
        .map(|f| (f.rule.to_string(), f.severity.word().to_string()))
        .collect()
}

#[test]
fn diff_flags_what_weakens_a_windows_boot() {
    let gcp = common::gcp_windows_log();
    assert!(rules(&gcp, &gcp).is_empty());
    // Test signing turned on in the verified records: high.
    let edited = rebuild(&gcp, |_, d| {
        set_flag(d, sipa::id::TESTSIGNING, 1);
    });
    assert!(boot_of(&edited).test_signing.on());
    assert_eq!(
        rules(&gcp, &edited),
        [("windows.test-signing".to_string(), "high".to_string())]
    );
    // Code integrity off and kernel debugging on.
    let edited = rebuild(&gcp, |_, d| {
        set_flag(d, sipa::id::CODEINTEGRITY, 0);
        set_flag(d, sipa::id::OSKERNELDEBUG, 1);
    });
    let got = rules(&gcp, &edited);
    assert!(
        got.contains(&("windows.code-integrity.off".into(), "critical".into())),
        "{got:?}"
    );
    // (Windows logs OSKERNELDEBUG only when set; the GCP log has none to flip.)
    // The same edit without recomputing the digests: the records are not
    // verified, so they say nothing, and the log's digest check fails.
    let log = eventlog::parse(&gcp).unwrap();
    let mut forged = gcp.clone();
    for e in &log.events {
        if let EventData::Sipa { .. } = e.decode() {
            let start = data_start(&log, e);
            set_flag(
                &mut forged[start..start + e.data.len()],
                sipa::id::TESTSIGNING,
                1,
            );
        }
    }
    let w = boot_of(&forged);
    assert!(!w.test_signing.on());
    assert!(w.unverified_events > 0);
    assert!(!check::check(&eventlog::parse(&forged).unwrap())
        .mismatches
        .is_empty());
}

#[test]
fn diff_flags_vsm_that_stopped_running() {
    // The ThinkPad ran VSM (VSM_LAUNCH_TYPE 1); the GCP VM did not (0).
    let thinkpad = std::fs::read(common::log("keylime-uefi-eventlog/thinkpad-p511.bin")).unwrap();
    let gcp = common::gcp_windows_log();
    assert!(boot_of(&thinkpad).vsm_running());
    assert!(!boot_of(&gcp).vsm_running());
    assert_eq!(
        rules(&thinkpad, &gcp),
        [("windows.vsm.stopped".to_string(), "high".to_string())]
    );
    assert!(rules(&gcp, &thinkpad).is_empty());
}

#[test]
fn a_measured_boot_directory_gives_its_newest_boot_or_all() {
    let d = tempfile::tempdir().unwrap();
    let thinkpad = std::fs::read(common::log("keylime-uefi-eventlog/thinkpad-p511.bin")).unwrap();
    let ideapad = std::fs::read(common::log("keylime-uefi-eventlog/ideapad-ideapad1.bin")).unwrap();
    std::fs::write(d.path().join("0000000155-0000000000.log"), &thinkpad).unwrap();
    std::fs::write(d.path().join("0000000117-0000000000.log"), &ideapad).unwrap();
    let o = common::bootaudit()
        .args(["eventlog", "--format", "json"])
        .arg(d.path())
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // The newest by boot counter, whose own SIPA boot counter agrees.
    assert!(v["file"]
        .as_str()
        .unwrap()
        .ends_with("0000000155-0000000000.log"));
    assert_eq!(v["windows"]["boot_count"], 155);
    let o = common::bootaudit()
        .args(["eventlog", "--format", "json", "--all-boots"])
        .arg(d.path())
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let counts: Vec<_> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["windows"]["boot_count"].as_u64().unwrap())
        .collect();
    assert_eq!(counts, [117, 155]);
    // An empty directory is bad input.
    let e = tempfile::tempdir().unwrap();
    let o = common::run_command(common::bootaudit().arg("eventlog").arg(e.path())).exits(2);
    assert!(o.stderr.contains("no *.log"));
}

#[test]
fn an_unreadable_or_unreported_setting_is_unknown_never_off() {
    // The GCP boot's BOOTCOUNTER record (8 bytes) renamed OSKERNELDEBUG:
    // a kernel-debug record whose value is not a one-byte flag.
    let gcp = common::gcp_windows_log();
    let pat = [sipa::id::BOOTCOUNTER.to_le_bytes(), 8u32.to_le_bytes()].concat();
    let edited = rebuild(&gcp, |_, d| {
        if let Some(p) = d.windows(8).position(|w| w == pat) {
            d[p..p + 4].copy_from_slice(&sipa::id::OSKERNELDEBUG.to_le_bytes());
        }
    });
    assert_ne!(edited, gcp, "the GCP log has a BOOTCOUNTER record");
    let w = boot_of(&edited);
    assert_eq!(w.kernel_debugging, windows::Setting::Unreadable);
    assert!(!w.debugging());
    assert_eq!(
        rules(&gcp, &edited),
        [(
            "windows.setting.unreadable".to_string(),
            "medium".to_string()
        )]
    );
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("edited.bin");
    std::fs::write(&f, &edited).unwrap();
    let o = common::run_command(common::bootaudit().arg("eventlog").arg(&f)).exits(1);
    let out = o.out();
    assert!(out.contains("kernel UNREADABLE"), "{out}");
    assert!(
        out.contains("Result: the log cannot be judged whole: Windows kernel debugging: a verified record of it holds no readable value"),
        "{out}"
    );
    // The unedited log: hypervisor debugging is in no record of it, so it
    // is listed as unknown, not shown as off; the log itself checks out.
    assert_eq!(
        boot_of(&gcp).hypervisor_debugging,
        windows::Setting::NotReported
    );
    let f = d.path().join("gcp.bin");
    std::fs::write(&f, &gcp).unwrap();
    let o = common::run_command(common::bootaudit().arg("eventlog").arg(&f)).exits(0);
    let out = o.out();
    assert!(out.contains("hypervisor not reported"), "{out}");
    assert!(
        out.contains("Result: the log's checks passed; unknown: Windows hypervisor debugging: no verified SIPA record reports it"),
        "{out}"
    );
}
