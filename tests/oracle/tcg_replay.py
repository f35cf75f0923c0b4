#!/usr/bin/env python3
"""An independent replay of a TCG event log, for the logs tpm2_eventlog
cannot judge (Windows logs, CC event logs, StartupLocality 3).

Written from the TCG PC Client Platform Firmware Profile (TCG_PCR_EVENT,
TCG_PCR_EVENT2, TCG_EfiSpecIDEvent, StartupLocality) and UEFI 2.10 §38.4
(the CC event log, whose index is an MR index and whose registers start at
zero), with Python's hashlib; it shares no code with bootaudit.

    tcg_replay.py LOG  ->  {"kind": "tpm"|"ccel", "banks": {"sha256": {"0": "hex"}}}

A LOG that is JSON is read as the TCG Canonical Event Log (CEL 1.0, its
JSON encoding: an array of records, or {"records": [...]}, each with "pcr",
"digests" [{"hashAlg", "digest"}] and, for pcclient_std content,
"content": {"event_type": name or number, "event_data": hex}).
"""
import hashlib
import json
import struct
import sys

ALGS = {0x0004: "sha1", 0x000B: "sha256", 0x000C: "sha384", 0x000D: "sha512", 0x0012: "sm3_256"}
EV_NO_ACTION = 3


NAMES = {"sha1": 0x0004, "sha256": 0x000B, "sha384": 0x000C, "sha512": 0x000D, "sm3_256": 0x0012}


def cel(doc):
    """The extends of a CEL-JSON document, and its StartupLocality."""
    records = doc["records"] if isinstance(doc, dict) else doc
    locality = 0
    extends = []
    for r in records:
        content = r.get("content", {})
        typ = content.get("event_type")
        data = bytes.fromhex(content.get("event_data", ""))
        if typ in (EV_NO_ACTION, "EV_NO_ACTION", str(EV_NO_ACTION)):
            if r["pcr"] == 0 and data[:16] == b"StartupLocality\0" and len(data) == 17:
                locality = data[16]
            continue
        digests = {NAMES[d["hashAlg"]]: bytes.fromhex(d["digest"]) for d in r["digests"]}
        extends.append((r["pcr"], digests))
    return locality, extends


def main(path):
    b = open(path, "rb").read()
    if b.lstrip()[:1] in (b"[", b"{"):
        locality, extends = cel(json.loads(b))
        kind = "tpm"
        return out(kind, locality, extends)
    # The first record is a TCG_PCR_EVENT (SHA-1 layout) in both formats.
    pcr0, typ0 = struct.unpack_from("<II", b, 0)
    size0, = struct.unpack_from("<I", b, 28)
    data0 = b[32:32 + size0]
    agile = typ0 == EV_NO_ACTION and data0.startswith(b"Spec ID Event03\0")
    kind = "ccel" if agile and pcr0 != 0 else "tpm"
    sizes = {}
    p = 0
    if agile:
        n, = struct.unpack_from("<I", data0, 24)
        for i in range(n):
            alg, sz = struct.unpack_from("<HH", b, 32 + 28 + 4 * i)
            sizes[alg] = sz
        # vendorInfoSize and vendorInfo end the structure; a log may give an
        # EventSize that leaves them out (tpm2-tools' specid-vendordata).
        vis = b[32 + 28 + 4 * n]
        p = 32 + max(size0, 28 + 4 * n + 1 + vis)
    locality = 0
    extends = []  # (index, {alg: digest})
    while p < len(b):
        rest = b[p:]
        if rest.count(0) == len(rest) or rest.count(0xFF) == len(rest):
            break
        idx, typ = struct.unpack_from("<II", b, p)
        if agile:
            cnt, = struct.unpack_from("<I", b, p + 8)
            q = p + 12
            digests = {}
            for _ in range(cnt):
                alg, = struct.unpack_from("<H", b, q)
                digests[alg] = b[q + 2:q + 2 + sizes[alg]]
                q += 2 + sizes[alg]
        else:
            digests = {0x0004: b[p + 8:p + 28]}
            q = p + 28
        sz, = struct.unpack_from("<I", b, q)
        data = b[q + 4:q + 4 + sz]
        p = q + 4 + sz
        if typ == EV_NO_ACTION:
            if kind == "tpm" and idx == 0 and data[:16] == b"StartupLocality\0" and len(data) == 17:
                locality = data[16]
            continue
        extends.append((idx, digests))
    return out(kind, locality, extends)


def out(kind, locality, extends):
    banks = {}
    for idx, digests in extends:
        for alg, d in digests.items():
            name = ALGS.get(alg)
            if name is None or name == "sm3_256":
                continue
            h = hashlib.new(name)
            bank = banks.setdefault(name, {})
            if idx not in bank:
                start = bytearray(h.digest_size)
                if kind == "tpm" and idx == 0:
                    start[-1] = locality
                if kind == "tpm" and 17 <= idx <= 22:
                    start = bytearray(b"\xff" * h.digest_size)
                bank[idx] = bytes(start)
            bank[idx] = hashlib.new(name, bank[idx] + d).digest()
    doc = {"kind": kind, "locality": locality,
           "banks": {n: {str(i): v.hex() for i, v in sorted(b.items())} for n, b in banks.items()}}
    json.dump(doc, sys.stdout, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1])
