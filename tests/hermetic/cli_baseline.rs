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

fn run(args: &[&str]) -> (i32, String, String) {
    let o = common::bootaudit().args(args).output().unwrap();
    (
        o.status.code().unwrap(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// rule, subject, explained, explanation
type Row = (String, String, bool, Option<String>);

fn findings(base: &Path, now: &Path) -> (i32, Vec<Row>) {
    let (code, out, err) = run(&[
        "diff",
        "--format",
        "json",
        "--fail-on",
        "low",
        base.to_str().unwrap(),
        now.to_str().unwrap(),
    ]);
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {err}"));
    let f = v["findings"]
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
        .collect();
    (code, f)
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
    let (code, out, err) = run(&[
        "baseline",
        "create",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "-o",
        base.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("1 varying findings"), "{out}");
    // No temporary file is left beside it.
    assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 3);

    // Another boot with Boot0000 changed again. Unsigned, the list of
    // what varies explains nothing (whoever can write the file can add to
    // it): the finding keeps its severity, noted, and is counted.
    let c = save(d.path(), "c.json", &with_boot0000("cd"));
    let (code, f) = findings(&base, &c);
    assert_eq!(code, 1, "{f:?}");
    assert_eq!(f.len(), 1);
    assert_eq!(
        (f[0].0.as_str(), f[0].1.as_str(), f[0].2),
        ("boot-entries.changed", "Boot0000", false)
    );
    assert!(
        f[0].3.as_deref().unwrap().contains("unverified baseline"),
        "{f:?}"
    );
    let (_, table, _) = run(&["diff", base.to_str().unwrap(), c.to_str().unwrap()]);
    assert!(
        table.lines().last().unwrap().ends_with(
            "; 1 accepted or learned as varying in an unverified baseline, not applied (sign it, or --trust-unsigned-baseline)"
        ),
        "{table}"
    );
    // Trusted (signed, or --trust-unsigned-baseline in a lab): explained.
    let (code, out, err) = run(&[
        "diff",
        "--format",
        "json",
        "--trust-unsigned-baseline",
        base.to_str().unwrap(),
        c.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["findings"][0]["explained"], true);
    assert!(v["findings"][0]["explanation"]
        .as_str()
        .unwrap()
        .contains("varies between the baseline's known-good snapshots"));

    // Boot0001 changing was never seen: not explained.
    let mut v = fixture();
    v["secure_boot"]["boot_entries"][1]["sha256"] = Value::String("ef".repeat(32));
    let e = save(d.path(), "e.json", &v);
    let (code, f) = findings(&base, &e);
    assert_eq!(code, 1);
    assert_eq!((f[0].1.as_str(), f[0].2), ("Boot0001", false));
}

#[test]
fn accepted_findings_are_explained_with_who_and_why() {
    let d = tempfile::tempdir().unwrap();
    let a = save(d.path(), "a.json", &fixture());
    let base = d.path().join("base.json");
    assert_eq!(
        run(&[
            "baseline",
            "create",
            a.to_str().unwrap(),
            "-o",
            base.to_str().unwrap()
        ])
        .0,
        0
    );
    let c = save(d.path(), "c.json", &with_boot0000("cd"));
    assert_eq!(findings(&base, &c).0, 1);
    let base2 = d.path().join("base2.json");
    let (code, _, err) = run(&[
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
    ]);
    assert_eq!(code, 0, "{err}");
    // Unsigned, the acceptance explains nothing: whoever can write the
    // file could have added it. The finding keeps its severity, noted.
    let (code, f) = findings(&base2, &c);
    assert_eq!(code, 1, "{f:?}");
    assert!(!f[0].2, "{f:?}");
    let why = f[0].3.as_deref().unwrap();
    assert!(
        why.starts_with("accepted in an unverified baseline (by alice")
            && why.contains("firmware setup changed the boot order"),
        "{why}"
    );
    let (_, table, _) = run(&["diff", base2.to_str().unwrap(), c.to_str().unwrap()]);
    let last = table.lines().last().unwrap();
    assert!(
        last.ends_with(
            "; 1 accepted or learned as varying in an unverified baseline, not applied (sign it, or --trust-unsigned-baseline)"
        ),
        "{last}"
    );
    // --trust-unsigned-baseline (labs): explained, with who and why.
    let (code, out, err) = run(&[
        "diff",
        "--format",
        "json",
        "--fail-on",
        "low",
        "--trust-unsigned-baseline",
        base2.to_str().unwrap(),
        c.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
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
    assert_eq!(
        run(&[
            "baseline",
            "create",
            a.to_str().unwrap(),
            "-o",
            base.to_str().unwrap()
        ])
        .0,
        0
    );
    // An edit by hand: accept something without bootaudit.
    let mut v: Value = serde_json::from_slice(&std::fs::read(&base).unwrap()).unwrap();
    v["varies"] = serde_json::json!(["acpi.table.added"]);
    let edited = save(d.path(), "edited.json", &v);
    let (code, _, err) = run(&["diff", edited.to_str().unwrap(), a.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("edited.json") && err.contains("edited after bootaudit wrote it"),
        "{err}"
    );
    v["format"] = Value::String("bootaudit-baseline/7".into());
    let foreign = save(d.path(), "foreign.json", &v);
    let (code, _, err) = run(&["diff", foreign.to_str().unwrap(), a.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("bootaudit-baseline/7"), "{err}");
}

#[test]
fn a_log_that_does_not_replay_is_never_learned() {
    let d = tempfile::tempdir().unwrap();
    let a = save(d.path(), "a.json", &fixture());
    let mut v = fixture();
    v["tpm"]["pcrs"]["sha256"]["4"] = Value::String("00".repeat(32));
    let b = save(d.path(), "b.json", &v);
    let base = d.path().join("base.json");
    assert_eq!(
        run(&[
            "baseline",
            "create",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
            "-o",
            base.to_str().unwrap()
        ])
        .0,
        0
    );
    let (code, f) = findings(&base, &b);
    assert_eq!(code, 1);
    assert!(
        f.iter().any(|x| x.0 == "tpm.log.replay-mismatch" && !x.2),
        "{f:?}"
    );
}
