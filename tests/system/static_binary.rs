//! The static binary (`cargo xtask static`: musl, through cargo-zigbuild),
//! as a responder runs it on a host under investigation.

use crate::common;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Builds (or finds up to date) the x86_64 static binary.
fn static_bootaudit() -> PathBuf {
    let o = common::xtask()
        .args(["static", "x86_64"])
        .output()
        .expect("xtask could not run");
    assert!(
        o.status.success(),
        "cargo xtask static x86_64 failed (needs cargo-zigbuild, the venv's ziglang and the x86_64-unknown-linux-musl target, all installed by .ci/run): {}",
        String::from_utf8_lossy(&o.stderr)
    );
    PathBuf::from(String::from_utf8(o.stdout).unwrap().trim())
}

/// The address the static binary's first mapping starts at, read from
/// /proc while it waits on its stdin (`fleet -`).
fn load_address(bin: &Path) -> String {
    let mut child = Command::new(bin)
        .args(["fleet", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the static binary starts");
    // spawn can return while the kernel is still mapping the new image:
    // wait for the mapping itself (the child then blocks on its stdin).
    let first = loop {
        let maps = std::fs::read_to_string(format!("/proc/{}/maps", child.id())).unwrap();
        if let Some(l) = maps.lines().find(|l| l.ends_with("/bootaudit")) {
            break l.split('-').next().unwrap().to_string();
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the static binary ended before it was seen mapped"
        );
        std::thread::yield_now();
    };
    // Closing its stdin ends the (empty) fleet.
    drop(child.stdin.take());
    child.wait().unwrap();
    first
}

/// It is position independent: loaded at a new address on each run (a
/// fixed-address binary would give one address three times).
#[test]
fn the_static_binary_loads_at_a_random_address() {
    let bin = static_bootaudit();
    let addresses: std::collections::BTreeSet<String> =
        (0..3).map(|_| load_address(&bin)).collect();
    assert!(
        addresses.len() > 1,
        "three runs, one load address: {addresses:?}"
    );
}

/// It reports as the ordinary build does, and its mimalloc (which serves
/// every command there) reserves arenas of tens of MiB, not 1 GiB, unless
/// MIMALLOC_ARENA_RESERVE says otherwise.
#[test]
fn the_static_binary_reports_as_the_ordinary_one_on_small_arenas() {
    let bin = static_bootaudit();
    let log = "fixtures/ovmf-swtpm/binary_bios_measurements";
    let ours = common::run(&["eventlog", log, "--format", "json"]).exits(0);
    let theirs =
        common::run_command(Command::new(&bin).args(["eventlog", log, "--format", "json"]))
            .exits(0);
    assert_eq!(theirs.stdout, ours.stdout);
    assert!(ours.stdout.len() > 1000);

    let reserved = |env: Option<&str>| -> Vec<String> {
        let mut c = Command::new(&bin);
        c.args(["eventlog", log, "--format", "json"])
            .env("MIMALLOC_SHOW_STATS", "1")
            .env_remove("MIMALLOC_ARENA_RESERVE");
        if let Some(v) = env {
            c.env("MIMALLOC_ARENA_RESERVE", v);
        }
        let r = common::run_command(&mut c).exits(0);
        r.stderr
            .lines()
            .filter(|l| l.trim_start().starts_with("reserved"))
            .map(str::to_string)
            .collect()
    };
    let small = reserved(None);
    assert_eq!(small.len(), 1, "{small:?}");
    assert!(
        small[0].contains("MiB") && !small[0].contains("GiB"),
        "{small:?}"
    );
    let large = reserved(Some("1G"));
    assert_eq!(large.len(), 1, "{large:?}");
    assert!(large[0].contains("1.0 GiB"), "{large:?}");
}
