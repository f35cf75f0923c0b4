//! `bootaudit timeline` on real evidence: the Windows event logs in
//! ../shared/fixtures/oslogs (checked against python-evtx, another reader
//! of the same files), journals written by systemd's own tools, a fwupd
//! history made by fwupd's own test plugin, and boots of the collector
//! placed in time with QEMU's clock, one of them under a DEBUG OVMF whose
//! boot log is checked against its snapshot.

use crate::common;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn oslogs() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/oslogs");
    assert!(
        p.join("INDEX.md").is_file(),
        "the shared OS-log fixtures are missing: expected {} (../shared beside the project's root)",
        p.display()
    );
    p
}

fn evtx(name: &str) -> PathBuf {
    oslogs().join("evtx").join(name)
}

fn loldrivers() -> PathBuf {
    oslogs().join("loldrivers/drivers.csv")
}

/// Runs `bootaudit timeline ARGS --format json`, which must exit with
/// `code`: the report.
#[track_caller]
fn timeline(args: &[&std::ffi::OsStr], code: i32) -> Value {
    common::run_command(
        common::bootaudit()
            .arg("timeline")
            .args(args)
            .args(["--format", "json"]),
    )
    .exits(code)
    .json()
}

fn os(s: &Path) -> &std::ffi::OsStr {
    s.as_os_str()
}

