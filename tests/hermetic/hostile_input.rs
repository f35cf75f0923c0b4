//! Inputs a compromised machine can craft by hand, built from the shipped
//! fixtures at test time: strings that drive the terminal or write a line
//! of their own, names too long to write, a symlinked ESP directory, stale
//! temporaries, an endless stdin, emptied replays, and baselines the judged
//! side can rewrite. The cases that need mtools, FIFOs, signals, ssh-keygen
//! or a vendor reference are tests/system/hostile_input.rs.

use crate::common;
use common::hostile::{
    assert_no_raw_controls, evil_snapshot, fixture, forges_a_line, os, run, run_with_deadline,
    text, walk, EVIL, FORGED,
};

use serde_json::Value;
use std::process::Stdio;

#[test]
fn strings_from_the_judged_machine_are_escaped_in_tables_and_exact_in_json() {
    let d = tempfile::tempdir().unwrap();
    let evil = evil_snapshot(d.path());
    let base = fixture("implant/baseline.json");
    // Identity differs from the baseline (the product string): compare
    // anyway, to see the strings rendered.
    let cases: Vec<(&str, Vec<&std::ffi::OsStr>)> = vec![
        ("show", vec![os("show"), evil.as_os_str()]),
        (
            "diff",
            vec![
                os("diff"),
                os("--allow-other-machine"),
                base.as_os_str(),
                evil.as_os_str(),
            ],
        ),
        ("fleet", vec![os("fleet"), d.path().as_os_str()]),
    ];
    // A file name on the ESP (ingest lists it).
    let esp = d.path().join("esp/bootaudit");
    std::fs::create_dir_all(&esp).unwrap();
    std::fs::copy(
        fixture("collector/snap-0000.json"),
        esp.join(format!("snap-{}.json", EVIL.replace(['\0', '/'], ""))),
    )
    .unwrap();
    let (esp_root, ingested) = (d.path().join("esp"), d.path().join("ingested"));
    let mut cases = cases;
    cases.push((
        "ingest",
        vec![
            os("ingest"),
            esp_root.as_os_str(),
            os("-o"),
            ingested.as_os_str(),
        ],
    ));
    for (what, args) in &cases {
        let o = run(args);
        let out = text(&o.stdout);
        assert_no_raw_controls(&out, what);
        assert!(
            out.contains("\\x1b[2J") || out.contains("\\u{202e}"),
            "{what}: the escaped form is shown: {out}"
        );
    }
    // JSON keeps the exact bytes (serde's own escapes decode back to them).
    let o = run(&[
        os("diff"),
        os("--allow-other-machine"),
        os("--format"),
        os("json"),
        base.as_os_str(),
        evil.as_os_str(),
    ]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        v.to_string()
            .contains(&serde_json::to_string(EVIL).unwrap()[1..40]),
        "the JSON carries the string as it was"
    );
    // The HTML report shows bidi characters as visible escapes.
    let html = d.path().join("r.html");
    let o = run(&[
        os("diff"),
        os("--allow-other-machine"),
        os("--format"),
        os("html"),
        os("-o"),
        html.as_os_str(),
        base.as_os_str(),
        evil.as_os_str(),
    ]);
    o.exits_in(&[0, 1]);
    let h = std::fs::read_to_string(&html).unwrap();
    assert_no_raw_controls(&h.replace(['\n', '\t'], ""), "html");
    assert!(h.contains("\\u{202e}"));
}

#[test]
fn event_data_is_escaped_in_the_eventlog_table() {
    use common::craft::*;
    let d = tempfile::tempdir().unwrap();
    // An EV_EFI_VARIABLE_DRIVER_CONFIG whose variable name (UCS-2) is EVIL:
    // UEFI_VARIABLE_DATA is the GUID, the name's length in characters, the
    // data's length, the name, the data.
    // (Without the NUL, which ends a UCS-2 name.)
    let name: Vec<u16> = EVIL.replace('\0', "").encode_utf16().collect();
    let mut var = [0x61u8; 16].to_vec();
    var.extend((name.len() as u64).to_le_bytes());
    var.extend(1u64.to_le_bytes());
    for u in &name {
        var.extend(u.to_le_bytes());
    }
    var.push(1);
    let mut log = agile_header();
    log.extend(agile_event(7, 0x8000_0001, &var));
    log.extend(agile_event(7, 4, &[0; 4])); // EV_SEPARATOR
    let p = d.path().join("log.bin");
    std::fs::write(&p, &log).unwrap();
    let o = run(&[os("eventlog"), p.as_os_str()]).exits(0);
    let out = text(&o.stdout);
    assert_no_raw_controls(&out, "eventlog");
    assert!(out.contains("\\u{202e}exe.txt"), "{out}");
}

