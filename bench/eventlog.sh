#!/usr/bin/env bash
# Runs the event-log benchmark (benches/eventlog.rs) twice: against the
# ordinary dynamically linked release binary (what `cargo install` and the
# Debian package give), and against the static one that responders copy
# onto a host under investigation (`cargo xtask static --release x86_64`:
# musl, position independent, no dependence on that host's shared
# libraries, and a faster start). The static build has no `tpm` feature:
# it speaks to /dev/tpmrm0 itself.
# The static build needs cargo-zigbuild and the venv's zig (.ci/run
# installs both).
set -euo pipefail
cd "$(dirname "$0")/.."
static=$(cargo xtask static --release x86_64)
echo "== dynamic release binary"
cargo bench --bench eventlog
echo "== static release binary"
BOOTAUDIT_BIN="$static" cargo bench --bench eventlog
