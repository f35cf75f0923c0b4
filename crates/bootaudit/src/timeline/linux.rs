//! Linux's logs: the systemd journal (as `journalctl -o json` lines, or
//! its export format) and auditd's log.
//!
//! From the journal: each boot (a new `_BOOT_ID`, placed at its first
//! record), a run of a flash-capable program (by `_EXE`, `_COMM`,
//! `SYSLOG_IDENTIFIER` or the command line's words), the kernel's lockdown
//! refusals ("Lockdown: flashrom: /dev/mem,kmem,port is restricted") and
//! out-of-tree modules (chipsec.ko taints the kernel as it loads).
//!
//! From auditd: opens of raw hardware (/dev/mem, /dev/kmem, /dev/port,
//! MTD devices) with the program, auid and uid; module loads
//! (KERN_MODULE); and runs of flash-capable programs (EXECVE, SYSCALL).
//! Records of one audit event share a serial and are joined.
//!
//! Lines are read with a cap on their length: a longer line is damage,
//! skipped without being held, and named by its number.

use super::{
    push_event, At, Event, Input, Kind, Match, Place, SourceKind, TimelineError, Tool, Who,
};
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::io::{BufRead, Read};
use std::path::Path;

/// A journal or audit line is at most this long; a longer one is damage.
pub const MAX_LINE: usize = 1 << 20;

/// A journal export entry has at most this many fields.
pub const MAX_FIELDS: usize = 4096;

/// Reads lines of `r` with the project's bounded line reader
/// ([`crate::fleet::lines`]), each at most [`MAX_LINE`] bytes, a trailing
/// carriage return cut; a longer line is passed to `f` as `None` (skipped,
/// never held whole). Line numbers are 1-based; offsets are of the line's
/// first byte.
fn each_line(
    r: impl Read,
    mut f: impl FnMut(u64, u64, Option<&[u8]>) -> Result<(), TimelineError>,
) -> std::io::Result<Result<(), TimelineError>> {
    use crate::fleet::lines::{Line, Lines};
    let mut lines = Lines::new(r, MAX_LINE);
    while let Some((at, l)) = lines.next_line_at()? {
        let (n, text) = match l {
            Line::Text(n, mut t) => {
                while let [rest @ .., b'\r'] = t {
                    t = rest;
                }
                (n, Some(t))
            }
            Line::TooLong(n) => (n, None),
        };
        if let Err(e) = f(n as u64, at, text) {
            return Ok(Err(e));
        }
    }
    Ok(Ok(()))
}

/// Notes a line longer than [`MAX_LINE`] as damage, by number and offset.
fn too_long(input: &mut Input, n: u64, offset: u64) {
    note_damage(
        input,
        format!("line {n} at byte {offset}: longer than {MAX_LINE} bytes"),
    );
}

fn open(path: &Path) -> Result<(String, std::fs::File), TimelineError> {
    let file = path.display().to_string();
    let f = crate::fsutil::open_input(path)
        .map_err(|e| TimelineError::file(&file, format!("cannot read: {e}")))?;
    Ok((file, f))
}

/// What the journal readers carry from record to record.
struct Journal {
    input: Input,
    events: Vec<Event>,
    boots: HashSet<String>,
    processes: HashSet<(String, String)>,
}

/// At most this many distinct boots and flash-tool processes are tracked
/// per journal.
const MAX_TRACKED: usize = 1_000_000;

impl Journal {
    fn new(file: String, kind: SourceKind) -> Journal {
        Journal {
            input: Input::new(file, kind),
            events: Vec::new(),
            boots: HashSet::new(),
            processes: HashSet::new(),
        }
    }

    fn push(&mut self, e: Event) -> Result<(), TimelineError> {
        push_event(&mut self.events, e, &self.input.file)
    }

