//! Thousands of mutated fixture logs through the whole pipeline (parse,
//! decode, replay, digest checks, report, JSON): no panic, and no allocation
//! beyond a fixed multiple of the input's size. The allocator below counts
//! every byte; this file holds a single test so nothing else allocates
//! while it measures.

use crate::common;

use bootaudit::eventlog::{check, parse, replay};
use bootaudit::logreport as report;

fn mutate(rng: &mut common::Rng, src: &[u8]) -> Vec<u8> {
    let mut v = src.to_vec();
    let rounds = 1 + rng.next() % 4;
    for _ in 0..rounds {
        if v.is_empty() {
            break;
        }
        let at = (rng.next() as usize) % v.len();
        match rng.next() % 7 {
            0 => v[at] ^= 1 << (rng.next() % 8),
            1 => v[at] = [0, 0xff, 0x7f, 0x80, 1][(rng.next() % 5) as usize],
            2 => {
                let at = at & !3;
                if at + 4 <= v.len() {
                    let len = v.len() as u32;
                    let x = [0, u32::MAX, len, len + 1, 0x7fff_ffff, 1_953_066_081]
                        [(rng.next() % 6) as usize];
                    v[at..at + 4].copy_from_slice(&x.to_le_bytes());
                }
            }
            3 => v.truncate(at),
            4 => {
                let n = (rng.next() as usize % 64).min(v.len() - at);
                let chunk = v[at..at + n].to_vec();
                v.splice(at..at, chunk);
            }
            5 => {
                let n = (rng.next() as usize % 64).min(v.len() - at);
                v.drain(at..at + n);
            }
            _ => {
                let at = at & !1;
                if at + 2 <= v.len() {
                    let x = [0u16, 0xffff, 4, 0x0b, 0x0c, 0x0d, 0x12][(rng.next() % 7) as usize];
                    v[at..at + 2].copy_from_slice(&x.to_le_bytes());
                }
            }
        }
    }
    v
}

fn run(input: &[u8]) -> (bool, usize) {
    let base = common::counting::start();
    let ok = match parse(input) {
        Ok(log) => {
            let r = replay::replay(&log);
            let c = check::check(&log);
            let rep = report::build("mutant", &log, &[], Some(("self".into(), &r.banks)));
            let json = serde_json::to_string(&rep).expect("report serializes");
            assert!(json.len() < 64 * input.len() + 65536);
            // tpm2-yaml: bounded, and no raw control character.
            let y = bootaudit::eventlog::tpm2_yaml::render(
                &log,
                bootaudit::eventlog::tpm2_yaml::Version::V2,
            );
            assert!(y.len() < 64 * input.len() + 65536);
            assert!(!y.chars().any(|ch| ch.is_control() && ch != '\n'));
            drop((c, rep, json, y));
            true
        }
        Err(e) => {
            assert!(
                e.offset <= input.len(),
                "offset {} beyond {}",
                e.offset,
                input.len()
            );
            let _ = e.to_string();
            false
        }
    };
    (ok, common::counting::peak_since(base))
}

#[test]
fn thousands_of_mutated_logs_never_panic_nor_over_allocate() {
    let _serial = common::counting::serial();
    let mut rng = common::Rng(0x5eed_b007_a0d1_7000);
    let logs: Vec<Vec<u8>> = common::all_logs()
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    let (mut parsed, mut rejected, mut total) = (0, 0, 0);
    for src in &logs {
        // The 256 KiB CCEL log area is mostly fill: fewer of its mutants.
        let rounds = if src.len() > 100_000 { 60 } else { 300 };
        for _ in 0..rounds {
            let m = mutate(&mut rng, src);
            let (ok, peak) = run(&m);
            // The report holds each event decoded plus its hex for JSON:
            // bounded by a fixed multiple of the input.
            let bound = 48 * m.len() + (256 << 10);
            assert!(
                peak <= bound,
                "peak {peak} bytes for a {}-byte input",
                m.len()
            );
            if ok {
                parsed += 1
            } else {
                rejected += 1
            }
            total += 1;
        }
    }
    assert!(total >= 5000, "{total}");
    // Both paths must be exercised for the test to mean anything.
    assert!(
        parsed > 500 && rejected > 500,
        "parsed {parsed}, rejected {rejected}"
    );
}
