//! `check --firmware IMAGE --indicators FILE`: CHIPSEC's blocklist format
//! matched against a firmware image's executable files, with CHIPSEC's own
//! `tools.uefi.scan_blocked` (run with -n, no driver) as the oracle: on
//! OVMF's secboot build with CHIPSEC's shipped list, and on OVMF with the
//! project's test implant inserted, against a list written here whose
//! hashes come from md5sum and sha1sum.

use crate::common;

use common::fwbuild;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const SECBOOT: &str = "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd";
const PLAIN: &str = "/usr/share/OVMF/OVMF_CODE_4M.fd";
const IMPLANT_GUID: &str = "8BA1D0E5-71AE-4B3B-9C1E-0A5E1E7B00A7";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// CHIPSEC's module directory in the venv, where scan_blocked reads its
/// lists from.
fn chipsec_dir() -> PathBuf {
    let lib = root().join(".venv/lib");
    std::fs::read_dir(&lib)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (.ci/run installs chipsec into the venv)",
                lib.display()
            )
        })
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("site-packages/chipsec/modules/tools/uefi"))
        .find(|p| p.join("blockedlist.json").is_file())
        .expect("chipsec's tools/uefi module directory in .venv (.ci/run installs chipsec)")
}

/// The threats CHIPSEC's scan_blocked reports on `image` with the list
/// `list` (a file name in its module directory): (matched, excluded).
fn chipsec_scan(image: &Path, list: &str) -> (Vec<String>, Vec<String>) {
    let o = Command::new(root().join(".venv/bin/chipsec_main"))
        .args(["-n", "-i", "-m", "tools.uefi.scan_blocked", "-a"])
        .arg(format!("{},{list}", image.display()))
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    let grab = |prefix: &str| -> Vec<String> {
        out.lines()
            .filter_map(|l| l.split_once(prefix).map(|(_, r)| r))
            .filter_map(|r| r.split('\'').next())
            .map(str::to_string)
            .collect()
    };
    let matched = grab("found EFI binary matching '");
    let excluded = grab("matched EFI binary is excluded from '");
    assert!(out.contains("scan_blocked"), "chipsec did not run: {out}");
    (matched, excluded)
}

fn check(args: &[&str]) -> Value {
    let f = root().join("fixtures/collector/snap-0000.json");
    common::check_json(&f, args).1
}

fn indicators(r: &Value) -> &Value {
    common::check_result(r, "indicators.none")
}

#[test]
fn chipsecs_list_on_ovmf_secboot_agrees_with_chipsec() {
    let dir = chipsec_dir();
    let list = dir.join("blockedlist.json");
    // CHIPSEC finds FirmwareBleed's PiSmmCpuDxeSmm and clears it by its
    // Mitigation exclusion (the RSB-stuffing bytes are there).
    let (matched, excluded) = chipsec_scan(Path::new(SECBOOT), "blockedlist.json");
    assert_eq!(matched, ["FirmwareBleed"]);
    assert_eq!(excluded, ["FirmwareBleed"]);
    let r = check(&[
        "--indicators",
        list.to_str().unwrap(),
        "--firmware",
        SECBOOT,
    ]);
    let c = indicators(&r);
    assert_eq!(c["result"], "pass", "{c}");
    // Without the exclusion, the same file is named, unconfirmed: the rule
    // also needs the CPUID, which an image does not have (CHIPSEC, with no
    // CPU, counts it as a match).
    let mut doc: Value = serde_json::from_slice(&std::fs::read(&list).unwrap()).unwrap();
    doc["FirmwareBleed"]
        .as_object_mut()
        .unwrap()
        .remove("exclude");
    let d = tempfile::tempdir().unwrap();
    let no_excl = d.path().join("no-exclude.json");
    std::fs::write(&no_excl, serde_json::to_vec(&doc).unwrap()).unwrap();
    let r = check(&[
        "--indicators",
        no_excl.to_str().unwrap(),
        "--firmware",
        SECBOOT,
    ]);
    let c = indicators(&r);
    assert_eq!(c["result"], "unknown", "{c}");
    let guid = doc["FirmwareBleed"]["match"]["PiSmmCpuDxeSmm_file_info"]["guid"]
        .as_str()
        .unwrap()
        .to_uppercase();
    let hit = &c["evidence"]["matches"][0];
    assert_eq!(hit["rule"]["threat"], "FirmwareBleed");
    assert_eq!(hit["unchecked"], serde_json::json!(["cpuid"]));
    assert!(hit["found_in"][0].as_str().unwrap().contains(&guid));
}