    /// One journal entry, as JSON fields.
    fn entry(&mut self, m: &Map<String, Value>, place: Place) -> Result<(), TimelineError> {
        let s = |k: &str| field(m, k);
        let at = s("__REALTIME_TIMESTAMP")
            .and_then(|t| t.parse::<i64>().ok())
            .and_then(At::from_micros);
        self.input.saw(at);
        let boot = s("_BOOT_ID");
        if let Some(b) = &boot {
            if !self.boots.contains(b) && self.boots.len() < MAX_TRACKED {
                self.boots.insert(b.clone());
                let mut e = Event::new(
                    at,
                    place.clone(),
                    Kind::OsStart,
                    format!("boot {b}: its first record in the journal"),
                );
                e.boot = Some(b.clone());
                self.push(e)?;
            }
        }
        let who = Who {
            uid: s("_UID").and_then(|u| u.parse().ok()),
            auid: s("_AUDIT_LOGINUID")
                .and_then(|u| u.parse().ok())
                .filter(|&u: &u32| u != u32::MAX),
            ..Who::default()
        };
        let message = s("MESSAGE").unwrap_or_default();
        if s("_TRANSPORT").as_deref() == Some("kernel") {
            if let Some(e) = kernel_message(&message, at, &place) {
                let mut e = e;
                e.boot = boot.clone();
                self.push(e)?;
            }
            return Ok(());
        }
        // A flash-capable program: by its executable, its name, its
        // syslog identifier or a word of its command line (chipsec runs
        // as python3 chipsec_util.py).
        let cmdline = s("_CMDLINE");
        let mut names: Vec<String> = ["_EXE", "_COMM", "SYSLOG_IDENTIFIER"]
            .iter()
            .filter_map(|k| s(k))
            .collect();
        if let Some(c) = &cmdline {
            names.extend(c.split_whitespace().take(8).map(str::to_string));
        }
        let Some(tool) = names
            .iter()
            .find(|n| super::lists::flash_tool(&super::file_name(n)).is_some())
        else {
            return Ok(());
        };
        let pid = s("_PID").unwrap_or_default();
        let key = (boot.clone().unwrap_or_default(), pid.clone());
        if self.processes.contains(&key) || self.processes.len() >= MAX_TRACKED {
            return Ok(());
        }
        self.processes.insert(key);
        let mut e = Event::new(
            at,
            place,
            Kind::ProcessStart,
            match &cmdline {
                Some(_) => format!("{} ran (pid {pid})", super::file_name(tool)),
                None => format!("{} ran (pid {pid}): {message}", super::file_name(tool)),
            },
        );
        e.tool = Some(Box::new(Tool::at(tool.clone())));
        e.object = cmdline;
        e.who = who;
        e.boot = boot;
        self.push(e)
    }

    fn finish(mut self) -> (Input, Vec<Event>) {
        self.input.events = self.events.len();
        (self.input, self.events)
    }
}

/// A journal field as text: a string, a number, or bytes (an array of
/// numbers, as journalctl writes a field that is not UTF-8), lossily.
fn field(m: &Map<String, Value>, k: &str) -> Option<String> {
    match m.get(k)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(a) => {
            let b: Vec<u8> = a
                .iter()
                .filter_map(|x| x.as_u64().and_then(|n| u8::try_from(n).ok()))
                .collect();
            Some(String::from_utf8_lossy(&b).into_owned())
        }
        _ => None,
    }
}

