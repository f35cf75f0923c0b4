//! `cargo bench --bench fleet`: `bootaudit fleet` on a synthetic fleet
//! (tests/common/fleet.rs: real snapshots in 8 groups, 3 implanted hosts of
//! each kind), and the same consensus on DuckDB, all measured in this one
//! run. `FLEET_HOSTS` sets the fleet's size (default 10,000; the large run
//! is 100000).
//!
//! 1. A directory tree of pretty-printed JSON, as the collector and
//!    `collect` write it, through `bootaudit fleet` on all cores: wall time
//!    (goal: 10,000 hosts under 20 s on this 2-core machine) and peak
//!    memory.
//! 2. The same fleet as one JSON-lines file, read through once so that it
//!    is in the page cache, then, one core each (the goal's two runs each
//!    the faster of two):
//!    - `bootaudit fleet --workers 1`;
//!    - with `BOOTAUDIT_BASELINE_BIN` (an older build) set, the same with it,
//!      and the ratio;
//!    - DuckDB (the venv's, one thread) making the facts from the JSON lines
//!      itself (contrib/sql/facts-from-jsonl.duckdb.sql) and running
//!      contrib/sql/consensus.sql, and the ratio (goal: 3x);
//!    - `bootaudit fleet --workers 1 --export facts.parquet`, then DuckDB
//!      running consensus.sql over the Parquet facts.
//! 3. The same JSON lines on all cores: `bootaudit fleet` (a worker per
//!    core) beside DuckDB with as many threads, time and peak memory each
//!    (goal: 1,000,000 hosts in at most 120 s and 256 MiB on this 2-core
//!    machine; below that size the bench prints the linear projection, and
//!    says it is one).
//! 4. With `FLEET_MILLION=1`, 1,000,000 hosts on all cores: copies of the
//!    JSON lines streamed through a pipe into `bootaudit fleet -`, each
//!    copy's host ids made distinct (71 GB of JSON lines would not fit on
//!    this machine's disk), time and peak memory against the goal.
//!
//! Each run must flag every implanted host and no clean one (DuckDB over
//! JSON lines cannot read the event log, so it is not asked for the
//! firmware-blob implants). `FLEET_DIR` and `FLEET_LINES` keep (and reuse)
//! the generated tree and file; `FLEET_SKIP_TREE=1` skips part 1;
//! `BOOTAUDIT_BIN` measures another build as this one.

#[path = "../tests/common/mod.rs"]
mod common;

use common::fleet::Implant;
use std::collections::BTreeSet;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// The peak resident memory of a running process, from /proc.
fn peak_rss_kib(pid: u32) -> Option<i64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Runs a command to its end: its stdout lines, its wall time, and its
/// peak resident memory (sampled while it writes, and at its end).
fn measure(c: &mut Command) -> (Vec<String>, f64, f64) {
    measure_fed(c, None::<fn(std::process::ChildStdin)>)
}

/// [`measure`], with `feed` writing the command's stdin on a thread of
/// its own.
fn measure_fed<F>(c: &mut Command, feed: Option<F>) -> (Vec<String>, f64, f64)
where
    F: FnOnce(std::process::ChildStdin) + Send + 'static,
{
    let t0 = Instant::now();
    if feed.is_some() {
        c.stdin(Stdio::piped());
    }
    let mut child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn");
    let pid = child.id();
    let writer = feed.map(|f| {
        let stdin = child.stdin.take().unwrap();
        std::thread::spawn(move || f(stdin))
    });
    let mut lines = Vec::new();
    let mut rss = -1;
    for l in std::io::BufReader::new(child.stdout.take().unwrap()).lines() {
        lines.push(l.unwrap());
        // The high-water mark, read now and then: reading /proc for every
        // line took a core's worth of time from the run measured.
        if lines.len() % 1000 == 1 {
            rss = rss.max(peak_rss_kib(pid).unwrap_or(-1));
        }
    }
    rss = rss.max(peak_rss_kib(pid).unwrap_or(-1));
    if let Some(w) = writer {
        w.join().unwrap();
    }
    let st = child.wait().unwrap();
    assert!(st.code().is_some_and(|c| c <= 1), "{c:?}: {st}");
    (lines, t0.elapsed().as_secs_f64(), rss as f64 / 1024.0)
}

/// The hosts a `fleet --format json` run calls outliers.
fn fleet_outliers(lines: &[String]) -> BTreeSet<String> {
    lines
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["type"] == "host" && v["outlier"] == true)
        .filter_map(|v| v["host"].as_str().map(str::to_string))
        .collect()
}

