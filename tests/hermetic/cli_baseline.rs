//! `bootaudit baseline create/accept` and `diff` with a baseline on the
//! left, on the shipped collector snapshot and variants of it.

use crate::common;

use serde_json::Value;
use std::path::{Path, PathBuf};

fn fixture() -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/collector/snap-0000.json");
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn save(dir: &Path, name: &str, v: &Value) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_vec_pretty(v).unwrap()).unwrap();
    p
}

/// `baseline create` of the snapshots into `base`, which must succeed.
#[track_caller]
fn create(base: &Path, snapshots: &[&Path]) -> common::Run {
    let mut args = vec!["baseline", "create"];
    args.extend(snapshots.iter().map(|p| p.to_str().unwrap()));
    args.extend(["-o", base.to_str().unwrap()]);
    common::run(&args).exits(0)
}

/// rule, subject, explained, explanation
type Row = (String, String, bool, Option<String>);

/// `diff --fail-on low` of the two, which must exit with `code`.
#[track_caller]
fn findings(base: &Path, now: &Path, code: i32) -> Vec<Row> {
    let v = common::run(&[
        "diff",
        "--format",
        "json",
        "--fail-on",
        "low",
        base.to_str().unwrap(),
        now.to_str().unwrap(),
    ])
    .exits(code)
    .json();
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["subject"].as_str().unwrap().to_string(),
                f["explained"].as_bool().unwrap(),
                f["explanation"].as_str().map(String::from),
            )
        })
        .collect()
}

/// The fixture with Boot0000's digest changed, as a boot counter in a load
/// option's optional data would change it.
fn with_boot0000(sha: &str) -> Value {
    let mut v = fixture();
    v["secure_boot"]["boot_entries"][0]["sha256"] = Value::String(sha.repeat(32));
    v
}

#[test]
fn variation_between_known_good_snapshots_is_learned_and_nothing_else() {
    let d = tempfile::tempdir().unwrap();
    let a = save(d.path(), "a.json", &fixture());
    let b = save(d.path(), "b.json", &with_boot0000("ab"));
    let base = d.path().join("base.json");
    let out = create(&base, &[&a, &b]).out();
    assert!(out.contains("1 varying findings"), "{out}");
    // No temporary file is left beside it.
    assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 3);

    // Another boot with Boot0000 changed again. Unsigned, the list of
    // what varies explains nothing (whoever can write the file can add to
    // it): the finding keeps its severity, noted, and is counted.
    let c = save(d.path(), "c.json", &with_boot0000("cd"));
    let f = findings(&base, &c, 1);
    assert_eq!(f.len(), 1);
    assert_eq!(
        (f[0].0.as_str(), f[0].1.as_str(), f[0].2),
        ("boot-entries.changed", "Boot0000", false)
    );
    assert!(
        f[0].3.as_deref().unwrap().contains("unverified baseline"),
        "{f:?}"
    );
    let table = common::run(&["diff", base.to_str().unwrap(), c.to_str().unwrap()])
        .exits(0)
        .out();
    assert!(
        table.lines().last().unwrap().ends_with(
            "; 1 accepted or learned as varying in an unverified baseline, not applied (sign it, or --trust-unsigned-baseline)"
        ),
        "{table}"
    );
    // Trusted (signed, or --trust-unsigned-baseline in a lab): explained.
    let r = common::run(&[
        "diff",
        "--format",
        "json",
        "--trust-unsigned-baseline",
        base.to_str().unwrap(),
        c.to_str().unwrap(),
    ])
    .exits(0);
    let v = r.json();
    assert_eq!(v["findings"][0]["explained"], true);
    assert!(v["findings"][0]["explanation"]
        .as_str()
        .unwrap()
        .contains("varies between the baseline's known-good snapshots"));

    // Boot0001 changing was never seen: not explained.
    let mut v = fixture();
    v["secure_boot"]["boot_entries"][1]["sha256"] = Value::String("ef".repeat(32));
    let e = save(d.path(), "e.json", &v);
    let f = findings(&base, &e, 1);
    assert_eq!((f[0].1.as_str(), f[0].2), ("Boot0001", false));
}