/// A kernel message that matters: a lockdown refusal, or an out-of-tree
/// or unsigned module loading.
pub fn kernel_message(msg: &str, at: Option<At>, place: &Place) -> Option<Event> {
    if let Some(rest) = msg.strip_prefix("Lockdown: ") {
        let (comm, what) = rest.split_once(": ").unwrap_or((rest, ""));
        let mut e = Event::new(
            at,
            place.clone(),
            Kind::LockdownDenied,
            format!("kernel lockdown refused {comm}: {what}"),
        );
        e.tool = Some(Box::new(Tool::at(comm)));
        e.object = Some(
            what.trim_end_matches(" is restricted; see man kernel_lockdown.7")
                .to_string(),
        );
        return Some(e);
    }
    for marker in [
        ": loading out-of-tree module taints kernel",
        ": module verification failed",
        ": module is from the staging directory",
    ] {
        if let Some(i) = msg.find(marker) {
            let module = &msg[..i];
            if module.is_empty() || module.len() > 64 || module.contains(' ') {
                return None;
            }
            let mut e = Event::new(
                at,
                place.clone(),
                Kind::ModuleLoad,
                format!("kernel module {module} loaded ({})", msg[i + 2..].trim()),
            );
            e.tool = Some(Box::new(Tool::at(format!("{module}.ko"))));
            e.object = Some(module.to_string());
            return Some(e);
        }
    }
    None
}

/// Reads `journalctl -o json` lines.
pub fn read_journal_json(path: &Path) -> Result<(Input, Vec<Event>), TimelineError> {
    let (file, f) = open(path)?;
    read_journal_json_from(f, &file)
}

/// Reads `journalctl -o json` lines from any reader; `file` names it.
pub fn read_journal_json_from(
    f: impl Read,
    file: &str,
) -> Result<(Input, Vec<Event>), TimelineError> {
    let file = file.to_string();
    let shared: std::sync::Arc<str> = file.as_str().into();
    let mut j = Journal::new(file.clone(), SourceKind::JournalJson);
    let res = each_line(f, |n, offset, line| {
        let place = Place {
            file: shared.clone(),
            line: Some(n),
            ..Place::default()
        };
        let Some(line) = line else {
            too_long(&mut j.input, n, offset);
            return Ok(());
        };
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        match serde_json::from_slice::<Map<String, Value>>(line) {
            Ok(m) => j.entry(&m, place),
            Err(e) => {
                note_damage(
                    &mut j.input,
                    format!("line {n} at byte {offset}: not a JSON object: {e}"),
                );
                Ok(())
            }
        }
    })
    .map_err(|e| TimelineError::file(&file, format!("cannot read: {e}")))?;
    res?;
    Ok(j.finish())
}

/// The month of a traditional syslog stamp (`Jan`..`Dec`), 1-based.
fn month(m: &str) -> Option<i8> {
    [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|x| *x == m)
    .map(|i| i as i8 + 1)
}

/// A kernel log line: its time (where the line has a wall-clock one) and
/// the kernel's message. `year` completes a traditional stamp, which has
/// none.
pub fn kernel_line(line: &str, year: Option<i16>) -> Option<(Option<At>, &str)> {
    // dmesg: "[   12.345678] message", seconds since boot.
    if let Some(rest) = line.strip_prefix('[') {
        let (secs, msg) = rest.split_once("] ")?;
        secs.trim().parse::<f64>().ok()?;
        return Some((None, msg));
    }
    // syslog: "STAMP HOST kernel: [ 12.3] message".
    let k = line.find(" kernel: ")?;
    let head = &line[..k];
    let mut msg = &line[k + " kernel: ".len()..];
    if let Some(r) = msg.strip_prefix('[') {
        if let Some((secs, m)) = r.split_once("] ") {
            if secs.trim().parse::<f64>().is_ok() {
                msg = m;
            }
        }
    }
    let stamp = head.rsplit_once(' ').map_or(head, |(s, _host)| s);
    if let Some(t) = At::parse(stamp) {
        return Some((Some(t), msg));
    }
    // Traditional: "Jan 11 10:00:00", in the host's local time, which
    // the line does not say: read as UTC, with the year given.
    let mut w = stamp.split_whitespace();
    let (Some(mo), Some(d), Some(hms)) = (w.next().and_then(month), w.next(), w.next()) else {
        return Some((None, msg));
    };
    let at = year.and_then(|y| {
        let d: i8 = d.parse().ok()?;
        let mut t = hms.split(':').map(|x| x.parse::<i8>().ok());
        let (h, mi, s) = (t.next()??, t.next()??, t.next()??);
        jiff::civil::DateTime::new(y, mo, d, h, mi, s, 0)
            .ok()?
            .to_zoned(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| At(z.timestamp()))
    });
    Some((at, msg))
}

