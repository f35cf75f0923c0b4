//! References (`bootaudit reference add`) against a peer that is not ours:
//! virt-firmware's `virt-fw-measure` predicts an OVMF boot's PCR0 firmware
//! blobs from the image. Where it is right (the DXE volume, which a real
//! boot's log confirms) our reference must hold the same digests in every
//! bank; where it is wrong (the PEI volume, which the boot measures from
//! RAM after PEIMs ran in place) our reference must say boot-dependent
//! rather than predict. And a reference store is hostile input like any.

use crate::common;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const PLAIN: &str = "/usr/share/OVMF/OVMF_CODE_4M.fd";
const SECBOOT: &str = "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd";

fn add(store: &Path, image: &str, version: &str) -> Value {
    let file = common::reference_add(store, image, "Debian OVMF", version);
    serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap()
}

/// virt-fw-measure's PCR0 firmware-blob records: (length, bank, digest).
fn virt_fw_measure(image: &str) -> Vec<(u64, String, String)> {
    let venv = common::venv_python();
    let tool = venv.parent().unwrap().join("virt-fw-measure");
    let mut args: Vec<String> = vec![
        "--image".into(),
        image.into(),
        "--vars".into(),
        "/usr/share/OVMF/OVMF_VARS_4M.fd".into(),
        "--no-sb".into(),
        "--pcrlock".into(),
    ];
    for b in ["sha1", "sha256", "sha384"] {
        args.extend(["--bank".into(), b.into()]);
    }
    let o = Command::new(&tool)
        .args(&args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (.ci/run installs virt-firmware in .venv)",
                tool.display()
            )
        });
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut out = Vec::new();
    for r in v["records"].as_array().unwrap() {
        if r["pcr"] != 0 || r["content"]["event_type"] != "EV_EFI_PLATFORM_FIRMWARE_BLOB" {
            continue;
        }
        let data = hex::decode(r["content"]["event_data"].as_str().unwrap()).unwrap();
        let length = u64::from_le_bytes(data[8..16].try_into().unwrap());
        for d in r["digests"].as_array().unwrap() {
            out.push((
                length,
                d["hashAlg"].as_str().unwrap().to_string(),
                d["digest"].as_str().unwrap().to_string(),
            ));
        }
    }
    out
}

