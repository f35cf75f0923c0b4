//! `bootaudit fleet` on a synthetic fleet made from the shipped real
//! snapshots (tests/common/fleet.rs): every planted implant trace is found
//! under `diff`'s rule for it, with the peer counts; no clean host has any
//! finding; the real implanted snapshot stands out among its synthetic
//! siblings; JSON lines from stdin give the same records as a directory;
//! per-host baselines; exit codes; hostile input. Hermetic: the shipped
//! fixtures only (the HTML overview in Chromium and the vendor references
//! are in tests/system/fleet.rs).

use crate::common;

use common::fleet::{self, expected, records, run, Implant};
use serde_json::Value;
use std::collections::BTreeMap;

const HOSTS: usize = 240;
const GROUPS: usize = 6;

#[test]
fn every_implant_is_found_and_no_clean_host_departs() {
    let d = tempfile::tempdir().unwrap();
    let f = fleet::write_tree(d.path(), HOSTS, GROUPS, 2);
    assert_eq!(f.implanted.len(), 8);
    let (lines, _) = run(
        &[d.path().to_str().unwrap(), "--format", "json"],
        None,
        &[1],
    );
    let (hosts, summary) = records(lines);
    assert_eq!(hosts.len(), HOSTS);
    assert_eq!(summary["hosts"], HOSTS);
    assert_eq!(summary["outliers"], 8);
    assert_eq!(summary["unreadable"], 0);
    let groups = summary["groups"].as_array().unwrap();
    assert_eq!(groups.len(), GROUPS);
    for g in groups {
        assert_eq!(g["hosts"], HOSTS / GROUPS, "{g}");
        assert_eq!(g["consensus"], true);
    }
    for id in &f.clean {
        let h = &hosts[id];
        assert_eq!(
            h["findings"],
            Value::Array(vec![]),
            "false outlier {id}: {h}"
        );
        assert_eq!(h["outlier"], false);
    }
    let mut kinds = std::collections::BTreeSet::new();
    for (id, (kind, key)) in &f.implanted {
        let h = &hosts[id];
        assert_eq!(h["outlier"], true, "{id} {kind:?}");
        let (rule, sev) = expected(*kind);
        let fs = h["findings"].as_array().unwrap();
        let hit = fs.iter().find(|x| {
            x["rule"] == rule
                && x["severity"] == sev
                && x["explained"] == false
                && x["evidence"]["key"]
                    .as_str()
                    .unwrap()
                    .contains(key.as_str())
        });
        let hit = hit.unwrap_or_else(|| panic!("{id} {kind:?} {key}: {h:#}"));
        // One host of the group holds it; every other host the consensus.
        let n = HOSTS / GROUPS;
        assert_eq!(hit["evidence"]["hosts_like_this"], 1, "{hit}");
        assert_eq!(hit["evidence"]["hosts_with_consensus"], n - 1, "{hit}");
        assert_eq!(hit["evidence"]["group_hosts"], n);
        assert!(
            hit["message"]
                .as_str()
                .unwrap()
                .contains(&format!("1 of {n} hosts")),
            "{hit}"
        );
        // Nothing else is reported of it: the departures are the implant's.
        for x in fs {
            let r = x["rule"].as_str().unwrap();
            let ok = match kind {
                // A changed blob changes PCR0 as well.
                Implant::Blob => r == "tpm.pcr0.changed",
                _ => r == rule,
            };
            assert!(ok, "{id} {kind:?}: unexpected {x}");
        }
        kinds.insert(*kind);
    }
    assert_eq!(kinds.len(), 4, "every kind planted");
}

