//! The hermetic tier: integration tests that need only this repository and
//! a Rust toolchain (no QEMU, swtpm, Chromium, Python venv or `../shared`).
//! One binary, so that an edit costs one link (`cargo test` runs it; see
//! tests/README.md for the tiers).

#[path = "../common/mod.rs"]
mod common;

mod boot_quote_hostile;
mod bundle;
mod check;
mod check_live;
mod cli_baseline;
mod cli_collector;
mod cli_output;
mod cli_show;
mod diff_rules;
mod docs;
mod eventlog_decode;
mod eventlog_hostile;
mod fleet;
mod hostile_input;
mod layout;
mod rules_registry;
mod siem_jsonl;
mod tcglog;
mod timeline;
