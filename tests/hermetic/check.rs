//! `bootaudit check` on the shipped real snapshots, edited: a snapshot
//! missing each part in turn gives "unknown", never a pass; an edited
//! variable, a forged PCR or a dropped bank is caught; mutated logs and key
//! databases never panic a check; hostile strings are escaped. Hermetic:
//! the shipped fixtures only (the checks against tpm2_eventlog, openssl and
//! the shared Secure Boot files are tests/system/check.rs).

use crate::common;
use common::{
    check_outcome as outcome, check_report as check, check_result as get, read_json as json_of,
    write_json,
};

use serde_json::Value;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn a_snapshot_missing_each_part_gives_unknown_for_its_checks() {
    let f = root().join("fixtures/collector/snap-0000.json");
    let s: Value = json_of(&f);
    let d = tempfile::tempdir().unwrap();
    let untouched = check(&f, &[], 1);
    let mut parts = 0;
    for (key, part, ids) in [
        (
            "tpm",
            "tpm",
            &[
                "tpm.present",
                "tpm.log.digests",
                "tpm.log.replays",
                "secure-boot.state.measured",
                "secure-boot.keys.measured",
                "boot-application.measured",
            ][..],
        ),
        (
            "secure_boot",
            "secure-boot",
            &[
                "secure-boot.user-mode",
                "secure-boot.state.measured",
                "secure-boot.keys.measured",
            ][..],
        ),
        (
            "acpi",
            "acpi",
            &["acpi.checksums", "acpi.xsdt.complete", "acpi.wpbt.absent"][..],
        ),
        (
            "loaded_images",
            "loaded-images",
            &["option-rom.measured", "boot-application.measured"][..],
        ),
        ("map_key_watch", "memory-map", &["memory.mapkey.quiet"][..]),
    ] {
        let mut v = s.clone();
        v.as_object_mut().unwrap().remove(key);
        let why = format!("{part} could not be read (test)");
        v["errors"] = serde_json::json!([{"part": part, "what": why}]);
        let p = d.path().join(format!("no-{key}.json"));
        write_json(&p, &v);
        let r = check(&p, &[], 1);
        for id in ids {
            let c = get(&r, id);
            assert_eq!(c["result"], "unknown", "without {key}, {id}: {c}");
        }
        // The collector's reason is given where the part's own checks say why.
        let first = get(&r, ids[0]);
        assert!(
            first["reason"].as_str().unwrap().contains(&why),
            "{key}: {first}"
        );
        // What the part's checks passed with the part is lost without it:
        // every pass among them became an unknown (the untouched fixture
        // passes some of each part's checks, so this cannot hold
        // vacuously), and the totals moved by at least that much.
        let was: Vec<&str> = ids
            .iter()
            .map(|id| get(&untouched, id)["result"].as_str().unwrap())
            .collect();
        let lost = was.iter().filter(|w| **w == "pass").count();
        assert!(
            lost >= 1,
            "{key}: the untouched fixture passes none of {ids:?}"
        );
        let (c0, c1) = (&untouched["counts"], &r["counts"]);
        assert!(
            c1["pass"].as_u64().unwrap() + lost as u64 <= c0["pass"].as_u64().unwrap(),
            "{key}: {c0} -> {c1}"
        );
        assert!(
            c1["unknown"].as_u64().unwrap() >= c0["unknown"].as_u64().unwrap() + lost as u64,
            "{key}: {c0} -> {c1}"
        );
        parts += 1;
    }
    assert_eq!(parts, 5);
}

#[test]
fn an_edited_secure_boot_variable_fails_against_pcr7() {
    // The real boot's snapshot with its SecureBoot variable edited to 1 in
    // the file: the log still measured 0.
    let f = root().join("fixtures/collector/snap-0000.json");
    let mut v: Value = json_of(&f);
    v["secure_boot"]["secure_boot"] = 1.into();
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("edited.json");
    write_json(&p, &v);
    let r = check(&p, &["--fail-on", "critical"], 1);
    let c = get(&r, "secure-boot.state.measured");
    assert_eq!(c["result"], "fail", "{c}");
    assert_eq!(c["evidence"]["variable"], 1);
    assert_eq!(c["evidence"]["measured"], 0);
    // secure-boot.on believes the verified log, not the edited variable.
    assert_eq!(outcome(&r, "secure-boot.on"), "fail");
}

#[test]
fn hostile_strings_reach_the_terminal_and_html_escaped() {
    let f = root().join("fixtures/collector/snap-0000.json");
    let mut v: Value = json_of(&f);
    v["loaded_images"][0]["device_path"] = "\\EFI\\\u{1b}[2J<script>\u{202e}x".into();
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("hostile.json");
    write_json(&p, &v);
    for fmt in ["table", "html"] {
        let o = common::bootaudit()
            .arg("check")
            .arg(&p)
            .args(["--format", fmt])
            .output()
            .unwrap();
        let out = String::from_utf8(o.stdout).unwrap();
        assert!(
            !out.contains('\u{1b}') && !out.contains('\u{202e}'),
            "{fmt}"
        );
        if fmt == "html" {
            assert!(!out.contains("<script>"));
        }
    }
}

