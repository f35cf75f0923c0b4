//! Sealed evidence bundles made from the linux-host fixture alone:
//! `verify-bundle` naming every change (a byte, an added file, a removed
//! file, a symbolic link, an edited manifest), mutated tar bundles, and
//! manifests that try to forge a verdict line or list a file twice. The
//! cases that need sha256sum, GNU tar, Python, ssh-keygen or swtpm are in
//! the system tier's bundle.rs.

use crate::common;
use crate::common::bundle::{collect, failed, fixture_root, make, p, verify};

use serde_json::Value;
use std::path::Path;

#[test]
fn every_change_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let b = make(dir.path());
    let acpi = "raw/acpi/APIC";
    // One byte changed.
    let f = b.join(acpi);
    let mut bytes = std::fs::read(&f).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&f, &bytes).unwrap();
    let v = verify(&b, 1);
    assert_eq!(failed(&v), vec![("changed".into(), acpi.into())]);
    bytes[10] ^= 1;
    std::fs::write(&f, &bytes).unwrap();
    verify(&b, 0);
    // A file added, then one removed.
    std::fs::write(b.join("raw/acpi/SSDT9"), b"x").unwrap();
    let v = verify(&b, 1);
    assert_eq!(failed(&v), vec![("added".into(), "raw/acpi/SSDT9".into())]);
    std::fs::remove_file(b.join("raw/acpi/SSDT9")).unwrap();
    let saved = std::fs::read(b.join("snapshot.json")).unwrap();
    std::fs::remove_file(b.join("snapshot.json")).unwrap();
    let v = verify(&b, 1);
    assert_eq!(failed(&v), vec![("removed".into(), "snapshot.json".into())]);
    std::fs::write(b.join("snapshot.json"), &saved).unwrap();
    // A symbolic link, even to a listed file, is refused.
    std::os::unix::fs::symlink(b.join("snapshot.json"), b.join("link")).unwrap();
    let v = verify(&b, 1);
    assert_eq!(failed(&v)[0].1, "link", "{v}");
    std::fs::remove_file(b.join("link")).unwrap();
    // The manifest edited to match a changed file: the files pass, but the
    // manifest is no longer the one sealed (its SHA-256 moved).
    let before = verify(&b, 0)["manifest_sha256"].clone();
    let mpath = b.join("manifest.json");
    let mut m: Value = serde_json::from_slice(&std::fs::read(&mpath).unwrap()).unwrap();
    m["operator"] = Value::String("Mallory".into());
    std::fs::write(&mpath, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    let v = verify(&b, 0);
    assert_ne!(v["manifest_sha256"], before);
    // A manifest listing a path outside the bundle.
    m["files"]["../../etc/passwd"] = serde_json::json!({"sha256": "00", "size": 1});
    std::fs::write(&mpath, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    let v = verify(&b, 1);
    assert_eq!(
        failed(&v),
        vec![("files".into(), "../../etc/passwd".into())]
    );
    // A broken manifest: exit 2, the file and the byte named (the comma,
    // at byte 13, where a value was due).
    let broken = b"{\n \"format\": ,\n}";
    assert_eq!(broken[13], b',');
    std::fs::write(&mpath, broken).unwrap();
    let err = common::run(&["verify-bundle", p(&b)]).exits(2).stderr;
    assert!(err.contains("manifest.json: byte 13"), "{err}");
}

#[test]
fn mutated_tar_bundles_are_judged_or_refused() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("b.tar");
    collect(&t, &[]);
    let good = std::fs::read(&t).unwrap();
    let name = Path::new("m.tar");
    let mut rng = common::Rng(0xb0d1e);
    let (mut judged, mut refused) = (0, 0);
    for i in 0..400 {
        let mut m = good.clone();
        if i % 4 == 0 {
            m.truncate((rng.next() as usize) % good.len());
        } else {
            for _ in 0..1 + rng.next() % 4 {
                let at = (rng.next() as usize) % m.len();
                m[at] = rng.next() as u8;
            }
        }
        match bootaudit::bundle::verify_tar(name, &m[..], None) {
            Ok(_) => judged += 1,
            Err(e) => {
                refused += 1;
                assert!(e.to_string().contains("m.tar"), "{e}");
            }
        }
    }
    // Both outcomes were reached, each many times (the mutations are
    // seeded: 400 runs, one in four a truncation).
    assert_eq!(judged + refused, 400);
    assert!(
        judged > 50 && refused > 50,
        "{judged} judged, {refused} refused"
    );
    // Any byte changed inside a file's data is caught: 200 changes within
    // the raw event log's data, found in the tar by its first bytes.
    let log =
        std::fs::read(fixture_root().join("sys/kernel/security/tpm0/binary_bios_measurements"))
            .unwrap();
    let at = good.windows(64).position(|w| w == &log[..64]).unwrap();
    for _ in 0..200 {
        let mut m = good.clone();
        let i = at + (rng.next() as usize) % log.len();
        m[i] ^= 1 << (rng.next() % 8);
        let r = bootaudit::bundle::verify_tar(name, &m[..], None).unwrap();
        assert!(
            !r.ok,
            "byte {} of the log changed, and the bundle passed",
            i - at
        );
    }
}

#[test]
fn a_manifest_cannot_print_a_verdict_line_of_its_own() {
    // An operator string carrying a line feed and a verdict: the table
    // shows it escaped, on the operator's own line.
    let d = tempfile::tempdir().unwrap();
    let b = d.path().join("bundle");
    let forged = "The bundle is whole and its quote verifies.";
    let op = format!("Alice\n{forged}\r\u{2028}{forged}");
    collect(&b, &["--operator", &op]);
    let o = common::bootaudit()
        .args(["verify-bundle", p(&b)])
        .output()
        .unwrap();
    let out = String::from_utf8(o.stdout).unwrap();
    let forging: Vec<&str> = out
        .split(['\n', '\r', '\u{2028}', '\u{2029}', '\u{85}'])
        .filter(|l| l.starts_with(forged))
        .collect();
    assert!(forging.is_empty(), "{out}");
    assert!(out.contains("Alice\\x0aThe bundle is whole"), "{out}");
}

#[test]
fn a_manifest_that_lists_a_file_twice_is_refused() {
    // serde keeps the last of two equal keys: a first entry with another
    // hash and size would otherwise go unread, and the bundle be "whole".
    let d = tempfile::tempdir().unwrap();
    let b = make(d.path());
    let m = b.join("manifest.json");
    let text = std::fs::read_to_string(&m).unwrap();
    let at = text.find("\"files\": {").expect("the manifest's files") + "\"files\": {".len();
    let fake = format!(
        "\n    \"snapshot.json\": {{\"sha256\": \"{}\", \"size\": 1}},",
        "0".repeat(64)
    );
    let edited = format!("{}{fake}{}", &text[..at], &text[at..]);
    std::fs::write(&m, &edited).unwrap();
    let err = common::run(&["verify-bundle", p(&b), "--format", "json"])
        .exits(2)
        .stderr;
    assert!(err.contains("manifest.json"), "{err}");
    assert!(
        err.contains("the key \"snapshot.json\" appears twice"),
        "{err}"
    );
    // The error's byte offset is that of the second entry, as the file
    // holds it (serde_json reports the position after the key).
    let second = edited.rfind("\"snapshot.json\"").unwrap();
    let named: usize = err
        .split("byte ")
        .nth(1)
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no byte offset in {err}"));
    assert!(
        (second..second + "\"snapshot.json\"".len() + 2).contains(&named),
        "byte {named}, second entry at {second}: {err}"
    );
}
