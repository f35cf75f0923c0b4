//! The fleet consensus on engines that are not ours: `bootaudit fleet
//! --export facts.parquet`, then contrib/sql/consensus.sql, unchanged, on
//! DuckDB (embedded) and on Spark SQL (local mode, on loopback), through
//! tests/oracle/fleet_sql.py and the venv that .ci/run makes.
//!
//! Both engines must return exactly the departures `bootaudit fleet`
//! reports (host and key, with the host's value, the consensus and the
//! three counts), on two fleets:
//! - the synthetic fleet of tests/system/fleet.rs: 240 hosts in 6 groups, 8
//!   implanted hosts, whose departures are the implants alone;
//! - a chaotic one, made to reach every rule of the consensus: a key with
//!   more than 64 values (only presence compared), a three-way split where
//!   two values tie (the smaller wins), a value held by exactly the limit
//!   (5 of 100: a departure) and one by one more (not), a table on 3 hosts
//!   (absent wins), and a group of 2 hosts (no consensus).

use crate::common;

use common::fleet;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A departure's identity: the snapshot and the key.
type Key = (String, String);

/// What a departure says: the host's value, the consensus, and the counts
/// of hosts like it, with the consensus, and in the group.
type Said = (Value, Value, u64, u64, u64);

/// `bootaudit fleet DIR --export FILE`: the departures it reports (the
/// findings with consensus counts), and the hosts that have one.
fn bootaudit_departures(dir: &Path, export: &Path) -> BTreeMap<Key, Said> {
    let o = common::bootaudit()
        .args(["fleet", "--format", "json", "--export"])
        .arg(export)
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(export.is_file(), "no export written");
    let mut out = BTreeMap::new();
    for l in String::from_utf8(o.stdout).unwrap().lines() {
        let v: Value = serde_json::from_str(l).unwrap();
        if v["type"] != "host" {
            continue;
        }
        assert!(v.get("error").is_none(), "{v}");
        for f in v["findings"].as_array().unwrap() {
            let e = &f["evidence"];
            if e.get("group_hosts").is_none() {
                continue; // an indicator match, not a departure
            }
            out.insert(
                (
                    v["source"].as_str().unwrap().to_string(),
                    e["key"].as_str().unwrap().to_string(),
                ),
                (
                    e["this_host"].clone(),
                    e["consensus"].clone(),
                    e["hosts_like_this"].as_u64().unwrap(),
                    e["hosts_with_consensus"].as_u64().unwrap(),
                    e["group_hosts"].as_u64().unwrap(),
                ),
            );
        }
    }
    out
}

/// The departures an engine's run of the SQL returns, per file.
fn engine_departures(engine: &str, files: &[PathBuf]) -> Vec<BTreeMap<Key, Said>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let o = Command::new(common::venv_python())
        .arg(root.join("tests/oracle/fleet_sql.py"))
        .arg(engine)
        .arg(root.join("contrib/sql/consensus.sql"))
        .args(files)
        .env("SPARK_LOCAL_IP", "127.0.0.1")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{engine} failed (the venv needs duckdb and pyspark, and Spark a Java 17 runtime: .ci/run installs them): {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    files
        .iter()
        .map(|f| {
            let rows = v[f.to_str().unwrap()].as_array().unwrap();
            let mut m = BTreeMap::new();
            for r in rows {
                let n = |k: &str| r[k].as_u64().unwrap();
                let key = (
                    r["source"].as_str().unwrap().to_string(),
                    r["key"].as_str().unwrap().to_string(),
                );
                let said = (
                    r["this_value"].clone(),
                    r["consensus"].clone(),
                    n("hosts_like_this"),
                    n("hosts_with_consensus"),
                    n("group_hosts"),
                );
                assert!(m.insert(key.clone(), said).is_none(), "{key:?} twice");
            }
            m
        })
        .collect()
}