#[test]
fn the_real_implant_stands_out_among_its_siblings() {
    // The test implant's real snapshot (fixtures/implant), relabelled into
    // the group its baseline's boot was cloned into, must show the traces
    // `diff` finds against that baseline.
    let d = tempfile::tempdir().unwrap();
    let f = fleet::write_tree(d.path(), 60, 2, 0);
    assert!(f.implanted.is_empty());
    let mut imp = fleet::implant_snapshot();
    let sm = imp.identity.as_mut().unwrap().smbios.as_mut().unwrap();
    sm.system_product = format!("{} (fleet model 0)", sm.system_product);
    sm.system_serial = "real-implant".into();
    std::fs::write(
        d.path().join("group-0/real-implant.json"),
        serde_json::to_vec(&imp).unwrap(),
    )
    .unwrap();
    let (lines, _) = run(
        &[d.path().to_str().unwrap(), "--format", "json"],
        None,
        &[1],
    );
    let (hosts, summary) = records(lines);
    assert_eq!(summary["outliers"], 1, "{summary}");
    let h = &hosts["real-implant"];
    let got: std::collections::BTreeSet<(String, String)> = h["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["rule"].as_str().unwrap().to_string(),
                x["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for want in [
        ("acpi.table.added", "critical"),
        ("memory-map.region.added", "critical"),
        ("loaded-images.option-rom.added", "high"),
        ("tpm.pcr2.changed", "high"),
    ] {
        assert!(
            got.contains(&(want.0.to_string(), want.1.to_string())),
            "{want:?} not in {got:?}"
        );
    }
}

#[test]
fn json_lines_on_stdin_give_the_same_records_as_a_directory() {
    let d = tempfile::tempdir().unwrap();
    let mut jsonl = Vec::new();
    let f = fleet::generate(90, 3, 1, |g, id, bytes| {
        let dir = d.path().join(format!("group-{g}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{id}.json")), bytes).unwrap();
        // One line per snapshot: the files are pretty-printed.
        let v: Value = serde_json::from_slice(bytes).unwrap();
        jsonl.extend_from_slice(&serde_json::to_vec(&v).unwrap());
        jsonl.push(b'\n');
    });
    // A blank line is skipped, not an error.
    jsonl.extend_from_slice(b"\n  \n");
    let strip = |(hosts, summary): (BTreeMap<String, Value>, Value)| {
        let hosts: BTreeMap<String, Value> = hosts
            .into_iter()
            .map(|(k, mut v)| {
                v.as_object_mut().unwrap().remove("source");
                (k, v)
            })
            .collect();
        (hosts, summary)
    };
    let (l1, _) = run(
        &[d.path().to_str().unwrap(), "--format", "json"],
        None,
        &[1],
    );
    let (l2, _) = run(&["-", "--format", "json"], Some(&jsonl), &[1]);
    let (a, b) = (strip(records(l1)), strip(records(l2)));
    assert_eq!(a.0.len(), 90);
    assert_eq!(a, b);
    // The stdin records name their line.
    let (l, _) = run(&["-", "--format", "json"], Some(&jsonl), &[1]);
    let (hosts, _) = records(l);
    assert_eq!(hosts[f.clean.first().unwrap()]["source"], "-:1");
}

#[test]
fn per_host_baselines_are_diffed_too() {
    let d = tempfile::tempdir().unwrap();
    let snaps = d.path().join("snaps");
    let base = d.path().join("baselines");
    std::fs::create_dir_all(&base).unwrap();
    let mut by_id = BTreeMap::new();
    let f = fleet::generate(30, 1, 1, |_, id, bytes| {
        std::fs::create_dir_all(&snaps).unwrap();
        std::fs::write(snaps.join(format!("{id}.json")), bytes).unwrap();
        by_id.insert(id.to_string(), bytes.to_vec());
    });
    // The WPBT host's baseline is itself before the implant; a clean
    // host's baseline is its own snapshot.
    let (wpbt, _) = f
        .implanted
        .iter()
        .find(|(_, (k, _))| *k == Implant::Wpbt)
        .unwrap();
    let mut before: bootaudit::snapshot::Snapshot = serde_json::from_slice(&by_id[wpbt]).unwrap();
    before
        .acpi
        .as_mut()
        .unwrap()
        .tables
        .retain(|t| t.signature != "WPBT");
    std::fs::write(
        base.join(format!("{wpbt}.json")),
        serde_json::to_vec(&before).unwrap(),
    )
    .unwrap();
    let clean = &f.clean[0];
    std::fs::write(base.join(format!("{clean}.json")), &by_id[clean]).unwrap();
    let (lines, _) = run(
        &[
            snaps.to_str().unwrap(),
            "--baselines",
            base.to_str().unwrap(),
            "--format",
            "json",
        ],
        None,
        &[1],
    );
    let (hosts, _) = records(lines);
    let b = hosts[wpbt.as_str()]["baseline_findings"]
        .as_array()
        .unwrap();
    assert!(
        b.iter()
            .any(|x| x["rule"] == "acpi.table.added" && x["severity"] == "critical"),
        "{b:?}"
    );
    assert_eq!(
        hosts[clean.as_str()]["baseline_findings"],
        Value::Array(vec![])
    );
    // A host without a baseline file cannot escape judgement by it: with
    // --baselines, that is a finding of its own (high), and it is an
    // outlier.
    let none = &hosts[f.clean[1].as_str()];
    let b = none["baseline_findings"].as_array().unwrap();
    assert_eq!(b.len(), 1, "{b:?}");
    assert_eq!(
        (b[0]["rule"].as_str(), b[0]["severity"].as_str()),
        (Some("baseline.missing"), Some("high"))
    );
    assert_eq!(none["outlier"], true);
}

