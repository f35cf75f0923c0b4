//! `cargo bench --bench firmware`: the speed goal of `bootaudit firmware`,
//! measured in one run against UEFIExtract (Debian's uefitool-cli) on the
//! same file.
//!
//! 1. Whole process: `bootaudit firmware OVMF_CODE_4M.fd --format json`
//!    against `UEFIExtract OVMF_CODE_4M.fd report`, alternated, mean wall
//!    time each (goal: bootaudit at least twice as fast).
//! 2. The floor: the LZMA decompression of FVMAIN_COMPACT alone, in
//!    process, and what share of bootaudit's whole run it is.
//!
//! `BOOTAUDIT_BIN` measures another build of the binary; `FIRMWARE_IMAGE`
//! another image.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let bin = std::env::var("BOOTAUDIT_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_bootaudit").to_string());
    let image = std::env::var("FIRMWARE_IMAGE")
        .unwrap_or_else(|_| "/usr/share/OVMF/OVMF_CODE_4M.fd".to_string());
    let work = tempfile::tempdir().unwrap();
    // UEFIExtract writes its report beside the image: it reads a copy.
    let copy = work.path().join("image.fd");
    std::fs::copy(&image, &copy).unwrap_or_else(|e| panic!("{image}: {e}"));
    let run = |cmd: &str, args: &[&std::ffi::OsStr]| {
        let t = Instant::now();
        let st = Command::new(cmd)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap_or_else(|e| panic!("{cmd}: {e}"));
        assert!(st.code().is_some_and(|c| c <= 1), "{cmd} failed: {st}");
        t.elapsed()
    };
    let (mut ours, mut theirs) = (Duration::ZERO, Duration::ZERO);
    let rounds = 10u32;
    for _ in 0..rounds {
        ours += run(
            &bin,
            &[
                "firmware".as_ref(),
                copy.as_os_str(),
                "--format".as_ref(),
                "json".as_ref(),
            ],
        );
        let _ = std::fs::remove_file(work.path().join("image.fd.report.txt"));
        theirs += run("UEFIExtract", &[copy.as_os_str(), "report".as_ref()]);
    }
    let (ours, theirs) = (ours / rounds, theirs / rounds);
    let ratio = theirs.as_secs_f64() / ours.as_secs_f64();
    println!(
        "firmware {}: bootaudit {:.1} ms, UEFIExtract report {:.1} ms: {ratio:.2}x faster (goal 2x: {})",
        Path::new(&image).display(),
        ms(ours),
        ms(theirs),
        if ratio >= 2.0 { "meets goal" } else { "BELOW GOAL" }
    );
    // The floor: FVMAIN_COMPACT's LZMA section, decompressed alone.
    let bytes = std::fs::read(&copy).unwrap();
    let inv = bootaudit::firmware::read(&bytes).unwrap();
    let Some(f) = inv
        .files
        .iter()
        .find(|f| f.file_type == 0x0b && f.offset.is_some())
    else {
        println!("no volume-image file at the top level: no LZMA floor to print");
        return;
    };
    let at = f.offset.unwrap() as usize + 24;
    let sec = &bytes[at..at + f.size as usize - 24];
    let data_off = u16::from_le_bytes([sec[20], sec[21]]) as usize;
    let t = Instant::now();
    let n = 5u32;
    for _ in 0..n {
        let mut b = bootaudit::firmware::decompress::Budget::for_input(bytes.len());
        let out = bootaudit::firmware::decompress::lzma(&sec[data_off..], &mut b, 0).unwrap();
        std::hint::black_box(out);
    }
    let lz = t.elapsed() / n;
    println!(
        "LZMA decompression alone ({} bytes out): {:.1} ms, {:.0}% of bootaudit's whole run",
        inv.decompressed,
        ms(lz),
        100.0 * lz.as_secs_f64() / ours.as_secs_f64()
    );
}
