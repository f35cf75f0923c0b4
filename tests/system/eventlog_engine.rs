//! The event-log engine on every real log of the shared fixtures: each
//! parses; its replay equals tpm2_eventlog's where that tool can judge it,
//! and an independent Python replay (tests/oracle/tcg_replay.py) on every
//! log; no unmodified log shows a digest mismatch. Each decoder is checked
//! against values from outside the code: another parser's output, the
//! structure written out by hand from its specification, or what the source
//! project says the machine was.

use crate::common;

use bootaudit::eventlog::decode::{EventData, Locator};
use bootaudit::eventlog::{self, check, replay, LogKind};
use bootaudit::logreport as report;
use std::collections::BTreeMap;

fn ours(log: &eventlog::EventLog) -> BTreeMap<String, BTreeMap<u32, String>> {
    replay::replay(log)
        .banks
        .iter()
        .map(|(a, b)| {
            (
                a.name(),
                b.iter().map(|(i, v)| (*i, hex::encode(v))).collect(),
            )
        })
        .collect()
}

fn decoded(rel: &str) -> (eventlog::EventLog, Vec<EventData>) {
    let log = eventlog::read_file(&common::log(rel)).unwrap_or_else(|e| panic!("{e}"));
    let d = log.events.iter().map(|e| e.decode()).collect();
    (log, d)
}

#[test]
fn every_log_replays_as_an_independent_replay_does() {
    let mut compared = 0;
    // The Windows GCP VM's log, out of its JSON record, with the others.
    let d = tempfile::tempdir().unwrap();
    let gcp = d.path().join("windows_gcp_shielded_vm.bin");
    std::fs::write(&gcp, common::gcp_windows_log()).unwrap();
    let mut files = common::all_logs();
    files.push(gcp);
    assert_eq!(files.len(), 36);
    for f in files {
        let log = eventlog::read_file(&f).unwrap_or_else(|e| panic!("{e}"));
        let (kind, py) = common::python_replay(&f);
        let r = replay::replay(&log);
        assert_eq!(
            kind == "ccel",
            log.kind == LogKind::Ccel,
            "{}: log kind",
            f.display()
        );
        let mine = ours(&log);
        for (bank, pcrs) in &py {
            for (i, v) in pcrs {
                let alg = eventlog::HashAlg::from_name(bank).unwrap();
                if r.unreplayable.contains(&(alg, *i)) {
                    // An event lacks this bank's digest: not replayable,
                    // reported as such (the Windows logs' SHA-1 PCRs 11-14).
                    assert!(!mine.get(bank).is_some_and(|b| b.contains_key(i)));
                    continue;
                }
                assert_eq!(
                    mine.get(bank).and_then(|b| b.get(i)),
                    Some(v),
                    "{}: {bank} index {i}",
                    f.display()
                );
                compared += 1;
            }
        }
        // Nothing replayed that the oracle did not.
        for (bank, pcrs) in &mine {
            for i in pcrs.keys() {
                assert!(py.get(bank).is_some_and(|b| b.contains_key(i)));
            }
        }
    }
    assert!(compared > 550, "only {compared} values compared");
}

#[test]
fn later_logs_replay_as_tpm2_eventlog_does_where_it_can_judge() {
    // INDEX.md: tpm2_eventlog handles these; on the two SP 800-155 logs its
    // PCR0 is disputed, and gdc-host started at locality 3, which
    // tpm2_eventlog 5.4 ignores. Those PCR0 values are left to the Python
    // replay above.
    let disputed_pcr0 = [
        "go-tpm-tools/confidential-gke-debug-251000_eventlog.bin",
        "go-tpm-tools/eventlogwithsp800155.bin",
        "go-tpm-tools/gdc-host.bin",
    ];
    // It rejects the two Windows logs and the CCEL log (INDEX.md).
    let rejected = [
        "keylime-uefi-eventlog/ideapad-ideapad1.bin",
        "keylime-uefi-eventlog/thinkpad-p511.bin",
        "go-eventlog/cos-113-intel-tdx.bin",
    ];
    let mut compared = 0;
    for &rel in common::LATER_LOGS.iter().filter(|r| !rejected.contains(r)) {
        let f = common::log(rel);
        let mut oracle = common::tpm2_eventlog_pcrs(&f);
        let log = eventlog::read_file(&f).unwrap();
        let mut mine = ours(&log);
        if disputed_pcr0.contains(&rel) {
            for b in oracle.values_mut().chain(mine.values_mut()) {
                b.remove(&0);
            }
        }
        assert_eq!(mine, oracle, "{rel}");
        compared += oracle.values().map(|b| b.len()).sum::<usize>();
    }
    assert!(compared > 250, "{compared}");
}

