//! `timeline` on the shipped snapshots: a check that cannot run is said,
//! not passed.

/// `timeline ARGS --format json` from the project's root, which must exit
/// with `code`.
#[track_caller]
fn timeline(args: &[&str], code: i32) -> serde_json::Value {
    let mut c = crate::common::bootaudit();
    c.arg("timeline")
        .args(args)
        .args(["--format", "json"])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    crate::common::run_command(&mut c).exits(code).json()
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
    // Medium, below the default --fail-on high: exit 0.
    let r = timeline(&["fixtures/collector/snap-0000.json"], 0);
    assert_eq!(rules(&r), ["timeline.firmware.unobserved"]);
    assert_eq!(r["findings"][0]["severity"], "medium");
    timeline(
        &["fixtures/collector/snap-0000.json", "--fail-on", "medium"],
        1,
    );
    // Two boots of the same firmware (the shipped plain boots; diff finds
    // nothing between them): compared, so the finding is gone, and nothing
    // else is raised.
    let r = timeline(
        &[
            "fixtures/implant/plain-a.json",
            "fixtures/implant/plain-b.json",
        ],
        0,
    );
    assert!(rules(&r).is_empty(), "{:?}", rules(&r));
}