/// Every record of an EVTX file as python-evtx reads it: event id,
/// provider, time, record id, the System's UserID and EventData by name.
fn python_evtx(file: &Path) -> Vec<Value> {
    let script = r#"
import sys, json, struct
import Evtx.Evtx as evtx
import xml.etree.ElementTree as ET
ns = {'e': 'http://schemas.microsoft.com/win/2004/08/events/event'}
out = []
def records(buf):
    # python-evtx parses each record; the walk finds them: every chunk
    # with its magic (not only as many as the file header declares), and
    # past a record whose size is damaged to the next record magic whose
    # size and trailing size copy agree.
    for i in range((len(buf) - 4096) // 65536):
        off = 4096 + i * 65536
        if buf[off:off + 8] != b'ElfChnk\x00':
            continue
        ch = evtx.ChunkHeader(buf, off)
        ro, end = off + 0x200, off + ch.next_record_offset()
        while ro + 24 <= end:
            magic, size = struct.unpack_from('<II', buf, ro)
            if magic != 0x2a2a or size < 24 or ro + size > end or struct.unpack_from('<I', buf, ro + size - 4)[0] != size:
                nxt = buf.find(b'\x2a\x2a\x00\x00', ro + 4, end)
                if nxt < 0:
                    break
                ro = nxt
                continue
            try:
                yield ET.fromstring(evtx.Record(buf, ro, ch).xml())
            except Exception:
                pass
            ro += size
buf = open(sys.argv[1], 'rb').read()
for root in records(buf):
    sysn = root.find('e:System', ns)
    data = {}
    ed = root.find('e:EventData', ns)
    if ed is not None:
        for d in ed.findall('e:Data', ns):
            if d.get('Name'):
                data[d.get('Name')] = d.text or ''
    sec = sysn.find('e:Security', ns)
    out.append({
        'id': int(sysn.find('e:EventID', ns).text),
        'provider': sysn.find('e:Provider', ns).get('Name'),
        'time': sysn.find('e:TimeCreated', ns).get('SystemTime'),
        'record': int(sysn.find('e:EventRecordID', ns).text),
        'sid': sec.get('UserID') if sec is not None else None,
        'data': data,
    })
print(json.dumps(out))
"#;
    let o = Command::new(common::venv_python())
        .args(["-c", script])
        .arg(file)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "python-evtx (installed in .venv by .ci/run): {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

/// python-evtx writes `2019-07-24 13:05:50.123456+00:00` (from a float:
/// off by a microsecond or two); the report writes RFC 3339 to the
/// FILETIME's 100 ns.
fn same_instant(a: &str, b: &str) -> bool {
    let parse = |s: &str| s.replace(' ', "T").parse::<jiff::Timestamp>().unwrap();
    let (x, y) = (parse(a), parse(b));
    (x.as_microsecond() - y.as_microsecond()).abs() <= 2
}

#[test]
fn the_shared_windows_logs_match_no_driver_as_bad() {
    let dir = oslogs().join("evtx");
    // Exit 1: the logs record boot configurations loaded with test
    // signing or kernel debugging (Security 4826), true findings, checked
    // below to be the only ones at medium or above but the firmware note.
    let r = timeline(&[os(&dir), "--loldrivers".as_ref(), os(&loldrivers())], 1);
    let serious: std::collections::BTreeSet<&str> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| ["medium", "high", "critical"].contains(&f["severity"].as_str().unwrap()))
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(
        serious,
        [
            "timeline.boot-config.weakened",
            "timeline.firmware.unobserved"
        ]
        .into(),
        "{r}"
    );
    // The false-positive control: only benign drivers and services in
    // these logs, so no driver or flash-tool finding at all, at any
    // severity.
    // These logs hold no measured boot, so whether the firmware changed is
    // unknown: said once, as timeline.firmware.unobserved, and nothing else
    // about the firmware.
    let mut unobserved = 0;
    for f in r["findings"].as_array().unwrap() {
        let rule = f["rule"].as_str().unwrap();
        if rule == "timeline.firmware.unobserved" {
            unobserved += 1;
            continue;
        }
        assert!(
            !rule.starts_with("timeline.driver.known")
                && !rule.starts_with("timeline.flash-tool")
                && !rule.starts_with("timeline.firmware."),
            "a benign log raised {f}"
        );
    }
    assert_eq!(unobserved, 1);
    // Every service install python-evtx reads is on the time line, with
    // its record number, time and image path.
    let events = r["events"].as_array().unwrap();
    let mut installs = 0;
    for file in [
        "system-with-driver-installs.evtx",
        "service-install-7045-4697.evtx",
    ] {
        for rec in python_evtx(&evtx(file)) {
            let (id, prov) = (
                rec["id"].as_u64().unwrap(),
                rec["provider"].as_str().unwrap(),
            );
            if !((id == 7045 && prov == "Service Control Manager")
                || (id == 4697 && prov == "Microsoft-Windows-Security-Auditing"))
            {
                continue;
            }
            installs += 1;
            let e = events
                .iter()
                .find(|e| {
                    e["source"]["file"].as_str().unwrap().ends_with(file)
                        && e["source"]["record"] == rec["record"]
                })
                .unwrap_or_else(|| {
                    panic!("record {} of {file} is not on the time line", rec["record"])
                });
            assert_eq!(e["kind"], "service-install");
            assert!(
                same_instant(e["at"].as_str().unwrap(), rec["time"].as_str().unwrap()),
                "{} vs {}",
                e["at"],
                rec["time"]
            );
            let image = rec["data"]
                .get("ImagePath")
                .or(rec["data"].get("ServiceFileName"))
                .unwrap()
                .as_str()
                .unwrap();
            assert_eq!(e["tool"]["path"], image.trim());
        }
    }
    assert_eq!(
        installs, 5,
        "INDEX.md: 3 installs in the System log, 1 seen twice in the other"
    );
    let service_events = events
        .iter()
        .filter(|e| e["kind"] == "service-install")
        .count();
    assert_eq!(service_events, installs);
    // The Security 4697 names who installed the service.
    let who = events
        .iter()
        .find(|e| {
            e["source"]["file"]
                .as_str()
                .unwrap()
                .ends_with("service-install-7045-4697.evtx")
                && e["who"]["account"].is_string()
        })
        .unwrap();
    assert_eq!(who["who"]["account"], "OFFSEC\\admmig");
    // Boot configurations with test signing or kernel debugging on: as
    // many findings as python-evtx finds such records.
    let weakened = python_evtx(&evtx("security-4826-testsigning.evtx"))
        .iter()
        .filter(|r| {
            r["id"] == 4826
                && [
                    "TestSigning",
                    "KernelDebug",
                    "FlightSigning",
                    "DisableIntegrityChecks",
                    "HypervisorDebug",
                ]
                .iter()
                .any(|k| r["data"][*k] == "%%1842")
        })
        .count();
    assert!(weakened > 0);
    assert_eq!(
        common::findings_of(&r, "timeline.boot-config.weakened").len(),
        weakened
    );
    assert!(common::findings_of(&r, "timeline.boot-config.weakened")
        .iter()
        .any(|f| f["message"].as_str().unwrap().contains("test signing")));
    // OS starts: Kernel-General 12, as many as python-evtx reads.
    let starts = python_evtx(&evtx("system-with-driver-installs.evtx"))
        .iter()
        .filter(|r| r["id"] == 12 && r["provider"] == "Microsoft-Windows-Kernel-General")
        .count();
    assert_eq!(starts, 7, "INDEX.md");
    assert_eq!(
        events
            .iter()
            .filter(|e| e["kind"] == "os-start"
                && e["source"]["file"]
                    .as_str()
                    .unwrap()
                    .ends_with("system-with-driver-installs.evtx"))
            .count(),
        starts
    );
}

#[test]
fn a_damaged_chunk_is_reported_at_its_offset_and_the_rest_is_read() {
    let file = evtx("damaged-chunk.evtx");
    let r = timeline(&[os(&file)], 0);
    let input = &r["inputs"][0];
    let damage = input["damage"][0].as_str().unwrap().to_string();
    // The offset the report names is a chunk whose magic is not
    // "ElfChnk\0", read here from the file itself.
    let at: usize = damage
        .split("at byte ")
        .nth(1)
        .and_then(|s| s.split(':').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no byte offset in {damage:?}"));
    let bytes = std::fs::read(&file).unwrap();
    assert_ne!(&bytes[at..at + 8], b"ElfChnk\0", "{damage}");
    assert_eq!(&bytes[at - 65536..at - 65536 + 8], b"ElfChnk\0");
    // The good chunks' records are still read: at least as many as
    // python-evtx reads from them.
    let py = python_evtx(&file).len() as u64;
    assert!(py > 0);
    assert!(input["records"].as_u64().unwrap() >= py, "{input}");
    assert_eq!(common::findings_of(&r, "timeline.log.damaged").len(), 1);
}

/// A LOLDrivers-style list the test writes: one entry naming `name`, with
/// the hashes given.
fn rule_list(dir: &Path, name: &str, sha1: &str) -> PathBuf {
    let p = dir.join("drivers.csv");
    std::fs::write(
        &p,
        format!(
            "Id,Category,Tags,KnownVulnerableSamples_SHA256,KnownVulnerableSamples_SHA1\n\
             test-entry-1,vulnerable driver,{name},,{sha1}\n"
        ),
    )
    .unwrap();
    p
}

#[test]
fn a_rule_naming_tunnel_sys_matches_the_real_7045_record_by_name() {
    let d = tempfile::tempdir().unwrap();
    let list = rule_list(d.path(), "tunnel.sys", "");
    let file = evtx("system-with-driver-installs.evtx");
    // A name match is medium, below the default --fail-on high: exit 0.
    let r = timeline(&[os(&file), "--loldrivers".as_ref(), os(&list)], 0);
    let f = common::findings_of(&r, "timeline.driver.known-vulnerable");
    assert_eq!(f.len(), 1, "{r}");
    assert_eq!(
        f[0]["severity"], "medium",
        "7045 carries no hash: a name match"
    );
    assert!(f[0]["message"].as_str().unwrap().contains("name match"));
    // The record, as python-evtx reads it.
    let rec = python_evtx(&file)
        .into_iter()
        .find(|r| {
            r["id"] == 7045
                && r["data"]["ImagePath"]
                    .as_str()
                    .unwrap_or("")
                    .to_lowercase()
                    .contains("tunnel.sys")
        })
        .expect("python-evtx finds the tunnel.sys install");
    let e = &f[0]["evidence"]["events"][0];
    assert_eq!(e["source"]["record"], rec["record"]);
    assert!(same_instant(
        e["at"].as_str().unwrap(),
        rec["time"].as_str().unwrap()
    ));
    assert_eq!(e["who"]["sid"], rec["sid"]);
    assert!(
        e["at"].as_str().unwrap().starts_with("2019-07-24T13:05:50"),
        "INDEX.md"
    );
}

#[test]
fn a_rule_with_a_sysmon_hash_matches_the_real_driver_load_by_hash() {
    let file = evtx("sysmon-driver-loads-benign.evtx");
    let rec = python_evtx(&file)
        .into_iter()
        .find(|r| {
            r["id"] == 6
                && r["data"]["ImageLoaded"]
                    .as_str()
                    .unwrap_or("")
                    .to_lowercase()
                    .ends_with("vga.dll")
        })
        .expect("python-evtx finds the vga.dll load");
    let sha1 = rec["data"]["Hashes"]
        .as_str()
        .unwrap()
        .split(',')
        .find_map(|h| h.strip_prefix("SHA1="))
        .unwrap()
        .to_string();
    let d = tempfile::tempdir().unwrap();
    // Another name: a hash match does not need the name.
    let list = rule_list(d.path(), "renamed.sys", &sha1.to_lowercase());
    let r = timeline(&[os(&file), "--loldrivers".as_ref(), os(&list)], 1);
    let f = common::findings_of(&r, "timeline.driver.known-vulnerable");
    assert_eq!(f.len(), 1, "{r}");
    assert_eq!(f[0]["severity"], "high");
    let e = &f[0]["evidence"]["events"][0];
    assert_eq!(e["source"]["record"], rec["record"]);
    assert_eq!(e["tool"]["hashes"]["sha1"], sha1.to_lowercase());
    assert_eq!(e["tool"]["signer"], rec["data"]["Signature"]);
}

/// A journal written by systemd's own tools from export-format entries
/// (time, boot id, fields): (the .journal file, `journalctl -o json`
/// lines, `journalctl -o export`).
/// One journal entry: its time (RFC 3339), boot id and fields.
type Entry<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

fn journal(dir: &Path, entries: &[Entry]) -> (PathBuf, PathBuf, PathBuf) {
    let mut export = Vec::new();
    for (i, (time, boot, fields)) in entries.iter().enumerate() {
        let t: jiff::Timestamp = time.parse().unwrap();
        export.extend(
            format!(
                "__REALTIME_TIMESTAMP={}\n__MONOTONIC_TIMESTAMP={}\n_BOOT_ID={boot}\n",
                t.as_microsecond(),
                1_000_000 * (i + 1)
            )
            .bytes(),
        );
        for (k, v) in *fields {
            export.extend(format!("{k}={v}\n").bytes());
        }
        export.push(b'\n');
    }
    let src = dir.join("entries.export");
    std::fs::write(&src, export).unwrap();
    let jfile = dir.join("host.journal");
    let remote = [
        "/lib/systemd/systemd-journal-remote",
        "/usr/lib/systemd/systemd-journal-remote",
    ]
    .into_iter()
    .find(|p| Path::new(p).exists())
    .expect("systemd-journal-remote (package systemd-journal-remote, installed by .ci/run)");
    let st = Command::new(remote)
        .arg(format!("--output={}", jfile.display()))
        .arg(&src)
        .status()
        .unwrap();
    assert!(st.success());
    let run = |fmt: &str, out: &Path| {
        let o = Command::new("journalctl")
            .args(["-o", fmt, "--file"])
            .arg(&jfile)
            .output()
            .unwrap();
        assert!(o.status.success());
        std::fs::write(out, o.stdout).unwrap();
    };
    let json = dir.join("journal.json");
    let exp = dir.join("journal.export");
    run("json", &json);
    run("export", &exp);
    (jfile, json, exp)
}

/// Boots the collector with its clock at `rtc` (and, with `code`, another
/// firmware image; with `debugcon`, the debug console to that file).
fn boot(out: &Path, rtc: &str, code: Option<&Path>, debugcon: Option<&Path>) -> PathBuf {
    let mut args = vec!["--rtc".to_string(), rtc.to_string()];
    if let Some(c) = code {
        args.extend(["--ovmf-code".into(), c.display().to_string()]);
    }
    if let Some(d) = debugcon {
        args.extend(["--debugcon".into(), d.display().to_string()]);
    }
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    common::boot_collector(out, &a)
}

fn debug_ovmf() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures/firmware/ovmf-debug/OVMF_CODE_4M.debug.fd");
    assert!(p.is_file(), "{} is missing (../shared)", p.display());
    p
}

/// Another release of Debian's OVMF than the installed one, which
/// .ci/run unpacks (as for tests/system/diff_scenarios.rs).
fn other_ovmf() -> PathBuf {
    let p = Path::new("/var/cache/bootaudit/ovmf-other/usr/share/OVMF/OVMF_CODE_4M.fd");
    assert!(
        p.is_file(),
        "{}: .ci/run unpacks another release of Debian's ovmf there",
        p.display()
    );
    p.to_path_buf()
}

#[test]
fn who_changed_the_firmware_from_real_boots_and_a_real_journal() {
    let d = tempfile::tempdir().unwrap();
    let w = d.path();
    // Five boots, two at a time: Debian's installed OVMF (a); another
    // release of it, twice (b, c); the DEBUG build of the same source
    // twice (d with its boot log on the debug console, e).
    let other = other_ovmf();
    let debug = debug_ovmf();
    let dbg_log = w.join("d-debug.log");
    let plan: Vec<(&str, &str, Option<&Path>, Option<&Path>)> = vec![
        ("a", "2026-01-10T08:00:00", None, None),
        ("b", "2026-01-12T08:00:00", Some(&other), None),
        ("c", "2026-01-14T08:00:00", Some(&other), None),
        ("d", "2026-01-16T08:00:00", Some(&debug), Some(&dbg_log)),
        ("e", "2026-01-18T08:00:00", Some(&debug), None),
    ];
    let mut snaps = Vec::new();
    for pair in plan.chunks(2) {
        let got: Vec<PathBuf> = std::thread::scope(|s| {
            let hs: Vec<_> = pair
                .iter()
                .map(|(n, rtc, code, con)| s.spawn(move || boot(&w.join(n), rtc, *code, *con)))
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        snaps.extend(got);
    }
    let [a, b, c, dd, e] = <[PathBuf; 5]>::try_from(snaps).unwrap();
    let boot1 = "1".repeat(32);
    let boot2 = "2".repeat(32);
    let boot3 = "3".repeat(32);
    let (_, json, export) = journal(
        w,
        &[
            (
                "2026-01-10T08:05:00Z",
                &boot1,
                &[("MESSAGE", "Linux version 6.1"), ("_TRANSPORT", "kernel")],
            ),
            (
                "2026-01-11T10:00:00Z",
                &boot1,
                &[
                    ("MESSAGE", "flashrom v1.3.0 on Linux"),
                    ("_TRANSPORT", "stdout"),
                    ("_COMM", "flashrom"),
                    ("_EXE", "/usr/sbin/flashrom"),
                    ("_CMDLINE", "flashrom -p internal -w implant.rom"),
                    ("_PID", "4242"),
                    ("_UID", "0"),
                    ("_AUDIT_LOGINUID", "1000"),
                ],
            ),
            (
                "2026-01-12T08:05:00Z",
                &boot2,
                &[("MESSAGE", "Linux version 6.1"), ("_TRANSPORT", "kernel")],
            ),
            (
                "2026-01-13T09:00:00Z",
                &boot2,
                &[
                    (
                        "MESSAGE",
                        "chipsec: loading out-of-tree module taints kernel.",
                    ),
                    ("_TRANSPORT", "kernel"),
                ],
            ),
            (
                "2026-01-14T08:05:00Z",
                &boot3,
                &[("MESSAGE", "Linux version 6.1"), ("_TRANSPORT", "kernel")],
            ),
        ],
    );
    for j in [&json, &export] {
        let r = timeline(&[os(&a), os(&b), os(&c), os(j)], 1);
        let states = r["states"].as_array().unwrap();
        assert_eq!(states.len(), 3);
        assert_eq!(states[0]["firmware"], "F1");
        assert_eq!(states[1]["firmware"], "F2");
        assert_eq!(states[2]["firmware"], "F2");
        for s in states {
            assert_eq!(s["replays"], true, "each boot's log replays to its PCRs");
        }
        // The change from one release of Debian's OVMF to another, with
        // flashrom run by auid 1000 in between: critical, naming who, when, what.
        let crit = common::findings_of(&r, "timeline.firmware.changed-by-tool");
        assert_eq!(crit.len(), 1, "{r:#}");
        assert_eq!(crit[0]["severity"], "critical");
        let m = crit[0]["message"].as_str().unwrap();
        assert!(
            m.contains("flashrom") && m.contains("auid 1000") && m.contains("2026-01-11T10:00:00Z"),
            "{m}"
        );
        assert_eq!(
            crit[0]["evidence"]["before"]["source"]["file"],
            a.display().to_string()
        );
        assert_eq!(
            crit[0]["evidence"]["after"]["source"]["file"],
            b.display().to_string()
        );
        // chipsec's module between two boots of the same firmware: an
        // attempt.
        let attempt = common::findings_of(&r, "timeline.flash-tool.attempt");
        assert_eq!(attempt.len(), 1, "{r:#}");
        assert!(attempt[0]["message"].as_str().unwrap().contains("chipsec"));
        assert!(common::findings_of(&r, "timeline.firmware.changed-unexplained").is_empty());
        // Each boot is placed by the snapshot, and the journal's boot
        // beside it: the skew is shown, not corrected.
        assert_eq!(r["clock_skew"].as_array().unwrap().len(), 3);
    }
    // fwupd's history naming the new firmware's version, alone, lowers
    // nothing; with the vendor's reference of the new image (`reference
    // add` of the other release), the change is a verified vendor update.
    let db = w.join("pending.db");
    let t = "2026-01-11T12:00:00Z"
        .parse::<jiff::Timestamp>()
        .unwrap()
        .as_second();
    let st = Command::new("python3")
        .args(["-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(\"CREATE TABLE history (device_id TEXT, update_state INTEGER, display_name TEXT, plugin TEXT, device_modified INTEGER, checksum TEXT, version_old TEXT, version_new TEXT); INSERT INTO history VALUES ('sysfw', 2, 'System Firmware', 'uefi_capsule', \" + sys.argv[2] + \", 'ab', '0.0.0', '0.0.0');\"); c.commit()"])
        .arg(&db)
        .arg(t.to_string())
        .status()
        .unwrap();
    assert!(st.success());
    let store = w.join("refs");
    common::reference_add(
        &store,
        other.to_str().unwrap(),
        "Debian",
        "2022.11 other release",
    );
    let r = timeline(&[os(&a), os(&b), os(&json), os(&db)], 1);
    let crit = common::findings_of(&r, "timeline.firmware.changed-by-tool");
    assert_eq!(
        crit[0]["severity"], "critical",
        "fwupd's history alone lowers nothing"
    );
    assert!(crit[0]["message"]
        .as_str()
        .unwrap()
        .contains("without a vendor reference"));
    let r = timeline(
        &[
            os(&a),
            os(&b),
            os(&json),
            "--references".as_ref(),
            os(&store),
        ],
        1,
    );
    let crit = common::findings_of(&r, "timeline.firmware.changed-by-tool");
    assert_eq!(
        crit[0]["severity"], "critical",
        "a reference alone says what, not how"
    );
    assert!(
        r["states"][1]["verified_by"].is_string(),
        "{:#}",
        r["states"][1]
    );
    assert!(
        r["states"][0]["verified_by"].is_null(),
        "the installed release is not the reference"
    );
    let r = timeline(
        &[
            os(&a),
            os(&b),
            os(&json),
            os(&db),
            "--references".as_ref(),
            os(&store),
        ],
        1,
    );
    let crit = common::findings_of(&r, "timeline.firmware.changed-by-tool");
    assert_eq!(crit[0]["severity"], "low");
    assert_eq!(crit[0]["explained"], true);
    assert!(crit[0]["explanation"]
        .as_str()
        .unwrap()
        .contains("vendor update"));
    // flashrom ran only in that window; chipsec, after it, stays high.
    let seen = common::findings_of(&r, "timeline.flash-tool.seen");
    let by = |t: &str| seen.iter().find(|f| f["subject"] == t).unwrap()["explained"].clone();
    assert_eq!(by("flashrom"), true);
    assert_eq!(by("chipsec.ko"), false);
    // The same boots with no OS log: the change is high, unexplained, and
    // the window is said to be blind.
    let r = timeline(&[os(&a), os(&b), os(&c)], 1);
    let f = common::findings_of(&r, "timeline.firmware.changed-unexplained");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["severity"], "high");
    assert!(f[0]["message"].as_str().unwrap().contains("blind"));
    // Two boots of the DEBUG build: its PEI volume holds data written
    // during the boot, so PCR0 differs while the flash copies (both the
    // SHA-256 ../shared's README gives for the image) are the same: not a
    // change, not a pass either.
    let r = timeline(&[os(&c), os(&dd), os(&e)], 1);
    let states = r["states"].as_array().unwrap();
    let readme_sha = "252f7e6bbe242059ca3aff829a706c4f48cd56834e81bc6cc365abd1b1ebce92";
    assert_eq!(states[1]["flash_sha256"], readme_sha);
    assert_eq!(states[2]["flash_sha256"], readme_sha);
    assert_eq!(
        common::findings_of(&r, "timeline.firmware.changed-unexplained").len(),
        1,
        "c -> d: another image"
    );
    if states[1]["pcr0"] != states[2]["pcr0"] {
        let u = common::findings_of(&r, "timeline.firmware.uncomparable");
        assert_eq!(u.len(), 1, "{r:#}");
        assert!(u[0]["message"]
            .as_str()
            .unwrap()
            .contains("flash copies are the same"));
    }
    // The firmware's own log of boot d agrees with d's snapshot (every
    // driver at its address, with its GUID), and is paired with d, not
    // with a boot of another firmware.
    let r = timeline(&[os(&a), os(&dd), os(&dbg_log)], 1);
    let fl = &r["firmware_logs"][0];
    assert_eq!(fl["snapshot"], dd.display().to_string());
    assert!(fl["matched"].as_u64().unwrap() > 50, "{fl}");
    assert!(
        common::findings_of(&r, "timeline.firmware-log.mismatch").is_empty(),
        "{r:#}"
    );
    // A snapshot that hides one driver the firmware log shows loaded
    // (as a tampered copy would): the disagreement names its GUID.
    let mut snap: Value = serde_json::from_slice(&std::fs::read(&dd).unwrap()).unwrap();
    let images = snap["loaded_images"].as_array_mut().unwrap();
    let i = images
        .iter()
        .rposition(|i| i["device_path"].as_str().unwrap().contains("FvFile("))
        .unwrap();
    let hidden = images.remove(i);
    let guid = hidden["device_path"]
        .as_str()
        .unwrap()
        .rsplit("FvFile(")
        .next()
        .unwrap()[..36]
        .to_uppercase();
    let tampered = w.join("d-tampered.json");
    std::fs::write(&tampered, serde_json::to_vec(&snap).unwrap()).unwrap();
    let r = timeline(&[os(&tampered), os(&dbg_log)], 1);
    let f = common::findings_of(&r, "timeline.firmware-log.mismatch");
    assert_eq!(f.len(), 1, "{r:#}");
    assert!(f[0]["message"].as_str().unwrap().contains(&guid));
    // Release firmware prints nothing: the sample log of another boot
    // has no snapshot of its boot here, which is unknown, not a pass.
    let sample = debug_ovmf().with_file_name("debugcon-sample.log");
    let r = timeline(&[os(&a), os(&sample)], 0);
    assert_eq!(
        common::findings_of(&r, "timeline.firmware-log.unknown").len(),
        1
    );
}

#[test]
fn a_fwupd_history_made_by_fwupd_is_read_as_fwupd_reads_it() {
    let d = tempfile::tempdir().unwrap();
    let w = d.path();
    let etc = w.join("etc/fwupd");
    std::fs::create_dir_all(&etc).unwrap();
    // fwupd's own test plugin and fake device (Debian's fwupd-tests).
    std::fs::write(etc.join("fwupd.conf"), "[fwupd]\nTestDevices=true\n").unwrap();
    let cab = "/usr/share/installed-tests/fwupd/fakedevice124.cab";
    assert!(
        Path::new(cab).is_file(),
        "{cab}: Debian's fwupd-tests, installed by .ci/run"
    );
    let o = Command::new("fwupdtool")
        .args([
            "--plugins",
            "test",
            "install",
            cab,
            "08d460be0f1f9f128413f816022a6439e0078018",
            "--force",
            "--no-reboot-check",
        ])
        .env("FWUPD_LOCALSTATEDIR", w.join("var"))
        .env("FWUPD_SYSCONFDIR", w.join("etc"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "fwupdtool install: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let db = w.join("var/lib/fwupd/pending.db");
    let copy = w.join("evidence.db");
    std::fs::copy(&db, &copy).unwrap();
    let r = timeline(&[os(&copy)], 0);
    let events = r["events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    // Python's sqlite3, another reader of the same file.
    let py = Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys,json; c=sqlite3.connect('file:'+sys.argv[1]+'?mode=ro',uri=True); print(json.dumps(c.execute('select rowid, device_modified, version_new, checksum, display_name from history').fetchall()))",
        ])
        .arg(&copy)
        .output()
        .unwrap();
    let rows: Value = serde_json::from_slice(&py.stdout).unwrap();
    let row = &rows[0];
    let e = &events[0];
    assert_eq!(e["kind"], "firmware-update");
    assert_eq!(e["source"]["record"], row[0]);
    assert_eq!(
        e["at"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_second(),
        row[1].as_i64().unwrap()
    );
    assert_eq!(e["object"], row[2]);
    assert!(e["what"]
        .as_str()
        .unwrap()
        .contains(row[3].as_str().unwrap()));
    // Nothing was written beside the evidence.
    let beside: Vec<_> = std::fs::read_dir(w)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        !beside
            .iter()
            .any(|n| n.to_string_lossy().starts_with("evidence.db-")),
        "{beside:?}"
    );
    // A damaged copy (cut in half) is refused, naming the file.
    let bytes = std::fs::read(&copy).unwrap();
    let cut = w.join("cut.db");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let o = common::run(&["timeline".as_ref(), cut.as_os_str()]).exits(2);
    assert!(o.stderr.contains("cut.db"), "{}", o.stderr);
}

#[test]
fn hostile_strings_and_lines_stay_inside_their_cells() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("j.json");
    let evil = "flashrom \u{1b}[2J\u{202e}gpj.exe\nFORGED\u{2028}LINE";
    let mut text = format!(
        "{}\n",
        serde_json::json!({
            "__REALTIME_TIMESTAMP": "1768125600000000",
            "_BOOT_ID": "abc",
            "_COMM": "flashrom",
            "_CMDLINE": evil,
            "_PID": "1",
        })
    );
    // A line of 3 MiB: damage, skipped, and the next line still read.
    text.push_str(&"x".repeat(3 << 20));
    text.push('\n');
    text.push_str(&format!(
        "{}\n",
        serde_json::json!({"__REALTIME_TIMESTAMP": "1768125700000000", "_BOOT_ID": "def", "MESSAGE": "ok"})
    ));
    std::fs::write(&p, text).unwrap();
    let o = common::bootaudit()
        .arg("timeline")
        .arg(&p)
        .output()
        .unwrap();
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(!out.contains('\u{1b}') && !out.contains('\u{202e}') && !out.contains('\u{2028}'));
    assert!(!out.lines().any(|l| l.starts_with("FORGED")));
    assert!(out.contains("\\x1b") && out.contains("\\u{202e}"));
    let o = common::bootaudit()
        .arg("timeline")
        .arg(&p)
        .args(["--format", "jsonl"])
        .output()
        .unwrap();
    let jl = String::from_utf8(o.stdout).unwrap();
    for l in jl.lines() {
        let v: Value = serde_json::from_str(l).unwrap();
        assert_eq!(v["schema"], "bootaudit-finding/1");
    }
    assert!(!jl.contains('\u{2028}'));
    let r = timeline(&[os(&p)], 1);
    assert_eq!(r["inputs"][0]["records"], 2);
    assert!(r["inputs"][0]["damage"][0]
        .as_str()
        .unwrap()
        .contains("line 2"));
    let o = common::bootaudit()
        .arg("timeline")
        .arg(&p)
        .args(["--format", "html"])
        .output()
        .unwrap();
    let html = String::from_utf8(o.stdout).unwrap();
    assert!(!html.contains("\u{202e}") && !html.contains("<script"));
}

#[test]
fn unreadable_evidence_exits_2_naming_the_file() {
    let d = tempfile::tempdir().unwrap();
    // A truncated EVTX file (its header only) and a named file that is
    // no evidence.
    let head = std::fs::read(evtx("security.evtx")).unwrap();
    let t = d.path().join("cut.evtx");
    std::fs::write(&t, &head[..100]).unwrap();
    let n = d.path().join("notes.txt");
    std::fs::write(&n, "hello").unwrap();
    for f in [&t, &n] {
        let err = common::run(&["timeline".as_ref(), f.as_os_str()])
            .exits(2)
            .stderr;
        assert!(err.contains(&f.display().to_string()), "{err}");
    }
    // A symbolic link named is refused; one under a directory is passed
    // over.
    let l = d.path().join("link.evtx");
    std::os::unix::fs::symlink(evtx("security.evtx"), &l).unwrap();
    common::run(&["timeline".as_ref(), l.as_os_str()]).exits(2);
    let sub = d.path().join("triage");
    std::fs::create_dir(&sub).unwrap();
    std::os::unix::fs::symlink(evtx("security.evtx"), sub.join("link.evtx")).unwrap();
    std::fs::copy(evtx("service-install-7045-4697.evtx"), sub.join("a.bin")).unwrap();
    let r = timeline(&[os(&sub)], 0);
    assert_eq!(
        r["inputs"].as_array().unwrap().len(),
        1,
        "recognised by content, not name"
    );
    assert_eq!(r["passed_over"], 1);
}

/// Deterministic mutants of `base`: bytes overwritten, runs cut out or
/// repeated, 32-bit fields set to extremes, the end cut off.
fn mutants(base: &[u8], n: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = common::Rng(seed | 1);
    let mut next = move || rng.next();
    (0..n)
        .map(|_| {
            let mut m = base.to_vec();
            let len = m.len().max(1);
            for _ in 0..1 + next() % 4 {
                let at = (next() as usize) % len.min(m.len().max(1));
                match next() % 5 {
                    0 if !m.is_empty() => m[at] = next() as u8,
                    1 if at + 4 <= m.len() => {
                        m[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes())
                    }
                    2 if at + 4 <= m.len() => m[at..at + 4].copy_from_slice(&0u32.to_le_bytes()),
                    3 => {
                        let end = (at + (next() as usize) % 512).min(m.len());
                        let run = m[at..end].to_vec();
                        m.splice(at..at, run);
                    }
                    _ => m.truncate(at),
                }
            }
            m
        })
        .collect()
}

#[test]
fn mutated_inputs_never_panic_any_reader() {
    use bootaudit::timeline::{firmware_log, fwupd, linux, lists, windows};
    // EVTX, through the evtx crate under our guard.
    let base = std::fs::read(evtx("service-install-7045-4697.evtx")).unwrap();
    let mut ok = 0;
    for m in mutants(&base, 200, 1) {
        if windows::read_from(std::io::Cursor::new(m), "m.evtx").is_ok() {
            ok += 1;
        }
    }
    assert!(ok > 0, "some mutants keep a readable header");
    // The journal's export format, as journalctl writes it.
    let d = tempfile::tempdir().unwrap();
    let boot = "4".repeat(32);
    let (_, json, export) = journal(
        d.path(),
        &[
            (
                "2026-01-10T08:05:00Z",
                &boot,
                &[("MESSAGE", "Linux version 6.1"), ("_TRANSPORT", "kernel")],
            ),
            (
                "2026-01-11T10:00:00Z",
                &boot,
                &[("_COMM", "flashrom"), ("_PID", "7"), ("MESSAGE", "x")],
            ),
        ],
    );
    // Each sweep counts what the reader accepted and what it refused:
    // both must happen, so the mutants reach past the first check.
    let sweep = |name: &str, results: Vec<bool>| {
        let ok = results.iter().filter(|r| **r).count();
        assert!(
            ok > 0 && ok < results.len(),
            "{name}: {ok} of {} mutants read",
            results.len()
        );
    };
    sweep(
        "export",
        mutants(&std::fs::read(&export).unwrap(), 300, 2)
            .iter()
            .map(|m| linux::parse_export(&mut &m[..], "m.export", |_, _| Ok(())).is_ok())
            .collect(),
    );
    // The JSON-lines reader takes a bad line as damage, not an error:
    // count the mutants whose every line still reads.
    sweep(
        "journal json",
        mutants(&std::fs::read(&json).unwrap(), 300, 3)
            .iter()
            .map(|m| {
                linux::read_journal_json_from(&m[..], "m.json")
                    .is_ok_and(|(i, _)| i.damage.is_empty())
            })
            .collect(),
    );
    let audit = b"type=SYSCALL msg=audit(1768125600.123:42): arch=c000003e syscall=257 success=yes auid=1000 uid=0 comm=\"flashrom\" exe=\"/usr/sbin/flashrom\"\ntype=PATH msg=audit(1768125600.123:42): item=0 name=\"/dev/mem\"\ntype=EOE msg=audit(1768125600.123:42): \n";
    sweep(
        "audit",
        mutants(audit, 300, 4)
            .iter()
            .map(|m| {
                linux::read_audit_from(&m[..], "m.log").is_ok_and(|(i, _)| i.damage.is_empty())
            })
            .collect(),
    );
    let kern = b"2026-01-11T10:00:01.5+00:00 host kernel: [ 12.5] Lockdown: flashrom: /dev/mem,kmem,port is restricted; see man kernel_lockdown.7\nJan 11 10:00:01 host kernel: chipsec: loading out-of-tree module taints kernel.\n[    3.141592] usb 1-1: new device\n";
    sweep(
        "kernel log",
        mutants(kern, 300, 8)
            .iter()
            .map(|m| {
                linux::read_kernel_log_from(&m[..], "m.kern", Some(2026))
                    .is_ok_and(|(_, e)| e.len() == 2)
            })
            .collect(),
    );
    let sample = std::fs::read(debug_ovmf().with_file_name("debugcon-sample.log")).unwrap();
    let whole = firmware_log::parse(&sample).drivers.len();
    sweep(
        "firmware log",
        mutants(&sample, 100, 5)
            .iter()
            .map(|m| firmware_log::parse(m).drivers.len() == whole)
            .collect(),
    );
    let csv = std::fs::read(loldrivers()).unwrap();
    sweep(
        "loldrivers",
        mutants(&csv, 60, 6)
            .iter()
            .map(|m| lists::parse_loldrivers(m, "m.csv").is_ok())
            .collect(),
    );
    // A fwupd history as SQLite writes it (Python's sqlite3).
    let db = d.path().join("h.db");
    let st = Command::new("python3")
        .args(["-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(\"CREATE TABLE history (device_id TEXT, update_state INTEGER, display_name TEXT, plugin TEXT, device_modified INTEGER, checksum TEXT, version_old TEXT, version_new TEXT); INSERT INTO history VALUES ('d', 2, 'Cam', 'test', 1768125600, 'ab', '1', '2');\"); c.commit()"])
        .arg(&db)
        .status()
        .unwrap();
    assert!(st.success());
    let base = std::fs::read(&db).unwrap();
    let (_, rows) = fwupd::parse(&base, "h.db").unwrap();
    assert_eq!(rows.len(), 1);
    sweep(
        "fwupd",
        mutants(&base, 300, 7)
            .iter()
            .map(|m| fwupd::parse(m, "m.db").is_ok_and(|(_, rows)| rows.len() == 1))
            .collect(),
    );
}

#[test]
fn measured_boot_logs_and_a_bundle_are_firmware_states() {
    let d = tempfile::tempdir().unwrap();
    let mb = d.path().join("Windows/Logs/MeasuredBoot");
    std::fs::create_dir_all(&mb).unwrap();
    // Two real Windows boot logs (two machines: two firmwares), the
    // second twice, placed by their files' times.
    let logs = common::eventlogs().join("keylime-uefi-eventlog");
    let plan = [
        (
            "ideapad-ideapad1.bin",
            "0000000001-0000000000.log",
            "2026-01-01T00:00:00Z",
        ),
        (
            "thinkpad-p511.bin",
            "0000000002-0000000000.log",
            "2026-01-02T00:00:00Z",
        ),
        (
            "thinkpad-p511.bin",
            "0000000003-0000000000.log",
            "2026-01-03T00:00:00Z",
        ),
    ];
    for (src, name, t) in plan {
        let dst = mb.join(name);
        std::fs::copy(logs.join(src), &dst).unwrap();
        let t: jiff::Timestamp = t.parse().unwrap();
        let f = std::fs::File::options().write(true).open(&dst).unwrap();
        f.set_modified(std::time::SystemTime::from(t)).unwrap();
    }
    let r = timeline(&[os(d.path())], 1);
    let states = r["states"].as_array().unwrap();
    assert_eq!(states.len(), 3);
    for (s, (src, _, t)) in states.iter().zip(plan) {
        assert_eq!(s["at"], t);
        assert_eq!(s["placed_by"], "the log file's modification time");
        // PCR0 as an independent replay (tests/oracle/tcg_replay.py) has it.
        let (_, banks) = common::python_replay(&logs.join(src));
        for (field, pcr) in [("pcr0", 0), ("pcr2", 2), ("pcr4", 4), ("pcr7", 7)] {
            assert_eq!(
                s[field].as_str(),
                banks["sha256"].get(&pcr).map(String::as_str),
                "{src} {field}"
            );
        }
    }
    let f = common::findings_of(&r, "timeline.firmware.changed-unexplained");
    assert_eq!(
        f.len(),
        1,
        "one change: the second log's firmware, then the same again"
    );
    assert!(f[0]["subject"]
        .as_str()
        .unwrap()
        .contains("0000000002-0000000000.log"));
    // The HTML draws each state as a band in its firmware's colour.
    let o = common::bootaudit()
        .arg("timeline")
        .arg(d.path())
        .args(["--format", "html"])
        .output()
        .unwrap();
    let html = String::from_utf8(o.stdout).unwrap();
    let bands: Vec<&str> = html
        .split("class=\"band\"")
        .skip(1)
        .map(|b| {
            b.split("data-firmware=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
        })
        .collect();
    assert_eq!(bands, ["F1", "F2", "F2"]);
    // A sealed bundle is one state, its snapshot: the raw TCG log beside
    // it is what the snapshot was made from, not another state.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/linux-host/root");
    let bundle = d.path().join("bundle");
    let o = common::bootaudit()
        .args(["collect", "--root"])
        .arg(&root)
        .arg("--bundle")
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = timeline(&[os(&bundle)], 0);
    let states = r["states"].as_array().unwrap();
    assert_eq!(states.len(), 1, "{r:#}");
    assert!(states[0]["source"]["file"]
        .as_str()
        .unwrap()
        .ends_with(".json"));
}

#[test]
fn kernel_logs_as_syslog_and_dmesg_write_them() {
    let d = tempfile::tempdir().unwrap();
    // rsyslog's RFC 3339 stamps, and the traditional ones (no year: the
    // file's year completes them).
    let kern = d.path().join("kern.log");
    std::fs::write(
        &kern,
        "2026-01-11T10:00:01.500000+00:00 host kernel: [   12.500000] Lockdown: flashrom: /dev/mem,kmem,port is restricted; see man kernel_lockdown.7\n\
         Jan 11 10:05:00 host kernel: [   30.000000] chipsec: loading out-of-tree module taints kernel.\n\
         Jan 11 10:06:00 host kernel: [   31.000000] usb 1-1: new high-speed USB device\n",
    )
    .unwrap();
    let t: jiff::Timestamp = "2026-01-12T00:00:00Z".parse().unwrap();
    std::fs::File::options()
        .write(true)
        .open(&kern)
        .unwrap()
        .set_modified(std::time::SystemTime::from(t))
        .unwrap();
    // dmesg: seconds since boot, so the events have no time.
    let dmesg = d.path().join("dmesg.txt");
    std::fs::write(&dmesg, "[    0.000000] Linux version 6.1.0\n[   42.000000] chipsec: module verification failed: signature and/or required key missing - tainting kernel\n").unwrap();
    let r = timeline(&[os(&kern), os(&dmesg)], 1);
    let events = r["events"].as_array().unwrap();
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap(),
                e["at"].as_str().unwrap_or("unknown"),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("lockdown-denied", "2026-01-11T10:00:01.5Z"),
            ("module-load", "2026-01-11T10:05:00Z"),
            ("module-load", "unknown"),
        ]
    );
    assert_eq!(r["inputs"][0]["kind"], "kernel-log");
    assert!(!common::findings_of(&r, "timeline.flash-tool.seen").is_empty());
}