/// DuckDB through tests/oracle/fleet_sql.py: the hosts with a departure,
/// and the engine's own seconds.
fn duckdb(mode: &str, file: &Path, threads: usize) -> (BTreeSet<String>, f64, f64, f64) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (out, wall, _) = measure(
        Command::new(common::venv_python())
            .env("FLEET_SQL_THREADS", threads.to_string())
            .arg(root.join("tests/oracle/fleet_sql.py"))
            .arg(mode)
            .arg(root.join("contrib/sql/consensus.sql"))
            .arg(file),
    );
    let v: serde_json::Value = serde_json::from_str(&out.concat()).unwrap();
    let hosts = v[file.to_str().unwrap()]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["host"].as_str().map(str::to_string))
        .collect();
    let rss = v["peak_kib"].as_f64().unwrap_or(-1.0) / 1024.0;
    (hosts, v["seconds"].as_f64().unwrap(), wall, rss)
}

fn main() {
    let hosts: usize = std::env::var("FLEET_HOSTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let bin = std::env::var("BOOTAUDIT_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_bootaudit").to_string());
    let tmp = tempfile::tempdir().expect("temporary directory");
    let plan = common::fleet::plan(hosts, 8, 3);
    let check = |what: &str, out: &BTreeSet<String>, skip: Option<Implant>| {
        let want: Vec<&String> = plan
            .implanted
            .iter()
            .filter(|(_, (k, _))| Some(*k) != skip)
            .map(|(h, _)| h)
            .collect();
        let found = want.iter().filter(|h| out.contains(**h)).count();
        let wrong = plan.clean.iter().filter(|h| out.contains(*h)).count();
        println!(
            "    {what}: implanted hosts flagged {found} of {}, clean hosts flagged {wrong}",
            want.len()
        );
        assert_eq!(found, want.len(), "{what} misses implanted hosts");
        assert_eq!(wrong, 0, "{what} flags clean hosts");
    };

    // 1. The tree, on all cores.
    if std::env::var_os("FLEET_SKIP_TREE").is_none() {
        let dir = std::env::var("FLEET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| tmp.path().join("fleet"));
        if !dir.exists() {
            common::fleet::write_tree(&dir, hosts, 8, 3);
        }
        let bytes = walk(&dir);
        let (out, secs, rss) = measure(
            Command::new(&bin)
                .args(["fleet", "--format", "json"])
                .arg(&dir),
        );
        assert_eq!(out.len(), hosts + 1, "one record per host and a summary");
        println!(
            "tree of {hosts} pretty snapshots ({:.0} MB), all cores: {secs:.2} s ({:.0} snapshots/s), peak {rss:.1} MiB; goal 20 s at 10,000: {}",
            bytes as f64 / 1e6,
            hosts as f64 / secs,
            if secs * 10_000.0 / (hosts as f64) < 20.0 { "meets goal" } else { "BELOW GOAL" }
        );
        check("bootaudit fleet", &fleet_outliers(&out), None);
    }

    // 2. JSON lines, one core each.
    let lines = std::env::var("FLEET_LINES")
        .map(PathBuf::from)
        .unwrap_or_else(|_| tmp.path().join("fleet.jsonl"));
    if !lines.exists() {
        common::fleet::write_lines(&lines, hosts, 8, 3);
    }
    let bytes = warm(&lines);
    println!(
        "JSON lines of {hosts} snapshots ({:.0} MB), in the page cache; one core each:",
        bytes as f64 / 1e6
    );
    let fleet = |bin: &str, extra: &[&str]| {
        // One core: one worker.
        measure(
            Command::new(bin)
                .args(["fleet", "--workers", "1", "--format", "json"])
                .args(extra)
                .arg(&lines),
        )
    };
    // The goal's two runs, each the faster of two: on this machine the
    // first run after a large file is read can be half again as slow.
    let (out, ours, rss) = {
        let a = fleet(&bin, &[]);
        let b = fleet(&bin, &[]);
        if a.1 <= b.1 {
            a
        } else {
            b
        }
    };
    println!("  bootaudit fleet: {ours:.2} s, peak {rss:.1} MiB");
    check("bootaudit fleet", &fleet_outliers(&out), None);
    if let Ok(old) = std::env::var("BOOTAUDIT_BASELINE_BIN") {
        let (out, theirs, rss) = fleet(&old, &[]);
        println!(
            "  baseline build {old}: {theirs:.2} s, peak {rss:.1} MiB; this build is {:.2}x faster",
            theirs / ours
        );
        check("baseline build", &fleet_outliers(&out), None);
    }
    let (found, engine, wall, rss) = {
        let a = duckdb("duckdb-jsonl", &lines, 1);
        let b = duckdb("duckdb-jsonl", &lines, 1);
        if a.2 <= b.2 {
            a
        } else {
            b
        }
    };
    println!(
        "  DuckDB over the JSON lines: {wall:.2} s ({engine:.2} s in the engine), peak {rss:.1} MiB; bootaudit fleet is {:.2}x faster (goal 3x): {}",
        wall / ours,
        if wall / ours >= 3.0 { "meets goal" } else { "BELOW GOAL" }
    );
    check("DuckDB over JSON lines", &found, Some(Implant::Blob));
    let parquet = tmp.path().join("facts.parquet");
    let p = parquet.to_str().unwrap().to_string();
    let (out, export, rss) = fleet(&bin, &["--export", &p]);
    check("bootaudit fleet --export", &fleet_outliers(&out), None);
    let (found, engine, wall, duck_rss) = duckdb("duckdb", &parquet, 1);
    println!(
        "  bootaudit fleet --export: {export:.2} s, peak {rss:.1} MiB ({:.0} MB of Parquet); then DuckDB over it: {wall:.2} s ({engine:.2} s in the engine), peak {duck_rss:.1} MiB; {:.2} s in all",
        std::fs::metadata(&parquet).unwrap().len() as f64 / 1e6,
        export + wall
    );
    check("DuckDB over the Parquet facts", &found, None);

    // 3. All cores each.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (out, all, rss) = measure(
        Command::new(&bin)
            .args(["fleet", "--format", "json"])
            .arg(&lines),
    );
    check("bootaudit fleet, all cores", &fleet_outliers(&out), None);
    let (found, _, wall, duck_rss) = duckdb("duckdb-jsonl", &lines, cores);
    check(
        "DuckDB over JSON lines, all cores",
        &found,
        Some(Implant::Blob),
    );
    println!(
        "all {cores} cores: bootaudit fleet {all:.2} s, peak {rss:.1} MiB; DuckDB ({cores} threads) {wall:.2} s, peak {duck_rss:.1} MiB; bootaudit is {:.2}x faster",
        wall / all
    );
    let million = 1_000_000usize;
    if hosts >= million {
        println!(
            "  goal at 1,000,000 hosts, 120 s and 256 MiB: {}",
            if all * million as f64 / hosts as f64 <= 120.0 && rss <= 256.0 {
                "meets goal"
            } else {
                "BELOW GOAL"
            }
        );
    } else if std::env::var_os("FLEET_MILLION").is_some() {
        // 4. A million hosts through a pipe.
        let copies = million.div_ceil(hosts);
        let (out, secs, peak) = streamed(&bin, &lines, copies);
        assert_eq!(
            out.len(),
            hosts * copies + 1,
            "one record per host and a summary"
        );
        let want: BTreeSet<String> = (0..copies)
            .flat_map(|r| plan.implanted.keys().map(move |h| copy_id(h, r)))
            .collect();
        let got = fleet_outliers(&out);
        let missed = want.difference(&got).count();
        let wrong = got.difference(&want).count();
        println!(
            "    bootaudit fleet: implanted hosts flagged {} of {}, clean hosts flagged {wrong}",
            want.len() - missed,
            want.len()
        );
        assert_eq!((missed, wrong), (0, 0));
        println!(
            "{} hosts ({copies} copies of the JSON lines, host ids made distinct, through a pipe), all {cores} cores: {secs:.2} s, peak {peak:.1} MiB; goal 120 s and 256 MiB: {}",
            hosts * copies,
            if secs <= 120.0 && peak <= 256.0 { "meets goal" } else { "BELOW GOAL" }
        );
        println!(
            "  DuckDB is not run at this size: it holds the fleet in memory ({duck_rss:.0} MiB at {hosts} hosts above)"
        );
    } else {
        println!(
            "  not measured at 1,000,000 hosts (FLEET_MILLION=1 streams them through a pipe): a linear projection from {hosts} gives {:.0} s (goal 120 s); memory does not grow with the fleet",
            all * million as f64 / hosts as f64
        );
    }
}

/// Host `id` as copy `r` of the fleet: the two digits after the `f1ee7`
/// prefix (always 00 in a generated fleet) become `r`.
fn copy_id(id: &str, r: usize) -> String {
    assert!(r < 256 && id.starts_with("f1ee700"), "{id}");
    format!("f1ee7{r:02x}{}", &id[7..])
}

/// `bootaudit fleet -` on all cores, fed `copies` copies of the JSON lines
/// through a pipe, each copy's host ids made distinct ([`copy_id`]): a
/// fleet larger than the disk, read as it comes. Returns the output lines,
/// the wall time and the peak memory.
fn streamed(bin: &str, lines: &Path, copies: usize) -> (Vec<String>, f64, f64) {
    let lines = lines.to_path_buf();
    let feed = move |stdin: std::process::ChildStdin| {
        use std::io::IoSlice;
        use std::os::fd::AsRawFd;
        // The file mapped once; each copy is handed to the pipe straight
        // from the mapping (vmsplice: the pipe takes the pages, nothing is
        // copied), with the two id digits from a static table at each place
        // an id starts (found once). The fleet's read() is then the one
        // copy of each byte, as when it reads a file, and the feeding takes
        // little of the two cores the fleet runs on.
        let f = std::fs::File::open(&lines).unwrap();
        let len = f.metadata().unwrap().len() as usize;
        // SAFETY: a private read-only mapping of a file this bench made and
        // does not change while it is mapped; unmapped below.
        let map = unsafe {
            let p = libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_POPULATE,
                f.as_raw_fd(),
                0,
            );
            assert_ne!(p, libc::MAP_FAILED, "mmap");
            std::slice::from_raw_parts(p as *const u8, len)
        };
        // SAFETY: fcntl on the pipe this thread holds.
        unsafe { libc::fcntl(stdin.as_raw_fd(), libc::F_SETPIPE_SZ, 1 << 20) };
        let ids: Vec<usize> = memchr::memmem::find_iter(map, b"f1ee700").collect();
        assert!(copies <= 256, "two hex digits name at most 256 copies");
        for r in 0..copies {
            let digits = &HEX_PAIRS[2 * r..2 * r + 2];
            let mut from = 0;
            for batch in ids.chunks(500) {
                let mut v = Vec::with_capacity(2 * batch.len() + 1);
                for &a in batch {
                    v.push(IoSlice::new(&map[from..a + 5]));
                    v.push(IoSlice::new(digits));
                    from = a + 7;
                }
                splice_all(&stdin, &mut v);
            }
            splice_all(&stdin, &mut [IoSlice::new(&map[from..])]);
        }
        drop(stdin);
        // SAFETY: the mapping made above, no longer used.
        unsafe { libc::munmap(map.as_ptr() as *mut libc::c_void, len) };
    };
    measure_fed(
        Command::new(bin).args(["fleet", "--format", "json", "-"]),
        Some(feed),
    )
}

