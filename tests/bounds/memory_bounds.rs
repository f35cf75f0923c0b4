//! Peak memory under the size caps, for the input shapes that cost the most
//! per byte: a log of minimal events, a snapshot of tiny values, a JSON-lines
//! file that is one line, a diff of many moved regions. The bound is the
//! project's: at most 8 times the input plus 64 MiB; the logs are held to 8
//! times their size plus 1 MiB. The allocator below counts every byte;
//! this file holds a single test so that nothing else allocates while it
//! measures. (Full-size figures: bench/hostile.sh.)

use crate::common;

use bootaudit::eventlog::parse;
use bootaudit::logreport as report;
use common::counting::peak_of;

const MIB: usize = 1 << 20;

/// A crypto-agile header declaring SHA-1 and SHA-256.
fn header() -> Vec<u8> {
    let mut d = b"Spec ID Event03\0".to_vec();
    d.extend(0u32.to_le_bytes());
    d.extend([0, 2, 0, 2]);
    d.extend(2u32.to_le_bytes());
    d.extend([4, 0, 20, 0, 0x0b, 0, 32, 0]);
    d.push(0);
    let mut v = 0u32.to_le_bytes().to_vec();
    v.extend(3u32.to_le_bytes());
    v.extend([0u8; 20]);
    v.extend((d.len() as u32).to_le_bytes());
    v.extend(d);
    v
}

/// The whole `eventlog` pipeline on `log`: parse, build, JSON and table
/// written to a sink, as the CLI streams them.
fn eventlog_pipeline(log: &[u8]) -> bool {
    let l = parse(log).expect("parses");
    let r = report::build("big", &l, &[], None);
    serde_json::to_writer(std::io::sink(), &r).unwrap();
    bootaudit::render::eventlog::write_table(&r, &mut std::io::sink()).unwrap();
    r.ok
}

