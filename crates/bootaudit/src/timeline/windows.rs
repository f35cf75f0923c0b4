//! Windows event logs (EVTX), read with the evtx crate: the records that
//! tell how firmware could have been written, and when the OS ran.
//!
//! Each record is taken by its provider and event id together (ids repeat
//! across providers): service installs (System 7045, Security 4697),
//! driver loads and process starts (Sysmon 6 and 1), Code Integrity's
//! refusals (3023, 3033, 3034, 3077), boot configurations (Security 4826),
//! OS starts and stops (Kernel-General 12, 13), logons (4624, 4672) and
//! clears (1102, 104). A chunk the crate cannot read is damage, reported
//! with its byte offset; the other chunks are still read.

use super::{At, Event, Hashes, Input, Kind, Place, SourceKind, TimelineError, Tool, Who};
use std::borrow::Cow;
use std::path::Path;

/// The EVTX file signature.
pub const MAGIC: &[u8] = b"ElfFile\0";

/// An EVTX chunk's size, and where the first chunk starts (the header
/// block's usual size).
const CHUNK: u64 = 65536;

const SCM: &str = "Service Control Manager";
const SECURITY: &str = "Microsoft-Windows-Security-Auditing";
const SYSMON: &str = "Microsoft-Windows-Sysmon";
const CODE_INTEGRITY: &str = "Microsoft-Windows-CodeIntegrity";
const KERNEL_GENERAL: &str = "Microsoft-Windows-Kernel-General";
const EVENTLOG: &str = "Microsoft-Windows-Eventlog";

/// Reads one EVTX file: its events, and what the file covers.
pub fn read(path: &Path) -> Result<(Input, Vec<Event>), TimelineError> {
    read_with(path, 1)
}

/// [`read`], with the evtx crate rendering chunks on `threads` threads
/// (a file read alone gets every core; files read side by side one each).
pub fn read_with(path: &Path, threads: usize) -> Result<(Input, Vec<Event>), TimelineError> {
    let file = path.display().to_string();
    let f = crate::fsutil::open_input(path)
        .map_err(|e| TimelineError::file(&file, format!("cannot read: {e}")))?;
    read_threads(f, &file, threads)
}

/// Reads an EVTX file from any seekable reader (a file, or bytes in a
/// `Cursor`); `file` names it.
pub fn read_from<R: std::io::Read + std::io::Seek + Send + 'static>(
    r: R,
    file: &str,
) -> Result<(Input, Vec<Event>), TimelineError> {
    read_threads(r, file, 1)
}

fn read_threads<R: std::io::Read + std::io::Seek + Send + 'static>(
    r: R,
    file: &str,
    threads: usize,
) -> Result<(Input, Vec<Event>), TimelineError> {
    let file = file.to_string();
    crate::guard::quietly(|| read_guarded(r, &file, threads)).unwrap_or_else(|| {
        Err(TimelineError::file(
            &file,
            format!(
                "the EVTX reader failed on this file (a panic in the evtx crate{}): malformed",
                crate::guard::last_panic()
                    .map(|at| format!(" at {at}"))
                    .unwrap_or_default()
            ),
        ))
    })
}

