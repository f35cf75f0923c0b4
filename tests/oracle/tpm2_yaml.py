"""The oracle side of tests/system/tpm2_yaml.rs.

    tpm2_yaml.py compare MANIFEST.json
        MANIFEST: [[theirs.yaml, ours.yaml], ...]. For each pair: whether
        theirs is UTF-8 YAML, whether ours is, and the top-level keys and
        events where the two parsed documents differ ("pcrs" apart).
    tpm2_yaml.py keylime DIR LOG...
        Keylime's own parser (parse_binary_bootlog, which runs
        `tpm2_eventlog --eventlog-version=2`) on each LOG, with the PATH as
        given; DIR is only a label. Prints {LOG: true|error}.
"""
import json
import logging
import sys

import yaml


def load(path):
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8")
        return yaml.safe_load(text), None
    except Exception as e:
        return None, f"{type(e).__name__}: {e}"


def compare(manifest):
    with open(manifest) as f:
        pairs = json.load(f)
    out = []
    for theirs, ours in pairs:
        t, terr = load(theirs)
        o, oerr = load(ours)
        r = {"theirs_error": terr, "ours_error": oerr, "differs": []}
        if t is not None and o is not None:
            for k in sorted(set(t) | set(o)):
                if k == "events" and isinstance(t.get(k), list) and isinstance(o.get(k), list):
                    if len(t[k]) != len(o[k]):
                        r["differs"].append(f"events: {len(t[k])} against {len(o[k])}")
                    for a, b in zip(t[k], o[k]):
                        if a != b:
                            r["differs"].append(f"event {a.get('EventNum')}")
                elif t.get(k) != o.get(k):
                    r["differs"].append(k)
        if o is not None:
            r["ours_shape"] = sorted(o) if isinstance(o, dict) else type(o).__name__
            r["ours_pcrs"] = {
                bank: {str(i): f"{v:x}" if isinstance(v, int) else str(v) for i, v in pcrs.items()}
                for bank, pcrs in (o.get("pcrs") or {}).items()
            }
        out.append(r)
    json.dump(out, sys.stdout)


def keylime(logs):
    logging.disable(logging.CRITICAL)
    from keylime.mba.elparsing.tpm2_tools_elparser import parse_binary_bootlog

    out = {}
    for path in logs:
        with open(path, "rb") as f:
            log = f.read()
        try:
            fail, data = parse_binary_bootlog(log)
            ok = bool(data) and not fail.events if fail else bool(data)
            out[path] = True if ok else ", ".join(e.context for e in fail.events) if fail else "no data"
        except Exception as e:  # Keylime's own parse bugs
            out[path] = f"{type(e).__name__}: {e}"
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    if sys.argv[1] == "compare":
        compare(sys.argv[2])
    else:
        keylime(sys.argv[3:])