#[test]
fn no_unmodified_log_shows_a_digest_mismatch() {
    let mut unconfirmed = Vec::new();
    for f in common::all_logs() {
        let log = eventlog::read_file(&f).unwrap();
        let c = check::check(&log);
        assert!(
            c.mismatches.is_empty(),
            "{}: {:?}",
            f.display(),
            c.mismatches
        );
        for u in &c.unconfirmed {
            unconfirmed.push((
                f.file_name().unwrap().to_string_lossy().into_owned(),
                u.event,
            ));
        }
    }
    // The one documented exception: gdc-host's S-CRTM version (UCS-2
    // "2.3.5"), whose SHA-256 is no hash of the text.
    assert_eq!(unconfirmed, [("gdc-host.bin".to_string(), 2)]);
}

#[test]
fn a_tdx_ccel_log_replays_its_rtmrs_in_sha384() {
    let (log, _) = decoded("go-eventlog/cos-113-intel-tdx.bin");
    assert_eq!(log.kind, LogKind::Ccel);
    let spec = log.spec_id.as_ref().unwrap();
    assert_eq!(spec.algorithms.len(), 1);
    assert_eq!(spec.algorithms[0].algorithm, eventlog::HashAlg::Sha384);
    // 262144 bytes: the log area the CCEL table names, 0xFF-filled after
    // the last event (at 18101, found by walking the records by hand).
    assert_eq!(log.trailing_fill_bytes, 262_144 - 18_101);
    assert_eq!(log.events.len(), 43);
    let r = report::build("ccel", &log, &[], None);
    let regs = r.registers.as_ref().unwrap();
    let names: Vec<&String> = regs[&eventlog::HashAlg::Sha384].keys().collect();
    assert_eq!(names, ["RTMR0", "RTMR1", "RTMR2"]);
    assert!(r.ok);
}

#[test]
fn a_cc_event_on_a_register_that_does_not_exist_leaves_the_log_unjudged() {
    // The real TDX log with one measuring event's MR index set to 7 (the
    // index is not hashed: every digest still covers its data).
    let f = common::log("go-eventlog/cos-113-intel-tdx.bin");
    let mut raw = std::fs::read(&f).unwrap();
    let log = eventlog::parse(&raw).unwrap();
    let e = log
        .events
        .iter()
        .find(|e| e.pcr == 2 && e.event_type.0 != 3)
        .expect("an event on RTMR1");
    raw[e.offset..e.offset + 4].copy_from_slice(&7u32.to_le_bytes());
    let edited = eventlog::parse(&raw).unwrap();
    let r = report::build("ccel", &edited, &[], None);
    assert!(!r.ok);
    assert_eq!(r.digest_checks.mismatches.len(), 0);
    assert_eq!(r.unknown.len(), 1, "{:?}", r.unknown);
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("mr7.bin");
    std::fs::write(&p, &raw).unwrap();
    let o = common::run_command(common::bootaudit().arg("eventlog").arg(&p)).exits(1);
    let out = o.out();
    assert!(
        out.contains("Result: the log cannot be judged whole: 1 events extend a measurement register that does not exist"),
        "{out}"
    );
    // The unedited log still passes.
    common::run_command(common::bootaudit().arg("eventlog").arg(&f)).exits(0);
}

