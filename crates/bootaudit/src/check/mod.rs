//! `bootaudit check`: one machine judged alone, with no baseline. Every
//! check of the rule registry's `checks` section ([`crate::rules::CHECKS`])
//! gives a result, pass, fail, not-applicable or unknown, with the reason
//! and the evidence. The checks cross-examine the evidence rather than
//! believe it: the log against the PCRs and the quote, the variables
//! against what PCR7 measured, the loaded images against PCR2 and PCR4
//! (see [`consistency`]); then the known bad ([`known_bad`]): implant
//! indicators, test keys, a stale dbx, Microsoft's expired CAs.
//!
//! A part of the snapshot that was not collected makes the checks that
//! need it "unknown", with the collector's recorded reason; never a pass.
//! The machine's level, in the spirit of fwupd's HSI, is the highest level
//! whose checks, and all those below, pass.

mod consistency;
pub mod indicators;
mod known_bad;
pub mod posture;

use crate::eventlog::check::DigestReport;
use crate::eventlog::EventLog;
use crate::findings::{Category, Severity};
use crate::pcrs::PcrVerdict;
use crate::rules::Rule;
use crate::secure_boot::{dbx, Measured};
use crate::snapshot::{Part, Snapshot};
use serde::Serialize;
use serde_json::Value;

/// A check's result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// What was checked holds.
    Pass,
    /// What was checked does not hold.
    Fail,
    /// The check has nothing to judge on this machine (no option ROM ran).
    NotApplicable,
    /// The evidence the check needs is absent or cannot be trusted.
    Unknown,
}

impl Outcome {
    /// The word used in tables and JSON.
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::NotApplicable => "not-applicable",
            Outcome::Unknown => "unknown",
        }
    }
}

/// One check's result.
#[derive(Clone, Debug, Serialize)]
pub struct CheckResult {
    /// The check's id in the rule registry.
    pub id: &'static str,
    /// Its category.
    pub category: Category,
    /// Its severity: how bad a fail is.
    pub severity: Severity,
    /// The level it counts toward.
    pub level: u8,
    /// The result.
    pub result: Outcome,
    /// Why, for a person.
    pub reason: String,
    /// What was read and compared.
    pub evidence: Value,
}

/// What the checks are given besides the snapshot.
#[derive(Default)]
pub struct Options {
    /// Extra indicators (`--indicators`, CHIPSEC's blockedlist.json format).
    pub blocklist: Vec<indicators::BlockRule>,
    /// Revocation updates the dbx is checked against (`--dbx`).
    pub dbx_updates: Vec<dbx::Update>,
    /// Shim binaries (`--shim`) whose `.sbatlevel` the measured SBAT level
    /// is checked against: (file, its levels or why it has none).
    pub shims: Vec<(String, Result<crate::secure_boot::sbat::ShimLevels, String>)>,
    /// Firmware images (`--firmware`) whose executable bodies the
    /// indicators are matched against.
    pub firmware: Vec<FirmwareImage>,
    /// The vendor firmware references (`--references`), when given.
    pub references: Option<Vec<crate::firmware::reference::Reference>>,
}

/// Every indicator rule `check` matches, in the order regexp hits are
/// numbered by ([`indicators::image_candidates`]): the shipped indicators
/// as rules, then `blocklist`.
pub fn indicator_rules(blocklist: &[indicators::BlockRule]) -> Vec<indicators::BlockRule> {
    let mut all = known_bad::shipped();
    all.extend(blocklist.iter().cloned());
    all
}

/// A firmware image read for the indicators.
#[derive(Clone, Debug)]
pub struct FirmwareImage {
    /// The file.
    pub file: String,
    /// Its SHA-256 (to tell whether it is the snapshot's flash copy).
    pub sha256: String,
    /// Its executable bodies, as candidates.
    pub candidates: Vec<indicators::Candidate>,
}

/// Counts per result.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Counts {
    /// Passed.
    pub pass: usize,
    /// Failed.
    pub fail: usize,
    /// Not applicable.
    pub not_applicable: usize,
    /// Unknown.
    pub unknown: usize,
}

/// The verdict on one machine.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The snapshot judged.
    pub file: String,
    /// Who produced it.
    pub source: String,
    /// The machine's identity, as it reports it (evidence, not proof).
    pub identity: Option<crate::snapshot::Identity>,
    /// The level reached: every check of this level and below passed (or
    /// does not apply). 0 when a level-1 check failed or is unknown.
    pub level: u8,
    /// What holds the level down, when something does.
    pub level_held_by: Vec<&'static str>,
    /// Counts per result.
    pub counts: Counts,
    /// Every check, in registry order.
    pub results: Vec<CheckResult>,
}

/// The evidence several checks read, computed once: the parsed log, its
/// digest checks, its replay against the recorded PCRs, and what PCR7
/// measured.
pub(crate) struct Evidence<'a> {
    pub s: &'a Snapshot,
    pub file: &'a str,
    /// The log, or why there is none.
    pub log: Result<EventLog, String>,
    pub digests: Option<DigestReport>,
    pub verdicts: Vec<PcrVerdict>,
    pub measured: Option<Measured>,
}