fn command_hex(cmd: &str, file: &Path) -> String {
    let o = Command::new(cmd).arg(file).output().unwrap();
    assert!(o.status.success(), "{cmd}");
    String::from_utf8(o.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn a_list_of_the_test_implants_hashes_and_bytes_finds_it_as_chipsec_does() {
    let (_, implant) = common::built_efi();
    let pe = std::fs::read(&implant).unwrap();
    let file = fwbuild::driver_file(
        fwbuild::guid(IMPLANT_GUID),
        &pe,
        "BootauditTestImplant",
        None,
    );
    let plain = std::fs::read(PLAIN).expect("OVMF (the ovmf package)");
    let d = tempfile::tempdir().unwrap();
    let image = d.path().join("implanted.fd");
    std::fs::write(&image, fwbuild::insert_into_ovmf_dxe(&plain, &[file])).unwrap();
    // The rules: the implant's PE by md5sum and its GUID; by sha1sum alone;
    // by name and a byte pattern of its own; and one that must not match
    // (a wrong hash).
    let md5 = command_hex("md5sum", &implant);
    let sha1 = command_hex("sha1sum", &implant);
    // Twelve bytes from the middle of the implant, the seventh left to
    // `.` (any byte but a newline), as CHIPSEC's own patterns do.
    let at = (pe.len() / 2..pe.len() - 12)
        .find(|&i| pe[i + 6] != b'\n' && pe[i..i + 12].iter().filter(|&&b| b != 0).count() > 8)
        .unwrap();
    let pattern: String = pe[at..at + 12]
        .iter()
        .enumerate()
        .map(|(k, b)| {
            if k == 6 {
                ".".to_string()
            } else {
                format!("\\x{b:02x}")
            }
        })
        .collect();
    let list = serde_json::json!({
        "TestImplantMd5": {"description": "by md5", "match": {"r": {"guid": IMPLANT_GUID.to_lowercase(), "md5": md5}}},
        "TestImplantSha1": {"description": "by sha1", "match": {"r": {"sha1": sha1}}},
        "TestImplantBytes": {"description": "by bytes", "match": {"r": {"name": "BootauditTestImplant", "regexp": pattern}}},
        "NotThere": {"description": "wrong", "match": {"r": {"guid": IMPLANT_GUID, "md5": "00112233445566778899aabbccddeeff"}}}
    });
    let name = format!("bootaudit-test-{}.json", std::process::id());
    let in_chipsec = chipsec_dir().join(&name);
    std::fs::write(&in_chipsec, serde_json::to_vec(&list).unwrap()).unwrap();
    let (mut matched, _) = chipsec_scan(&image, &name);
    std::fs::remove_file(&in_chipsec).unwrap();
    matched.sort();
    assert_eq!(
        matched,
        ["TestImplantBytes", "TestImplantMd5", "TestImplantSha1"]
    );
    let ours = d.path().join("list.json");
    std::fs::write(&ours, serde_json::to_vec(&list).unwrap()).unwrap();
    let r = check(&[
        "--indicators",
        ours.to_str().unwrap(),
        "--firmware",
        image.to_str().unwrap(),
    ]);
    let c = indicators(&r);
    assert_eq!(c["result"], "fail", "{c}");
    let mut threats: Vec<&str> = c["evidence"]["matches"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["confirmed"] == true)
        .map(|h| h["rule"]["threat"].as_str().unwrap())
        .collect();
    threats.sort();
    assert_eq!(threats, matched);
    // The plain image holds none of them.
    let r = check(&["--indicators", ours.to_str().unwrap(), "--firmware", PLAIN]);
    assert_eq!(indicators(&r)["result"], "pass");
}

/// `chipsec_main -n -i -m tools.uefi.scan_image -a ARGS`: its output.
fn chipsec_scan_image(args: &str) -> String {
    let o = Command::new(root().join(".venv/bin/chipsec_main"))
        .args(["-n", "-i", "-m", "tools.uefi.scan_image", "-a", args])
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).to_string()
}

#[test]
fn the_chipsec_efilist_is_chipsecs_own_and_its_check_accepts_it() {
    let d = tempfile::tempdir().unwrap();
    for image in [PLAIN, SECBOOT] {
        let o = common::bootaudit()
            .args(["firmware", image, "--format", "chipsec-efilist"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let ours: Value = serde_json::from_slice(&o.stdout).unwrap();
        let ours_file = d.path().join("ours.json");
        std::fs::write(&ours_file, &o.stdout).unwrap();
        // CHIPSEC's own list of the same image, JSON-equal.
        let theirs_file = d.path().join("theirs.json");
        chipsec_scan_image(&format!("generate,{},{image}", theirs_file.display()));
        let theirs: Value = serde_json::from_slice(&std::fs::read(&theirs_file).unwrap()).unwrap();
        assert!(ours.as_object().unwrap().len() > 100);
        assert_eq!(ours, theirs, "{image}");
        // And CHIPSEC's check accepts ours.
        let out = chipsec_scan_image(&format!("check,{},{image}", ours_file.display()));
        assert!(
            out.contains("PASSED: All EFI executables match the list"),
            "{image}: {out}"
        );
    }
    // The plain build's list against the secboot image: CHIPSEC names the
    // executables the secboot build adds.
    let plain = common::bootaudit()
        .args(["firmware", PLAIN, "--format", "chipsec-efilist"])
        .output()
        .unwrap();
    let f = d.path().join("plain.json");
    std::fs::write(&f, &plain.stdout).unwrap();
    let out = chipsec_scan_image(&format!("check,{},{SECBOOT}", f.display()));
    assert!(out.contains("EFI executables not in the list"), "{out}");
}