#[test]
fn rtmr_values_from_a_json_file_are_compared_and_a_wrong_one_fails() {
    let f = common::log("go-eventlog/cos-113-intel-tdx.bin");
    let (_, py) = common::python_replay(&f);
    let sha384 = &py["sha384"];
    let d = tempfile::tempdir().unwrap();
    let good = d.path().join("rtmrs.json");
    let doc: BTreeMap<String, String> = sha384
        .iter()
        .map(|(i, v)| (format!("RTMR{}", i - 1), v.clone()))
        .collect();
    std::fs::write(&good, serde_json::to_vec(&doc).unwrap()).unwrap();
    let run = |extra: &[&str]| {
        common::bootaudit()
            .arg("eventlog")
            .args(extra)
            .arg("--rtmrs")
            .arg(&good)
            .arg(&f)
            .output()
            .unwrap()
    };
    let o = run(&["--format", "json"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let verdicts = v["verdicts"].as_array().unwrap();
    assert_eq!(verdicts.len(), 3);
    assert!(verdicts.iter().all(|x| x["verdict"] == "match"));
    assert_eq!(verdicts[0]["register"], "RTMR0");
    // One flipped nibble in RTMR1.
    let mut bad = doc.clone();
    let v1 = bad.get_mut("RTMR1").unwrap();
    v1.replace_range(0..1, if v1.starts_with('0') { "1" } else { "0" });
    std::fs::write(&good, serde_json::to_vec(&bad).unwrap()).unwrap();
    let o = run(&[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("RTMR1 ┆ MISMATCH"));
    // A key that names no RTMR is an error naming the field.
    std::fs::write(&good, br#"{"rtmr4": "00"}"#).unwrap();
    let o = run(&[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("rtmr4"));
}

#[test]
fn an_s_crtm_version_of_sixteen_bytes_is_a_guid() {
    // tpm2-tools' own expected output shows the event's 16 bytes; read
    // mixed-endian (UEFI's GUID layout) by hand they are this GUID.
    let yaml = std::fs::read_to_string(
        common::eventlogs().join("tpm2-tools/expected-yaml/event-arch-linux.bin.yaml"),
    )
    .unwrap();
    assert!(yaml.contains("Event: \"1efb6b540c1d5540a4ad4ef4bf17b83a\""));
    let (log, d) = decoded("tpm2-tools/event-arch-linux.bin");
    let i = log
        .events
        .iter()
        .position(|e| e.event_type == eventlog::EventType::S_CRTM_VERSION)
        .unwrap();
    match &d[i] {
        EventData::Guid { guid } => {
            assert_eq!(guid.to_string(), "546BFB1E-1D0C-4055-A4AD-4EF4BF17B83A")
        }
        other => panic!("{other:?}"),
    }
    // UCS-2 text stays text.
    let (log, d) = decoded("keylime-uefi-eventlog/ideapad-ideapad1.bin");
    let i = log
        .events
        .iter()
        .position(|e| e.event_type == eventlog::EventType::S_CRTM_VERSION)
        .unwrap();
    assert_eq!(
        d[i],
        EventData::Text {
            text: "AVCN22WW(V1.12)".into()
        }
    );
}

#[test]
fn an_s_crtm_version_that_does_not_match_is_unconfirmed_not_a_lie() {
    let (log, d) = decoded("go-tpm-tools/gdc-host.bin");
    assert_eq!(replay::replay(&log).startup_locality, 3);
    let c = check::check(&log);
    assert_eq!(c.status[2], check::DigestStatus::Unconfirmed);
    assert_eq!(
        d[2],
        EventData::Text {
            text: "2.3.5".into()
        }
    );
    let r = report::build("gdc", &log, &[], None);
    assert!(r.ok);
    assert_eq!(r.digest_checks.unconfirmed.len(), 1);
    // Any other event type whose digest does not cover its data is still
    // a mismatch: a separator.
    use common::craft;
    let mut b = craft::agile_header();
    let mut e = craft::agile_event(7, eventlog::EventType::SEPARATOR.0, &[0; 4]);
    e[14] ^= 1;
    b.extend(e);
    let c = check::check(&eventlog::parse(&b).unwrap());
    assert_eq!(c.mismatches.len(), 1);
}

#[test]
fn sp800_155_events_name_the_platform_and_its_reference_manifest() {
    let (_, d) = decoded("go-tpm-tools/eventlogwithsp800155.bin");
    let s: Vec<_> = d
        .iter()
        .filter_map(|x| match x {
            EventData::Sp800155(s) => Some(s),
            _ => None,
        })
        .collect();
    assert_eq!(s.len(), 2);
    // Written out from the events' bytes by the PFP 1.06 §10.4.5.1 layout
    // (EDK2's TCG_Sp800_155_PlatformId_Event3): 11129 is Google's IANA
    // enterprise number.
    for x in &s {
        assert_eq!(x.signature, "SP800-155 Event3");
        assert_eq!(x.vendor_id, 11129);
        assert_eq!(x.platform_manufacturer.as_deref(), Some("Google, Inc."));
        assert_eq!(x.platform_model.as_deref(), Some("Google Compute Engine"));
        assert_eq!(x.firmware_version.as_deref(), Some("2.7"));
        assert_eq!(x.firmware_manufacturer_id, Some(11129));
        assert_eq!(x.trailing_bytes, 6);
    }
    match s[0].rim_locator.as_ref().unwrap() {
        Locator::Variable { guid, name } => {
            assert_eq!(guid.to_string(), "A2858E46-A37F-456A-8C79-0C1FE48B65FF");
            assert_eq!(name, "FirmwareRIM");
        }
        other => panic!("{other:?}"),
    }
    match s[1].rim_locator.as_ref().unwrap() {
        Locator::Uri { uri } => {
            assert!(
                uri.starts_with("https://storage.googleapis.com/gce_tcb_integrity/ovmf_x64_csm/")
            );
            assert!(uri.ends_with(".fd.signed"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        s[0].platform_cert_locator,
        Some(Locator::Raw { data: vec![] })
    );
}

#[test]
fn gce_nonhost_info_names_the_confidential_technology() {
    // What the source project says each VM was (INDEX.md), against the
    // GCEConfidentialTechnology numbering of go-tpm-tools.
    for (rel, tech, name) in [
        ("go-tpm-tools/ubuntu-2204-intel-tdx.bin", 3, "Intel TDX"),
        ("go-tpm-tools/ubuntu-2404-amd-sevsnp.bin", 4, "AMD SEV-SNP"),
        ("tpm2-tools/event-gce-ubuntu-2104-log.bin", 0, "none"),
    ] {
        let (_, d) = decoded(rel);
        let got: Vec<_> = d
            .iter()
            .filter_map(|x| match x {
                EventData::GceNonHostInfo { technology, name } => Some((*technology, name.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(got, [(tech, name.to_string())], "{rel}");
    }
}

#[test]
fn the_other_event_types_the_spec_defines_are_decoded() {
    // EV_CPU_MICROCODE and EV_PLATFORM_CONFIG_FLAGS carry ASCII text.
    let (log, d) = decoded("go-attestation/option_rom_eventlog");
    let at = |log: &eventlog::EventLog, ty: eventlog::EventType| {
        log.events.iter().position(|e| e.event_type == ty).unwrap()
    };
    assert_eq!(
        d[at(&log, eventlog::EventType::CPU_MICROCODE)],
        EventData::Text {
            text: "Load microcode revision 000000A1 for processor 000306F2".into()
        }
    );
    // Windows' EV_COMPACT_HASH in PCR 11 is a 32-bit value (0x10 here).
    assert_eq!(
        d[at(&log, eventlog::EventType::COMPACT_HASH)],
        EventData::CompactHash { value: 0x10 }
    );
    let (log, d) = decoded("go-tpm-tools/gdc-host.bin");
    assert_eq!(
        d[at(&log, eventlog::EventType::PLATFORM_CONFIG_FLAGS)],
        EventData::Text {
            text: "No voltage offset and OC_LOCK bit is set".into()
        }
    );
    // EV_TABLE_OF_DEVICES as handoff pointers: one entry, the PI spec's
    // EFI_MP_SERVICES_PROTOCOL GUID.
    match &d[at(&log, eventlog::EventType::TABLE_OF_DEVICES)] {
        EventData::TableOfDevices { tables } => {
            assert_eq!(tables.len(), 1);
            assert_eq!(
                tables[0].guid.to_string(),
                "3FDDA605-A76E-4F46-AD29-12F4531B3D08"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_tdx_guests_ccel_table_and_log_are_collected_and_shown() {
    // A copied /sys of a TDX guest: the CCEL ACPI table and its log area
    // where Linux exposes them.
    let d = tempfile::tempdir().unwrap();
    let tables = d.path().join("sys/firmware/acpi/tables");
    std::fs::create_dir_all(tables.join("data")).unwrap();
    let table = std::fs::read(common::log("go-eventlog/cos-113-intel-tdx.table.bin")).unwrap();
    let area = std::fs::read(common::log("go-eventlog/cos-113-intel-tdx.bin")).unwrap();
    std::fs::write(tables.join("CCEL"), &table).unwrap();
    std::fs::write(tables.join("data/CCEL"), &area).unwrap();
    let snap = d.path().join("s.json");
    let o = common::bootaudit()
        .args(["collect", "--root"])
        .arg(d.path())
        .arg("-o")
        .arg(&snap)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(&snap).unwrap()).unwrap();
    let cc = &s["cc_event_log"];
    // The table's fields, read by hand from its 56 bytes (the ACPI CC
    // Event Log table: header, CC type at 36, subtype, reserved, LAML at
    // 40, LASA at 48); 2 is Intel TDX.
    assert_eq!(table[36], 2);
    assert_eq!(cc["cc_type"], 2);
    assert_eq!(
        cc["log_area_minimum_length"].as_u64(),
        Some(u64::from_le_bytes(table[40..48].try_into().unwrap()))
    );
    assert_eq!(cc["log_area_minimum_length"], 0x40000);
    assert_eq!(
        cc["log_area_start_address"].as_u64(),
        Some(u64::from_le_bytes(table[48..56].try_into().unwrap()))
    );
    assert_eq!(cc["event_log"].as_str().unwrap(), hex::encode(&area));
    // show replays the RTMRs as the Python replay does.
    let (_, py) = common::python_replay(&common::log("go-eventlog/cos-113-intel-tdx.bin"));
    let o = common::bootaudit()
        .args(["show", "--format", "json"])
        .arg(&snap)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let regs = &v["cc_event_log"]["registers"];
    for (i, val) in &py["sha384"] {
        assert_eq!(regs[format!("sha384 RTMR{}", i - 1)], val.as_str());
    }
    assert_eq!(v["cc_event_log"]["events"], 43);
    assert_eq!(v["consistent"], true);
    // With no TPM, show names what it checked: the CC log, not a replay.
    let checked = v["checked"].as_array().unwrap();
    assert_eq!(checked.len(), 1);
    assert!(checked[0].as_str().unwrap().contains("CC event log"));
}

#[test]
fn show_names_absent_evidence_as_absent() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("bare.json");
    std::fs::write(
        &p,
        br#"{"format": "bootaudit-snapshot/1", "source": {"kind": "efi-collector", "version": "0.1.0"}}"#,
    )
    .unwrap();
    let o = common::bootaudit().arg("show").arg(&p).output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(!out.contains("replays to the PCRs"), "{out}");
    assert!(out.contains("nothing measured to check"), "{out}");
}

#[test]
fn mutated_ccel_tables_never_panic() {
    let table = std::fs::read(common::log("go-eventlog/cos-113-intel-tdx.table.bin")).unwrap();
    assert!(bootaudit::snapshot::ccel_table(&table).is_some());
    for n in 0..table.len() {
        assert_eq!(
            bootaudit::snapshot::ccel_table(&table[..n]),
            None,
            "{n} bytes"
        );
    }
    let mut rng = common::Rng(0xcce1);
    let (mut some, mut none) = (0, 0);
    for _ in 0..5000 {
        let mut t = table.clone();
        for _ in 0..1 + rng.next() % 3 {
            let at = (rng.next() as usize) % t.len();
            t[at] = rng.next() as u8;
        }
        match bootaudit::snapshot::ccel_table(&t) {
            Some(_) => some += 1,
            None => none += 1,
        }
    }
    // Both outcomes happen: a byte in the signature or the length refuses
    // it, one elsewhere does not.
    assert!(some > 1000 && none > 100, "{some} {none}");
}

#[test]
fn a_comparison_that_compares_nothing_is_unknown_not_a_pass() {
    // Real RTMR3 only, which the CCEL log never extends: not one replayed
    // register meets a real value.
    let d = tempfile::tempdir().unwrap();
    let only3 = d.path().join("rtmr3.json");
    std::fs::write(&only3, format!(r#"{{"rtmr3": "{}"}}"#, "00".repeat(48))).unwrap();
    let o = common::run_command(
        common::bootaudit()
            .args(["eventlog", "--rtmrs"])
            .arg(&only3)
            .arg(common::log("go-eventlog/cos-113-intel-tdx.bin")),
    )
    .exits(1);
    assert!(o.out().contains("Result: unknown"));
    // A log of its header alone against a full set of real PCRs.
    let pcrs =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ovmf-swtpm/pcrs.json");
    let o = common::run_command(
        common::bootaudit()
            .args(["eventlog", "--format", "json", "--pcrs"])
            .arg(&pcrs)
            .arg(common::log("tpm2-tools/specid-vendordata.bin")),
    )
    .exits(1);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["nothing_compared"], true);
    assert_eq!(v["ok"], false);
}
