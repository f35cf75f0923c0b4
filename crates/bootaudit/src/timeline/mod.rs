//! `bootaudit timeline`: how a firmware change got there.
//!
//! The OS's own logs (Windows event logs, the systemd journal, auditd,
//! fwupd's history) and the firmware states the measured boots show
//! (snapshots, Windows MeasuredBoot logs) are put on one time line. A
//! firmware change between two consecutive states is then judged by what
//! the OS recorded in between: a tool or driver that can write the flash
//! makes it critical, and names who, when and what; nothing recorded makes
//! it high, "unexplained by the OS logs", and a window no intact log covers
//! is said to be blind.
//!
//! The OS side is evidence the judged machine can write: a root attacker
//! can clear or forge it. So it can raise a finding (a flash tool seen
//! before a change), never lower one: a fwupd history row that names the
//! new version only corroborates. Only the measured side, the firmware
//! states, says whether the firmware changed.
//!
//! Each source is recognised by its content, not its name
//! ([`discover`]), read by its own module ([`windows`], [`linux`],
//! [`fwupd`], [`states`], [`firmware_log`]) into [`Event`]s and
//! [`FirmwareState`]s, matched against the known-bad lists ([`lists`]),
//! and judged in [`correlate`].

pub mod correlate;
pub mod discover;
pub mod firmware_log;
pub mod fwupd;
pub mod linux;
pub mod lists;
pub mod states;
pub mod windows;

use crate::findings::Finding;
use serde::{Serialize, Serializer};
use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::Arc;

/// At most this many events are kept from all sources together; more is
/// refused (exit 2) rather than cut, since a dropped record could be the
/// one that matters.
pub const MAX_EVENTS: usize = 2_000_000;

/// At most this many files are read under the directories named.
pub const MAX_FILES: usize = 100_000;

/// Directories are walked at most this deep.
pub const MAX_DEPTH: usize = 32;

/// An instant, in UTC. Serialized as RFC 3339 (`2019-07-24T13:05:50.42Z`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct At(pub jiff::Timestamp);

impl Serialize for At {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl std::fmt::Display for At {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl At {
    /// From seconds and microseconds since the Unix epoch, when in range.
    pub fn from_micros(us: i64) -> Option<At> {
        jiff::Timestamp::from_microsecond(us).ok().map(At)
    }

    /// Parses RFC 3339 (`2019-07-24T13:05:50Z`, with an offset or `Z`),
    /// or a plain date and time read as UTC (`2019-07-24 13:05:50`).
    pub fn parse(s: &str) -> Option<At> {
        let s = s.trim();
        if let Ok(t) = s.parse::<jiff::Timestamp>() {
            return Some(At(t));
        }
        let dt = s.parse::<jiff::civil::DateTime>().ok()?;
        dt.to_zoned(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| At(z.timestamp()))
    }
}

/// Where a record is: the file, and its record number, line or byte
/// offset, as the source has them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Place {
    /// The file (shared by every record of it).
    pub file: Arc<str>,
    /// The record number the source gives (EVTX EventRecordID, the row id
    /// of fwupd's history, the audit event's serial).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<u64>,
    /// The line (1-based), for text sources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// The byte offset, for binary sources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.file)?;
        if let Some(r) = self.record {
            write!(f, " record {r}")?;
        }
        if let Some(l) = self.line {
            write!(f, " line {l}")?;
        }
        if let Some(o) = self.offset {
            write!(f, " at byte {o}")?;
        }
        Ok(())
    }
}

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A service or driver was installed (System 7045, Security 4697).
    ServiceInstall,
    /// A driver was loaded (Sysmon 6).
    DriverLoad,
    /// A process started (Sysmon 1), or a program ran (journal, auditd).
    ProcessStart,
    /// Code Integrity refused or would have refused a driver.
    CodeIntegrity,
    /// A boot configuration was loaded (Security 4826).
    BootConfiguration,
    /// The OS started (Kernel-General 12, a journal boot).
    OsStart,
    /// The OS stopped (Kernel-General 13).
    OsStop,
    /// A logon (4624).
    Logon,
    /// A logon with special privileges (4672).
    PrivilegedLogon,
    /// A log was cleared (1102, 104).
    LogCleared,
    /// A kernel module was loaded (auditd KERN_MODULE, the kernel's log).
    ModuleLoad,
    /// A program opened raw hardware or memory (/dev/mem, /dev/port, an
    /// MTD device), as auditd recorded.
    RawAccess,
    /// The kernel's lockdown refused a program.
    LockdownDenied,
    /// fwupd's history: a device's firmware was updated, or an update was
    /// attempted.
    FirmwareUpdate,
    /// A firmware state: a boot whose measurements are known (a snapshot,
    /// a MeasuredBoot log).
    FirmwareState,
}