#[test]
fn volume_digests_agree_with_virt_fw_measure_and_the_real_boot() {
    let d = tempfile::tempdir().unwrap();
    for image in [PLAIN, SECBOOT] {
        let r = add(&d.path().join("store"), image, image);
        let predicted = virt_fw_measure(image);
        assert_eq!(
            predicted.len(),
            6,
            "two blobs in three banks: {predicted:?}"
        );
        for (length, bank, digest) in &predicted {
            let v = r["volumes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["size"] == *length && v["digests"][bank] == *digest);
            assert!(v.is_some(), "{image}: virt-fw-measure's {bank} {digest} of a {length:#x} blob is no volume of ours");
        }
    }
    // The real boot (fixtures/ovmf-swtpm, plain OVMF): the DXE blob is
    // both predictions; the PEI blob is neither, and is boot-dependent.
    let r = add(&d.path().join("store"), PLAIN, "plain");
    let log =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ovmf-swtpm/binary_bios_measurements");
    let o = common::bootaudit()
        .args(["eventlog", "--format", "json"])
        .arg(&log)
        .output()
        .unwrap();
    let l: Value = serde_json::from_slice(&o.stdout).unwrap();
    let blobs: Vec<&Value> = l["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "EV_EFI_PLATFORM_FIRMWARE_BLOB")
        .collect();
    assert_eq!(blobs.len(), 2);
    let predicted = virt_fw_measure(PLAIN);
    for b in blobs {
        let length = b["data"]["length"].as_u64().unwrap();
        let logged = b["digests"]["sha256"].as_str().unwrap();
        let vol = r["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["size"] == length)
            .unwrap();
        let theirs = &predicted
            .iter()
            .find(|p| p.0 == length && p.1 == "sha256")
            .unwrap()
            .2;
        assert_eq!(vol["digests"]["sha256"], *theirs);
        if length == 0xc0_0000 {
            assert_eq!(logged, theirs, "the DXE volume is measured as stored");
            assert_eq!(vol["measurement"], "predicted");
        } else {
            assert_ne!(logged, theirs, "the PEI volume is measured from RAM");
            assert_eq!(
                vol["measurement"]["boot-dependent"]["why"]
                    .as_str()
                    .map(|w| w.contains("PEI modules")),
                Some(true),
                "{vol:#}"
            );
        }
    }
}

/// `firmware check --format json --references STORE SNAPSHOT`, which must
/// exit with `code`: (the report, or null when it printed none; stderr).
#[track_caller]
fn check(snapshot: &Path, store: &Path, code: i32) -> (Value, String) {
    let r = common::run_command(
        common::bootaudit()
            .args(["firmware", "check", "--format", "json", "--references"])
            .arg(store)
            .arg(snapshot),
    )
    .exits(code);
    let v = if r.stdout.is_empty() {
        Value::Null
    } else {
        r.json()
    };
    (v, r.stderr)
}

#[test]
fn a_boot_with_nothing_to_compare_is_unchecked_not_a_pass() {
    let d = tempfile::tempdir().unwrap();
    let store = d.path().join("store");
    add(&store, PLAIN, "plain");
    // fixtures/implant/plain-a.json is a plain boot: clean.
    let plain = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/implant/plain-a.json");
    let (v, _) = check(&plain, &store, 0);
    assert_eq!(v["judgement"]["drivers_matched"], 103);
    // The same snapshot without its TPM part and loaded images.
    let mut s: Value = serde_json::from_slice(&std::fs::read(&plain).unwrap()).unwrap();
    s.as_object_mut().unwrap().remove("tpm");
    s.as_object_mut().unwrap().remove("loaded_images");
    let p = d.path().join("bare.json");
    std::fs::write(&p, serde_json::to_vec(&s).unwrap()).unwrap();
    let (v, _) = check(&p, &store, 1);
    assert_eq!(v["findings"][0]["rule"], "firmware.reference.unchecked");
    // Its loaded drivers but no TPM part: the drivers are judged, and the
    // firmware code measured into PCR0 is named as unknown (high).
    let mut s: Value = serde_json::from_slice(&std::fs::read(&plain).unwrap()).unwrap();
    s.as_object_mut().unwrap().remove("tpm");
    std::fs::write(&p, serde_json::to_vec(&s).unwrap()).unwrap();
    let (v, _) = check(&p, &store, 1);
    assert_eq!(v["judgement"]["drivers_matched"], 103);
    assert!(
        v["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("no readable TPM event log"),
        "{v:#}"
    );
    // A log that does not parse is said to be unreadable.
    let mut s: Value = serde_json::from_slice(&std::fs::read(&plain).unwrap()).unwrap();
    // One SHA-1 record whose data size runs past the end.
    s["tpm"]["event_log"] = format!("0000000003000000{}ffffff7f", "00".repeat(20)).into();
    std::fs::write(&p, serde_json::to_vec(&s).unwrap()).unwrap();
    let (v, _) = check(&p, &store, 1);
    let rules = common::finding_rules(&v);
    assert!(
        rules.contains(&"tpm.log.unreadable") && rules.contains(&"firmware.reference.unchecked"),
        "{rules:?}"
    );
    // A secboot reference only: the plain boot's DXE blob is in no
    // reference, and it names the volume of that size it should be.
    let other = d.path().join("other");
    add(&other, SECBOOT, "secboot");
    let (v, _) = check(&plain, &other, 1);
    let rules = common::finding_rules(&v);
    assert!(
        rules.contains(&"firmware.blob.not-in-reference"),
        "{rules:?}"
    );
}

#[test]
fn a_reference_store_is_hostile_input_too() {
    let d = tempfile::tempdir().unwrap();
    let plain = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/implant/plain-a.json");
    // Empty store: an error, not a judgement of nothing.
    let empty = d.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let (_, e) = check(&plain, &empty, 2);
    assert!(e.contains("no reference"), "{e}");
    // A file that is not a reference: named, with the field.
    let store = d.path().join("store");
    add(&store, PLAIN, "plain");
    std::fs::write(
        store.join("zz.json"),
        br#"{"format":"bootaudit-reference/1","vendor":7}"#,
    )
    .unwrap();
    let (_, e) = check(&plain, &store, 2);
    assert!(e.contains("zz.json") && e.contains("vendor"), "{e}");
    // A symbolic link to a store is refused, and so is a reference that is one.
    std::fs::remove_file(store.join("zz.json")).unwrap();
    let link = d.path().join("link");
    std::os::unix::fs::symlink(&store, &link).unwrap();
    check(&plain, &link, 2);
    let target: PathBuf = std::fs::read_dir(&store)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::os::unix::fs::symlink(&target, store.join("again.json")).unwrap();
    check(&plain, &store, 2);
    // A damaged image is no known-good.
    let mut img = std::fs::read(PLAIN).unwrap();
    img[0x36] ^= 0x01; // the reserved byte: the header checksum breaks
    let bad = d.path().join("bad.fd");
    std::fs::write(&bad, img).unwrap();
    let o = common::run_command(
        common::bootaudit()
            .args(["reference", "add"])
            .arg(&bad)
            .args(["--vendor", "x", "--version", "y", "-o"])
            .arg(d.path().join("s2")),
    )
    .exits(2);
    assert!(o.stderr.contains("structural problems"));
    assert!(
        !d.path().join("s2").exists()
            || std::fs::read_dir(d.path().join("s2"))
                .unwrap()
                .next()
                .is_none()
    );
}

#[test]
fn signed_references_verify_and_a_rewritten_or_unsigned_one_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let key = common::ssh_keygen(d.path(), "vendor-keeper");
    let allowed = common::allowed_signers(
        d.path(),
        "allowed_signers",
        "ops@example.org",
        "bootaudit-reference",
        &key,
    );
    let store = d.path().join("store");
    let o = common::bootaudit()
        .args([
            "reference",
            "add",
            PLAIN,
            "--vendor",
            "Debian OVMF",
            "--version",
            "v1",
            "--sign-key",
        ])
        .arg(&key)
        .arg("-o")
        .arg(&store)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let file: PathBuf = std::fs::read_dir(&store)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .unwrap();
    // OpenSSH's own verifier accepts it, in the reference namespace.
    let v = Command::new("ssh-keygen")
        .args(["-Y", "verify", "-f"])
        .arg(&allowed)
        .args(["-I", "ops@example.org", "-n", "bootaudit-reference", "-s"])
        .arg(file.with_extension("json.sig"))
        .stdin(std::fs::File::open(&file).unwrap())
        .output()
        .unwrap();
    assert!(
        v.status.success(),
        "ssh-keygen -Y verify: {}",
        String::from_utf8_lossy(&v.stderr)
    );
    let plain = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/implant/plain-a.json");
    // `firmware check` with `extra`, which must exit with `code`: stderr.
    let check = |extra: &[&std::ffi::OsStr], code: i32| {
        common::run_command(
            common::bootaudit()
                .args(["firmware", "check", "--references"])
                .arg(&store)
                .args(extra)
                .arg(&plain),
        )
        .exits(code)
        .stderr
    };
    let signers = ["--reference-signers".as_ref(), allowed.as_os_str()];
    check(&signers, 0);
    // A rewritten reference (the judged side adding its own driver's
    // version, say) no longer verifies.
    let good = std::fs::read(&file).unwrap();
    let text = String::from_utf8(good.clone())
        .unwrap()
        .replace("\"v1\"", "\"v2\"");
    std::fs::write(&file, text).unwrap();
    let e = check(&signers, 2);
    assert!(
        e.contains(file.file_name().unwrap().to_str().unwrap()),
        "{e}"
    );
    // Without --reference-signers the same store is read (the default
    // trusts the store the user named).
    check(&[], 0);
    std::fs::write(&file, &good).unwrap();
    // A signature made in the baseline namespace is no reference signature.
    std::fs::remove_file(file.with_extension("json.sig")).unwrap();
    let o = Command::new("ssh-keygen")
        .args(["-Y", "sign", "-n", "bootaudit-baseline", "-f"])
        .arg(&key)
        .arg(&file)
        .output()
        .unwrap();
    assert!(o.status.success());
    let e = check(&signers, 2);
    assert!(e.contains("namespace"), "{e}");
    // An unsigned reference beside it: the store is refused.
    std::fs::remove_file(file.with_extension("json.sig")).unwrap();
    check(&signers, 2);
}
