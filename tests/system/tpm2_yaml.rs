//! `bootaudit eventlog --format tpm2-yaml`, and bootaudit run as
//! `tpm2_eventlog`, against the real tpm2_eventlog (tpm2-tools 5.4, from
//! Debian) and its consumer, Keylime.
//!
//! - On every shared log tpm2_eventlog prints as UTF-8, for both output
//!   versions, the two documents are equal once parsed as YAML. `pcrs`
//!   differs on the three logs INDEX.md names (a startup locality of 3, two
//!   SP 800-155 logs), where tpm2-tools 5.4's PCR0 is wrong; there ours
//!   must be the independent replay's (tests/oracle/tcg_replay.py).
//! - On the logs it crashes on, rejects, or prints as bytes that are not
//!   UTF-8, ours is UTF-8 YAML in the same schema.
//! - Keylime's own parser, run with bootaudit first on PATH as
//!   tpm2_eventlog, reads every log it reads with the real one, and more.

use crate::common;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn venv_python() -> PathBuf {
    common::venv_python()
}

fn oracle() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/tpm2_yaml.py")
}

/// The logs where tpm2-tools 5.4's PCR0 is wrong (INDEX.md).
const PCR0_DISPUTED: [&str; 3] = [
    "go-tpm-tools/gdc-host.bin",
    "go-tpm-tools/eventlogwithsp800155.bin",
    "go-tpm-tools/confidential-gke-debug-251000_eventlog.bin",
];

#[test]
fn tpm2_yaml_equals_tpm2_eventlog_and_is_valid_where_it_fails() {
    let d = tempfile::tempdir().unwrap();
    let mut pairs = Vec::new();
    let mut cases = Vec::new();
    for (n, log) in common::all_logs().iter().enumerate() {
        for v in ["1", "2"] {
            let theirs = d.path().join(format!("{n}-{v}.theirs.yaml"));
            let ours = d.path().join(format!("{n}-{v}.ours.yaml"));
            let t = Command::new("tpm2_eventlog")
                .arg(format!("--eventlog-version={v}"))
                .arg(log)
                .output()
                .expect("tpm2_eventlog (tpm2-tools, installed by .ci/run)");
            std::fs::write(&theirs, &t.stdout).unwrap();
            let o = common::bootaudit()
                .args(["eventlog", "--format", "tpm2-yaml", "--eventlog-version", v])
                .arg(log)
                .output()
                .unwrap();
            assert!(
                o.status.success(),
                "{}: {}",
                log.display(),
                String::from_utf8_lossy(&o.stderr)
            );
            assert!(
                std::str::from_utf8(&o.stdout).is_ok(),
                "{}: not UTF-8",
                log.display()
            );
            std::fs::write(&ours, &o.stdout).unwrap();
            pairs.push((theirs, ours));
            cases.push((log.clone(), v, t.status.success()));
        }
    }
    let manifest = d.path().join("manifest.json");
    std::fs::write(&manifest, serde_json::to_vec(&pairs).unwrap()).unwrap();
    let out = Command::new(venv_python())
        .arg(oracle())
        .arg("compare")
        .arg(&manifest)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let (mut equal, mut valid_only) = (0, Vec::new());
    for ((log, v, ran), r) in cases.iter().zip(&results) {
        let name = log.display().to_string();
        assert!(
            r["ours_error"].is_null(),
            "{name} v{v}: ours is not YAML: {}",
            r["ours_error"]
        );
        let shape = r["ours_shape"].as_array().unwrap();
        assert_eq!(shape.len(), 3, "{name} v{v}: {shape:?}");
        for k in ["events", "pcrs", "version"] {
            assert!(shape.iter().any(|s| s == k), "{name} v{v}: no {k}");
        }
        if !ran || !r["theirs_error"].is_null() {
            valid_only.push(format!("{name} v{v}"));
            continue;
        }
        let differs: Vec<&str> = r["differs"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|x| x.as_str())
            .collect();
        if PCR0_DISPUTED.iter().any(|p| name.ends_with(p)) {
            assert_eq!(differs, ["pcrs"], "{name} v{v}");
            let (_, want) = common::python_replay(log);
            for (bank, pcrs) in &want {
                for (i, value) in pcrs {
                    let got = r["ours_pcrs"][bank][i.to_string()]
                        .as_str()
                        .unwrap_or_default();
                    assert_eq!(
                        got.trim_start_matches('0'),
                        value.to_ascii_lowercase().trim_start_matches('0'),
                        "{name} v{v}: {bank} PCR{i}"
                    );
                }
            }
        } else {
            assert!(differs.is_empty(), "{name} v{v}: {differs:?}");
        }
        equal += 1;
    }
    println!(
        "YAML-equal to tpm2_eventlog on {equal} log/version pairs; valid UTF-8 YAML where it fails: {valid_only:?}"
    );
    assert!(equal >= 50, "{equal}");
}