#[test]
fn a_replay_that_leaves_pcrs_unvouched_is_unknown_and_a_forged_pcr7_is_no_proof() {
    let f = root().join("fixtures/linux-host/collector.json");
    let s: Value = json_of(&f);
    let d = tempfile::tempdir().unwrap();
    // PCR4's recorded values dropped in every bank: what the log extends
    // there is no longer vouched for.
    let mut v = s.clone();
    for (_, bank) in v["tpm"]["pcrs"].as_object_mut().unwrap() {
        bank.as_object_mut().unwrap().remove("4");
    }
    let p = d.path().join("no-pcr4.json");
    write_json(&p, &v);
    let r = check(&p, &[], 1);
    let c = get(&r, "tpm.log.replays");
    assert_eq!(c["result"], "unknown", "{c}");
    assert_eq!(c["evidence"]["unreplayed"], serde_json::json!([4]));
    // PCR7 rewritten: the log no longer replays, so its SecureBoot = 1 is
    // not believed, nor is the variable's own 1.
    let mut v = s.clone();
    for (_, bank) in v["tpm"]["pcrs"].as_object_mut().unwrap() {
        let n = bank["7"].as_str().unwrap().len();
        bank["7"] = "ab".repeat(n / 2).into();
    }
    write_json(&p, &v);
    let r = check(&p, &[], 1);
    assert_eq!(outcome(&r, "tpm.log.replays"), "fail");
    let on = get(&r, "secure-boot.on");
    assert_eq!(on["result"], "unknown", "{on}");
    assert_eq!(s["secure_boot"]["secure_boot"], 1);
}

#[test]
fn mutated_event_logs_and_key_databases_in_a_snapshot_never_panic_check() {
    // The snakeoil boot's real log, and its PK's real signature list, each
    // mutated: every check runs on what remains, and says something.
    let f = root().join("fixtures/linux-host/collector.json");
    let s = bootaudit::snapshot::read_file(&f).unwrap();
    let log = hex::decode(&s.tpm.as_ref().unwrap().event_log).unwrap();
    let efivars = root().join("fixtures/linux-host/root/sys/firmware/efi/efivars");
    let pk = std::fs::read(efivars.join("PK-8be4df61-93ca-11d2-aa0d-00e098032b8c")).unwrap()[4..]
        .to_vec();
    let mut rng = common::Rng(0xc4ec_0000_0000_0013);
    // Every check but the live host's posture.
    let all = bootaudit::rules::CHECKS
        .iter()
        .filter(|r| !r.id.starts_with("platform."))
        .count();
    // What each check says of the unmutated log, and of the unmutated PK
    // without the TPM (as the PK rounds run): a mutant that changes none of
    // these verdicts did not reach the code under test.
    let verdicts =
        |r: &bootaudit::check::Report| -> Vec<(&'static str, bootaudit::check::Outcome)> {
            r.results.iter().map(|c| (c.id, c.result)).collect()
        };
    let run = |snap: &bootaudit::snapshot::Snapshot| {
        bootaudit::check::run("mutant", snap, &Default::default())
    };
    let log_base = verdicts(&run(&s));
    let mut no_tpm = s.clone();
    no_tpm.tpm = None;
    let pk_base = verdicts(&run(&no_tpm));
    let (mut log_changed, mut pk_changed) = (0, 0);
    for round in 0..400 {
        let mut snap = s.clone();
        let mut m = if round % 2 == 0 {
            log.clone()
        } else {
            pk.clone()
        };
        for _ in 0..1 + rng.next() % 3 {
            if m.is_empty() {
                break;
            }
            let at = (rng.next() as usize) % m.len();
            match rng.next() % 3 {
                0 => m[at] ^= 1 << (rng.next() % 8),
                1 => m.truncate(at),
                _ => {
                    let v = [0u8, 0xff, 0x7f, 0x80][(rng.next() % 4) as usize];
                    m[at] = v;
                }
            }
        }
        if round % 2 == 0 {
            snap.tpm.as_mut().unwrap().event_log = hex::encode(&m);
        } else {
            let sb = snap.secure_boot.as_mut().unwrap();
            let v = sb.variables.iter_mut().find(|v| v.name == "PK").unwrap();
            v.signatures = Some(bootaudit_snapshot::siglist::parse(&m, &|d| {
                bootaudit::hexser::sha256(d)
            }));
            snap.tpm = None;
        }
        let r = run(&snap);
        assert_eq!(r.results.len(), all, "round {round}");
        assert!(r.results.iter().all(|c| !c.reason.is_empty()));
        if round % 2 == 0 {
            log_changed += usize::from(verdicts(&r) != log_base);
        } else {
            pk_changed += usize::from(verdicts(&r) != pk_base);
        }
    }
    // Nearly every damaged log fails to parse or replay (199 of 200 with
    // this seed). A flip inside the PK's certificate often leaves every
    // verdict as it was; a cut or a damaged list header does not (40 of
    // 200). The floors are half of those: the sweep reached the checks.
    assert!(
        log_changed >= 100,
        "{log_changed} of 200 mutated logs changed a verdict"
    );
    assert!(
        pk_changed >= 20,
        "{pk_changed} of 200 mutated PKs changed a verdict"
    );
}

