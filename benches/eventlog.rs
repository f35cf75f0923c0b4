//! `cargo bench --bench eventlog`: the event-log engine's speed goals, as
//! ratios measured in one run on this machine.
//!
//! 1. Whole process against whole process: `bootaudit eventlog --format json`
//!    against `tpm2_eventlog` on the same log (goal: at least 5x faster).
//! 2. In-process parse + replay + digest checks against the machine's own
//!    hash throughput (`openssl speed -evp ALG`, 8 KiB blocks), since hashing
//!    is the work that cannot be avoided (goal: at least 0.5). Two ratios are
//!    printed: log bytes per second over SHA-256 bytes per second (the plain
//!    reading, which a log of many small events cannot reach: replaying one
//!    event hashes more bytes than the event holds), and the hashing share,
//!    the time openssl would need for exactly the hashing that replay and
//!    checks must do (every compression block, padding included, in every
//!    bank the log carries) over the time bootaudit takes for all of it.
//!
//! `BOOTAUDIT_BIN` measures another build of the binary, e.g. the static one
//! `bench/eventlog.sh` builds for hosts under investigation.

use bootaudit::eventlog::check::DigestStatus;
use bootaudit::eventlog::{check, parse, replay, EventLog, EventType, HashAlg};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn logs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut v = vec![root.join("fixtures/ovmf-swtpm/binary_bios_measurements")];
    let shared = root.join("../shared/fixtures/eventlogs");
    for f in [
        "tpm2-tools/event-gce-ubuntu-2104-log.bin",
        "go-attestation/ubuntu_2104_shielded_vm_no_secure_boot_eventlog",
    ] {
        if shared.join(f).is_file() {
            v.push(shared.join(f));
        }
    }
    v
}

/// Mean wall time of each command, run in turn (one, the other, one, ...)
/// for about `budget`: both see the same moments of a machine whose speed
/// drifts, so their ratio is fair even when their absolute times are not.
fn time_processes(makers: &mut [&mut dyn FnMut() -> Command], budget: Duration) -> Vec<Duration> {
    let mut total = vec![Duration::ZERO; makers.len()];
    let t0 = Instant::now();
    let mut n = 0u32;
    while t0.elapsed() < budget || n < 10 {
        for (make, sum) in makers.iter_mut().zip(&mut total) {
            let t = Instant::now();
            let st = make()
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("spawn");
            *sum += t.elapsed();
            assert!(st.code().is_some());
        }
        n += 1;
    }
    total.into_iter().map(|t| t / n).collect()
}

/// Bytes per second of parse + replay + check on `bytes`.
fn in_process(bytes: &[u8]) -> f64 {
    let t0 = Instant::now();
    let mut n = 0u64;
    while t0.elapsed() < Duration::from_secs(2) {
        let log = parse(bytes).expect("fixture parses");
        let r = replay::replay(&log);
        let c = check::check(&log);
        std::hint::black_box((r, c));
        n += 1;
    }
    (n as f64 * bytes.len() as f64) / t0.elapsed().as_secs_f64()
}

/// Throughput of `alg` from `openssl speed`, in bytes per second.
fn openssl_speed(alg: &str) -> Option<f64> {
    let out = Command::new("openssl")
        .args(["speed", "-evp", alg, "-bytes", "8192", "-seconds", "1"])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    // Last line: "sha256  123456.78k" (thousands of bytes per second).
    let line = text
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with(alg))?;
    let v = line.split_whitespace().last()?.trim_end_matches('k');
    Some(v.parse::<f64>().ok()? * 1000.0)
}