#[test]
fn keylime_parses_more_logs_with_bootaudit_as_tpm2_eventlog() {
    let d = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        env!("CARGO_BIN_EXE_bootaudit"),
        d.path().join("tpm2_eventlog"),
    )
    .unwrap();
    let logs = common::all_logs();
    let run = |path: String| -> serde_json::Map<String, Value> {
        let o = Command::new(venv_python())
            .arg(oracle())
            .arg("keylime")
            .arg("-")
            .args(&logs)
            .env("PATH", path)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice::<Value>(&o.stdout)
            .unwrap()
            .as_object()
            .unwrap()
            .clone()
    };
    let path = std::env::var("PATH").unwrap_or_default();
    let real = run(path.clone());
    let ours = run(format!("{}:{path}", d.path().display()));
    let ok = |m: &serde_json::Map<String, Value>| {
        m.values().filter(|v| **v == Value::Bool(true)).count()
    };
    println!(
        "Keylime's parser reads {} of {} shared logs with tpm2_eventlog, {} with bootaudit as tpm2_eventlog",
        ok(&real),
        logs.len(),
        ok(&ours)
    );
    for (log, v) in &real {
        if *v == Value::Bool(true) {
            assert_eq!(
                ours[log],
                Value::Bool(true),
                "{log}: Keylime reads it with tpm2_eventlog, not with ours"
            );
        } else {
            println!("  with tpm2_eventlog: {log}: {v}");
        }
    }
    for (log, v) in &ours {
        if *v != Value::Bool(true) {
            println!("  with bootaudit: {log}: {v}");
        }
    }
    assert!(ok(&ours) > ok(&real), "no log more");
}

/// Undoes tpm2-tools' string block (a `|-` block of one double-quoted line
/// per line of the data, C-style escapes) as Keylime does, in Python with
/// PyYAML: the oracle of what a consumer reads back.
const READ_BACK: &str = r#"
import sys, json, yaml
docs = list(yaml.safe_load_all(open(sys.argv[1], encoding="utf-8")))
out = {"documents": len(docs), "events": []}
esc = {"0": 0, "a": 7, "b": 8, "t": 9, "v": 11, "f": 12, "r": 13, "e": 27, "'": 39, "\\": 92}
def unescape(line):
    assert line.startswith('"') and line.endswith('"'), line
    s, b, i = line[1:-1], bytearray(), 0
    while i < len(s):
        if s[i] == "\\":
            if s[i + 1] == "x":
                b.append(int(s[i + 2:i + 4], 16)); i += 4; continue
            b.append(esc[s[i + 1]]); i += 2; continue
        b.extend(s[i].encode("utf-8")); i += 1
    return bytes(b)
for e in docs[0]["events"]:
    ev = e.get("Event")
    s = ev.get("String") if isinstance(ev, dict) else None
    out["events"].append({"num": e["EventNum"], "pcr": e["PCRIndex"], "type": e["EventType"],
        "string": None if s is None else b"\n".join(unescape(l) for l in s.split("\n")).hex()})
print(json.dumps(out))
"#;

#[test]
fn strings_that_yaml_reads_as_line_breaks_cannot_forge_events() {
    // EV_IPL strings a boot loader measures and an attacker chooses: a
    // line or paragraph separator (U+2028, U+2029) or NEL followed by a
    // forged event at the left margin, a byte-order mark, and quotes.
    let forged = "\n- EventNum: 999\n  PCRIndex: 0\n  EventType: EV_NO_ACTION\nend";
    let strings: Vec<String> = vec![
        format!("grub_cmd: linux /vmlinuz\u{2028}{forged}"),
        format!("x\u{2029}{forged}y"),
        format!("nel\u{85}{forged}"),
        "bom\u{feff}: \"quoted\" 'single' \\ back".to_string(),
        "two\nlines\u{2028}and a separator".to_string(),
    ];
    let mut log = common::craft::agile_header();
    for s in &strings {
        log.extend(common::craft::agile_event(8, 0x0d, s.as_bytes()));
    }
    let d = tempfile::tempdir().unwrap();
    let bin = d.path().join("ipl.bin");
    std::fs::write(&bin, &log).unwrap();
    let o = common::bootaudit()
        .args(["eventlog", "--format", "tpm2-yaml"])
        .arg(&bin)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let yaml = d.path().join("ipl.yaml");
    std::fs::write(&yaml, &o.stdout).unwrap();
    let r = Command::new(venv_python())
        .args(["-c", READ_BACK])
        .arg(&yaml)
        .output()
        .unwrap();
    assert!(
        r.status.success(),
        "PyYAML could not read it back: {}\n{}",
        String::from_utf8_lossy(&r.stderr),
        String::from_utf8_lossy(&o.stdout)
    );
    let v: Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(v["documents"], 1);
    let events = v["events"].as_array().unwrap();
    // The Spec ID event and the five strings, in order: nothing forged.
    assert_eq!(events.len(), 1 + strings.len(), "{v:#}");
    assert!(events.iter().all(|e| e["num"] != 999), "{v:#}");
    for (i, s) in strings.iter().enumerate() {
        let e = &events[i + 1];
        assert_eq!(e["pcr"], 8);
        assert_eq!(e["type"], "EV_IPL");
        assert_eq!(e["string"], hex::encode(s.as_bytes()), "string {i}: {s:?}");
    }
}