impl Kind {
    /// The word used in tables and JSON.
    pub fn word(self) -> &'static str {
        match self {
            Kind::ServiceInstall => "service-install",
            Kind::DriverLoad => "driver-load",
            Kind::ProcessStart => "process-start",
            Kind::CodeIntegrity => "code-integrity",
            Kind::BootConfiguration => "boot-configuration",
            Kind::OsStart => "os-start",
            Kind::OsStop => "os-stop",
            Kind::Logon => "logon",
            Kind::PrivilegedLogon => "privileged-logon",
            Kind::LogCleared => "log-cleared",
            Kind::ModuleLoad => "module-load",
            Kind::RawAccess => "raw-access",
            Kind::LockdownDenied => "lockdown-denied",
            Kind::FirmwareUpdate => "firmware-update",
            Kind::FirmwareState => "firmware-state",
        }
    }
}

/// Who, as the record says (each part only where it says).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Who {
    /// The account name (DOMAIN\user, or a Unix user name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The Windows security identifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The Unix user id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    /// The Unix login user id (auid: who logged in, whatever su or sudo
    /// did since).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auid: Option<u32>,
}

impl Who {
    /// True when the record names nobody.
    pub fn is_empty(&self) -> bool {
        self == &Who::default()
    }

    /// For a person: `OFFSEC\admmig (S-1-5-21-…)`, `auid 1000, uid 0`.
    pub fn text(&self) -> String {
        let mut parts = Vec::new();
        if let Some(a) = &self.account {
            parts.push(a.clone());
        }
        if let Some(s) = &self.sid {
            parts.push(format!("SID {s}"));
        }
        if let Some(a) = self.auid {
            parts.push(format!("auid {a}"));
        }
        if let Some(u) = self.uid {
            parts.push(format!("uid {u}"));
        }
        parts.join(", ")
    }
}

/// The hashes a record gives of a file (lowercase hex).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Hashes {
    /// SHA-256.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// SHA-1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha1: Option<String>,
    /// MD5.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub md5: Option<String>,
}

impl Hashes {
    /// True when the record gave no hash.
    pub fn is_empty(&self) -> bool {
        self.sha256.is_none() && self.sha1.is_none() && self.md5.is_none()
    }
}

/// The tool: the executable or driver a record names.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Tool {
    /// Its path, as the record gives it.
    pub path: String,
    /// Its hashes, where recorded (Sysmon).
    #[serde(skip_serializing_if = "Hashes::is_empty")]
    pub hashes: Hashes,
    /// Its signer, where recorded (Sysmon's Signature).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    /// Whether the signature was valid, where recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature_status: Option<String>,
}

impl Tool {
    /// A tool known by its path only.
    pub fn at(path: impl Into<String>) -> Tool {
        Tool {
            path: path.into(),
            ..Tool::default()
        }
    }

    /// The file name: the path after its last `\` or `/`, lower case (the
    /// key the lists match names by).
    pub fn file_name(&self) -> String {
        file_name(&self.path)
    }
}

/// The file name of a Windows or Unix path (or of a command line's first
/// word), lower case, without surrounding quotes.
pub fn file_name(path: &str) -> String {
    let p = path.trim().trim_matches('"');
    // A command line: the program is its first word, unless the path
    // itself has spaces and ends in a known suffix.
    let p = match p.find([' ', '\t']) {
        Some(i) if !has_program_suffix(p) => &p[..i],
        _ => p,
    };
    let name = p.rsplit(['\\', '/']).next().unwrap_or(p);
    name.trim_matches('"').to_lowercase()
}

fn has_program_suffix(p: &str) -> bool {
    let l = p.to_ascii_lowercase();
    [".sys", ".exe", ".efi", ".ko", ".dll"]
        .iter()
        .any(|s| l.ends_with(s))
}