/// The allocator's counters are the process's: tests that measure a peak
/// run one at a time, or each would count the other's allocations.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn peak_memory_stays_within_the_bounds() {
    let _serial = common::counting::serial();
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // 1. 4 MiB of minimal events (16 bytes each, no digests): the events
    //    are findings, and the report streams.
    let mut log = header();
    while log.len() < 4 * MIB {
        log.extend(7u32.to_le_bytes());
        log.extend(0x8000_0007u32.to_le_bytes());
        log.extend(0u32.to_le_bytes()); // no digests
        log.extend(0u32.to_le_bytes()); // no data
    }
    let (ok, peak) = peak_of(|| eventlog_pipeline(&log));
    assert!(!ok, "events without digests are findings");
    eprintln!(
        "minimal events: {:.2}x the input",
        peak as f64 / log.len() as f64
    );
    assert!(
        peak <= 8 * log.len() + MIB,
        "minimal events: peak {peak} for {} bytes",
        log.len()
    );
    // 2. The same size of minimal separators with both digests, wrong.
    let mut log = header();
    while log.len() < 4 * MIB {
        log.extend(0u32.to_le_bytes());
        log.extend(4u32.to_le_bytes());
        log.extend(2u32.to_le_bytes());
        log.extend(4u16.to_le_bytes());
        log.extend([1u8; 20]);
        log.extend(0x0bu16.to_le_bytes());
        log.extend([1u8; 32]);
        log.extend(0u32.to_le_bytes());
    }
    let (ok, peak) = peak_of(|| eventlog_pipeline(&log));
    assert!(!ok, "every digest is wrong");
    eprintln!(
        "mismatching events: {:.2}x the input",
        peak as f64 / log.len() as f64
    );
    assert!(
        peak <= 8 * log.len() + MIB,
        "mismatching events: peak {peak} for {} bytes",
        log.len()
    );

    // 3. A snapshot of tiny values: 300,000 error records (three JSON values
    //    each, under the one-million cap) through parse and show.
    let mut doc = String::from(
        r#"{"format":"bootaudit-snapshot/1","source":{"kind":"x","version":"1"},"errors":["#,
    );
    for i in 0..300_000 {
        if i > 0 {
            doc.push(',');
        }
        doc.push_str(r#"{"part":"a","what":"b"}"#);
    }
    doc.push_str("]}");
    let (n, peak) = peak_of(|| {
        let s = bootaudit::snapshot::parse(doc.as_bytes(), "tiny.json").unwrap();
        let r = bootaudit::show::build("tiny.json", &s);
        let t = bootaudit::render::show::table(&r);
        s.errors.len() + t.len() / usize::MAX
    });
    assert_eq!(n, 300_000);
    eprintln!(
        "tiny values: {:.2}x the input",
        peak as f64 / doc.len() as f64
    );
    assert!(
        peak <= 8 * doc.len() + 64 * MIB,
        "tiny values: peak {peak} for {} bytes",
        doc.len()
    );
    // Past the cap: refused, at the cost of the scan only.
    for _ in 0..40_000 {
        doc.insert_str(doc.len() - 2, r#",{"part":"a","what":"b"}"#);
    }
    let (e, peak) = peak_of(|| bootaudit::snapshot::parse(doc.as_bytes(), "tiny.json").err());
    let e = e.expect("over the value cap").to_string();
    assert!(e.contains("more than 1000000 JSON values"), "{e}");
    assert!(peak < MIB, "refusing costs nothing: {peak}");

    // 4. A JSON-lines file that is one 64 MiB line: listing it costs a
    //    fixed buffer, not the line.
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("one.jsonl");
    std::fs::write(&p, vec![b'x'; 64 * MIB]).unwrap();
    let input = bootaudit::fleet::Input::Lines {
        path: p.clone(),
        name: "one.jsonl".into(),
    };
    let (srcs, peak) = peak_of(|| bootaudit::fleet::sources(&input).unwrap().len());
    assert_eq!(srcs, 1);
    assert!(peak < MIB, "listing one long line: peak {peak}");

    // 5. A diff of two maps of 100,000 runtime regions each, every one
    //    moved: paired in linear time, and the findings capped.
    let snap = |shift: u64| {
        let mut s = String::from(
            r#"{"format":"bootaudit-snapshot/1","source":{"kind":"efi-collector","version":"1"},"memory_maps":[{"label":"entry","map_key":1,"descriptor_size":48,"descriptor_version":1,"descriptors":["#,
        );
        for i in 0..100_000u64 {
            if i > 0 {
                s.push(',');
            }
            s.push_str(&format!(
                r#"{{"type":6,"physical_start":{},"virtual_start":0,"pages":1,"attributes":0}}"#,
                (i * 2 + shift) * 4096
            ));
        }
        s.push_str("]}]}");
        s
    };
    let (a, b) = (snap(0), snap(1));
    let (n, peak) = peak_of(|| {
        let sa = bootaudit::snapshot::parse(a.as_bytes(), "a.json").unwrap();
        let sb = bootaudit::snapshot::parse(b.as_bytes(), "b.json").unwrap();
        let r = bootaudit::diff::diff("a.json", &sa, "b.json", &sb);
        let mut out = Vec::new();
        bootaudit::render::json_to(&r, &mut out).unwrap();
        r.findings
            .iter()
            .filter(|f| f.rule == "memory-map.region.moved")
            .count()
    });
    assert_eq!(n, bootaudit::diff::MAX_REGION_FINDINGS + 1);
    let input = a.len() + b.len();
    eprintln!(
        "moved regions: {:.2}x the input",
        peak as f64 / input as f64
    );
    assert!(
        peak <= 8 * input + 64 * MIB,
        "moved regions: peak {peak} for {input} bytes"
    );

    // 6. A Windows-shaped log of 4 MiB of SIPA records: tagged events in
    //    PCR 12 whose digests cover them, each a trust boundary of 20,000
    //    modules that differ by their 4-byte Authenticode hash. Decoded
    //    one at a time, and the Windows summary keeps MAX_KEPT modules.
    let mut log = header();
    let mut serial = 0u32;
    while log.len() < 4 * MIB {
        let mut tree = Vec::new();
        for _ in 0..20_000 {
            serial += 1;
            let mut hash = 0x0007_0004u32.to_le_bytes().to_vec();
            hash.extend(4u32.to_le_bytes());
            hash.extend(serial.to_le_bytes());
            tree.extend(0x4001_0003u32.to_le_bytes());
            tree.extend((hash.len() as u32).to_le_bytes());
            tree.extend(hash);
        }
        let mut data = 0x4001_0001u32.to_le_bytes().to_vec();
        data.extend((tree.len() as u32).to_le_bytes());
        data.extend(tree);
        log.extend(common::craft::agile_event(12, 6, &data));
    }
    // The decoding itself is bounded by a constant, not by the log: one
    // event decodes to at most sipa::MAX_RECORDS records, and the summary
    // keeps MAX_KEPT modules. Measured apart from parsing:
    let l0 = parse(&log).unwrap();
    let status = bootaudit::eventlog::check::check(&l0).status;
    let (_, decoding) =
        peak_of(|| bootaudit::eventlog::windows::from_log(&l0, &status).map(|w| w.modules.len()));
    drop((l0, status));
    eprintln!(
        "SIPA decoding and summary: {:.1} MiB",
        decoding as f64 / MIB as f64
    );
    assert!(decoding <= 32 * MIB, "SIPA decoding: {decoding} bytes");
    let (ok, peak) = peak_of(|| {
        let l = parse(&log).expect("parses");
        let w = bootaudit::eventlog::windows::from_log(
            &l,
            &bootaudit::eventlog::check::check(&l).status,
        )
        .expect("SIPA events");
        assert_eq!(w.modules.len(), bootaudit::eventlog::windows::MAX_KEPT);
        assert!(w.modules_omitted > 100_000, "{}", w.modules_omitted);
        eventlog_pipeline(&log)
    });
    assert!(ok);
    eprintln!(
        "SIPA records: {:.2}x the input",
        peak as f64 / log.len() as f64
    );
    // Parsing reserves its event vector once for the most events the log
    // could hold (5.5x here); the rest is the constant above.
    assert!(
        peak <= 8 * log.len() + 64 * MIB,
        "SIPA records: peak {peak} for {} bytes",
        log.len()
    );
    // 6. `timeline` on a journal whose every line is a flash tool's run
    //    (each an event, with its tool and command line), and an audit
    //    log whose every record opens /dev/mem: the events held are the
    //    input's size again at most, and the report streams.
    let d = tempfile::tempdir().unwrap();
    let journal = d.path().join("j.json");
    let audit = d.path().join("audit.log");
    let (mut j, mut a) = (String::new(), String::new());
    let mut i = 0u64;
    while j.len() < 16 * MIB {
        j.push_str(&format!(
            "{{\"__REALTIME_TIMESTAMP\":\"{}\",\"_BOOT_ID\":\"b\",\"_COMM\":\"flashrom\",\"_PID\":\"{i}\",\"_CMDLINE\":\"flashrom -w x\"}}\n",
            1_768_125_600_000_000u64 + i
        ));
        a.push_str(&format!(
            "type=SYSCALL msg=audit(1768125600.{:03}:{i}): success=yes auid=1000 uid=0 comm=\"flashrom\" exe=\"/usr/sbin/flashrom\"\ntype=PATH msg=audit(1768125600.{:03}:{i}): item=0 name=\"/dev/mem\"\n",
            i % 1000,
            i % 1000
        ));
        i += 1;
    }
    std::fs::write(&journal, &j).unwrap();
    std::fs::write(&audit, &a).unwrap();
    let input = j.len() + a.len();
    drop((j, a));
    let (events, peak) = peak_of(|| {
        let r = bootaudit::timeline::run(&bootaudit::timeline::Options {
            paths: vec![journal.clone(), audit.clone()],
            ..Default::default()
        })
        .unwrap();
        serde_json::to_writer(std::io::sink(), &r).unwrap();
        r.events.len()
    });
    assert!(events as u64 >= 2 * i, "{events} events of {i} lines");
    eprintln!("timeline: {:.2}x the input", peak as f64 / input as f64);
    assert!(
        peak <= 8 * input + 64 * MIB,
        "timeline: peak {peak} for {input} bytes"
    );
}

#[test]
fn thousands_of_costly_indicator_regexps_stay_within_one_budget() {
    let _serial = common::counting::serial();
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // 9,999 rules of nested counted repetitions (a 967 KB file once took
    // 6 GB): compiled and run over a body, within 8 times the file plus
    // 64 MiB; the rules past the budget are refused by name.
    let mut threats = serde_json::Map::new();
    for i in 0..9_999 {
        threats.insert(
            format!("T{i}"),
            serde_json::json!({"description": "x", "match": {
                format!("r{i}"): {"regexp": "(?:[\\x00-\\x7f]{1,40}){1,60}"}}}),
        );
    }
    let doc = serde_json::to_vec(&threats).unwrap();
    assert!(doc.len() > 800_000, "{}", doc.len());
    let rules = bootaudit::check::indicators::parse(&doc, "costly.json").unwrap();
    assert_eq!(rules.len(), 9_999);
    let body = vec![b'a'; 64 << 10];
    let ((compiled, refused, matched), peak) = peak_of(|| {
        let res = bootaudit::check::indicators::compile(&rules);
        let mut matched = 0;
        let mut compiled = 0;
        let mut refused = Vec::new();
        for r in res.iter().flatten() {
            match r {
                Ok(re) => {
                    compiled += 1;
                    matched += usize::from(re.is_match(&body));
                }
                Err(e) => refused.push(e.clone()),
            }
        }
        (compiled, refused, matched)
    });
    println!(
        "{compiled} compiled, {} refused, peak {} MiB for a {} KB file",
        refused.len(),
        peak >> 20,
        doc.len() >> 10
    );
    assert_eq!(compiled + refused.len(), 9_999);
    assert_eq!(matched, compiled, "every compiled rule matches the body");
    assert!(compiled > 0 && !refused.is_empty());
    assert!(
        refused[0].contains("/r") && refused[0].contains("regexp refused"),
        "{}",
        refused[0]
    );
    assert!(
        peak <= 8 * doc.len() + 64 * MIB,
        "peak {peak} for {} bytes",
        doc.len()
    );
}
