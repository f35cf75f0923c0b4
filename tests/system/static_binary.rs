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

/// Runs the static binary as `fleet -`, which waits on its stdin, and
/// reads `/proc/PID/FILE` until `probe` finds in it what it looks for
/// (`what`); then closes its stdin, which ends the (empty) fleet. spawn
/// can return while the kernel is still mapping the new image: the wait is
/// for the thing itself, never for a time.
fn while_waiting<T>(
    cmd: &mut Command,
    file: &str,
    what: &str,
    mut probe: impl FnMut(&str) -> Option<T>,
) -> T {
    let mut child = cmd
        .args(["fleet", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the static binary starts");
    let found = loop {
        let text = std::fs::read_to_string(format!("/proc/{}/{file}", child.id())).unwrap();
        if let Some(v) = probe(&text) {
            break v;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the static binary ended before {what} was seen"
        );
        std::thread::yield_now();
    };
    drop(child.stdin.take());
    child.wait().unwrap();
    found
}

/// The address the static binary's first mapping starts at.
fn load_address(bin: &Path) -> String {
    while_waiting(&mut Command::new(bin), "maps", "its mapping", |maps| {
        let l = maps.lines().find(|l| l.ends_with("/bootaudit"))?;
        Some(l.split('-').next().unwrap().to_string())
    })
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

    let reserved = |arena: Option<&str>| {
        stat_line(
            &bin,
            &["eventlog", log, "--format", "json"],
            0,
            ("MIMALLOC_ARENA_RESERVE", arena),
            "reserved",
        )
    };
    let small = reserved(None);
    assert!(small.contains("MiB") && !small.contains("GiB"), "{small:?}");
    let large = reserved(Some("1G"));
    assert!(large.contains("1.0 GiB"), "{large:?}");
}

/// The one line of mimalloc's statistics that starts with `key`, for a run
/// of the static binary with `args` (from the project's root), which must
/// exit `code`, with the variable `var` set to its value or, for `None`,
/// unset.
fn stat_line(bin: &Path, args: &[&str], code: i32, var: (&str, Option<&str>), key: &str) -> String {
    let mut c = Command::new(bin);
    c.args(args)
        .env("MIMALLOC_SHOW_STATS", "1")
        .env_remove(var.0);
    if let Some(v) = var.1 {
        c.env(var.0, v);
    }
    let r = common::run_command(&mut c).exits(code);
    let lines: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.trim_start().starts_with(&format!("{key} ")))
        .collect();
    assert_eq!(lines.len(), 1, "one {key:?} line: {}", r.stderr);
    lines[0].to_string()
}

/// The VmFlags of the static binary's anonymous mappings of 32 MiB or
/// more (mimalloc's arenas, reserved by the runtime's first allocation,
/// before main), with `MIMALLOC_ALLOW_THP` set to `allow_thp` if given.
fn arena_flags(bin: &Path, allow_thp: Option<&str>) -> Vec<String> {
    let mut c = Command::new(bin);
    c.env_remove("MIMALLOC_ALLOW_THP");
    if let Some(v) = allow_thp {
        c.env("MIMALLOC_ALLOW_THP", v);
    }
    while_waiting(&mut c, "smaps", "its arena", |smaps| {
        let mut found = Vec::new();
        let mut anonymous = false;
        let mut large = false;
        for l in smaps.lines() {
            let fields: Vec<&str> = l.split_whitespace().collect();
            match fields.first() {
                // A mapping's header: address range, permissions, offset,
                // device, inode, and a path unless it is anonymous.
                Some(range) if !range.ends_with(':') => {
                    anonymous = fields.len() == 5;
                    large = false;
                }
                Some(&"Size:") => {
                    let kib = fields.get(1).and_then(|k| k.parse::<u64>().ok());
                    large = kib.unwrap_or(0) >= 32 << 10;
                }
                Some(&"VmFlags:") if anonymous && large => found.push(fields[1..].join(" ")),
                _ => {}
            }
        }
        (!found.is_empty()).then_some(found)
    })
}

/// mimalloc in the static binary does not advise huge pages on its arenas
/// (`hg` in VmFlags: madvise(MADV_HUGEPAGE)), unless MIMALLOC_ALLOW_THP
/// asks it to: the control shows that the flag is seen when it is there.
#[test]
fn the_static_binary_asks_for_no_huge_pages_unless_told() {
    assert!(
        Path::new("/sys/kernel/mm/transparent_hugepage/enabled").is_file(),
        "this kernel has no transparent huge pages: the test cannot tell advice from none"
    );
    let bin = static_bootaudit();
    let advised = arena_flags(&bin, Some("1"));
    assert!(
        advised.iter().any(|f| f.split(' ').any(|x| x == "hg")),
        "MIMALLOC_ALLOW_THP=1: an arena advised for huge pages: {advised:?}"
    );
    let plain = arena_flags(&bin, None);
    assert!(
        plain.iter().all(|f| !f.split(' ').any(|x| x == "hg")),
        "no arena advised for huge pages: {plain:?}"
    );
}

/// The `purges` count of mimalloc's statistics for a run of the static
/// binary with `args`, which must exit `code`.
fn purges(bin: &Path, args: &[&str], code: i32) -> u64 {
    let line = stat_line(bin, args, code, ("MIMALLOC_PURGE_DELAY", None), "purges");
    let n = line.split(':').nth(1).unwrap().trim();
    n.parse()
        .unwrap_or_else(|_| panic!("a count of purges: {line:?}"))
}

/// A short run returns no memory to the kernel before its exit does
/// (mimalloc's forced purge at exit was wasted work), and `fleet`, a long
/// run, does, as mimalloc's default has it.
#[test]
fn the_static_binary_purges_memory_only_in_long_runs() {
    let bin = static_bootaudit();
    let log = "fixtures/ovmf-swtpm/binary_bios_measurements";
    assert_eq!(purges(&bin, &["eventlog", log, "--format", "json"], 0), 0);
    assert!(purges(&bin, &["fleet", "fixtures/implant", "--format", "json"], 1) > 0);
}
