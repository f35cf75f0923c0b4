//! CEL-JSON: `bootaudit export cel-json` of every shared log (and a
//! snapshot's) replays, read by an independent CEL reader
//! (tests/oracle/tcg_replay.py), to the PCRs tpm2_eventlog computes from
//! the binary log (or, for the logs it cannot judge, that oracle's own
//! replay of the binary log); it also reads back with `bootaudit eventlog`
//! event for event; systemd-pcrlock records written by
//! virt-fw-measure for OVMF read as the same firmware blobs bootaudit's
//! firmware reader hashes.

use crate::common;

use serde_json::Value;
use std::path::Path;

fn eventlog_json(file: &Path) -> Value {
    let o = common::bootaudit()
        .args(["eventlog", "--format", "json"])
        .arg(file)
        .output()
        .unwrap();
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: {}",
            file.display(),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

fn export(input: &Path, out: &Path) -> bool {
    common::bootaudit()
        .args(["export", "cel-json"])
        .arg(input)
        .arg("-o")
        .arg(out)
        .status()
        .unwrap()
        .success()
}

#[test]
fn every_shared_log_round_trips_through_cel_json() {
    let d = tempfile::tempdir().unwrap();
    let mut done = 0;
    let mut by_tpm2_eventlog = 0;
    for log in common::all_logs() {
        let cel = d.path().join("cel.json");
        if !export(&log, &cel) {
            // Logs the binary parser refuses are not exported.
            assert!(
                !common::bootaudit()
                    .arg("eventlog")
                    .arg(&log)
                    .status()
                    .unwrap()
                    .success()
                    || log.to_string_lossy().contains("cos-113"),
                "{} parses but does not export",
                log.display()
            );
            continue;
        }
        let a = eventlog_json(&log);
        if a["kind"] != "tpm" {
            continue;
        }
        // Not our reader, not our replay: the CEL document, replayed by
        // Python's hashlib, against tpm2_eventlog's PCRs of the binary log.
        let (_, from_cel) = common::python_replay(&cel);
        let rel = log
            .strip_prefix(common::eventlogs())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let expected = if common::ORACLE_LOGS.contains(&rel.as_str()) {
            by_tpm2_eventlog += 1;
            common::tpm2_eventlog_pcrs(&log)
        } else {
            common::python_replay(&log).1
        };
        let mut banks = 0;
        for (bank, pcrs) in &from_cel {
            let Some(want) = expected.get(bank) else {
                continue;
            };
            for (i, v) in pcrs {
                assert_eq!(
                    Some(v),
                    want.get(i),
                    "{rel}: {bank} PCR{i} from the CEL export"
                );
            }
            assert_eq!(pcrs.len(), want.len(), "{rel}: {bank} PCRs extended");
            banks += 1;
        }
        // A log of its header alone extends nothing, by both accounts.
        let empty = from_cel.is_empty() && expected.values().all(|b| b.is_empty());
        assert!(banks >= 1 || empty, "{rel}: no bank compared");
        let b = eventlog_json(&cel);
        assert_eq!(a["pcrs"], b["pcrs"], "{}", log.display());
        assert_eq!(
            a["startup_locality"],
            b["startup_locality"],
            "{}",
            log.display()
        );
        let (ea, eb) = (
            a["events"].as_array().unwrap(),
            b["events"].as_array().unwrap(),
        );
        assert_eq!(ea.len(), eb.len(), "{}", log.display());
        for (x, y) in ea.iter().zip(eb) {
            for k in ["pcr", "type", "digests", "data"] {
                assert_eq!(x[k], y[k], "{} event {}: {k}", log.display(), x["number"]);
            }
        }
        // The CEL shape: records numbered from 1, pcclient_std content.
        let doc: Value = serde_json::from_slice(&std::fs::read(&cel).unwrap()).unwrap();
        let recs = doc.as_array().unwrap();
        if let Some(r) = recs.first() {
            assert_eq!(r["recnum"], 1);
        }
        assert!(recs.iter().all(|r| r["content_type"] == "pcclient_std"));
        done += 1;
    }
    assert!(done >= 25, "{done} logs round-tripped");
    assert!(
        by_tpm2_eventlog >= 15,
        "{by_tpm2_eventlog} judged by tpm2_eventlog"
    );
    // A snapshot's log too.
    let snap = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/collector/snap-0000.json");
    let cel = d.path().join("snap.json");
    assert!(export(&snap, &cel));
    let s: Value = serde_json::from_slice(&std::fs::read(&snap).unwrap()).unwrap();
    let raw = d.path().join("raw.bin");
    std::fs::write(
        &raw,
        hex::decode(s["tpm"]["event_log"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(eventlog_json(&raw)["pcrs"], eventlog_json(&cel)["pcrs"]);
}

#[test]
fn virt_fw_measures_pcrlock_records_are_the_ovmf_volumes() {
    let py = common::venv_python();
    let tool = py.parent().unwrap().join("virt-fw-measure");
    let o = std::process::Command::new(&tool)
        .args(["--image", "/usr/share/OVMF/OVMF_CODE_4M.fd", "--pcrlock"])
        .output()
        .unwrap();
    assert!(o.status.success(), "virt-fw-measure");
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("ovmf.pcrlock");
    std::fs::write(&f, &o.stdout).unwrap();
    let v = eventlog_json(&f);
    let inv = common::bootaudit()
        .args([
            "firmware",
            "/usr/share/OVMF/OVMF_CODE_4M.fd",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let inv: Value = serde_json::from_slice(&inv.stdout).unwrap();
    let volumes: Vec<&str> = inv["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["sha256"].as_str().unwrap())
        .collect();
    let events = v["events"].as_array().unwrap();
    assert!(!events.is_empty());
    for e in events {
        assert_eq!(e["type"], "EV_EFI_PLATFORM_FIRMWARE_BLOB");
        assert_eq!(e["data"]["kind"], "firmware-blob");
        let digest = e["digests"]["sha256"].as_str().unwrap();
        assert!(volumes.contains(&digest), "{digest} is no OVMF volume");
    }
}
