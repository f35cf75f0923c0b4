//! Helpers of the hostile-input tests (tests/hermetic/hostile_input.rs and
//! tests/system/hostile_input.rs): the attacker's strings, the check that
//! none reaches a terminal raw, and runs guarded against hangs.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A shipped fixture, by its path under `fixtures/`.
pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

/// `bootaudit ARGS` (OS strings).
pub fn run(args: &[&std::ffi::OsStr]) -> super::Run {
    super::run(args)
}

/// A `&str` as an OS string.
pub fn os(s: &str) -> &std::ffi::OsStr {
    s.as_ref()
}

/// Bytes as text, lossily.
pub fn text(b: impl AsRef<[u8]>) -> String {
    String::from_utf8_lossy(b.as_ref()).into_owned()
}

/// Runs `cmd` with a deadline: a hang is a failure, not a stuck suite.
/// Its stdout and stderr are drained as it runs (a child that writes more
/// than a pipe holds must not look like a hang); the deadline only guards
/// against a hang, and decides nothing else.
pub fn run_with_deadline(cmd: &mut Command, secs: u64) -> super::Run {
    let what = format!("{:?}", cmd);
    use std::io::Read;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            v
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if start.elapsed() > Duration::from_secs(secs) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running after {secs} s: it hangs");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    super::finished(
        what,
        Output {
            status,
            stdout: out.join().unwrap(),
            stderr: err.join().unwrap(),
        },
    )
}

/// What an attacker writes into every string field: clear the screen, set
/// the window title, plant an OSC 8 link, rewrite the line, and reverse
/// the text.
pub const EVIL: &str = "OK\u{1b}[2J\u{1b}]0;pwned\u{7}\u{1b}]8;;http://x\u{1b}\\\r\u{8}\u{0}\u{202e}exe.txt\u{2066}\u{9b}";

/// Fails when `out` holds a raw C0 or C1 control or a bidi control.
pub fn assert_no_raw_controls(out: &str, what: &str) {
    for c in out.chars() {
        let bad = matches!(c, '\u{0}'..='\u{8}' | '\u{b}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
            | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        assert!(!bad, "{what}: a raw {:?} reached the terminal", c);
    }
}

/// The shipped implant snapshot with EVIL in its ACPI OEM IDs, SMBIOS
/// strings and loaded images' device paths.
pub fn evil_snapshot(dir: &Path) -> PathBuf {
    let mut s: Value =
        serde_json::from_slice(&std::fs::read(fixture("implant/implant.json")).unwrap()).unwrap();
    s["identity"]["smbios"]["system_product"] = Value::String(format!("prod{EVIL}"));
    s["identity"]["smbios"]["bios_vendor"] = Value::String(format!("vendor{EVIL}"));
    for t in s["acpi"]["tables"].as_array_mut().unwrap() {
        t["oem_id"] = Value::String(format!("O{EVIL}"));
        t["oem_table_id"] = Value::String(format!("T{EVIL}"));
    }
    for i in s["loaded_images"].as_array_mut().unwrap() {
        let p = i["device_path"].as_str().unwrap().to_string();
        i["device_path"] = Value::String(format!("{p}/{EVIL}"));
    }
    let p = dir.join("evil.json");
    std::fs::write(&p, serde_json::to_vec(&s).unwrap()).unwrap();
    p
}

/// Every file below `d`.
pub fn walk(d: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Ok(rd) = std::fs::read_dir(d) {
        for e in rd.flatten() {
            if e.file_type().unwrap().is_dir() {
                v.extend(walk(&e.path()));
            } else {
                v.push(e.path());
            }
        }
    }
    v
}

/// A line the judged machine would like the responder to read.
pub const FORGED: &str = "No differences. The bundle is whole and its quote verifies.";

/// True when some line of `out` is FORGED's text at the start of a line
/// (a value that wrote a line of its own).
pub fn forges_a_line(out: &str) -> bool {
    out.split([
        '\n', '\r', '\u{2028}', '\u{2029}', '\u{85}', '\u{b}', '\u{c}',
    ])
    .any(|l| {
        l.trim_start_matches([' ', '│', '┆', '|'])
            .starts_with(FORGED)
    })
}
