//! `bootaudit export keylime-policy` against Keylime's own tools (PyPI
//! `keylime`, in the venv; its parser runs the real tpm2_eventlog): on
//! every shared log Keylime's parser reads, our policy must equal what
//! Keylime's generator makes of the same log, Keylime's `example`
//! evaluator must accept the log against it, and reject a copy whose first
//! boot application digest was changed. Where Keylime cannot parse a log,
//! or its example policy rejects its own reference state, the test says so.

use crate::common;

use serde_json::Value;
use std::path::Path;

/// Keylime's verdicts on `log`: its parse, its own reference state, and
/// with `ours` (a policy file, or "-" for none) its evaluation of ours.
fn keylime(log: &Path, ours: &Path, modified: Option<&Path>) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/keylime_mb.py");
    let o = std::process::Command::new(common::venv_python())
        .arg(script)
        .arg(log)
        .arg(ours)
        .arg(modified.map_or("-".into(), |m| m.display().to_string()))
        .output()
        .unwrap();
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "keylime_mb.py on {}: {e}: {}{} (.ci/run installs keylime into the venv)",
            log.display(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

/// The log with one byte of its first boot application's SHA-256 digest
/// changed (found by bootaudit's parser, changed in the file's bytes).
fn with_app_digest_changed(log: &Path, out: &Path) -> bool {
    let o = common::bootaudit()
        .args(["eventlog", "--format", "json"])
        .arg(log)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let Some(d) = v["events"].as_array().unwrap().iter().find_map(|e| {
        (e["type"] == "EV_EFI_BOOT_SERVICES_APPLICATION")
            .then(|| e["digests"]["sha256"].as_str())
            .flatten()
    }) else {
        return false;
    };
    let mut b = std::fs::read(log).unwrap();
    let digest = hex::decode(d).unwrap();
    let at = b.windows(32).position(|w| w == digest.as_slice()).unwrap();
    b[at] ^= 0x01;
    std::fs::write(out, b).unwrap();
    true
}

#[test]
fn keylime_accepts_our_policy_and_rejects_a_changed_boot() {
    let d = tempfile::tempdir().unwrap();
    let (mut equal, mut accepted, mut rejected, mut not_parsed, mut own_rejects) =
        (0, 0, 0, Vec::new(), Vec::new());
    let mut refused: Vec<(String, String, Value)> = Vec::new();
    for log in common::all_logs() {
        let name = log.display().to_string();
        let ours = d.path().join("policy.json");
        let ok = common::bootaudit()
            .args(["export", "keylime-policy"])
            .arg(&log)
            .arg("-o")
            .arg(&ours)
            .output()
            .unwrap();
        if !ok.status.success() {
            // What we refuse, Keylime is asked about too.
            let e = String::from_utf8_lossy(&ok.stderr).to_string();
            assert!(e.contains(&name), "{name}: {e}");
            let k = keylime(&log, Path::new("-"), None);
            println!(
                "refused {name}: ours {:?}; Keylime parsed {}, its own state {}, its verdict {}",
                e.trim(),
                k["parsed"],
                if k["theirs"].is_null() {
                    "none"
                } else {
                    "made"
                },
                k["eval_theirs"]
            );
            refused.push((name, e, k));
            continue;
        }
        let modified = d.path().join("modified.bin");
        let has_app = with_app_digest_changed(&log, &modified);
        let k = keylime(&log, &ours, has_app.then_some(modified.as_path()));
        if k["parsed"] != true {
            not_parsed.push(name);
            continue;
        }
        let policy: Value = serde_json::from_slice(&std::fs::read(&ours).unwrap()).unwrap();
        if !k["theirs"].is_null() {
            assert_eq!(
                policy, k["theirs"],
                "{name}: ours differs from Keylime's generator"
            );
            equal += 1;
        }
        if k["eval_theirs"].as_str().is_some_and(|w| !w.is_empty()) {
            // Keylime's example policy does not accept its own state for
            // this boot (e.g. no initrd, or no kernels entry): ours neither.
            own_rejects.push(format!("{name}: {}", k["eval_theirs"]));
            assert!(
                k["eval_ours"].as_str().is_some_and(|w| !w.is_empty()),
                "{name}"
            );
            continue;
        }
        assert_eq!(k["eval_ours"], "", "{name}: Keylime rejects our policy");
        accepted += 1;
        if has_app {
            let why = k["eval_modified"].as_str().unwrap_or("");
            assert!(!why.is_empty(), "{name}: the changed boot was accepted");
            rejected += 1;
        }
    }
    // Every shared log exports; a log refused one day is shown above with
    // what Keylime makes of it, and stops this test until it is judged.
    assert!(refused.is_empty(), "refused: {refused:?}");
    println!(
        "keylime: {equal} policies equal to Keylime's own, {accepted} boots accepted, {rejected} changed boots rejected"
    );
    println!(
        "keylime cannot parse {} logs: {not_parsed:?}",
        not_parsed.len()
    );
    println!(
        "keylime's example policy rejects its own state on {}: {own_rejects:#?}",
        own_rejects.len()
    );
    assert!(
        equal >= 10 && accepted >= 3 && rejected >= 3,
        "{equal} {accepted} {rejected}"
    );
}