/// True when the text looks like a kernel log (dmesg or kern.log).
pub fn looks_like_kernel_log(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&head[..head.len().min(4096)]);
    let first = text.lines().next().unwrap_or("");
    (first.starts_with('[')
        && first
            .find("] ")
            .is_some_and(|i| first[1..i].trim().parse::<f64>().is_ok()))
        || first.contains(" kernel: ")
}

/// Reads a kernel log as text (kern.log or dmesg). A traditional syslog
/// stamp has no year: `year` (the file's modification year, which the
/// report says) completes it.
pub fn read_kernel_log_from(
    f: impl Read,
    file: &str,
    year: Option<i16>,
) -> Result<(Input, Vec<Event>), TimelineError> {
    let file = file.to_string();
    let shared: std::sync::Arc<str> = file.as_str().into();
    let mut input = Input::new(file.clone(), SourceKind::KernelLog);
    let mut events = Vec::new();
    let res = each_line(f, |n, offset, line| {
        let Some(line) = line else {
            too_long(&mut input, n, offset);
            return Ok(());
        };
        let line = String::from_utf8_lossy(line);
        let Some((at, msg)) = kernel_line(&line, year) else {
            return Ok(());
        };
        input.saw(at);
        let place = Place {
            file: shared.clone(),
            line: Some(n),
            ..Place::default()
        };
        match kernel_message(msg, at, &place) {
            Some(e) => push_event(&mut events, e, &file),
            None => Ok(()),
        }
    })
    .map_err(|e| TimelineError::file(&file, format!("cannot read: {e}")))?;
    res?;
    input.events = events.len();
    Ok((input, events))
}

/// Reads a kernel log file; a traditional stamp takes its year from the
/// file's modification time.
pub fn read_kernel_log(path: &Path) -> Result<(Input, Vec<Event>), TimelineError> {
    let (file, f) = open(path)?;
    let year = f
        .metadata()
        .ok()
        .and_then(|m| m.modified().ok())
        .and_then(|t| jiff::Timestamp::try_from(t).ok())
        .map(|t| t.to_zoned(jiff::tz::TimeZone::UTC).year());
    read_kernel_log_from(f, &file, year)
}

fn note_damage(input: &mut Input, what: String) {
    if input.damage.len() < 100 {
        input.damage.push(what);
    }
}

/// Reads the journal export format (`journalctl -o export`): entries of
/// `NAME=value` lines, binary fields as `NAME`, a little-endian 64-bit
/// size, the bytes and a newline; a blank line ends each entry.
pub fn read_journal_export(path: &Path) -> Result<(Input, Vec<Event>), TimelineError> {
    let (file, f) = open(path)?;
    let mut r = std::io::BufReader::with_capacity(1 << 16, f);
    let mut j = Journal::new(file.clone(), SourceKind::JournalExport);
    let shared: std::sync::Arc<str> = file.as_str().into();
    parse_export(&mut r, &file, |m, offset| {
        let place = Place {
            file: shared.clone(),
            offset: Some(offset),
            ..Place::default()
        };
        j.entry(&m, place)
    })?;
    Ok(j.finish())
}

