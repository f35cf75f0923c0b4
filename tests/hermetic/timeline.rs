//! `timeline` on the shipped snapshots: a check that cannot run is said,
//! not passed.

fn timeline(args: &[&str]) -> (Option<i32>, serde_json::Value) {
    let o = crate::common::bootaudit()
        .arg("timeline")
        .args(args)
        .args(["--format", "json"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    (o.status.code(), serde_json::from_slice(&o.stdout).unwrap())
}

fn rules(r: &serde_json::Value) -> Vec<&str> {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect()
}

#[test]
fn one_firmware_state_is_an_unobserved_change_not_a_clean_one() {
    // One measured boot: nothing to compare it with.
    let (code, r) = timeline(&["fixtures/collector/snap-0000.json"]);
    assert_eq!(rules(&r), ["timeline.firmware.unobserved"]);
    assert_eq!(r["findings"][0]["severity"], "medium");
    assert_eq!(code, Some(0), "medium is below the default --fail-on high");
    let (code, _) = timeline(&["fixtures/collector/snap-0000.json", "--fail-on", "medium"]);
    assert_eq!(code, Some(1));
    // Two boots of the same firmware (the shipped plain boots; diff finds
    // nothing between them): compared, so the finding is gone, and nothing
    // else is raised.
    let (code, r) = timeline(&[
        "fixtures/implant/plain-a.json",
        "fixtures/implant/plain-b.json",
    ]);
    assert!(rules(&r).is_empty(), "{:?}", rules(&r));
    assert_eq!(code, Some(0));
}