#[test]
fn a_decoy_key_database_under_another_vendor_is_named_and_never_judged() {
    // The snakeoil boot, with an empty "PK" and a "dbx" of one byte under
    // a made-up vendor GUID listed before the real ones. Going by name, the
    // empty PK would read as setup mode and the keys as unmeasured.
    let f = root().join("fixtures/linux-host/collector.json");
    let mut s = json_of(&f);
    let vars = s["secure_boot"]["variables"].as_array_mut().unwrap();
    let n = vars.len();
    let fake = "0BADF00D-0000-4000-8000-000000000001";
    for (name, size, sha) in [
        (
            "PK",
            0,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ),
        (
            "dbx",
            1,
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        ),
    ] {
        vars.insert(
            0,
            serde_json::json!({"name": name, "vendor": fake, "attributes": 39, "size": size, "sha256": sha}),
        );
    }
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("decoy.json");
    std::fs::write(&p, serde_json::to_vec(&s).unwrap()).unwrap();
    let r = check(&p, &[], 1);
    let decoy = get(&r, "secure-boot.variables.no-decoys");
    assert_eq!(decoy["result"], "fail", "{decoy}");
    let named: Vec<&str> = decoy["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(named, ["dbx", "PK"]);
    // The real databases are the ones judged, as without the decoys.
    let plain = check(&f, &[], 1);
    for id in [
        "secure-boot.user-mode",
        "secure-boot.keys.measured",
        "secure-boot.pk.test-key",
    ] {
        assert_eq!(outcome(&r, id), outcome(&plain, id), "{id}");
    }
    assert_eq!(outcome(&plain, "secure-boot.variables.no-decoys"), "pass");
    assert_eq!(outcome(&r, "secure-boot.user-mode"), "pass");
    // A Secure Boot part with no variable recorded rules nothing out.
    let mut empty = json_of(&f);
    empty["secure_boot"]["variables"] = serde_json::json!([]);
    let e = d.path().join("no-variables.json");
    std::fs::write(&e, serde_json::to_vec(&empty).unwrap()).unwrap();
    let r0 = check(&e, &[], 1);
    let nd = get(&r0, "secure-boot.variables.no-decoys");
    assert_eq!(nd["result"], "unknown", "{nd}");
    assert!(
        nd["reason"]
            .as_str()
            .unwrap()
            .contains("no Secure Boot variable"),
        "{nd}"
    );
    // diff: the decoys are findings of their own; no real variable changed.
    let o = common::bootaudit()
        .args(["diff", "--format", "json"])
        .arg(&f)
        .arg(&p)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let rules: Vec<(&str, &str)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["rule"].as_str().unwrap(), f["severity"].as_str().unwrap()))
        .collect();
    assert_eq!(
        rules,
        [
            ("secure-boot.variable.decoy", "high"),
            ("secure-boot.variable.decoy", "high")
        ],
        "{n} real variables"
    );
}

#[test]
fn with_no_tpm_part_no_reason_speaks_of_a_log() {
    // The implant fixture without its TPM part: the ACPI check still runs,
    // and its reason says the log is missing, not what the log measures.
    let f = root().join("fixtures/implant/implant.json");
    let mut s = json_of(&f);
    s.as_object_mut().unwrap().remove("tpm");
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("no-tpm.json");
    std::fs::write(&p, serde_json::to_vec(&s).unwrap()).unwrap();
    let r = check(&p, &[], 1);
    let results = r["results"].as_array().unwrap();
    let mut looked = 0;
    for c in results {
        let reason = c["reason"].as_str().unwrap();
        assert!(
            !reason.contains("PCR1 measures") && !reason.contains("PCR7 measured"),
            "{}: {reason}",
            c["id"]
        );
        looked += 1;
    }
    assert!(looked >= 20, "{looked}");
    let x = get(&r, "acpi.xsdt.complete");
    assert!(
        x["reason"]
            .as_str()
            .unwrap()
            .contains("no readable event log"),
        "{x}"
    );
}
