//! contrib/systemd: the units pass `systemd-analyze verify`, and the check
//! script a timer runs does its job on a real host's tree
//! (fixtures/linux-host/root): clean against its own baseline (exit 0),
//! findings once an SSDT is added (exit 1), no baseline (exit 2); JSON left
//! in the spool directory each time.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn contrib() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/systemd")
}

#[test]
fn the_units_verify() {
    // The service names the installed script; verify a copy that names
    // this checkout's, since systemd checks the file exists.
    let d = tempfile::tempdir().unwrap();
    let unit = std::fs::read_to_string(contrib().join("bootaudit-check.service")).unwrap();
    assert!(unit.contains("ExecStart=/usr/local/lib/bootaudit/bootaudit-check"));
    let unit = unit.replace(
        "/usr/local/lib/bootaudit/bootaudit-check",
        contrib().join("bootaudit-check").to_str().unwrap(),
    );
    std::fs::write(d.path().join("bootaudit-check.service"), unit).unwrap();
    std::fs::copy(
        contrib().join("bootaudit-check.timer"),
        d.path().join("bootaudit-check.timer"),
    )
    .unwrap();
    let o = Command::new("systemd-analyze")
        // The man page is installed with the binary, not in this test.
        .args(["verify", "--man=no"])
        .arg(d.path().join("bootaudit-check.service"))
        .arg(d.path().join("bootaudit-check.timer"))
        .output()
        .expect("systemd-analyze (Debian package systemd)");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success() && err.trim().is_empty(), "{err}");
}

fn check(root: &Path, spool: &Path, baseline: &Path) -> (i32, String) {
    let o = Command::new("sh")
        .arg(contrib().join("bootaudit-check"))
        .env("ROOT", root)
        .env("SPOOL", spool)
        .env("BASELINE", baseline)
        .env("BOOTAUDIT", env!("CARGO_BIN_EXE_bootaudit"))
        .output()
        .unwrap();
    (
        o.status.code().unwrap(),
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
    )
}

fn spooled(spool: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(spool)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    v.sort();
    v
}

#[test]
fn the_check_script_collects_diffs_and_spools_json() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("root");
    assert!(Command::new("cp")
        .arg("-r")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/linux-host/root"))
        .arg(&root)
        .status()
        .unwrap()
        .success());
    let spool = d.path().join("spool");
    let baseline = d.path().join("baseline.json");

    // No baseline yet: the script says how to make one, exit 2.
    let (code, out) = check(&root, &spool, &baseline);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("bootaudit baseline create"), "{out}");
    let first = spooled(&spool, ".snapshot.json");
    assert_eq!(first.len(), 1);
    assert!(first[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .starts_with("bootaudit-fixture-"));
    let o = common::bootaudit()
        .args(["baseline", "create"])
        .arg(&first[0])
        .arg("-o")
        .arg(&baseline)
        .output()
        .unwrap();
    assert!(o.status.success());

    // The same host again: clean.
    std::thread::sleep(std::time::Duration::from_millis(1100)); // a new timestamp
    let (code, out) = check(&root, &spool, &baseline);
    assert_eq!(code, 0, "{out}");
    let reports = spooled(&spool, ".diff.json");
    assert_eq!(reports.len(), 1);
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&reports[0]).unwrap()).unwrap();
    assert_eq!(v["summary"]["critical"], 0);
    assert_eq!(v["summary"]["high"], 0);

    // An SSDT appears (the DSDT's AML under an SSDT header): exit 1, and
    // the journal line says so.
    let tables = root.join("sys/firmware/acpi/tables");
    let mut ssdt = std::fs::read(tables.join("DSDT")).unwrap();
    ssdt[..4].copy_from_slice(b"SSDT");
    std::fs::write(tables.join("SSDT1"), ssdt).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (code, out) = check(&root, &spool, &baseline);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("UNEXPLAINED FINDINGS at or above high"),
        "{out}"
    );
    let reports = spooled(&spool, ".diff.json");
    assert_eq!(reports.len(), 2);
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(reports.last().unwrap()).unwrap()).unwrap();
    assert!(v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["rule"] == "acpi.table.added" && f["severity"] == "high"));
}
