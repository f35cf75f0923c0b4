//! `--format jsonl` of `diff` and `check`: one line per finding (or check)
//! in the `bootaudit-finding/1` schema, with the host and collection time
//! the snapshot itself records, checked here against its file and the
//! command's own JSON report. (`fleet`'s is tested in tests/system/fleet.rs.)

use crate::common;

use serde_json::Value;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The JSON lines of a run that must exit with `code`.
#[track_caller]
fn lines(args: &[&str], code: i32) -> Vec<Value> {
    common::run(args)
        .exits(code)
        .out()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The JSON report of a run that must exit with `code`.
#[track_caller]
fn json(args: &[&str], code: i32) -> Value {
    common::run(args).exits(code).json()
}

fn snapshot(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

#[test]
fn diff_jsonl_is_the_json_reports_findings_one_per_line() {
    let b = root().join("fixtures/implant/baseline.json");
    let c = root().join("fixtures/implant/implant.json");
    let (b, c) = (b.to_str().unwrap(), c.to_str().unwrap());
    let report = json(&["diff", b, c, "--format", "json"], 1);
    let l = lines(&["diff", b, c, "--format", "jsonl"], 1);
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(l.len(), findings.len());
    let snap = snapshot(Path::new(c));
    for (x, f) in l.iter().zip(findings) {
        assert_eq!(x["schema"], "bootaudit-finding/1");
        assert_eq!(x["tool"], "diff");
        for k in [
            "rule",
            "severity",
            "category",
            "explained",
            "message",
            "evidence",
        ] {
            assert_eq!(x[k], f[k], "{k}");
        }
        assert_eq!(x["collected_at"], snap["identity"]["time"]);
        assert_eq!(
            x["host"]["system_uuid"],
            snap["identity"]["smbios"]["system_uuid"]
        );
        assert_eq!(x["source"], c);
    }
}

#[test]
fn check_jsonl_has_a_line_per_check_of_the_registry() {
    let f = root().join("fixtures/linux-host/collector.json");
    let f = f.to_str().unwrap();
    let l = lines(&["check", f, "--format", "jsonl"], 1);
    let rules = json(&["rules", "--format", "json"], 0);
    let checks: Vec<&str> = rules
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["level"].is_number())
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    // Every check but the live host's posture.
    let ours: Vec<&str> = l.iter().map(|x| x["rule"].as_str().unwrap()).collect();
    let want: Vec<&str> = checks
        .iter()
        .copied()
        .filter(|id| !id.starts_with("platform."))
        .collect();
    assert_eq!(ours, want);
    let report = json(&["check", f, "--format", "json"], 1);
    for (x, r) in l.iter().zip(report["results"].as_array().unwrap()) {
        assert_eq!(x["tool"], "check");
        assert_eq!(x["result"], r["result"]);
        assert_eq!(x["message"], r["reason"]);
    }
    let snap = snapshot(Path::new(f));
    assert_eq!(l[0]["collected_at"], snap["identity"]["time"]);
}