/// "000102…ff": the two digits of every copy number, in memory that never
/// changes (the pipe holds references to it until the fleet reads them).
static HEX_PAIRS: [u8; 512] = {
    let hex = b"0123456789abcdef";
    let mut t = [0u8; 512];
    let mut i = 0;
    while i < 256 {
        t[2 * i] = hex[i >> 4];
        t[2 * i + 1] = hex[i & 15];
        i += 1;
    }
    t
};

/// Hands every slice to the pipe `w`, in order, with vmsplice(2). The
/// slices must stay unchanged until the reader has read them: they are the
/// read-only mapping of the file and [`HEX_PAIRS`].
fn splice_all(w: &impl std::os::fd::AsRawFd, mut v: &mut [std::io::IoSlice]) {
    while !v.is_empty() {
        let n = v.len().min(1024);
        // SAFETY: IoSlice is ABI-compatible with iovec on Unix; the slices
        // point into memory that outlives the pipe's references (above).
        let got = unsafe { libc::vmsplice(w.as_raw_fd(), v.as_ptr() as *const libc::iovec, n, 0) };
        assert!(got > 0, "vmsplice: {}", std::io::Error::last_os_error());
        std::io::IoSlice::advance_slices(&mut v, got as usize);
    }
}

/// Reads a file through once, so that every run after finds it in the
/// page cache, and waits until a file just written is on disk (a run that
/// shares the machine with the kernel writing gigabytes back is measured
/// slow); returns its size.
fn warm(p: &Path) -> u64 {
    let mut f = std::fs::File::open(p).unwrap();
    f.sync_all().unwrap();
    std::io::copy(&mut f, &mut std::io::sink()).unwrap()
}

fn walk(d: &Path) -> u64 {
    let mut n = 0;
    for e in std::fs::read_dir(d).unwrap() {
        let e = e.unwrap();
        let m = e.metadata().unwrap();
        n += if m.is_dir() { walk(&e.path()) } else { m.len() };
    }
    n
}