#[test]
fn exit_codes_follow_diff() {
    let d = tempfile::tempdir().unwrap();
    fleet::write_tree(d.path(), 24, 2, 0);
    let dir = d.path().to_str().unwrap();
    let (_, text) = run(&[dir], None, &[0]);
    assert!(
        text.contains("No host has an unexplained finding"),
        "{text}"
    );
    // In a pipe there is no progress bar: stderr stays empty.
    let out = common::run(&["fleet", dir, "--format", "json"]).exits(0);
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    // An unreadable snapshot, and no outlier: 2.
    std::fs::write(d.path().join("group-0/broken.json"), b"{\"format\":").unwrap();
    let (lines, _) = run(&[dir, "--format", "json"], None, &[2]);
    let (hosts, summary) = records(lines);
    assert_eq!(summary["unreadable"], 1);
    let bad = hosts.values().find(|h| h["error"].is_string()).unwrap();
    assert!(
        bad["error"].as_str().unwrap().contains("broken.json"),
        "{bad}"
    );
    // Bad usage: 2.
    for args in [
        vec![dir, "--outlier-share", "0.7"],
        vec![dir, "--workers", "0"],
        vec!["/nonexistent/fleet"],
    ] {
        let (_, _) = run(&args, None, &[2]);
    }
}

#[test]
fn hostile_lines_are_records_not_crashes() {
    let mut g = common::Rng(7);
    let f = fleet::templates();
    let good = serde_json::to_vec(&f[0]).unwrap();
    let mut jsonl = Vec::new();
    for _ in 0..40 {
        let mut m = good.clone();
        for _ in 0..4 {
            let at = (g.next() as usize) % m.len();
            m[at] = g.next() as u8;
        }
        m.retain(|b| *b != b'\n');
        jsonl.extend_from_slice(&m);
        jsonl.push(b'\n');
    }
    jsonl.extend_from_slice(b"[1,2,3]\nnull\n{}\n\xff\xfe\n");
    jsonl.extend_from_slice(&good[..good.len() / 2]);
    let (lines, _) = run(&["-", "--format", "json"], Some(&jsonl), &[1, 2]);
    let (hosts, summary) = records(lines);
    let total = summary["hosts"].as_u64().unwrap() + summary["unreadable"].as_u64().unwrap();
    assert_eq!(total, 45, "{summary}");
    // Every unreadable record names its line.
    for h in hosts.values().filter(|h| h["error"].is_string()) {
        assert!(h["source"].as_str().unwrap().starts_with("-:"), "{h}");
    }
}

#[test]
fn jsonl_gives_one_line_per_finding_with_the_host_and_time() {
    let d = tempfile::tempdir().unwrap();
    let f = fleet::write_tree(d.path(), HOSTS, GROUPS, 2);
    let (lines, _) = run(
        &[d.path().to_str().unwrap(), "--format", "json"],
        None,
        &[1],
    );
    let (hosts, _) = records(lines);
    let (lines, _) = run(
        &[d.path().to_str().unwrap(), "--format", "jsonl"],
        None,
        &[1],
    );
    // As many lines as the JSON records hold findings, host by host.
    let mut per_host: BTreeMap<String, usize> = BTreeMap::new();
    for l in &lines {
        assert_eq!(l["schema"], "bootaudit-finding/1");
        assert_eq!(l["tool"], "fleet");
        assert!(l["rule"].is_string() && l["severity"].is_string() && l["explained"].is_boolean());
        *per_host
            .entry(l["host"]["id"].as_str().unwrap().to_string())
            .or_default() += 1;
        // The host and time are the snapshot's own, read here from its file.
        let src: Value =
            serde_json::from_slice(&std::fs::read(l["source"].as_str().unwrap()).unwrap()).unwrap();
        assert_eq!(l["collected_at"], src["identity"]["time"]);
        assert_eq!(
            l["host"]["system_uuid"],
            src["identity"]["smbios"]["system_uuid"]
        );
    }
    for (id, h) in &hosts {
        let n = h["findings"].as_array().unwrap().len();
        assert_eq!(per_host.get(id).copied().unwrap_or(0), n, "{id}");
    }
    assert!(f.implanted.keys().all(|id| per_host.contains_key(id)));
}