/// Writes the chaotic fleet (see the file's header) under `dir`.
fn chaotic_fleet(dir: &Path) {
    let mut seen = [0usize; 4];
    let pcr = |n: u64| format!("{:064x}", n.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    fleet::generate(400, 4, 1, |g, id, bytes| {
        let mut s: bootaudit::snapshot::Snapshot = serde_json::from_slice(bytes).unwrap();
        let n = seen[g];
        seen[g] += 1;
        let t = s.tpm.as_mut().expect("every template has a TPM");
        let bank = t.pcrs.get_mut("sha256").expect("a SHA-256 bank");
        match g {
            // PCR2 takes 70 values: only its presence is compared, and the
            // two hosts that lack it depart.
            0 => {
                if n < 70 {
                    bank.insert(2, pcr(1000 + n as u64));
                } else if n < 72 {
                    bank.remove(&2);
                }
            }
            // PCR7: 48 hosts one value, 48 another, 4 a third; the two
            // tie, the smaller wins, and the third departs.
            1 => {
                let v = match n % 25 {
                    0 => pcr(3),
                    x if x % 2 == 0 => pcr(1),
                    _ => pcr(2),
                };
                bank.insert(7, v);
            }
            // PCR0 on 5 hosts (the limit: departs), PCR2 on 6 (does not),
            // and a table on 3 hosts (its absence is the consensus).
            2 => {
                if n < 5 {
                    bank.insert(0, pcr(5));
                } else if n < 11 {
                    bank.insert(2, pcr(6));
                }
                if (90..93).contains(&n) {
                    let a = s.acpi.as_mut().expect("ACPI tables");
                    let mut extra = a.tables[0].clone();
                    extra.signature = "SSDT".into();
                    extra.oem_table_id = "CHAOS".into();
                    extra.sha256 = "ab".repeat(32);
                    a.tables.push(extra);
                }
            }
            // Two hosts of a product of their own: no consensus, whatever
            // they hold.
            _ => {
                if n < 2 {
                    let sm = s.identity.as_mut().unwrap().smbios.as_mut().unwrap();
                    sm.system_product = "tiny group".into();
                    bank.insert(0, pcr(7 + n as u64));
                }
            }
        }
        let d = dir.join(format!("group-{g}"));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            d.join(format!("{id}.json")),
            serde_json::to_vec(&s).unwrap(),
        )
        .unwrap();
    });
}

#[test]
fn duckdb_and_spark_run_the_shipped_sql_to_the_same_departures_as_fleet() {
    let d = tempfile::tempdir().unwrap();
    let synthetic = d.path().join("synthetic");
    let f = fleet::write_tree(&synthetic, 240, 6, 2);
    assert_eq!(f.implanted.len(), 8);
    let chaos = d.path().join("chaos");
    chaotic_fleet(&chaos);
    let files = [
        d.path().join("synthetic.parquet"),
        d.path().join("chaos.parquet"),
    ];
    let ours = [
        bootaudit_departures(&synthetic, &files[0]),
        bootaudit_departures(&chaos, &files[1]),
    ];

    // The synthetic fleet: the implanted hosts, and only they, depart.
    let hosts: std::collections::BTreeSet<String> = ours[0]
        .keys()
        .map(|(src, _)| {
            Path::new(src)
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let implanted: std::collections::BTreeSet<String> = f.implanted.keys().cloned().collect();
    assert_eq!(hosts, implanted);

    // The chaotic fleet reaches each rule, as fleet itself says.
    let c = &ours[1];
    // (The generator's own implants depart too, in groups of their own
    // choosing: the counts are of one group.)
    let in_group = |src: &str, g: usize| src.contains(&format!("group-{g}/"));
    let keys_of = |g: usize, k: &str| {
        c.keys()
            .filter(|(src, key)| in_group(src, g) && key == k)
            .count()
    };
    assert_eq!(
        keys_of(0, "sha256 PCR2"),
        2,
        "absent under a varied key: {c:?}"
    );
    let third = c
        .iter()
        .filter(|((src, k), _)| in_group(src, 1) && k == "sha256 PCR7")
        .map(|(_, s)| s)
        .collect::<Vec<_>>();
    assert_eq!(third.len(), 4, "the third PCR7 value: {c:?}");
    let smaller = format!("{:064x}", 1u64.wrapping_mul(0x9e37_79b9_7f4a_7c15))
        .min(format!("{:064x}", 2u64.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
    assert!(third.iter().all(|s| s.1 == Value::String(smaller.clone())));
    assert_eq!(keys_of(2, "sha256 PCR0"), 5, "5 of 100 is the limit");
    assert_eq!(keys_of(2, "sha256 PCR2"), 0, "6 of 100 is over it");
    assert_eq!(keys_of(2, "SSDT CHAOS #1"), 3, "a table on 3 hosts");
    // Every departure is from a group of at least 3 hosts: the group of 2
    // has no consensus. (The cases counted above are 2 + 4 + 5 + 3 of
    // them: the check below runs over at least those.)
    assert!(c.len() >= 14, "{c:?}");
    assert!(
        c.values().all(|s| s.4 >= 3),
        "the group of 2 has no consensus"
    );

    for engine in ["duckdb", "spark"] {
        let theirs = engine_departures(engine, &files);
        // As many fleets judged by the engine as by bootaudit (zip would
        // quietly stop at the shorter).
        assert_eq!(theirs.len(), ours.len(), "{engine}");
        for (i, (o, t)) in ours.iter().zip(&theirs).enumerate() {
            let only_ours: Vec<_> = o.keys().filter(|k| !t.contains_key(*k)).collect();
            let only_theirs: Vec<_> = t.keys().filter(|k| !o.contains_key(*k)).collect();
            assert!(
                only_ours.is_empty() && only_theirs.is_empty(),
                "{engine} on fleet {i}: only fleet {only_ours:?}, only {engine} {only_theirs:?}"
            );
            assert_eq!(o, t, "{engine} on fleet {i}: the values or counts differ");
        }
        println!(
            "{engine}: the same {} and {} departures as bootaudit fleet",
            theirs[0].len(),
            theirs[1].len()
        );
    }
}
