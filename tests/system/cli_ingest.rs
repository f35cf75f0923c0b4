//! `bootaudit ingest` on the shipped collector snapshot placed on real ESPs:
//! a directory, a bare FAT image and a GPT disk image, each built with the
//! standard tools (mkfs.fat, mtools, sfdisk), not with bootaudit's code; and
//! on tampered, invalid and hostile ones.

use crate::common;

use sha2::Digest;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/collector")
}

/// An ESP directory tree holding `bootaudit/` with the shipped snapshot.
fn esp_dir(root: &Path) -> PathBuf {
    let b = root.join("esp/bootaudit");
    std::fs::create_dir_all(b.join("snap-0000.acpi")).unwrap();
    for f in ["snap-0000.json", "snap-0000.sha256"] {
        std::fs::copy(fixture_dir().join(f), b.join(f)).unwrap();
    }
    for e in std::fs::read_dir(fixture_dir().join("snap-0000.acpi"))
        .unwrap()
        .flatten()
    {
        std::fs::copy(e.path(), b.join("snap-0000.acpi").join(e.file_name())).unwrap();
    }
    root.join("esp")
}

fn sh(cmd: &str, args: &[&str]) {
    let out = Command::new(cmd)
        .args(args)
        .env("MTOOLS_SKIP_CHECK", "1")
        .output()
        .unwrap_or_else(|e| panic!("{cmd} (installed by .ci/run) could not run: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `ingest --format json ESP -o OUT`, which must exit with `code`: (the
/// report, or null when it printed none; stderr).
#[track_caller]
fn ingest(esp: &Path, out: &Path, code: i32) -> (serde_json::Value, String) {
    let r = common::run_command(
        common::bootaudit()
            .args(["ingest", "--format", "json"])
            .arg(esp)
            .arg("-o")
            .arg(out),
    )
    .exits(code);
    let v = if r.stdout.is_empty() {
        serde_json::Value::Null
    } else {
        r.json()
    };
    (v, r.stderr)
}

/// Every file under `a` has the same bytes under `b`, and `b` has no others.
fn same_tree(a: &Path, b: &Path) {
    let list = |d: &Path| -> Vec<(String, Vec<u8>)> {
        let mut v = Vec::new();
        let mut stack = vec![d.to_path_buf()];
        while let Some(p) = stack.pop() {
            for e in std::fs::read_dir(&p).unwrap().flatten() {
                if e.path().is_dir() {
                    stack.push(e.path());
                } else {
                    v.push((
                        e.path().strip_prefix(d).unwrap().display().to_string(),
                        std::fs::read(e.path()).unwrap(),
                    ));
                }
            }
        }
        v.sort();
        v
    };
    assert_eq!(list(a), list(b));
}

/// A bare FAT image of `kib` KiB made with mkfs.fat, holding `bootaudit/`
/// copied in with mtools.
fn sha(p: &Path) -> Vec<u8> {
    sha2::Sha256::digest(std::fs::read(p).unwrap()).to_vec()
}

#[test]
fn from_a_directory_a_fat_image_and_a_gpt_disk() {
    let t = tempfile::tempdir().unwrap();
    let esp = esp_dir(t.path());
    let src = esp.join("bootaudit");

    let (v, _) = ingest(&esp, &t.path().join("out-dir"), 0);
    assert_eq!(v["layout"], "directory");
    assert_eq!(v["snapshots"][0]["readback"], "verified");
    assert_eq!(v["snapshots"][0]["acpi_files"], 10);
    same_tree(&src, &t.path().join("out-dir"));

    // A bare FAT image, as the collector's ESP is in xtask boot.
    let fat = common::fat_image(t.path(), &src, "16384");
    let before = sha(&fat);
    let (v, _) = ingest(&fat, &t.path().join("out-fat"), 0);
    assert_eq!(v["layout"], "fat");
    same_tree(&src, &t.path().join("out-fat"));
    assert_eq!(sha(&fat), before, "the evidence image must not change");

    // A GPT disk whose first partition is an ESP 1 MiB in.
    let gpt = t.path().join("gpt.img");
    std::fs::File::create(&gpt)
        .unwrap()
        .set_len(48 << 20)
        .unwrap();
    let mut sf = Command::new("sfdisk")
        .args(["-q", gpt.to_str().unwrap()])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("sfdisk (fdisk package)");
    use std::io::Write;
    sf.stdin
        .take()
        .unwrap()
        .write_all(b"label: gpt\nstart=2048, size=65536, type=U\n")
        .unwrap();
    assert!(sf.wait().unwrap().success());
    sh(
        "mkfs.fat",
        &["--offset", "2048", gpt.to_str().unwrap(), "32768"],
    );
    let at = format!("{}@@1M", gpt.display());
    sh("mcopy", &["-i", &at, "-s", src.to_str().unwrap(), "::/"]);
    let (v, _) = ingest(&gpt, &t.path().join("out-gpt"), 0);
    assert_eq!(v["layout"], "gpt partition 1");
    same_tree(&src, &t.path().join("out-gpt"));

    // The ingested snapshot is what `show` reads.
    common::run_command(
        common::bootaudit()
            .arg("show")
            .arg(t.path().join("out-gpt/snap-0000.json")),
    )
    .exits(0);
}

#[test]
fn a_changed_or_invalid_snapshot_is_reported_with_exit_1() {
    let t = tempfile::tempdir().unwrap();
    let esp = esp_dir(t.path());
    let snap = esp.join("bootaudit/snap-0000.json");
    // Still valid JSON, but not what the collector wrote and read back.
    let text = std::fs::read_to_string(&snap)
        .unwrap()
        .replacen("EDK II", "EDK I2", 1);
    std::fs::write(&snap, text).unwrap();
    let (v, _) = ingest(&esp, &t.path().join("out"), 1);
    assert_eq!(v["snapshots"][0]["readback"], "mismatch");

    std::fs::write(&snap, br#"{"format": "bootaudit-snapshot/9"}"#).unwrap();
    let (v, _) = ingest(&esp, &t.path().join("out2"), 1);
    assert!(
        v["snapshots"][0]["error"]
            .as_str()
            .unwrap()
            .contains("major version 9"),
        "{v}"
    );
    assert!(!t.path().join("out2/snap-0000.json").exists());
}

#[test]
fn a_different_snapshot_of_the_same_name_is_kept_beside_not_over() {
    let t = tempfile::tempdir().unwrap();
    let esp = esp_dir(t.path());
    let out = t.path().join("out");
    ingest(&esp, &out, 0);
    let first = std::fs::read(out.join("snap-0000.json")).unwrap();
    // Another machine's snap-0000 (here: the same one, re-serialised).
    let snap = esp.join("bootaudit/snap-0000.json");
    let v: serde_json::Value = serde_json::from_slice(&first).unwrap();
    let other = serde_json::to_vec(&v).unwrap();
    std::fs::write(&snap, &other).unwrap();
    std::fs::remove_file(esp.join("bootaudit/snap-0000.sha256")).unwrap();
    let (v, _) = ingest(&esp, &out, 1);
    assert_eq!(v["snapshots"][0]["readback"], "missing");
    assert_eq!(std::fs::read(out.join("snap-0000.json")).unwrap(), first);
    let digest = hex::encode(sha2::Sha256::digest(&other));
    assert_eq!(
        std::fs::read(out.join(&digest[..16]).join("snap-0000.json")).unwrap(),
        other
    );
}

#[test]
fn hostile_images_are_clear_errors() {
    let t = tempfile::tempdir().unwrap();
    let mut rng = common::Rng(7);
    let random: Vec<u8> = (0..65536).map(|_| rng.next() as u8).collect();
    let mut mbr = vec![0u8; 1 << 20];
    mbr[510] = 0x55;
    mbr[511] = 0xaa;
    mbr[446 + 4] = 0x0c; // FAT32 LBA
    mbr[446 + 8..446 + 12].copy_from_slice(&2048u32.to_le_bytes());
    mbr[446 + 12..446 + 16].copy_from_slice(&u32::MAX.to_le_bytes());
    let mut pmbr = mbr.clone();
    pmbr[446 + 4] = 0xee;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("random.img", random, "byte offset 510"),
        ("mbr.img", mbr, "runs past"),
        ("pmbr.img", pmbr, "EFI PART"),
        ("empty.img", Vec::new(), "byte offset 0"),
    ];
    for (name, bytes, want) in cases {
        let p = t.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let (_, err) = ingest(&p, &t.path().join("out"), 2);
        assert!(err.contains(name) && err.contains(want), "{name}: {err}");
    }
}

#[test]
fn mutated_fat_images_never_panic() {
    let t = tempfile::tempdir().unwrap();
    let esp = esp_dir(t.path());
    let fat = common::fat_image(t.path(), &esp.join("bootaudit"), "4096");
    let good = std::fs::read(&fat).unwrap();
    let mut rng = common::Rng(0xfa7);
    let (mut ok, mut bad) = (0, 0);
    for _ in 0..400 {
        let mut m = good.clone();
        for _ in 0..1 + rng.next() % 8 {
            // Mutate the metadata: boot sector, FATs and the first
            // directories live in the first 64 KiB.
            let at = (rng.next() as usize) % 65536;
            m[at] = rng.next() as u8;
        }
        match bootaudit::esp::read_image(
            std::io::Cursor::new(&m),
            m.len() as u64,
            "bootaudit",
            "mutant",
        ) {
            Ok(_) => ok += 1,
            Err(e) => {
                assert!(e.to_string().contains("mutant"));
                bad += 1
            }
        }
    }
    assert!(ok > 0 && bad > 0, "ok {ok}, errors {bad}");
}

#[test]
fn a_directory_entry_pointing_at_cluster_1_is_an_error_not_a_crash() {
    // The case the esp_image fuzz target found: an entry whose first
    // cluster is 1 made the fatfs crate's cluster arithmetic underflow.
    // bootaudit's own FAT reader names the entry and the cluster.
    let t = tempfile::tempdir().unwrap();
    let esp = esp_dir(t.path());
    let fat = common::fat_image(t.path(), &esp.join("bootaudit"), "4096");
    let mut img = std::fs::read(&fat).unwrap();
    // The 8.3 entry mtools writes for snap-0000.json.
    let short = b"SNAP-0~1JSO";
    let at = img.windows(11).position(|w| w == short).expect("8.3 entry");
    img[at + 20..at + 22].copy_from_slice(&0u16.to_le_bytes());
    img[at + 26..at + 28].copy_from_slice(&1u16.to_le_bytes());
    std::fs::write(&fat, &img).unwrap();
    let (_, err) = ingest(&fat, &t.path().join("out"), 2);
    assert!(
        err.contains("fat.img")
            && err.contains("bootaudit/snap-0000.json")
            && err.contains("cluster 1:"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn hostile_names_are_never_written_and_cannot_keep_a_snapshot_out() {
    // A FAT that an attacker wrote: a snapshot named with terminal escapes,
    // a sidecar of 250 characters and one with a control in its name,
    // beside the collector's own snap-0000 and its sidecars.
    let t = tempfile::tempdir().unwrap();
    let esp = esp_dir(t.path());
    let b = esp.join("bootaudit");
    let evil = "snap-\u{1b}]0;T\u{7}\u{1b}[2J.json";
    std::fs::copy(fixture_dir().join("snap-0000.json"), b.join(evil)).unwrap();
    let acpi = b.join("snap-0000.acpi");
    let real = std::fs::read_dir(&acpi).unwrap().count();
    assert!(real > 0);
    let long = format!("{}.dat", "A".repeat(246));
    std::fs::write(acpi.join(&long), b"x").unwrap();
    std::fs::write(acpi.join("01-FA\u{1b}CP.dat"), b"x").unwrap();
    let out = t.path().join("out");
    let (v, _) = ingest(&esp, &out, 1);
    let snaps = v["snapshots"].as_array().unwrap();
    assert_eq!(snaps.len(), 2, "{v:#}");
    // The collector's snapshot is written, with every sidecar of its own.
    let good = snaps
        .iter()
        .find(|s| s["esp_path"] == "bootaudit/snap-0000.json")
        .unwrap();
    assert_eq!(good["readback"], "verified");
    assert!(good["error"].is_null(), "{good}");
    assert_eq!(good["acpi_files"], real);
    assert!(out.join("snap-0000.json").is_file());
    assert_eq!(
        std::fs::read_dir(out.join("snap-0000.acpi"))
            .unwrap()
            .count(),
        real
    );
    let refused = good["sidecars_refused"].as_array().unwrap();
    assert_eq!(refused.len(), 2, "{good:#}");
    // The evil name is listed, refused, and nothing is written under it.
    let bad = snaps
        .iter()
        .find(|s| s["esp_path"] != "bootaudit/snap-0000.json")
        .unwrap();
    assert!(bad["written"].is_null());
    assert!(bad["error"]
        .as_str()
        .unwrap()
        .contains("not the collector's"));
    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| n.chars().all(|c| !c.is_control())),
        "{names:?}"
    );
}