#[test]
fn error_messages_escape_what_the_input_named() {
    let d = tempfile::tempdir().unwrap();
    let mut s: Value =
        serde_json::from_slice(&std::fs::read(fixture("implant/implant.json")).unwrap()).unwrap();
    // An unknown bank whose name drives the terminal: the error names it.
    s["tpm"]["pcrs"][format!("sha256{EVIL}")] = serde_json::json!({});
    let p = d.path().join("s.json");
    std::fs::write(&p, serde_json::to_vec(&s).unwrap()).unwrap();
    let o = run(&[os("show"), p.as_os_str()]).exits(2);
    let err = text(&o.stderr);
    assert!(err.contains("s.json") && err.contains("\\x1b[2J"), "{err}");
    assert_no_raw_controls(&err, "stderr");
}

#[test]
fn a_sidecar_name_too_long_to_write_does_not_keep_its_snapshot_out() {
    // One hostile sidecar name could once keep the whole snapshot out: an
    // attacker who can write the ESP could suppress the evidence. Now the
    // snapshot and every sidecar that can be written are, the other named.
    let d = tempfile::tempdir().unwrap();
    let esp = d.path().join("esp/bootaudit/snap-0000.acpi");
    std::fs::create_dir_all(&esp).unwrap();
    for f in ["snap-0000.json", "snap-0000.sha256"] {
        std::fs::copy(fixture("collector").join(f), esp.parent().unwrap().join(f)).unwrap();
    }
    std::fs::write(esp.join("01-APIC.dat"), b"apic").unwrap();
    std::fs::write(esp.join("a".repeat(250)), b"x").unwrap();
    let out = d.path().join("out");
    let mut c = common::bootaudit();
    c.args(["ingest", "--format", "json"])
        .arg(d.path().join("esp"))
        .arg("-o")
        .arg(&out);
    let o = run_with_deadline(&mut c, 20).exits(1);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let s = &v["snapshots"][0];
    assert!(s["error"].is_null(), "{s}");
    let refused = s["sidecars_refused"].as_array().unwrap();
    assert_eq!(refused.len(), 1, "{s}");
    assert!(refused[0].as_str().unwrap().contains(&"a".repeat(250)));
    let mut left: Vec<String> = walk(&out)
        .iter()
        .map(|p| p.strip_prefix(&out).unwrap().display().to_string())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [
            "snap-0000.acpi/01-APIC.dat",
            "snap-0000.json",
            "snap-0000.sha256"
        ]
    );
}

// ---- symlinks and special files -------------------------------------------

#[test]
fn a_symlinked_esp_directory_is_not_followed_out_of_the_esp() {
    let d = tempfile::tempdir().unwrap();
    // Outside the ESP: a snapshot the attacker wants ingested.
    let outside = d.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::copy(
        fixture("collector/snap-0000.json"),
        outside.join("snap-0000.json"),
    )
    .unwrap();
    std::fs::write(outside.join("secret.efi"), b"MZsecret").unwrap();
    let esp = d.path().join("esp");
    std::fs::create_dir_all(&esp).unwrap();
    std::os::unix::fs::symlink(&outside, esp.join("bootaudit")).unwrap();
    std::os::unix::fs::symlink(&outside, esp.join("EFI")).unwrap();
    let out = d.path().join("out");
    run(&[os("ingest"), esp.as_os_str(), os("-o"), out.as_os_str()]).exits(0);
    assert!(walk(&out).is_empty(), "{:?}", walk(&out));
    let o = run(&[os("esp"), os("--format"), os("json"), esp.as_os_str()]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["binaries"].as_array().unwrap().len(), 0, "{v}");
    // A link to a file inside a real directory is not read either.
    std::fs::remove_file(esp.join("bootaudit")).unwrap();
    std::fs::create_dir_all(esp.join("bootaudit")).unwrap();
    std::os::unix::fs::symlink(
        outside.join("snap-0000.json"),
        esp.join("bootaudit/snap-0000.json"),
    )
    .unwrap();
    run(&[os("ingest"), esp.as_os_str(), os("-o"), out.as_os_str()]).exits(0);
    assert!(walk(&out).is_empty(), "{:?}", walk(&out));
}