fn read_guarded<R: std::io::Read + std::io::Seek + Send + 'static>(
    r: R,
    file: &str,
    threads: usize,
) -> Result<(Input, Vec<Event>), TimelineError> {
    let file = file.to_string();
    let parser = evtx::EvtxParser::from_read_seek(r)
        .map_err(|e| TimelineError::at(&file, 0, format!("not a readable EVTX file: {e}")))?;
    let header_size = u64::from(parser.header().header_block_size);
    let settings = evtx::ParserSettings::new().num_threads(threads.clamp(1, 16));
    let mut parser = parser.with_configuration(settings);
    let mut input = Input::new(file.clone(), SourceKind::Evtx);
    let shared: std::sync::Arc<str> = file.as_str().into();
    let mut events = Vec::new();
    for r in parser.records_json_bytes() {
        match r {
            Ok(rec) => {
                // Most records are of no interest: their event id, read
                // from the rendered bytes, is enough to pass them over
                // without building a JSON tree (their header time still
                // counts toward what the file covers).
                if !wanted(&rec.data) {
                    input.saw((rec.timestamp.as_second() >= 0).then_some(At(rec.timestamp)));
                    continue;
                }
                let Ok(data) = serde_json::from_slice::<J>(&rec.data) else {
                    if input.damage.len() < 100 {
                        input.damage.push(format!(
                            "record {}: its rendering is not JSON",
                            rec.event_record_id
                        ));
                    }
                    continue;
                };
                let sys = data.get("Event").and_then(|e| e.get("System"));
                // The time Windows shows (System/TimeCreated/@SystemTime),
                // else the record header's (when it was written). A
                // FILETIME of zero (1601) or any time before the Unix
                // epoch is no usable time.
                let created = sys
                    .and_then(|s| s.get("TimeCreated"))
                    .and_then(|t| attr(t, "SystemTime"))
                    .and_then(text)
                    .and_then(|t| At::parse(&t));
                let at = created
                    .or(Some(At(rec.timestamp)))
                    .filter(|t| t.0.as_second() >= 0);
                input.saw(at);
                // The record number Windows shows (System/EventRecordID),
                // else the record header's.
                let shown = sys
                    .and_then(|s| s.get("EventRecordID"))
                    .and_then(element_text)
                    .and_then(|n| n.parse().ok());
                let place = Place {
                    file: shared.clone(),
                    record: Some(shown.unwrap_or(rec.event_record_id)),
                    ..Place::default()
                };
                if let Some(e) = event(&data, at, place, &mut input) {
                    super::push_event(&mut events, e, &file)?;
                }
            }
            Err(e) => {
                let where_ = match &e {
                    evtx::err::EvtxError::FailedToParseChunk { chunk_id, .. } => format!(
                        "chunk {chunk_id} at byte {}",
                        header_size.saturating_add(chunk_id.saturating_mul(CHUNK))
                    ),
                    _ => "a record".to_string(),
                };
                if input.damage.len() < 100 {
                    input.damage.push(format!("{where_}: {e}"));
                }
            }
        }
    }
    input.events = events.len();
    Ok((input, events))
}

/// A rendered record as a small tree that borrows its strings from the
/// rendering. Objects are lists of pairs, searched from the end so that a
/// repeated key reads as its last value (as `serde_json::Value` reads
/// it): records have a handful of fields each, so a scan costs less than
/// hashing, and a string without escapes costs no allocation.
#[derive(Debug)]
enum J<'a> {
    Null,
    Bool(bool),
    Num(serde_json::Number),
    Str(Cow<'a, str>),
    Arr,
    Obj(Vec<(Cow<'a, str>, J<'a>)>),
}

const NULL: J<'static> = J::Null;

impl<'a> J<'a> {
    /// An object's field; `None` for anything but an object.
    fn get(&self, key: &str) -> Option<&J<'a>> {
        match self {
            J::Obj(m) => m.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// A string, borrowed from the rendering when it has no escapes.
struct Str<'a>(Cow<'a, str>);

impl<'de> serde::Deserialize<'de> for Str<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(s.to_string())))
            }
            fn visit_string<E>(self, s: String) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(s)))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> serde::Deserialize<'de> for J<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = J<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_unit<E>(self) -> Result<J<'de>, E> {
                Ok(J::Null)
            }
            fn visit_none<E>(self) -> Result<J<'de>, E> {
                Ok(J::Null)
            }
            fn visit_bool<E>(self, b: bool) -> Result<J<'de>, E> {
                Ok(J::Bool(b))
            }
            fn visit_u64<E>(self, n: u64) -> Result<J<'de>, E> {
                Ok(J::Num(n.into()))
            }
            fn visit_i64<E>(self, n: i64) -> Result<J<'de>, E> {
                Ok(J::Num(n.into()))
            }
            fn visit_f64<E>(self, n: f64) -> Result<J<'de>, E> {
                Ok(serde_json::Number::from_f64(n).map_or(J::Null, J::Num))
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<J<'de>, E> {
                Ok(J::Str(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<J<'de>, E> {
                Ok(J::Str(Cow::Owned(s.to_string())))
            }
            fn visit_string<E>(self, s: String) -> Result<J<'de>, E> {
                Ok(J::Str(Cow::Owned(s)))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<J<'de>, A::Error> {
                // No field read here is an array: its items are passed
                // over without building them.
                while a.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(J::Arr)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut a: A) -> Result<J<'de>, A::Error> {
                let mut m = Vec::new();
                while let Some(Str(k)) = a.next_key::<Str>()? {
                    m.push((k, a.next_value::<J>()?));
                }
                Ok(J::Obj(m))
            }
        }
        d.deserialize_any(V)
    }
}

