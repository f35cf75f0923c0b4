#!/usr/bin/env bash
# Full-size figures for the hostile inputs of tests/bounds/memory_bounds.rs (which
# checks small variants in the normal suite): peak RSS as a multiple of the
# input, and time, for each shape that costs the most per byte. The bound
# is peak <= 8 x input + 64 MiB, time linear in the input (compare the two
# sizes of each shape: the time ratio should be about the size ratio).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin bootaudit
B="$PWD/target/release/bootaudit"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

python3 - "$T" <<'PY'
import hashlib, json, os, struct, sys
t = sys.argv[1]
def header():
    d = b"Spec ID Event03\0" + struct.pack("<I", 0) + bytes([0, 2, 0, 2])
    d += struct.pack("<I", 2) + bytes([4, 0, 20, 0, 0x0B, 0, 32, 0]) + b"\0"
    return struct.pack("<II", 0, 3) + bytes(20) + struct.pack("<I", len(d)) + d
bare = struct.pack("<IIII", 7, 0x80000007, 0, 0)
sep = struct.pack("<IIIH", 0, 4, 2, 4) + b"\1" * 20 + struct.pack("<H", 0x0B) + b"\1" * 32 + struct.pack("<I", 0)
for mib in (16, 63):
    n = (mib << 20) // 16 - 20
    open(f"{t}/minimal-{mib}.bin", "wb").write(header() + bare * n)
    n = (mib << 20) // len(sep) - 2
    open(f"{t}/wrong-{mib}.bin", "wb").write(header() + sep * n)
pre = '{"format":"bootaudit-snapshot/1","source":{"kind":"x","version":"1"},"errors":['
rec = '{"part":"a","what":"b"}'
open(f"{t}/tiny-under-cap.json", "w").write(pre + ",".join([rec] * 330000) + "]}")
open(f"{t}/tiny-200mb.json", "w").write(pre + ",".join([rec] * (200_000_000 // 24)) + "]}")
def snap(n, shift):
    d = ",".join('{"type":6,"physical_start":%d,"virtual_start":0,"pages":1,"attributes":0}' % ((i * 2 + shift) * 4096) for i in range(n))
    return ('{"format":"bootaudit-snapshot/1","source":{"kind":"efi-collector","version":"1"},'
            '"memory_maps":[{"label":"entry","map_key":1,"descriptor_size":48,"descriptor_version":1,"descriptors":[' + d + ']}]}')
for n in (50000, 150000):
    open(f"{t}/regions-{n}-a.json", "w").write(snap(n, 0))
    open(f"{t}/regions-{n}-b.json", "w").write(snap(n, 1))
with open(f"{t}/one-line.jsonl", "wb") as f:
    chunk = b"x" * (64 << 20)
    for _ in range(16):
        f.write(chunk)
PY

measure() { # name input-bytes command...
    local name=$1 size=$2
    shift 2
    /usr/bin/time -o "$T/time" -f "%M %e" "$@" >/dev/null 2>/dev/null || true
    local out kib secs
    out=$(tail -1 "$T/time")
    kib=${out% *} secs=${out#* }
    awk -v n="$name" -v s="$size" -v k="$kib" -v e="$secs" 'BEGIN {
        printf "%-44s %8.1f MiB in  %8.1f MiB peak  %5.2fx  %6.2f s\n", n, s/1048576, k/1024, k*1024/s, e }'
}
sz() { stat -c %s "$@" | awk '{s+=$1} END {print s}'; }

echo "== event logs (eventlog, table and JSON)"
for mib in 16 63; do
    for shape in minimal wrong; do
        f="$T/$shape-$mib.bin"
        measure "eventlog $shape-$mib (table)" "$(sz "$f")" "$B" eventlog "$f"
        measure "eventlog $shape-$mib (json)" "$(sz "$f")" "$B" eventlog --format json "$f"
    done
done
echo "== snapshots of tiny values (show)"
measure "show, under the value cap" "$(sz "$T/tiny-under-cap.json")" "$B" show "$T/tiny-under-cap.json"
measure "show, 200 MB (refused at the value cap)" "$(sz "$T/tiny-200mb.json")" "$B" show "$T/tiny-200mb.json"
echo "== moved regions (diff)"
for n in 50000 150000; do
    a="$T/regions-$n-a.json" b="$T/regions-$n-b.json"
    measure "diff, $n moved regions" "$(sz "$a" "$b")" "$B" diff --format json "$a" "$b"
done
echo "== a JSON-lines file that is one 1 GiB line (fleet)"
measure "fleet one-line.jsonl" "$(sz "$T/one-line.jsonl")" "$B" fleet --format json "$T/one-line.jsonl"