#[test]
fn stale_temporaries_of_killed_writers_are_removed_by_the_next_write() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("r.json");
    // A writer that no longer runs (PID beyond pid_max), and one that does.
    let dead = d.path().join(".r.json.tmp-4194304000-3");
    let live = d
        .path()
        .join(format!(".r.json.tmp-{}-0", std::process::id()));
    std::fs::write(&dead, b"partial").unwrap();
    std::fs::write(&live, b"in progress").unwrap();
    run(&[
        os("diff"),
        os("--format"),
        os("json"),
        os("-o"),
        out.as_os_str(),
        fixture("implant/baseline.json").as_os_str(),
        fixture("implant/implant.json").as_os_str(),
    ])
    .exits(1);
    assert!(!dead.exists(), "the dead writer's temporary is removed");
    assert!(live.exists(), "a running writer's temporary is kept");
    assert!(serde_json::from_slice::<Value>(&std::fs::read(&out).unwrap()).is_ok());
}

#[test]
fn an_endless_stdin_is_cut_at_its_cap() {
    let mut c = common::bootaudit();
    c.args(["fleet", "--max-stdin", "100000", "-"]);
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let w = std::thread::spawn(move || {
        use std::io::Write;
        let chunk = vec![b' '; 4096];
        // Far more than the cap; the writer stops when the reader exits.
        for _ in 0..10_000 {
            if stdin.write_all(&chunk).is_err() {
                return true;
            }
        }
        false
    });
    let o = child.wait_with_output().unwrap();
    assert!(w.join().unwrap(), "bootaudit stopped reading");
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("more than 100000 bytes"));
}

// ---- replays and quotes that can be emptied ---------------------------------

