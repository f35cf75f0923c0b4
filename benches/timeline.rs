//! `cargo bench --bench timeline`: the speed goal of `bootaudit timeline`,
//! measured in one run against `evtx_dump -o jsonl` (the evtx crate's own
//! tool, `cargo install evtx`) on the same files.
//!
//! 1. Each of ../shared/fixtures/oslogs/evtx/*.evtx alone: `bootaudit
//!    timeline FILE --format json` against `evtx_dump -o jsonl FILE`,
//!    alternated, mean wall time each (goal: at least as fast).
//! 2. The folder: `bootaudit timeline DIR` (its files on every core)
//!    against evtx_dump run on each file in turn, as a responder would.
//!
//! `BOOTAUDIT_BIN` measures another build; `EVTX_DIR` another folder.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn run(cmd: &str, args: &[&std::ffi::OsStr]) -> Duration {
    let t = Instant::now();
    let st = Command::new(cmd)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("{cmd}: {e} (evtx_dump: cargo install evtx)"));
    assert!(
        st.code().is_some_and(|c| c <= 1),
        "{cmd} {args:?} failed: {st}"
    );
    t.elapsed()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let bin = std::env::var("BOOTAUDIT_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_bootaudit").to_string());
    let dir = std::env::var("EVTX_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/oslogs/evtx")
        });
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "evtx"))
        .collect();
    files.sort();
    let rounds = 20u32;
    let ours_args = |p: &Path| -> Vec<std::ffi::OsString> {
        vec![
            "timeline".into(),
            p.into(),
            "--format".into(),
            "json".into(),
        ]
    };
    let (mut all_ours, mut all_theirs) = (Duration::ZERO, Duration::ZERO);
    for f in &files {
        let (mut ours, mut theirs) = (Duration::ZERO, Duration::ZERO);
        let a = ours_args(f);
        let a: Vec<&std::ffi::OsStr> = a.iter().map(|s| s.as_os_str()).collect();
        for _ in 0..rounds {
            ours += run(&bin, &a);
            theirs += run(
                "evtx_dump",
                &["-o".as_ref(), "jsonl".as_ref(), f.as_os_str()],
            );
        }
        all_theirs += theirs / rounds;
        let (ours, theirs) = (ours / rounds, theirs / rounds);
        all_ours += ours;
        println!(
            "{:40} bootaudit {:7.1} ms, evtx_dump -o jsonl {:7.1} ms: {:.2}x",
            f.file_name().unwrap().to_string_lossy(),
            ms(ours),
            ms(theirs),
            theirs.as_secs_f64() / ours.as_secs_f64()
        );
    }
    let a = ours_args(&dir);
    let a: Vec<&std::ffi::OsStr> = a.iter().map(|s| s.as_os_str()).collect();
    let mut folder = Duration::ZERO;
    for _ in 0..rounds {
        folder += run(&bin, &a);
    }
    let folder = folder / rounds;
    println!(
        "each file alone: bootaudit {:.1} ms in all, evtx_dump {:.1} ms: {:.2}x (goal: at least 1x)",
        ms(all_ours),
        ms(all_theirs),
        all_theirs.as_secs_f64() / all_ours.as_secs_f64()
    );
    println!(
        "the folder: bootaudit {:.1} ms for {} files on every core, evtx_dump file by file {:.1} ms: {:.2}x",
        ms(folder),
        files.len(),
        ms(all_theirs),
        all_theirs.as_secs_f64() / folder.as_secs_f64()
    );
}
