//! `cargo xtask test`: every test, in two tiers (uefi-rs runs its host tests
//! and its QEMU tests as separate steps the same way).
//!
//! 1. The hermetic tier: the unit tests, the doc examples and
//!    `tests/hermetic`, which need only a Rust toolchain. Plain `cargo test`
//!    runs the same tests.
//! 2. The system tier: `tests/system` and `tests/bounds` (QEMU boots,
//!    swtpm, the oracles and peers, `../shared`), built only with the
//!    `system-tests` feature.
//!
//! Both tiers are built with the same features (`tpm,system-tests`), so the
//! library is compiled once. Arguments other than the tier flags go to every
//! `cargo test` as they are (`--no-fail-fast`, `-- FILTER`).

use crate::util::{root, Result};
use std::process::Command;

/// `cargo xtask test --help`.
pub const USAGE: &str = "\
usage: cargo xtask test [--hermetic | --system] [CARGO-TEST-ARGS...] [-- TEST-ARGS...]
  --hermetic   only the hermetic tier (unit tests, doc examples, tests/hermetic)
  --system     only the system tier (tests/system, tests/bounds)
Without either, the hermetic tier and then the system tier; with
--no-fail-fast the system tier runs even when the hermetic one failed.";

const FEATURES: &str = "tpm,system-tests";

/// The `cargo test` target selections of each tier.
const HERMETIC: &[&[&str]] = &[
    &[
        "--workspace",
        "--lib",
        "--bins",
        "--examples",
        "--test",
        "hermetic",
    ],
    &["--workspace", "--doc"],
];
const SYSTEM: &[&[&str]] = &[&["--test", "system", "--test", "bounds"]];

/// Runs the chosen tiers; fails naming the first tier that failed.
pub fn test(args: &[String]) -> Result<()> {
    let (mut hermetic, mut system) = (true, true);
    let mut pass: Vec<&str> = Vec::new();
    let mut after_dashes = false;
    for a in args {
        match a.as_str() {
            "--" => {
                after_dashes = true;
                pass.push("--");
            }
            "--hermetic" if !after_dashes => system = false,
            "--system" if !after_dashes => hermetic = false,
            other => pass.push(other),
        }
    }
    if !hermetic && !system {
        return Err("--hermetic and --system exclude each other".into());
    }
    let keep_going = pass
        .iter()
        .take_while(|a| **a != "--")
        .any(|a| *a == "--no-fail-fast");
    let mut failed = Vec::new();
    for (on, name, runs) in [(hermetic, "hermetic", HERMETIC), (system, "system", SYSTEM)] {
        if !on || (!failed.is_empty() && !keep_going) {
            continue;
        }
        eprintln!("xtask test: the {name} tier");
        for targets in runs {
            if let Err(e) = cargo_test(targets, &pass) {
                eprintln!("xtask test: {e}");
                failed.push(name);
                if !keep_going {
                    break;
                }
            }
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        failed.dedup();
        Err(format!("the {} tier failed", failed.join(" and the ")))
    }
}

/// One `cargo test` with the tier's targets, its output shown as it runs.
fn cargo_test(targets: &[&str], pass: &[&str]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // Arguments after `--` go to the test binaries; before it, to cargo.
    let split = pass.iter().position(|a| *a == "--").unwrap_or(pass.len());
    let (to_cargo, to_tests) = pass.split_at(split);
    let status = Command::new(&cargo)
        .current_dir(root())
        .args(["test", "--features", FEATURES])
        .args(targets)
        .args(to_cargo)
        .args(to_tests)
        .status()
        .map_err(|e| format!("{cargo} could not run: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "cargo test {} failed ({status})",
            targets.join(" ")
        ))
    }
}
