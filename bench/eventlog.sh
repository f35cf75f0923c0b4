#!/usr/bin/env bash
# Runs the event-log benchmark (benches/eventlog.rs) twice: against the
# ordinary dynamically linked release binary, and against the statically
# linked one that responders copy onto a host under investigation (no
# dependence on that host's shared libraries, and a faster start).
# The static build has no `tpm` feature: tss-esapi needs the TSS shared
# libraries.
set -euo pipefail
cd "$(dirname "$0")/.."
RUSTFLAGS="-C target-feature=+crt-static" \
    cargo build --release --target x86_64-unknown-linux-gnu --bin bootaudit
echo "== dynamic release binary"
cargo bench --bench eventlog
echo "== static release binary"
BOOTAUDIT_BIN="$PWD/target/x86_64-unknown-linux-gnu/release/bootaudit" cargo bench --bench eventlog