/// A known-bad list's entry that a record matched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Match {
    /// The list: `loldrivers` (the user's --loldrivers file),
    /// `flash-tools` (bootaudit's curated list) or `raw-access` (a program
    /// that opened raw hardware).
    pub list: &'static str,
    /// The entry's id in that list (a LOLDrivers UUID, a curated name).
    pub id: Cow<'static, str>,
    /// How it matched: `sha256`, `sha1`, `md5`, `authentihash`, `name`
    /// or `device`.
    pub by: &'static str,
    /// What the list says the entry is (`vulnerable driver`, `malicious`,
    /// or what a flash-capable tool is).
    pub category: Cow<'static, str>,
    /// True when the entry can write the firmware from the OS.
    pub flash_capable: bool,
    /// Where the list has the entry from.
    pub source: Cow<'static, str>,
}

/// One event on the time line.
#[derive(Clone, Debug, Serialize)]
pub struct Event {
    /// When, in UTC; `None` when the record gives no usable time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<At>,
    /// Where the record is.
    pub source: Place,
    /// What happened.
    pub kind: Kind,
    /// Who, where the record says.
    #[serde(skip_serializing_if = "Who::is_empty")]
    pub who: Who,
    /// The executable or driver, where the record names one (boxed: most
    /// events name none, and a journal holds millions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<Box<Tool>>,
    /// What it acted on (a service name, a device, a file), where it says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// What happened, for a person (made by the reader, from the record).
    pub what: String,
    /// The boot it belongs to, where the source says (a journal boot id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boot: Option<String>,
    /// The known-bad entries it matched.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<Match>,
}

impl Event {
    /// A new event with nobody, no tool and no match.
    pub fn new(at: Option<At>, source: Place, kind: Kind, what: String) -> Event {
        Event {
            at,
            source,
            kind,
            who: Who::default(),
            tool: None,
            object: None,
            what,
            boot: None,
            matches: Vec::new(),
        }
    }

    /// True when it matched an entry that can write the firmware.
    pub fn flash_capable(&self) -> bool {
        self.matches.iter().any(|m| m.flash_capable)
    }
}

/// What kind of evidence a file is, as its content shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// A Windows event log (EVTX).
    Evtx,
    /// The systemd journal as `journalctl -o json` lines.
    JournalJson,
    /// The systemd journal's export format (`journalctl -o export`).
    JournalExport,
    /// auditd's log.
    Audit,
    /// The kernel's log as text: syslog's kern.log (RFC 3339 or
    /// traditional stamps) or `dmesg` (seconds since boot: no time).
    KernelLog,
    /// fwupd's history database (pending.db).
    Fwupd,
    /// A bootaudit snapshot: one firmware state.
    Snapshot,
    /// A TCG event log (a Windows MeasuredBoot log): one firmware state.
    MeasuredBoot,
    /// The firmware's own boot log (EDK II DEBUG output).
    FirmwareLog,
}

impl SourceKind {
    /// The word used in tables and JSON.
    pub fn word(self) -> &'static str {
        match self {
            SourceKind::Evtx => "evtx",
            SourceKind::JournalJson => "journal-json",
            SourceKind::JournalExport => "journal-export",
            SourceKind::Audit => "audit",
            SourceKind::KernelLog => "kernel-log",
            SourceKind::Fwupd => "fwupd",
            SourceKind::Snapshot => "snapshot",
            SourceKind::MeasuredBoot => "measured-boot",
            SourceKind::FirmwareLog => "firmware-log",
        }
    }

    /// True for an OS log whose silence can say that nothing happened
    /// (its span covers a window): the event logs, the journal, auditd.
    pub fn covers(self) -> bool {
        matches!(
            self,
            SourceKind::Evtx
                | SourceKind::JournalJson
                | SourceKind::JournalExport
                | SourceKind::Audit
                | SourceKind::KernelLog
        )
    }
}

