"""Keylime's own measured-boot tools, as the oracle of `bootaudit export
keylime-policy` (tests/system/keylime_policy.rs).

usage: keylime_mb.py LOG OUR_POLICY.json|- MODIFIED_LOG|-

Prints one JSON object: whether Keylime's parser (tpm2_eventlog plus its
enrichment) read LOG, the reference state Keylime's own generator makes
from it, and what Keylime's `example` evaluator says of LOG against our
policy, of LOG against its own, and of MODIFIED_LOG against ours ("" is
acceptance)."""
import argparse
import json
import logging
import sys

logging.disable(logging.CRITICAL)

from keylime.mba.elchecking import example, policies  # noqa: F401 (registers "example")
from keylime.mba.elparsing.tpm2_tools_elparser import parse_binary_bootlog
from keylime.policy import create_mb_policy


def parse(path):
    with open(path, "rb") as f:
        log = f.read()
    try:
        fail, data = parse_binary_bootlog(log)
    except Exception as e:  # Keylime's own parse bugs
        return None, [f"{type(e).__name__}: {e}"]
    if fail or not data:
        return None, [e.context for e in fail.events] if fail else ["no data"]
    return data, None


def evaluate(refstate, data):
    try:
        return policies.evaluate("example", refstate, data)
    except Exception as e:  # Keylime's policy itself raising is a verdict too
        return f"exception: {e}"


def main():
    log, ours_path, modified = sys.argv[1:4]
    out = {}
    data, why = parse(log)
    out["parsed"] = data is not None
    out["parse_error"] = why
    if data is None:
        print(json.dumps(out))
        return
    sb = create_mb_policy.secureboot_enabled(data["events"])
    ns = argparse.Namespace(eventlog_file=log, without_secureboot=not sb, output="/dev/null")
    try:
        theirs = create_mb_policy.create_mb_refstate(ns)
    except Exception as e:
        theirs = None
        out["theirs_error"] = f"{type(e).__name__}: {e}"
    out["theirs"] = theirs
    if ours_path == "-":
        # A log bootaudit refused to export: what Keylime makes of it.
        out["eval_theirs"] = evaluate(theirs, data) if theirs else None
        print(json.dumps(out))
        return
    with open(ours_path) as f:
        ours = json.load(f)
    out["eval_ours"] = evaluate(ours, data)
    out["eval_theirs"] = evaluate(theirs, data) if theirs else None
    if modified != "-":
        mdata, mwhy = parse(modified)
        out["eval_modified"] = evaluate(ours, mdata) if mdata else f"unparsed: {mwhy}"
    print(json.dumps(out))


main()