/// Bytes the hash functions must process, per bank, counted in whole
/// compression blocks (padding and length included).
fn hash_work(log: &EventLog) -> BTreeMap<HashAlg, u64> {
    let padded = |alg: HashAlg, len: usize| -> u64 {
        let (block, lenfield) = match alg {
            HashAlg::Sha384 | HashAlg::Sha512 => (128, 16),
            _ => (64, 8),
        };
        (len + 1 + lenfield).div_ceil(block) as u64 * block as u64
    };
    let status = check::check(log).status;
    let mut work = BTreeMap::new();
    for (e, st) in log.events.iter().zip(status) {
        for d in &e.digests {
            let Some(size) = d.algorithm.size() else {
                continue;
            };
            let w = work.entry(d.algorithm).or_insert(0);
            if e.event_type != EventType::NO_ACTION && e.pcr < 24 {
                *w += padded(d.algorithm, 2 * size);
            }
            if st != DigestStatus::NotCheckable {
                *w += padded(d.algorithm, e.data.len());
            }
        }
    }
    work
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "meets goal"
    } else {
        "BELOW GOAL"
    }
}

fn main() {
    let bin = std::env::var("BOOTAUDIT_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_bootaudit").to_string());
    let mut speeds = BTreeMap::new();
    for alg in [
        HashAlg::Sha1,
        HashAlg::Sha256,
        HashAlg::Sha384,
        HashAlg::Sha512,
    ] {
        if let Some(s) = openssl_speed(&alg.name()) {
            speeds.insert(alg, s);
        }
    }
    let have_oracle = Command::new("tpm2_eventlog")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    let sha = speeds.get(&HashAlg::Sha256).copied();
    println!("bootaudit event-log benchmark ({bin})");
    for (alg, s) in &speeds {
        println!(
            "  openssl speed -evp {alg} (8 KiB blocks): {:.0} MB/s",
            s / 1e6
        );
    }
    if sha.is_none() {
        println!("  openssl not available: in-process ratios not computed");
    }
    for f in logs() {
        let bytes = std::fs::read(&f).expect("read log");
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        println!("\n{name} ({} bytes)", bytes.len());
        let mut ours_cmd = || {
            let mut c = Command::new(&bin);
            c.args(["eventlog", "--format", "json"]).arg(&f);
            c
        };
        let mut theirs_cmd = || {
            let mut c = Command::new("tpm2_eventlog");
            c.arg(&f);
            c
        };
        let budget = Duration::from_secs(4);
        let times = if have_oracle {
            time_processes(&mut [&mut ours_cmd, &mut theirs_cmd], budget)
        } else {
            time_processes(&mut [&mut ours_cmd], budget)
        };
        let ours = times[0];
        println!(
            "  bootaudit eventlog --format json: {:>8.2} ms per run",
            ours.as_secs_f64() * 1e3
        );
        if let Some(theirs) = times.get(1) {
            let ratio = theirs.as_secs_f64() / ours.as_secs_f64();
            println!(
                "  tpm2_eventlog (runs alternated):  {:>8.2} ms per run",
                theirs.as_secs_f64() * 1e3
            );
            println!(
                "  ratio tpm2_eventlog / bootaudit:  {ratio:>8.2}x   (goal >= 5x: {})",
                verdict(ratio >= 5.0)
            );
        } else {
            println!("  tpm2_eventlog not installed: process ratio not computed");
        }
        let bps = in_process(&bytes);
        println!(
            "  in-process parse+replay+check:    {:>8.0} MB/s of log",
            bps / 1e6
        );
        if let Some(s) = sha {
            println!("  log bytes/s over SHA-256 bytes/s: {:>8.2}", bps / s);
            let log = parse(&bytes).expect("fixture parses");
            let work = hash_work(&log);
            if work.keys().all(|a| speeds.contains_key(a)) {
                let floor: f64 = work.iter().map(|(a, w)| *w as f64 / speeds[a]).sum();
                let ours = bytes.len() as f64 / bps;
                let share = floor / ours;
                let banks: Vec<String> = work.iter().map(|(a, w)| format!("{a} {w} B")).collect();
                println!("  unavoidable hashing:              {}", banks.join(", "));
                println!(
                    "  hashing share (openssl time / ours): {share:>5.2}    (goal >= 0.5: {})",
                    verdict(share >= 0.5)
                );
            }
        }
    }
}
