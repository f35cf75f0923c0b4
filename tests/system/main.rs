//! The system tier: tests that boot the collector in QEMU, talk to swtpm,
//! run the oracles and peers (tpm2-tools, UEFIExtract, OpenSSL, Keylime,
//! DuckDB, fwupd, Chromium...) or read the shared fixtures in `../shared`.
//! One binary; built only with the `system-tests` feature, which
//! `cargo xtask test` turns on after the hermetic tier passed.

#[path = "../common/mod.rs"]
mod common;

mod attest_hostile;
mod attest_swtpm;
mod boot_binding;
mod bundle;
mod cel_json;
mod check;
mod check_firmware;
mod cli_collect;
mod cli_esp;
mod cli_eventlog;
mod cli_ingest;
mod collector_aarch64;
mod collector_install;
mod collector_qemu;
mod contrib_systemd;
mod diff_html;
mod diff_scenarios;
mod eventlog_engine;
mod eventlog_hostile;
mod eventlog_oracle;
mod eventlog_windows;
mod firmware_image;
mod firmware_reference;
mod fleet;
mod fleet_sql;
mod hostile_input;
mod keylime_policy;
mod quote;
mod static_binary;
mod timeline;
mod tpm2_yaml;
mod tpm_swtpm;
