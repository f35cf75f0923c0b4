//! `cargo bench --bench diff`: the speed goals of `bootaudit diff`, on the
//! two real snapshots of fixtures/implant (a baseline of two plain OVMF
//! boots, and a boot with the test implant in an option ROM).
//!
//! 1. Whole process: `bootaudit diff --format json BASELINE NOW`, mean wall
//!    time over repeated runs (goal: under 50 ms).
//! 2. In-process: the diff itself (`bootaudit::diff::diff` on snapshots
//!    already read), mean over repeated runs (goal: under 5 ms); reading and
//!    validating both files in-process is printed beside it.
//!
//! `BOOTAUDIT_BIN` measures another build of the binary.

use std::hint::black_box;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Mean time of `f`, run repeatedly for about `budget` (at least 10 times).
fn mean(budget: Duration, mut f: impl FnMut()) -> Duration {
    let t0 = Instant::now();
    let mut n = 0u32;
    while t0.elapsed() < budget || n < 10 {
        f();
        n += 1;
    }
    t0.elapsed() / n
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "meets goal"
    } else {
        "BELOW GOAL"
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let bin = std::env::var("BOOTAUDIT_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_bootaudit").to_string());
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/implant");
    let (base, now) = (dir.join("baseline.json"), dir.join("implant.json"));
    let budget = Duration::from_secs(3);

    let process = mean(budget, || {
        let st = Command::new(&bin)
            .args(["diff", "--format", "json"])
            .arg(&base)
            .arg(&now)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("spawn bootaudit");
        assert_eq!(st.code(), Some(1), "the fixture has findings");
    });

    let read = || {
        let b = bootaudit::baseline::load(&base, None).unwrap();
        let s = bootaudit::snapshot::read_file(&now).unwrap();
        (b, s)
    };
    let (b, s) = read();
    let parse = mean(budget, || {
        black_box(read());
    });
    let diff = mean(budget, || {
        black_box(bootaudit::baseline::diff_against(&b, "now", &s));
    });
    println!("bootaudit diff on fixtures/implant (baseline of 2 boots vs. the implant boot):");
    println!(
        "  whole process, --format json : {:7.2} ms  (goal < 50 ms: {})",
        ms(process),
        verdict(process < Duration::from_millis(50))
    );
    println!(
        "  in-process diff              : {:7.3} ms  (goal < 5 ms: {})",
        ms(diff),
        verdict(diff < Duration::from_millis(5))
    );
    println!(
        "  in-process read + validate   : {:7.3} ms  (both files)",
        ms(parse)
    );
}