/// One file read, and what it holds.
#[derive(Clone, Debug, Serialize)]
pub struct Input {
    /// The file.
    pub file: String,
    /// What it is.
    pub kind: SourceKind,
    /// Records (events, lines, rows) read from it.
    pub records: u64,
    /// The events taken from it.
    pub events: usize,
    /// The time of its first record, where records have times.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first: Option<At>,
    /// The time of its last record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last: Option<At>,
    /// When it was cleared, as it records (the time before is lost).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cleared: Vec<At>,
    /// Damage: what could not be read, with where.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub damage: Vec<String>,
}

impl Input {
    /// A new input with nothing read yet.
    pub fn new(file: String, kind: SourceKind) -> Input {
        Input {
            file,
            kind,
            records: 0,
            events: 0,
            first: None,
            last: None,
            cleared: Vec::new(),
            damage: Vec::new(),
        }
    }

    /// Notes a record's time.
    pub fn saw(&mut self, at: Option<At>) {
        self.records += 1;
        if let Some(t) = at {
            self.first = Some(self.first.map_or(t, |f| f.min(t)));
            self.last = Some(self.last.map_or(t, |l| l.max(t)));
        }
    }

    /// The span in which this source's silence means something: from its
    /// last clear (or first record) to its last record. `None` for a
    /// source that cannot cover (not an OS log), is damaged, or has no
    /// times.
    pub fn coverage(&self) -> Option<(At, At)> {
        if !self.kind.covers() || !self.damage.is_empty() {
            return None;
        }
        let first = self.first?;
        let last = self.last?;
        let start = self
            .cleared
            .iter()
            .copied()
            .max()
            .unwrap_or(first)
            .max(first);
        (start <= last).then_some((start, last))
    }
}

/// A firmware state: what one boot's measurements say the firmware was.
#[derive(Clone, Debug, Serialize)]
pub struct FirmwareState {
    /// When the boot is placed, in UTC (`None`: unknown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<At>,
    /// The evidence that placed it in time (`snapshot collection time`,
    /// `MeasuredBoot log's modification time`), or why none did.
    pub placed_by: String,
    /// The file it comes from.
    pub source: Place,
    /// PCR0 (SHA-256) as the boot's event log replays it: the firmware's
    /// code. `None` when the boot measured none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pcr0: Option<String>,
    /// PCR2 (SHA-256), option ROMs and other pre-OS drivers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pcr2: Option<String>,
    /// PCR4 (SHA-256): the boot applications the firmware ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pcr4: Option<String>,
    /// PCR7 (SHA-256): the Secure Boot policy and the authorities that
    /// verified what ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pcr7: Option<String>,
    /// SHA-256 of the copy of the flash the collector read before the OS
    /// (a snapshot's `firmware_flash`), where there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flash_sha256: Option<String>,
    /// The S-CRTM version the log records, where it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scrtm_version: Option<String>,
    /// What the firmware says it is (vendor, version: self-reported).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub claims: String,
    /// Whether the log replays to the PCR values recorded beside it
    /// (`None` where none were: a MeasuredBoot log alone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replays: Option<bool>,
    /// With `--references`: the vendor references that verify this boot's
    /// firmware (its blobs, drivers, stored files and flash copy match,
    /// nothing above medium), when they do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified_by: Option<String>,
    /// Which firmware this is, among the report's states: `F1`, `F2`, …
    /// in order of first appearance (the same PCR0 and PCR2, the same
    /// label); `F?` when it measured none.
    pub firmware: String,
}

/// One row of the time line: a firmware state or an event, in time order.
#[derive(Clone, Copy, Debug, Serialize)]
#[serde(rename_all = "kebab-case", tag = "row", content = "index")]
pub enum Row {
    /// `states[i]`.
    State(usize),
    /// `events[i]`.
    Event(usize),
}

/// A firmware boot log checked against the snapshot of its boot.
#[derive(Clone, Debug, Serialize)]
pub struct FirmwareLogCheck {
    /// The firmware log.
    pub log: String,
    /// The snapshot it was checked against.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
    /// Drivers the log shows loaded (DXE, with an address).
    pub drivers_loaded: usize,
    /// PEIMs the log shows loaded.
    pub peims_loaded: usize,
    /// Drivers the log shows and the snapshot matched.
    pub matched: usize,
}