/// Parses the export format from `r`, calling `f` with each entry's
/// fields and the entry's byte offset. Stops with an error at the first
/// malformed field, naming its offset.
pub fn parse_export(
    r: &mut impl BufRead,
    file: &str,
    mut f: impl FnMut(Map<String, Value>, u64) -> Result<(), TimelineError>,
) -> Result<(), TimelineError> {
    let io = |e: std::io::Error| TimelineError::file(file, format!("cannot read: {e}"));
    let mut offset = 0u64;
    let mut entry = Map::new();
    let mut entry_at = 0u64;
    let mut line = Vec::new();
    loop {
        line.clear();
        let got = r
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(io)?;
        let at = offset;
        offset += got as u64;
        if got == 0 {
            if !entry.is_empty() {
                f(std::mem::take(&mut entry), entry_at)?;
            }
            return Ok(());
        }
        if line.last() != Some(&b'\n') {
            return Err(TimelineError::at(
                file,
                at,
                if line.len() > MAX_LINE {
                    format!("a field longer than {MAX_LINE} bytes")
                } else {
                    "the last field has no newline (truncated)".to_string()
                },
            ));
        }
        line.pop();
        if line.is_empty() {
            if !entry.is_empty() {
                f(std::mem::take(&mut entry), entry_at)?;
            }
            entry_at = offset;
            continue;
        }
        if entry.len() >= MAX_FIELDS {
            return Err(TimelineError::at(
                file,
                at,
                format!("an entry with more than {MAX_FIELDS} fields"),
            ));
        }
        let (name, value) = match memchr::memchr(b'=', &line) {
            Some(i) => (line[..i].to_vec(), line[i + 1..].to_vec()),
            None => {
                // A binary field: the size, the bytes, a newline.
                let mut size = [0u8; 8];
                r.read_exact(&mut size).map_err(|_| {
                    TimelineError::at(file, offset, "a binary field's size is cut short")
                })?;
                let n = u64::from_le_bytes(size);
                if n > MAX_LINE as u64 {
                    return Err(TimelineError::at(
                        file,
                        offset,
                        format!("a binary field of {n} bytes (at most {MAX_LINE})"),
                    ));
                }
                let mut v = Vec::new();
                r.take(n).read_to_end(&mut v).map_err(io)?;
                let mut nl = [0u8; 1];
                if v.len() as u64 != n || r.read_exact(&mut nl).is_err() || nl[0] != b'\n' {
                    return Err(TimelineError::at(
                        file,
                        offset,
                        "a binary field is cut short or not ended by a newline",
                    ));
                }
                offset += 8 + n + 1;
                (line.clone(), v)
            }
        };
        if name.is_empty()
            || !name
                .iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_')
        {
            return Err(TimelineError::at(
                file,
                at,
                "not a journal export field (NAME=value, NAME in A-Z, 0-9 and _)",
            ));
        }
        let name = String::from_utf8_lossy(&name).into_owned();
        if entry.is_empty() {
            entry_at = at;
        }
        entry.insert(
            name,
            Value::String(String::from_utf8_lossy(&value).into_owned()),
        );
    }
}

