//! `bootaudit show` on the shipped collector snapshot and on hostile ones:
//! truncated, wrong version, wrong types, tampered log. Clear errors (file and
//! field), exit 2 for unreadable input, never a panic.

use crate::common;

use std::path::{Path, PathBuf};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/collector/snap-0000.json")
}

/// `show FILE`, which must exit with `code`.
#[track_caller]
fn show(p: &Path, code: i32) -> common::Run {
    common::run(&["show".as_ref(), p.as_os_str()]).exits(code)
}

#[test]
fn shipped_snapshot_is_consistent() {
    let out = show(&fixture(), 0).out();
    assert!(
        out.contains("EDK II") && out.contains("replays to the PCRs it recorded"),
        "{out}"
    );
}

#[test]
fn hostile_snapshots_are_clear_errors() {
    let good = std::fs::read_to_string(fixture()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, String, &str)> = vec![
        ("truncated.json", good[..good.len() / 2].to_string(), "EOF"),
        (
            "v2.json",
            good.replacen("bootaudit-snapshot/1", "bootaudit-snapshot/2", 1),
            "major version 2",
        ),
        (
            "type.json",
            good.replacen("\"map_key\": ", "\"map_key\": \"x\", \"was\": ", 1),
            "memory_maps[0].map_key",
        ),
        ("empty.json", String::new(), "EOF"),
        ("notjson.json", "\u{1}\u{2}garbage".to_string(), "field"),
    ];
    for (name, body, want) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        let err = show(&p, 2).stderr;
        assert!(err.contains(name) && err.contains(want), "{name}: {err}");
    }
}

/// The shipped snapshot with one byte of its event log changed at `at`
/// (a byte offset into the binary log).
fn tampered(at: usize, dir: &Path) -> PathBuf {
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture()).unwrap()).unwrap();
    let mut log = hex::decode(v["tpm"]["event_log"].as_str().unwrap()).unwrap();
    log[at] ^= 0x01;
    v["tpm"]["event_log"] = serde_json::Value::String(hex::encode(&log));
    let p = dir.join(format!("tampered-{at}.json"));
    std::fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();
    p
}

#[test]
fn a_tampered_digest_or_data_byte_is_exit_1() {
    let s = bootaudit::snapshot::read_file(&fixture()).unwrap();
    let tpm = s.tpm.unwrap();
    let log = bootaudit::snapshot::event_log(&tpm, "fixture")
        .unwrap()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The last EV_EFI_ACTION ("Calling EFI Application from Boot Option").
    // Its first digest (SHA-1) starts 14 bytes into the record (PCRIndex,
    // EventType, count, hashAlg); its data is the record's last bytes, up to
    // where the next record starts.
    let i = log
        .events
        .iter()
        .rposition(|e| e.type_name() == "EV_EFI_ACTION")
        .unwrap();
    let last = &log.events[i];
    let data_end = log
        .events
        .get(i + 1)
        .map_or(tpm.event_log.len() / 2, |e| e.offset);
    assert_eq!(&last.data[..], b"Calling EFI Application from Boot Option");

    let out = show(&tampered(last.offset + 14, dir.path()), 1).out();
    let row = format!("│ sha1   ┆ {}   ┆", last.pcr);
    let line = out
        .lines()
        .find(|l| l.starts_with(&row))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains("MISMATCH"), "{line}");

    let out = show(&tampered(data_end - 3, dir.path()), 1).out();
    assert!(
        out.contains(&format!("DIGEST MISMATCH event {}", last.number)),
        "{out}"
    );
}

#[test]
fn mutated_snapshots_never_panic() {
    let good = std::fs::read(fixture()).unwrap();
    let mut rng = common::Rng(0xfeed_5eed);
    let (mut summarised, mut rejected) = (0, 0);
    for _ in 0..300 {
        let mut m = good.clone();
        for _ in 0..1 + rng.next() % 4 {
            let at = (rng.next() as usize) % m.len();
            match rng.next() % 3 {
                0 => m[at] = b"0123456789abcdef\"{}[],:-e"[(rng.next() % 25) as usize],
                1 => m.truncate(at.max(1)),
                _ => {
                    m.remove(at);
                }
            }
        }
        match bootaudit::snapshot::parse(&m, "mutant") {
            Ok(s) => {
                let r = bootaudit::show::build("mutant", &s);
                let t = bootaudit::render::show::table(&r);
                assert!(t.contains("mutant"));
                // `check` reads every part too.
                let c = bootaudit::check::run("mutant", &s, &Default::default());
                let _ = bootaudit::render::check::table(&c);
                let _ = bootaudit::render::check::html(&c);
                summarised += 1;
            }
            Err(e) => {
                assert!(e.to_string().starts_with("mutant: "), "{e}");
                rejected += 1;
            }
        }
    }
    // Both paths are taken: mutants reach the summary and its table.
    assert!(
        summarised > 20 && rejected > 100,
        "summarised {summarised}, rejected {rejected}"
    );
}
