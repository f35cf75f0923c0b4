//! Findings as a SIEM indexes them (`--format jsonl` of `diff`, `fleet`
//! and `check`): one JSON object per line, in one documented schema,
//! `bootaudit-finding/1`, so that a log pipeline needs no parser of its
//! own. Each line says which tool and snapshot it came from, which host
//! (as the snapshot identifies itself: evidence, not proof), when the
//! snapshot was collected, and the rule, severity and evidence.

use crate::findings::Finding;
use crate::snapshot::Snapshot;
use serde::{Deserialize, Serialize};

/// The schema every line carries.
pub const SCHEMA: &str = "bootaudit-finding/1";

/// Who a line is about, as the snapshot says.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Host {
    /// The id bootaudit names the host by (machine-id, else SMBIOS UUID,
    /// serial, hostname, else the file): what fleet baselines are keyed by.
    pub id: String,
    /// Hostname, when a running host recorded it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// /etc/machine-id, when recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub machine_id: Option<String>,
    /// SMBIOS system UUID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_uuid: Option<String>,
    /// SMBIOS serial number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_serial: Option<String>,
    /// SMBIOS manufacturer and product.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
}

/// One line.
#[derive(Clone, Debug, Serialize)]
pub struct Line<'a> {
    /// Always [`SCHEMA`].
    pub schema: &'static str,
    /// `diff`, `fleet` or `check`.
    pub tool: &'static str,
    /// The host.
    pub host: &'a Host,
    /// When the snapshot was collected (the firmware's or host's clock,
    /// ISO 8601), when it says.
    pub collected_at: Option<&'a str>,
    /// The snapshot's file.
    pub source: &'a str,
    /// The rule (or check) id of the registry.
    pub rule: &'a str,
    /// Its category.
    pub category: &'static str,
    /// Its severity.
    pub severity: &'static str,
    /// For `check`: pass, fail, not-applicable or unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<&'static str>,
    /// For `diff` and `fleet`: whether the evidence explains it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explained: Option<bool>,
    /// What it is about (`PCR4`, a table, a device path), when it says.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub subject: &'a str,
    /// For a person.
    pub message: &'a str,
    /// The evidence.
    pub evidence: &'a serde_json::Value,
}

/// The host a snapshot names (`file` when it names none).
pub fn host(s: &Snapshot, file: &str) -> Host {
    let id = s.identity.as_ref();
    let sm = id.and_then(|i| i.smbios.as_ref());
    let set = |v: &str| (!v.is_empty()).then(|| v.to_string());
    Host {
        id: crate::fleet::profile::host_id(s, file),
        hostname: id.and_then(|i| i.hostname.clone()),
        machine_id: id.and_then(|i| i.machine_id.clone()),
        system_uuid: sm.and_then(|m| set(&m.system_uuid)),
        system_serial: sm.and_then(|m| set(&m.system_serial)),
        system: sm
            .and_then(|m| set(format!("{} {}", m.system_manufacturer, m.system_product).trim())),
    }
}

/// When a snapshot was collected, when it says.
pub fn collected_at(s: &Snapshot) -> Option<&str> {
    s.identity.as_ref().and_then(|i| i.time.as_deref())
}

/// The line of a `diff` or `fleet` finding.
pub fn finding<'a>(
    tool: &'static str,
    host: &'a Host,
    collected_at: Option<&'a str>,
    source: &'a str,
    f: &'a Finding,
) -> Line<'a> {
    Line {
        schema: SCHEMA,
        tool,
        host,
        collected_at,
        source,
        rule: f.rule,
        category: f.category.word(),
        severity: f.severity.word(),
        result: None,
        explained: Some(f.explained),
        subject: &f.subject,
        message: &f.message,
        evidence: &f.evidence,
    }
}

/// The line of a `check` result.
pub fn check<'a>(
    host: &'a Host,
    collected_at: Option<&'a str>,
    source: &'a str,
    c: &'a crate::check::CheckResult,
) -> Line<'a> {
    Line {
        schema: SCHEMA,
        tool: "check",
        host,
        collected_at,
        source,
        rule: c.id,
        category: c.category.word(),
        severity: c.severity.word(),
        result: Some(c.result.word()),
        explained: None,
        subject: "",
        message: &c.reason,
        evidence: &c.evidence,
    }
}

/// Writes lines, one JSON object and a newline each (the caller flushes).
pub fn write<'a, W: std::io::Write>(
    mut w: W,
    lines: impl IntoIterator<Item = Line<'a>>,
) -> std::io::Result<()> {
    for l in lines {
        to_line(&mut w, &l)?;
        w.write_all(b"\n")?;
    }
    Ok(())
}

/// Compact JSON that also escapes the characters Unicode-aware line
/// splitters break on (NEL, LINE SEPARATOR, PARAGRAPH SEPARATOR), which
/// JSON allows raw: a string from the judged machine cannot split one
/// record into two lines.
struct LineSafe;

impl serde_json::ser::Formatter for LineSafe {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut rest = fragment;
        while let Some(i) = rest.find(['\u{85}', '\u{2028}', '\u{2029}']) {
            w.write_all(&rest.as_bytes()[..i])?;
            let c = rest[i..].chars().next().unwrap_or_default();
            write!(w, "\\u{:04x}", c as u32)?;
            rest = &rest[i + c.len_utf8()..];
        }
        w.write_all(rest.as_bytes())
    }
}

/// Writes `v` as one line of compact JSON (no newline), with the
/// characters line splitters break on escaped ([`LineSafe`]).
pub fn to_line<W: std::io::Write, T: serde::Serialize + ?Sized>(
    w: W,
    v: &T,
) -> std::io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(w, LineSafe);
    v.serialize(&mut ser).map_err(std::io::Error::from)
}