/// The event ids read from any provider; [`event`] then checks the
/// provider too.
const WANTED: &[u32] = &[
    1, 6, 12, 13, 104, 1102, 3023, 3033, 3034, 3077, 4624, 4672, 4697, 4826, 7045,
];

/// Whether a rendered record's event id is one of [`WANTED`]: the number
/// after `"EventID":`, or after `"#text":` when the element carries
/// attributes. A record whose id cannot be found this way is parsed whole.
fn wanted(json: &[u8]) -> bool {
    let Some(i) = memchr::memmem::find(json, b"\"EventID\":") else {
        return true;
    };
    let mut rest = &json[i + 10..];
    if rest.first() == Some(&b'{') {
        let Some(j) = memchr::memmem::find(rest, b"\"#text\":") else {
            return true;
        };
        rest = &rest[j + 8..];
    }
    let digits: Vec<u8> = rest
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .copied()
        .collect();
    match std::str::from_utf8(&digits)
        .ok()
        .and_then(|d| d.parse::<u32>().ok())
    {
        Some(id) => WANTED.contains(&id),
        None => true,
    }
}

/// A string field: a JSON string, or a number written as one.
fn text(v: &J) -> Option<String> {
    match v {
        J::Str(s) => {
            let s = s.trim();
            (!s.is_empty() && s != "-").then(|| s.to_string())
        }
        J::Num(n) => Some(n.to_string()),
        J::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// An element's text, whether it is plain or carries attributes.
fn element_text(v: &J) -> Option<String> {
    match v {
        J::Obj(_) => v.get("#text").and_then(text),
        v => text(v),
    }
}

fn attr<'v, 'a>(v: &'v J<'a>, name: &str) -> Option<&'v J<'a>> {
    v.get("#attributes")?.get(name)
}

/// The event's id, provider and channel.
fn identity(sys: &J) -> Option<(u32, String)> {
    let id: u32 = element_text(sys.get("EventID")?)?.parse().ok()?;
    let provider = sys
        .get("Provider")
        .and_then(|p| attr(p, "Name"))
        .and_then(text)
        .unwrap_or_default();
    Some((id, provider))
}

/// A named field of EventData (or of UserData's one element).
fn field(data: &J, name: &str) -> Option<String> {
    data.get(name).and_then(element_text)
}

/// `DOMAIN\user`, from the two fields of a record.
fn account(data: &J, domain: &str, user: &str) -> Option<String> {
    match (field(data, domain), field(data, user)) {
        (Some(d), Some(u)) => Some(format!("{d}\\{u}")),
        (None, Some(u)) => Some(u),
        _ => None,
    }
}

/// Sysmon's `Hashes` field: `SHA1=…,MD5=…,SHA256=…,IMPHASH=…`.
pub fn sysmon_hashes(s: &str) -> Hashes {
    let mut h = Hashes::default();
    for part in s.split(',') {
        let Some((k, v)) = part.split_once('=') else {
            continue;
        };
        let v = v.trim();
        if v.is_empty() || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        let v = Some(v.to_ascii_lowercase());
        match k.trim().to_ascii_uppercase().as_str() {
            "SHA256" => h.sha256 = v,
            "SHA1" => h.sha1 = v,
            "MD5" => h.md5 = v,
            _ => {}
        }
    }
    h
}

/// The 4826 fields that weaken the boot when `Yes` (`%%1842`), and what
/// each is called.
const WEAKENING: &[(&str, &str)] = &[
    ("TestSigning", "test signing"),
    ("KernelDebug", "kernel debugging"),
    ("FlightSigning", "flight signing"),
    ("DisableIntegrityChecks", "nointegritychecks"),
    ("HypervisorDebug", "hypervisor debugging"),
];

fn event(v: &J, at: Option<At>, place: Place, input: &mut Input) -> Option<Event> {
    let ev = v.get("Event")?;
    let sys = ev.get("System")?;
    let (id, provider) = identity(sys)?;
    let data = ev.get("EventData").unwrap_or(&NULL);
    let user_sid = sys
        .get("Security")
        .and_then(|s| attr(s, "UserID"))
        .and_then(text);
    let e = match (provider.as_str(), id) {
        (SCM, 7045) => {
            let name = field(data, "ServiceName").unwrap_or_default();
            let image = field(data, "ImagePath").unwrap_or_default();
            let ty = field(data, "ServiceType").unwrap_or_default();
            let mut e = Event::new(
                at,
                place,
                Kind::ServiceInstall,
                format!("service {name:?} installed ({ty}): {image}"),
            );
            e.object = Some(name);
            e.tool = (!image.is_empty()).then(|| Box::new(Tool::at(image)));
            e.who.sid = user_sid;
            e
        }
        (SECURITY, 4697) => {
            let name = field(data, "ServiceName").unwrap_or_default();
            let image = field(data, "ServiceFileName").unwrap_or_default();
            let ty = field(data, "ServiceType").unwrap_or_default();
            let mut e = Event::new(
                at,
                place,
                Kind::ServiceInstall,
                format!("service {name:?} installed (type {ty}): {image}"),
            );
            e.object = Some(name);
            e.tool = (!image.is_empty()).then(|| Box::new(Tool::at(image)));
            e.who = Who {
                account: account(data, "SubjectDomainName", "SubjectUserName"),
                sid: field(data, "SubjectUserSid"),
                ..Who::default()
            };
            e
        }
        (SYSMON, 6) | (SYSMON, 1) => {
            let (image_field, kind, verb) = if id == 6 {
                ("ImageLoaded", Kind::DriverLoad, "driver loaded")
            } else {
                ("Image", Kind::ProcessStart, "process started")
            };
            let image = field(data, image_field).unwrap_or_default();
            let tool = Tool {
                path: image.clone(),
                hashes: field(data, "Hashes")
                    .map(|h| sysmon_hashes(&h))
                    .unwrap_or_default(),
                signer: field(data, "Signature"),
                signature_status: field(data, "SignatureStatus"),
            };
            let mut e = Event::new(at, place, kind, format!("{verb}: {image}"));
            if id == 1 {
                e.object = field(data, "CommandLine");
                e.who.account = field(data, "User");
            } else {
                e.who.sid = user_sid;
            }
            e.tool = (!image.is_empty()).then(|| Box::new(tool));
            e
        }
        (CODE_INTEGRITY, 3023 | 3033 | 3034 | 3077) => {
            let file = ["FileNameBuffer", "File Name", "FileName"]
                .iter()
                .find_map(|n| field(data, n))
                .unwrap_or_default();
            let process = field(data, "ProcessNameBuffer");
            let what = match id {
                3033 => "did not meet the signing level; not loaded",
                3034 => "would not meet the signing level (audit mode)",
                3077 => "blocked by the Code Integrity policy",
                _ => "blocked: on the driver block list or revoked",
            };
            let mut e = Event::new(
                at,
                place,
                Kind::CodeIntegrity,
                format!("Code Integrity {id}: {file}: {what}"),
            );
            e.object = process;
            e.tool = (!file.is_empty()).then(|| Box::new(Tool::at(file)));
            e.who.sid = user_sid;
            e
        }
        (SECURITY, 4826) => {
            let on: Vec<&str> = WEAKENING
                .iter()
                .filter(|(f, _)| field(data, f).is_some_and(|v| v == "%%1842" || v == "Yes"))
                .map(|(_, name)| *name)
                .collect();
            let what = if on.is_empty() {
                "boot configuration loaded".to_string()
            } else {
                format!("boot configuration loaded with {}", on.join(", "))
            };
            let mut e = Event::new(at, place, Kind::BootConfiguration, what);
            e.object = (!on.is_empty()).then(|| on.join(", "));
            e.who = Who {
                account: account(data, "SubjectDomainName", "SubjectUserName"),
                sid: field(data, "SubjectUserSid"),
                ..Who::default()
            };
            e
        }
        (KERNEL_GENERAL, 12) => {
            let start = field(data, "StartTime").and_then(|s| At::parse(&s));
            let mut e = Event::new(
                start.or(at),
                place,
                Kind::OsStart,
                "the OS started (Kernel-General 12)".to_string(),
            );
            e.object = field(data, "BuildVersion").map(|b| format!("build {b}"));
            e
        }
        (KERNEL_GENERAL, 13) => {
            let stop = field(data, "StopTime").and_then(|s| At::parse(&s));
            Event::new(
                stop.or(at),
                place,
                Kind::OsStop,
                "the OS stopped (Kernel-General 13)".to_string(),
            )
        }
        (SECURITY, 4624) => {
            let mut e = Event::new(
                at,
                place,
                Kind::Logon,
                format!(
                    "logon (type {})",
                    field(data, "LogonType").unwrap_or_else(|| "?".into())
                ),
            );
            e.who = Who {
                account: account(data, "TargetDomainName", "TargetUserName"),
                sid: field(data, "TargetUserSid"),
                ..Who::default()
            };
            e.object = field(data, "IpAddress");
            e
        }
        (SECURITY, 4672) => {
            let mut e = Event::new(
                at,
                place,
                Kind::PrivilegedLogon,
                "logon with special privileges".to_string(),
            );
            e.who = Who {
                account: account(data, "SubjectDomainName", "SubjectUserName"),
                sid: field(data, "SubjectUserSid"),
                ..Who::default()
            };
            e
        }
        (EVENTLOG, 1102) | (EVENTLOG, 104) => {
            let ud = ev
                .get("UserData")
                .and_then(|u| u.get("LogFileCleared"))
                .unwrap_or(&NULL);
            let channel = field(ud, "Channel")
                .or_else(|| sys.get("Channel").and_then(text).filter(|_| id == 1102));
            let mut e = Event::new(
                at,
                place,
                Kind::LogCleared,
                format!(
                    "event log cleared ({id}){}",
                    channel
                        .as_deref()
                        .map(|c| format!(": {c}"))
                        .unwrap_or_default()
                ),
            );
            e.object = channel;
            e.who = Who {
                account: account(ud, "SubjectDomainName", "SubjectUserName"),
                sid: field(ud, "SubjectUserSid").or(user_sid),
                ..Who::default()
            };
            if let Some(t) = at {
                input.cleared.push(t);
            }
            e
        }
        _ => return None,
    };
    Some(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysmon_hashes_are_split_and_lowered() {
        let h = sysmon_hashes("SHA1=AB12,MD5=cd34,SHA256=EF56,IMPHASH=0000");
        assert_eq!(h.sha1.as_deref(), Some("ab12"));
        assert_eq!(h.md5.as_deref(), Some("cd34"));
        assert_eq!(h.sha256.as_deref(), Some("ef56"));
        let h = sysmon_hashes("SHA256=not-hex,garbage");
        assert!(h.is_empty());
    }
}