#[test]
fn an_event_without_its_digests_is_a_finding_and_its_pcr_a_mismatch() {
    use common::craft::*;
    let d = tempfile::tempdir().unwrap();
    let mut log = agile_header();
    log.extend(agile_event(4, 0x8000_0007, b"Calling EFI Application"));
    // PCR7: an event with no digests at all (count 0).
    let mut bare = 7u32.to_le_bytes().to_vec();
    bare.extend(0x8000_0007u32.to_le_bytes());
    bare.extend(0u32.to_le_bytes());
    bare.extend(4u32.to_le_bytes());
    bare.extend(b"evil");
    let bare_at = log.len();
    log.extend(&bare);
    log.extend(agile_event(7, 4, &[0; 4]));
    let p = d.path().join("log.bin");
    std::fs::write(&p, &log).unwrap();
    let o = run(&[os("eventlog"), os("--format"), os("json"), p.as_os_str()]).exits(1);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let m = &v["missing_digests"];
    assert_eq!(m.as_array().unwrap().len(), 2, "{m}");
    assert_eq!(m[0]["event"], 1);
    assert_eq!(m[0]["offset"], bare_at);
    assert_eq!(m[0]["bank"], "sha1");
    assert_eq!(m[1]["bank"], "sha256");
    // Against "real" PCRs: PCR7 in both banks is a mismatch, not dropped.
    let pcrs = d.path().join("pcrs.json");
    std::fs::write(
        &pcrs,
        serde_json::json!({"sha256": {"7": "00".repeat(32), "4": "00".repeat(32)}}).to_string(),
    )
    .unwrap();
    let o = run(&[
        os("eventlog"),
        os("--format"),
        os("json"),
        os("--pcrs"),
        pcrs.as_os_str(),
        p.as_os_str(),
    ]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let pcr7: Vec<&Value> = v["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["pcr"] == 7)
        .collect();
    assert_eq!(pcr7.len(), 2, "{v}");
    assert!(pcr7.iter().all(|x| x["verdict"] == "mismatch"), "{pcr7:?}");
    // The table says so too.
    let o = run(&[os("eventlog"), p.as_os_str()]).exits(1);
    assert!(text(&o.stdout).contains("MISSING DIGEST event 1"));
}

#[test]
fn the_implant_log_with_its_option_rom_digests_removed_fails() {
    // fixtures/implant/implant.json: a real boot whose PCR2 holds the test
    // implant's EV_EFI_BOOT_SERVICES_DRIVER. Remove that event's digests
    // (count 0), as an attacker would to keep PCR2 out of the comparison.
    let mut s: Value =
        serde_json::from_slice(&std::fs::read(fixture("implant/implant.json")).unwrap()).unwrap();
    let raw = hex::decode(s["tpm"]["event_log"].as_str().unwrap()).unwrap();
    let log = bootaudit::eventlog::parse(&raw).unwrap();
    let e = log
        .events
        .iter()
        .find(|e| e.pcr == 2 && e.event_type.0 == 0x8000_0004)
        .expect("the option ROM's driver event");
    let mut cut = raw[..e.offset + 8].to_vec();
    cut.extend(0u32.to_le_bytes());
    let digests_len: usize = e.digests.iter().map(|d| 2 + d.digest.len()).sum();
    cut.extend(&raw[e.offset + 12 + digests_len..]);
    s["tpm"]["event_log"] = Value::String(hex::encode(&cut));
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("cut.json");
    std::fs::write(&p, serde_json::to_vec(&s).unwrap()).unwrap();
    let o = run(&[os("show"), os("--format"), os("json"), p.as_os_str()]).exits(1);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let bad: Vec<&Value> = v["tpm"]["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["verdict"] == "mismatch")
        .collect();
    assert!(
        !bad.is_empty() && bad.iter().all(|x| x["pcr"] == 2),
        "{bad:?}"
    );
}

#[test]
fn a_baseline_of_another_machine_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let mut s: Value =
        serde_json::from_slice(&std::fs::read(fixture("implant/implant.json")).unwrap()).unwrap();
    s["identity"]["smbios"]["system_serial"] = Value::String("OTHER-123".into());
    let other = d.path().join("other.json");
    std::fs::write(&other, serde_json::to_vec(&s).unwrap()).unwrap();
    let base = fixture("implant/baseline.json");
    let o = run(&[os("diff"), base.as_os_str(), other.as_os_str()]).exits(2);
    assert!(text(&o.stderr).contains("another machine"));
    let o = run(&[
        os("diff"),
        os("--format"),
        os("json"),
        os("--allow-other-machine"),
        base.as_os_str(),
        other.as_os_str(),
    ]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["rule"] == "identity.platform.changed"));
    // A snapshot with its SMBIOS identity left out: whose baseline this is
    // cannot be told, so it is refused too, not passed.
    s["identity"]["smbios"] = Value::Null;
    let bare = d.path().join("bare.json");
    std::fs::write(&bare, serde_json::to_vec(&s).unwrap()).unwrap();
    let o = run(&[os("diff"), base.as_os_str(), bare.as_os_str()]).exits(2);
    assert!(
        text(&o.stderr).contains("the snapshot has no SMBIOS system identity"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn a_host_cannot_choose_its_own_baseline_file_or_escape_one() {
    let d = tempfile::tempdir().unwrap();
    let fleet = d.path().join("fleet");
    let bases = d.path().join("baselines");
    let snaps = d.path().join("snaps");
    for p in [&fleet, &bases, &snaps] {
        std::fs::create_dir_all(p).unwrap();
    }
    // The file the host would like to be judged against, outside DIR.
    std::fs::copy(fixture("implant/implant.json"), snaps.join("evil.json")).unwrap();
    let mut s: Value =
        serde_json::from_slice(&std::fs::read(fixture("implant/implant.json")).unwrap()).unwrap();
    s["identity"]["machine_id"] = Value::String("../snaps/evil".into());
    std::fs::write(fleet.join("a.json"), serde_json::to_vec(&s).unwrap()).unwrap();
    s["identity"]["machine_id"] = Value::String("unknownhost".into());
    std::fs::write(fleet.join("b.json"), serde_json::to_vec(&s).unwrap()).unwrap();
    let o = common::run_command(
        common::bootaudit()
            .args(["fleet", "--format", "json", "--baselines"])
            .arg(&bases)
            .arg(&fleet),
    )
    .exits(1);
    let recs: Vec<Value> = text(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &Value| v["type"] == "host")
        .collect();
    assert_eq!(recs.len(), 2);
    for r in &recs {
        let b = r["baseline_findings"].as_array().unwrap();
        assert_eq!(b.len(), 1, "{r}");
        assert_eq!(b[0]["rule"], "baseline.missing");
        assert_eq!(b[0]["severity"], "high");
        assert_eq!(r["outlier"], true);
    }
    let evil = recs.iter().find(|r| r["host"] == "../snaps/evil").unwrap();
    assert!(evil["baseline_findings"][0]["message"]
        .as_str()
        .unwrap()
        .contains("cannot name a baseline file"));
}

// ---- line breaks from the judged machine -------------------------------------

#[test]
fn a_line_feed_from_the_machine_cannot_write_a_line_of_its_own() {
    // A Boot#### description, an SMBIOS string and a loaded image's path
    // carrying line breaks of every kind, each followed by FORGED.
    let d = tempfile::tempdir().unwrap();
    let mut s: Value =
        serde_json::from_slice(&std::fs::read(fixture("implant/implant.json")).unwrap()).unwrap();
    let breaks = ["\n", "\r\n", "\u{2028}", "\u{2029}", "\u{85}"];
    let mut n = 0;
    for (i, e) in s["secure_boot"]["boot_entries"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .enumerate()
    {
        e["description"] = Value::String(format!("Boot{i}{}{FORGED}", breaks[i % 5]));
        n += 1;
    }
    assert!(n >= 3, "{n} boot entries");
    s["identity"]["smbios"]["system_product"] = Value::String(format!("p\n{FORGED}"));
    for (i, img) in s["loaded_images"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .enumerate()
    {
        let p = img["device_path"].as_str().unwrap().to_string();
        img["device_path"] = Value::String(format!("{p}{}{FORGED}", breaks[i % 5]));
    }
    let evil = d.path().join("lf.json");
    std::fs::write(&evil, serde_json::to_vec(&s).unwrap()).unwrap();
    let base = fixture("implant/baseline.json");
    let cases: Vec<(&str, Vec<&std::ffi::OsStr>)> = vec![
        ("show", vec![os("show"), evil.as_os_str()]),
        ("check", vec![os("check"), evil.as_os_str()]),
        (
            "diff",
            vec![
                os("diff"),
                os("--allow-other-machine"),
                base.as_os_str(),
                evil.as_os_str(),
            ],
        ),
    ];
    for (what, args) in &cases {
        let o = run(args);
        let out = text(&o.stdout);
        assert!(!out.is_empty(), "{what}: {}", text(&o.stderr));
        assert!(
            !forges_a_line(&out),
            "{what} printed a line of the input's:\n{out}"
        );
        assert!(
            out.contains("\\x0a") || out.contains("\\u{2028}"),
            "{what}: the escaped break is shown: {out}"
        );
    }
    // JSON lines: one record per line for any line splitter, each whole.
    let o = run(&[
        os("diff"),
        os("--allow-other-machine"),
        os("--format"),
        os("jsonl"),
        base.as_os_str(),
        evil.as_os_str(),
    ]);
    let out = text(&o.stdout);
    let records: Vec<&str> = out.lines().collect();
    assert!(records.len() > 3, "{out}");
    let split: Vec<&str> = out
        .trim_end_matches('\n')
        .split(['\n', '\r', '\u{2028}', '\u{2029}', '\u{85}'])
        .collect();
    assert_eq!(split.len(), records.len(), "a record was split");
    let mut seen = 0;
    for r in &records {
        let v: Value = serde_json::from_str(r).unwrap();
        if v.to_string().contains(FORGED) {
            seen += 1;
        }
    }
    // The strings are still there, exact, inside their records.
    assert!(seen > 0, "{out}");
}