impl Evidence<'_> {
    /// True when PCR7 replays in some bank and no bank contradicts it.
    pub fn pcr_replays(&self, pcr: u32) -> bool {
        use crate::pcrs::Verdict;
        let of: Vec<&PcrVerdict> = self.verdicts.iter().filter(|v| v.pcr == pcr).collect();
        of.iter().any(|v| v.verdict == Verdict::Match)
            && of.iter().all(|v| v.verdict != Verdict::Mismatch)
    }

    /// What an ACPI check says when the snapshot holds no ACPI part: not
    /// applicable when the firmware handed the OS a Device Tree instead
    /// (an Arm machine booted without ACPI), else unknown, with why.
    pub fn acpi_absent(&self) -> (Outcome, String) {
        match &self.s.device_tree {
            Some(d) if !d.nodes.is_empty() => (
                Outcome::NotApplicable,
                format!(
                    "the firmware handed the OS a Device Tree ({} nodes) and no ACPI tables",
                    d.nodes.len()
                ),
            ),
            _ => (Outcome::Unknown, self.absent(Part::Acpi, "ACPI part")),
        }
    }

    /// Why a part is absent: the collector's recorded reason, or that the
    /// snapshot does not hold it.
    pub fn absent(&self, part: Part, what: &str) -> String {
        let why: Vec<String> = self
            .s
            .errors
            .iter()
            .filter(|e| e.part == part)
            .map(|e| match &e.status {
                Some(st) => format!("{} ({st})", e.what),
                None => e.what.clone(),
            })
            .collect();
        if why.is_empty() {
            format!("the snapshot holds no {what} (part `{part}` was not collected)")
        } else {
            format!(
                "the snapshot holds no {what}: the collector recorded: {}",
                why.join("; ")
            )
        }
    }
}

/// Builds a result for `rule`.
pub(crate) fn result(
    rule: &'static Rule,
    outcome: Outcome,
    reason: String,
    evidence: Value,
) -> CheckResult {
    CheckResult {
        id: rule.id,
        category: rule.category,
        severity: rule.severity,
        level: rule.level.unwrap_or(1),
        result: outcome,
        reason,
        evidence,
    }
}

/// Runs every check on one snapshot (`file` names it).
pub fn run(file: &str, s: &Snapshot, o: &Options) -> Report {
    let results = snapshot_checks(file, s, o);
    finish(file, s, results)
}

/// Runs every check on the running host under `root` (`/` for this
/// machine): the snapshot `collect` makes of it, judged as any snapshot,
/// and the platform's posture ([`posture`]).
pub fn run_live(root: &std::path::Path, mut o: Options) -> std::io::Result<(Snapshot, Report)> {
    let host = posture::Host::new(root)?;
    let s = crate::collect::collect(&crate::collect::Options {
        root: root.to_path_buf(),
        tpm_tcti: None,
        esp: None,
        quote_nonce: None,
        firmware: None,
    });
    let file = format!("live host (root {})", root.display());
    // The shims this host carries, unless the user named others.
    if o.shims.is_empty() {
        o.shims = posture::shims(&host);
    }
    let mut results = snapshot_checks(&file, &s, &o);
    posture::run(&host, &mut results);
    let r = finish(&file, &s, results);
    Ok((s, r))
}

fn snapshot_checks(file: &str, s: &Snapshot, o: &Options) -> Vec<CheckResult> {
    let log = match s.tpm.as_ref() {
        None => Err(String::from("no TPM part")),
        Some(t) => match crate::snapshot::event_log(t, file) {
            Ok(Some(l)) => Ok(l),
            Ok(None) => Err(String::from("the TPM part holds no event log")),
            Err(e) => Err(e.to_string()),
        },
    };
    let digests = log.as_ref().ok().map(crate::eventlog::check::check);
    let verdicts = match (s.tpm.as_ref(), log.as_ref()) {
        (Some(t), Ok(l)) => crate::snapshot::self_check(t, l),
        _ => Vec::new(),
    };
    let measured = match (log.as_ref(), digests.as_ref()) {
        (Ok(l), Some(d)) => Some(crate::secure_boot::measured(l, d)),
        _ => None,
    };
    let ev = Evidence {
        s,
        file,
        log,
        digests,
        verdicts,
        measured,
    };
    let mut results = Vec::new();
    consistency::run(&ev, &mut results);
    known_bad::run(&ev, o, &mut results);
    results
}

/// Orders the results as the registry does, counts them and finds the
/// level.
fn finish(file: &str, s: &Snapshot, mut results: Vec<CheckResult>) -> Report {
    let order = |id: &str| crate::rules::CHECKS.iter().position(|r| r.id == id);
    results.sort_by_key(|r| order(r.id));
    let mut counts = Counts::default();
    for r in &results {
        match r.result {
            Outcome::Pass => counts.pass += 1,
            Outcome::Fail => counts.fail += 1,
            Outcome::NotApplicable => counts.not_applicable += 1,
            Outcome::Unknown => counts.unknown += 1,
        }
    }
    let (level, level_held_by) = level(&results);
    Report {
        file: file.to_string(),
        source: s.source.describe(),
        identity: s.identity.clone(),
        level,
        level_held_by,
        counts,
        results,
    }
}

/// The highest level whose checks, and all below, pass or do not apply,
/// and the checks of the next level that hold it down.
fn level(results: &[CheckResult]) -> (u8, Vec<&'static str>) {
    let top = results.iter().map(|r| r.level).max().unwrap_or(0);
    for l in 1..=top {
        let held: Vec<&'static str> = results
            .iter()
            .filter(|r| r.level == l && matches!(r.result, Outcome::Fail | Outcome::Unknown))
            .map(|r| r.id)
            .collect();
        if !held.is_empty() {
            return (l - 1, held);
        }
    }
    (top, Vec::new())
}

/// True when the report should exit 1: a check at or above `threshold`
/// failed, or, with `strict`, is unknown.
pub fn fails(r: &Report, threshold: Severity, strict: bool) -> bool {
    r.results.iter().any(|c| {
        c.severity >= threshold
            && (c.result == Outcome::Fail || (strict && c.result == Outcome::Unknown))
    })
}