/// What `bootaudit timeline` found.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Every file read.
    pub inputs: Vec<Input>,
    /// Files under the named directories that are not evidence bootaudit
    /// reads (their count; they are passed over).
    pub passed_over: usize,
    /// The events, in time order (those without a time last, in source
    /// order).
    pub events: Vec<Event>,
    /// The firmware states, in time order.
    pub states: Vec<FirmwareState>,
    /// States and events merged in time order (untimed last): the time
    /// line as it is drawn.
    pub rows: Vec<Row>,
    /// The host, as the first snapshot names it (evidence, not proof), or
    /// `unknown`.
    pub host: String,
    /// Firmware boot logs, checked against their snapshots.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub firmware_logs: Vec<FirmwareLogCheck>,
    /// Where two sources' clocks disagree about one moment (the boot a
    /// snapshot and the OS both place), shown, never corrected.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub clock_skew: Vec<String>,
    /// The findings, worst first.
    pub findings: Vec<Finding>,
    /// Counts per severity.
    pub summary: crate::findings::Summary,
}

/// What the user asked for.
#[derive(Debug, Default)]
pub struct Options {
    /// The files and directories of evidence.
    pub paths: Vec<PathBuf>,
    /// The LOLDrivers list, read.
    pub loldrivers: Option<lists::LolDrivers>,
    /// Only events at or after this time.
    pub since: Option<At>,
    /// Only events at or before this time.
    pub until: Option<At>,
    /// Vendor firmware references (`reference add`): a snapshot's
    /// firmware they verify, with a fwupd history row that names it, is
    /// a vendor update (the one way a change is lowered).
    pub references: Option<Vec<crate::firmware::reference::Reference>>,
}

/// Why the evidence could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{file}{}: {why}", .offset.map(|o| format!(": at byte {o}")).unwrap_or_default())]
pub struct TimelineError {
    /// The file.
    pub file: String,
    /// Where in it, when known.
    pub offset: Option<u64>,
    /// What is wrong.
    pub why: String,
}

impl TimelineError {
    /// An error of a whole file.
    pub fn file(file: &str, why: impl Into<String>) -> TimelineError {
        TimelineError {
            file: file.to_string(),
            offset: None,
            why: why.into(),
        }
    }

    /// An error at a byte offset.
    pub fn at(file: &str, offset: u64, why: impl Into<String>) -> TimelineError {
        TimelineError {
            file: file.to_string(),
            offset: Some(offset),
            why: why.into(),
        }
    }
}

/// What the readers gathered, before judgement.
#[derive(Debug, Default)]
pub struct Gathered {
    /// The files read.
    pub inputs: Vec<Input>,
    /// Files passed over.
    pub passed_over: usize,
    /// Events.
    pub events: Vec<Event>,
    /// Firmware states.
    pub states: Vec<FirmwareState>,
    /// Firmware boot logs, parsed, with their file.
    pub firmware_logs: Vec<(String, firmware_log::BootLog)>,
    /// Snapshots read, by file (for the firmware-log cross-check).
    pub snapshots: Vec<(String, crate::snapshot::Snapshot)>,
}

impl Gathered {
    /// Adds events, refusing more than [`MAX_EVENTS`] in all.
    pub fn push_events(&mut self, file: &str, ev: Vec<Event>) -> Result<(), TimelineError> {
        if self.events.len().saturating_add(ev.len()) > MAX_EVENTS {
            return Err(TimelineError::file(
                file,
                format!("more than {MAX_EVENTS} events in all; name fewer files"),
            ));
        }
        self.events.extend(ev);
        Ok(())
    }
}

/// Adds an event, refusing more than [`MAX_EVENTS`] from one file:
/// a dropped record could be the one that matters.
pub(crate) fn push_event(
    events: &mut Vec<Event>,
    e: Event,
    file: &str,
) -> Result<(), TimelineError> {
    if events.len() >= MAX_EVENTS {
        return Err(TimelineError::file(
            file,
            format!("more than {} events", MAX_EVENTS),
        ));
    }
    events.push(e);
    Ok(())
}

/// Reads every path, matches, orders and judges: the whole of
/// `bootaudit timeline`.
pub fn run(o: &Options) -> Result<Report, TimelineError> {
    let mut g = discover::gather(&o.paths)?;
    for e in &mut g.events {
        lists::classify(e, o.loldrivers.as_ref());
    }
    Ok(correlate::judge(g, o))
}
