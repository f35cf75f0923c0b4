//! `cargo bench --bench fleet`: `bootaudit fleet` end to end on a synthetic
//! fleet of 10,000 snapshots (tests/common/fleet.rs: real snapshots in 8
//! groups, 3 implanted hosts of each kind), written as a directory tree of
//! pretty-printed JSON like the collector and `collect` write.
//!
//! Prints the wall time of the whole process (goal: under 20 s on this
//! 2-core machine), throughput in snapshots and MB per second, the peak
//! resident memory of the process (getrusage of the child), and checks that
//! every implanted host and no clean host is an outlier.
//!
//! `FLEET_HOSTS` changes the fleet's size; `BOOTAUDIT_BIN` measures another
//! build of the binary; `FLEET_DIR` keeps the generated tree there.

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::Instant;

fn peak_rss_children_kib() -> i64 {
    // SAFETY: getrusage writes into the zeroed struct we own.
    unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_CHILDREN, &mut u) == 0 {
            u.ru_maxrss
        } else {
            -1
        }
    }
}

fn main() {
    let hosts: usize = std::env::var("FLEET_HOSTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let bin = std::env::var("BOOTAUDIT_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_bootaudit").to_string());
    let tmp = tempfile::tempdir().expect("temporary directory");
    let dir = std::env::var("FLEET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| tmp.path().join("fleet"));
    let t0 = Instant::now();
    let f = common::fleet::write_tree(&dir, hosts, 8, 3);
    let bytes: u64 = walk(&dir);
    println!(
        "generated {hosts} snapshots ({:.0} MB) in {:.1} s",
        bytes as f64 / 1e6,
        t0.elapsed().as_secs_f64()
    );

    let t0 = Instant::now();
    let mut child = Command::new(&bin)
        .args(["fleet", "--format", "json"])
        .arg(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn bootaudit");
    let mut outliers = std::collections::BTreeSet::new();
    let mut records = 0usize;
    for line in std::io::BufReader::new(child.stdout.take().unwrap()).lines() {
        let v: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        records += 1;
        if v["outlier"] == true {
            outliers.insert(v["host"].as_str().unwrap().to_string());
        }
    }
    let st = child.wait().unwrap();
    let secs = t0.elapsed().as_secs_f64();
    let rss = peak_rss_children_kib();
    assert_eq!(st.code(), Some(1), "implanted hosts exist");
    assert_eq!(records, hosts + 1, "one record per host and a summary");

    let found = f.implanted.keys().filter(|h| outliers.contains(*h)).count();
    let false_outliers = f.clean.iter().filter(|h| outliers.contains(*h)).count();
    println!(
        "bootaudit fleet: {hosts} snapshots in {secs:.2} s ({:.0} snapshots/s, {:.0} MB/s over two passes); goal 20 s: {}",
        hosts as f64 / secs,
        2.0 * bytes as f64 / 1e6 / secs,
        if secs < 20.0 { "meets goal" } else { "BELOW GOAL" }
    );
    println!(
        "peak resident memory: {:.1} MiB ({:.2} KiB per host; snapshots average {:.0} KiB)",
        rss as f64 / 1024.0,
        rss as f64 / hosts as f64,
        bytes as f64 / hosts as f64 / 1024.0
    );
    println!(
        "implanted outliers found: {found} of {}; false outliers among {} clean hosts: {false_outliers}",
        f.implanted.len(),
        f.clean.len()
    );
    assert_eq!(found, f.implanted.len());
    assert_eq!(false_outliers, 0);
}

fn walk(d: &std::path::Path) -> u64 {
    let mut n = 0;
    for e in std::fs::read_dir(d).unwrap() {
        let e = e.unwrap();
        let m = e.metadata().unwrap();
        n += if m.is_dir() { walk(&e.path()) } else { m.len() };
    }
    n
}