#[test]
fn accepted_findings_are_explained_with_who_and_why() {
    let d = tempfile::tempdir().unwrap();
    let a = save(d.path(), "a.json", &fixture());
    let base = d.path().join("base.json");
    create(&base, &[&a]);
    let c = save(d.path(), "c.json", &with_boot0000("cd"));
    findings(&base, &c, 1);
    let base2 = d.path().join("base2.json");
    common::run(&[
        "baseline",
        "accept",
        base.to_str().unwrap(),
        "--finding",
        "boot-entries.changed:Boot0000",
        "--reason",
        "firmware setup changed the boot order",
        "--by",
        "alice",
        "-o",
        base2.to_str().unwrap(),
    ])
    .exits(0);
    // Unsigned, the acceptance explains nothing: whoever can write the
    // file could have added it. The finding keeps its severity, noted.
    let f = findings(&base2, &c, 1);
    assert!(!f[0].2, "{f:?}");
    let why = f[0].3.as_deref().unwrap();
    assert!(
        why.starts_with("accepted in an unverified baseline (by alice")
            && why.contains("firmware setup changed the boot order"),
        "{why}"
    );
    let table = common::run(&["diff", base2.to_str().unwrap(), c.to_str().unwrap()])
        .exits(0)
        .out();
    let last = table.lines().last().unwrap();
    assert!(
        last.ends_with(
            "; 1 accepted or learned as varying in an unverified baseline, not applied (sign it, or --trust-unsigned-baseline)"
        ),
        "{last}"
    );
    // --trust-unsigned-baseline (labs): explained, with who and why.
    let r = common::run(&[
        "diff",
        "--format",
        "json",
        "--fail-on",
        "low",
        "--trust-unsigned-baseline",
        base2.to_str().unwrap(),
        c.to_str().unwrap(),
    ])
    .exits(0);
    let v = r.json();
    let why = v["findings"][0]["explanation"].as_str().unwrap();
    assert_eq!(v["findings"][0]["explained"], true);
    assert!(
        why.contains("alice") && why.contains("firmware setup changed the boot order"),
        "{why}"
    );
}

#[test]
fn an_edited_or_foreign_baseline_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let a = save(d.path(), "a.json", &fixture());
    let base = d.path().join("base.json");
    create(&base, &[&a]);
    // An edit by hand: accept something without bootaudit.
    let mut v: Value = serde_json::from_slice(&std::fs::read(&base).unwrap()).unwrap();
    v["varies"] = serde_json::json!(["acpi.table.added"]);
    let edited = save(d.path(), "edited.json", &v);
    let r = common::run(&["diff", edited.to_str().unwrap(), a.to_str().unwrap()]).exits(2);
    assert!(
        r.stderr.contains("edited.json") && r.stderr.contains("edited after bootaudit wrote it"),
        "{}",
        r.stderr
    );
    v["format"] = Value::String("bootaudit-baseline/7".into());
    let foreign = save(d.path(), "foreign.json", &v);
    let r = common::run(&["diff", foreign.to_str().unwrap(), a.to_str().unwrap()]).exits(2);
    assert!(r.stderr.contains("bootaudit-baseline/7"), "{}", r.stderr);
}

#[test]
fn a_log_that_does_not_replay_is_never_learned() {
    let d = tempfile::tempdir().unwrap();
    let a = save(d.path(), "a.json", &fixture());
    let mut v = fixture();
    v["tpm"]["pcrs"]["sha256"]["4"] = Value::String("00".repeat(32));
    let b = save(d.path(), "b.json", &v);
    let base = d.path().join("base.json");
    create(&base, &[&a, &b]);
    let f = findings(&base, &b, 1);
    assert!(
        f.iter().any(|x| x.0 == "tpm.log.replay-mismatch" && !x.2),
        "{f:?}"
    );
}