/// The devices whose open is raw access to the hardware the firmware
/// lives in.
pub fn raw_device(name: &str) -> bool {
    matches!(name, "/dev/mem" | "/dev/kmem" | "/dev/port")
        || name
            .strip_prefix("/dev/mtd")
            .is_some_and(|r| r.is_empty() || r.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// One audit record's `key=value` fields (values unquoted; hex-encoded
/// values of the fields auditd encodes decoded).
pub fn audit_fields(line: &str) -> Vec<(&str, String)> {
    let mut out = Vec::new();
    // Enriched logs append interpreted fields after a GS (0x1d).
    let line = line.split('\u{1d}').next().unwrap_or(line);
    let mut rest = line;
    while !rest.is_empty() {
        rest = rest.trim_start();
        let Some(eq) = rest.find('=') else { break };
        let key = &rest[..eq];
        if key.contains(' ') {
            // A word with no value: skip it.
            rest = &rest[key.find(' ').map_or(rest.len(), |i| i + 1)..];
            continue;
        }
        rest = &rest[eq + 1..];
        let (value, raw_quoted) = if let Some(q) = rest.strip_prefix('"') {
            let end = q.find('"').unwrap_or(q.len());
            let v = &q[..end];
            rest = q.get(end + 1..).unwrap_or("");
            (v.to_string(), true)
        } else if let Some(q) = rest.strip_prefix('\'') {
            let end = q.find('\'').unwrap_or(q.len());
            let v = &q[..end];
            rest = q.get(end + 1..).unwrap_or("");
            (v.to_string(), true)
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            let v = &rest[..end];
            rest = &rest[end..];
            (v.to_string(), false)
        };
        let encoded = matches!(key, "comm" | "exe" | "name" | "cwd" | "proctitle")
            || (key.starts_with('a')
                && key[1..].bytes().all(|b| b.is_ascii_digit())
                && key.len() > 1);
        let value = if encoded && !raw_quoted && value.len() % 2 == 0 && !value.is_empty() {
            hex::decode(&value)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or(value)
        } else {
            value
        };
        out.push((key, value));
    }
    out
}

/// `msg=audit(1364481363.243:24287):` → (time, serial).
fn audit_stamp(line: &str) -> Option<(Option<At>, u64)> {
    let i = line.find("msg=audit(")? + "msg=audit(".len();
    let rest = &line[i..];
    let end = rest.find(')')?;
    let (t, serial) = rest[..end].split_once(':')?;
    let (secs, frac) = t.split_once('.').unwrap_or((t, "0"));
    let secs: i64 = secs.parse().ok()?;
    let ms: i64 = frac.get(..3).unwrap_or(frac).parse().unwrap_or(0);
    let at = secs
        .checked_mul(1_000_000)
        .and_then(|us| us.checked_add(ms * 1000))
        .and_then(At::from_micros);
    Some((at, serial.parse().ok()?))
}

/// The records of one audit event, joined.
#[derive(Default)]
struct AuditEvent {
    at: Option<At>,
    line: u64,
    exe: Option<String>,
    comm: Option<String>,
    uid: Option<u32>,
    auid: Option<u32>,
    paths: Vec<String>,
    args: Vec<String>,
    module: Option<String>,
    success: Option<String>,
}

fn audit_event(file: &std::sync::Arc<str>, serial: u64, a: AuditEvent) -> Option<Event> {
    let place = Place {
        file: file.clone(),
        record: Some(serial),
        line: Some(a.line),
        ..Place::default()
    };
    let who = Who {
        uid: a.uid,
        auid: a.auid.filter(|&u| u != u32::MAX),
        ..Who::default()
    };
    let program = a.exe.clone().or(a.comm.clone()).unwrap_or_default();
    if let Some(dev) = a.paths.iter().find(|p| raw_device(p)) {
        let ok = match a.success.as_deref() {
            Some("no") => " (refused)",
            _ => "",
        };
        let mut e = Event::new(
            a.at,
            place,
            Kind::RawAccess,
            format!("{program} opened {dev}{ok}"),
        );
        e.tool = Some(Box::new(Tool::at(program)));
        e.object = Some(dev.clone());
        e.who = who;
        e.matches.push(Match {
            list: "raw-access",
            id: dev.clone().into(),
            by: "device",
            category: "raw access to physical memory, I/O ports or flash".into(),
            flash_capable: true,
            source: "auditd".into(),
        });
        return Some(e);
    }
    if let Some(m) = &a.module {
        let mut e = Event::new(
            a.at,
            place,
            Kind::ModuleLoad,
            format!("kernel module {m} loaded by {program}"),
        );
        e.tool = Some(Box::new(Tool::at(format!("{m}.ko"))));
        e.object = Some(m.clone());
        e.who = who;
        return Some(e);
    }
    let words = a.args.iter().chain(a.exe.iter()).chain(a.comm.iter());
    let hit = words
        .take(16)
        .find(|w| super::lists::flash_tool(&super::file_name(w)).is_some())?;
    let mut e = Event::new(
        a.at,
        place,
        Kind::ProcessStart,
        format!("{} ran: {program}", super::file_name(hit)),
    );
    e.tool = Some(Box::new(Tool::at(hit.clone())));
    e.object = (!a.args.is_empty()).then(|| a.args.join(" "));
    e.who = who;
    Some(e)
}

/// At most this many audit events are open (awaiting their last record)
/// at once; the oldest is closed when more arrive.
const MAX_OPEN_AUDIT: usize = 256;

/// Reads auditd's log.
pub fn read_audit(path: &Path) -> Result<(Input, Vec<Event>), TimelineError> {
    let (file, f) = open(path)?;
    read_audit_from(f, &file)
}

/// Reads auditd's log from any reader; `file` names it.
pub fn read_audit_from(f: impl Read, file: &str) -> Result<(Input, Vec<Event>), TimelineError> {
    let file = file.to_string();
    let shared: std::sync::Arc<str> = file.as_str().into();
    let mut input = Input::new(file.clone(), SourceKind::Audit);
    let mut events = Vec::new();
    // The events still open, oldest first (few: EOE closes each).
    let mut open_: Vec<(u64, AuditEvent)> = Vec::new();
    let close =
        |events: &mut Vec<Event>, serial: u64, a: AuditEvent| match audit_event(&shared, serial, a)
        {
            Some(e) => push_event(events, e, &file),
            None => Ok(()),
        };
    let res = each_line(f, |n, offset, line| {
        let Some(line) = line else {
            too_long(&mut input, n, offset);
            return Ok(());
        };
        if line.is_empty() {
            return Ok(());
        }
        let line = String::from_utf8_lossy(line);
        let Some((at, serial)) = audit_stamp(&line) else {
            note_damage(
                &mut input,
                format!(
                    "line {n} at byte {offset}: not an audit record (no msg=audit(time:serial))"
                ),
            );
            return Ok(());
        };
        input.saw(at);
        let fields = audit_fields(&line);
        let get = |k: &str| fields.iter().find(|(f, _)| *f == k).map(|(_, v)| v.clone());
        let ty = get("type").unwrap_or_default();
        let slot = match open_.iter().position(|(s, _)| *s == serial) {
            Some(i) => i,
            None => {
                if open_.len() >= MAX_OPEN_AUDIT {
                    let (s, a) = open_.remove(0);
                    close(&mut events, s, a)?;
                }
                open_.push((
                    serial,
                    AuditEvent {
                        at,
                        line: n,
                        ..AuditEvent::default()
                    },
                ));
                open_.len() - 1
            }
        };
        let a = &mut open_[slot].1;
        match ty.as_str() {
            "SYSCALL" => {
                a.exe = get("exe");
                a.comm = get("comm");
                a.uid = get("uid").and_then(|u| u.parse().ok());
                a.auid = get("auid").and_then(|u| u.parse().ok());
                a.success = get("success");
            }
            "PATH" => {
                if let Some(p) = get("name") {
                    if a.paths.len() < 16 {
                        a.paths.push(p);
                    }
                }
            }
            "EXECVE" => {
                for i in 0..16 {
                    match get(&format!("a{i}")) {
                        Some(v) => a.args.push(v),
                        None => break,
                    }
                }
            }
            "KERN_MODULE" => a.module = get("name"),
            "EOE" => {
                let (s, a) = open_.remove(slot);
                close(&mut events, s, a)?;
            }
            _ => {}
        }
        Ok(())
    })
    .map_err(|e| TimelineError::file(&file, format!("cannot read: {e}")))?;
    res?;
    for (s, a) in open_ {
        close(&mut events, s, a)?;
    }
    if input.records == 0 {
        return Err(TimelineError::file(&file, "no audit record"));
    }
    input.events = events.len();
    Ok((input, events))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_fields_decode_hex_and_quotes() {
        let f = audit_fields(
            "type=SYSCALL msg=audit(1700000000.123:42): arch=c000003e syscall=257 success=yes auid=1000 uid=0 comm=\"flashrom\" exe=2F7573722F7362696E2F666C617368726F6D key=(null)\u{1d}AUID=\"alice\"",
        );
        let get = |k: &str| f.iter().find(|(x, _)| *x == k).map(|(_, v)| v.as_str());
        assert_eq!(get("comm"), Some("flashrom"));
        assert_eq!(get("exe"), Some("/usr/sbin/flashrom"));
        assert_eq!(get("auid"), Some("1000"));
        assert_eq!(
            get("AUID"),
            None,
            "enriched fields are the host's words, not the record"
        );
        let (at, serial) = audit_stamp("type=EOE msg=audit(1700000000.123:42): ").unwrap();
        assert_eq!(serial, 42);
        assert_eq!(at.unwrap().to_string(), "2023-11-14T22:13:20.123Z");
    }

    #[test]
    fn kernel_log_lines() {
        let (at, m) = kernel_line(
            "2026-01-11T10:00:01.5+00:00 host kernel: [ 12.5] Lockdown: flashrom: /dev/mem,kmem,port is restricted; see man kernel_lockdown.7",
            None,
        )
        .unwrap();
        assert_eq!(at.unwrap().to_string(), "2026-01-11T10:00:01.5Z");
        assert!(m.starts_with("Lockdown: flashrom"));
        let (at, m) = kernel_line(
            "Jan 11 10:00:01 host kernel: chipsec: loading out-of-tree module taints kernel.",
            Some(2026),
        )
        .unwrap();
        assert_eq!(at.unwrap().to_string(), "2026-01-11T10:00:01Z");
        assert!(m.starts_with("chipsec:"));
        let (at, m) = kernel_line("[    3.141592] usb 1-1: new device", None).unwrap();
        assert!(at.is_none());
        assert_eq!(m, "usb 1-1: new device");
        assert!(kernel_line("hello", None).is_none());
    }

    #[test]
    fn raw_devices() {
        for d in [
            "/dev/mem",
            "/dev/port",
            "/dev/mtd0",
            "/dev/mtd0ro",
            "/dev/mtd",
        ] {
            assert!(raw_device(d), "{d}");
        }
        for d in ["/dev/memory", "/dev/null", "/dev/mtd/../sda"] {
            assert!(!raw_device(d), "{d}");
        }
    }

    #[test]
    fn lockdown_and_module_messages() {
        let p = Place::default();
        let e = kernel_message(
            "Lockdown: flashrom: /dev/mem,kmem,port is restricted; see man kernel_lockdown.7",
            None,
            &p,
        )
        .unwrap();
        assert_eq!(e.kind, Kind::LockdownDenied);
        assert_eq!(e.tool.unwrap().path, "flashrom");
        assert_eq!(e.object.as_deref(), Some("/dev/mem,kmem,port"));
        let e = kernel_message(
            "chipsec: loading out-of-tree module taints kernel.",
            None,
            &p,
        )
        .unwrap();
        assert_eq!(e.kind, Kind::ModuleLoad);
        assert_eq!(e.tool.unwrap().file_name(), "chipsec.ko");
        assert!(kernel_message("usb 1-1: new device", None, &p).is_none());
    }

    #[test]
    fn export_format_with_a_binary_field() {
        let mut b = b"__REALTIME_TIMESTAMP=1700000000000000\n_BOOT_ID=abc\nMESSAGE\n".to_vec();
        b.extend_from_slice(&5u64.to_le_bytes());
        b.extend_from_slice(b"a\nb\x01c\n\n_BOOT_ID=def\n\n");
        let mut got = Vec::new();
        parse_export(&mut &b[..], "x", |m, o| {
            got.push((m, o));
            Ok(())
        })
        .unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0["MESSAGE"], "a\nb\u{1}c");
        assert_eq!(got[1].0["_BOOT_ID"], "def");
        let cut = &b[..b.len() - 20];
        assert!(parse_export(&mut &cut[..], "x", |_, _| Ok(())).is_err());
    }
}
