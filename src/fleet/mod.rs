//! `bootaudit fleet`: thousands of snapshots at once. Hosts are grouped by
//! platform and firmware identity ([`profile::Group`]); within each group
//! the consensus of every compared artefact is built, and each host that
//! departs from it gets findings under `diff`'s rule ids, with how many of
//! its peers agree. Optionally each host is also diffed against its own
//! baseline.
//!
//! Two passes over the input keep memory bounded by the workers' snapshots
//! and the groups' distinct values, not by the fleet: the first counts, the
//! second judges and hands each host's record to the caller as soon as it
//! is made. A JSON-lines stream on stdin is spooled to a temporary file
//! first, so that it can be read twice.

pub mod consensus;
pub mod profile;

use crate::findings::{self, Finding, Summary};
use crate::snapshot::{self, Snapshot};
use consensus::Consensus;
use profile::Group;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::sync::Mutex;

/// Files deeper than this under the input directory are not looked for.
const MAX_DEPTH: usize = 16;
/// A JSON line longer than this is an error, not an allocation.
const MAX_LINE: u64 = snapshot::MAX_SNAPSHOT_SIZE;

/// Where snapshots come from.
#[derive(Clone, Debug)]
pub enum Input {
    /// Every `*.json` file under a directory (recursively).
    Dir(PathBuf),
    /// A JSON-lines file: one snapshot per line, named `name` in reports
    /// (`-` for a spooled stdin).
    Lines {
        /// The file.
        path: PathBuf,
        /// Its name in reports.
        name: String,
    },
}

/// One snapshot's place in the input, for reading it again and naming it.
#[derive(Clone, Debug)]
pub enum Source {
    /// A file.
    File(PathBuf),
    /// Line `n` (1-based) of a JSON-lines file.
    Line(usize),
}

impl Source {
    fn name(&self, input: &Input) -> String {
        match (self, input) {
            (Source::File(p), _) => p.display().to_string(),
            (Source::Line(n), Input::Lines { name, .. }) => format!("{name}:{n}"),
            (Source::Line(n), _) => format!("line {n}"),
        }
    }
}

/// Settings.
#[derive(Clone, Debug)]
pub struct Options {
    /// A value held by at most this share of a group (and at least one
    /// host) is a departure.
    pub outlier_share: f64,
    /// Per-host baselines, `<dir>/<host id>.json`.
    pub baselines: Option<PathBuf>,
    /// Worker threads.
    pub workers: usize,
}

/// What the fleet report says of one host.
#[derive(Clone, Debug, Serialize)]
pub struct HostRecord {
    /// Always "host" (the JSON-lines stream ends with a "summary" record).
    #[serde(rename = "type")]
    pub record: &'static str,
    /// The host's id (machine-id, SMBIOS UUID or serial, hostname, file).
    pub host: String,
    /// Where its snapshot was.
    pub source: String,
    /// Its group.
    pub group: Group,
    /// Hosts in its group.
    pub group_hosts: usize,
    /// Departures from the group's consensus, and indicator matches.
    pub findings: Vec<Finding>,
    /// Findings against its own baseline (with `--baselines`), when it has
    /// one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_findings: Option<Vec<Finding>>,
    /// Counts over both.
    pub summary: Summary,
    /// It has an unexplained finding at or above the run's threshold.
    pub outlier: bool,
    /// Why the snapshot could not be judged (unreadable), if so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A group's line in the summary.
#[derive(Clone, Debug, Serialize)]
pub struct GroupSummary {
    /// The group.
    pub group: Group,
    /// Hosts in it.
    pub hosts: usize,
    /// Hosts with an unexplained finding at or above the threshold.
    pub outliers: usize,
    /// The group had enough hosts for a consensus ([`consensus::MIN_HOSTS`]).
    pub consensus: bool,
    /// Keys with too many distinct values for a consensus value (only
    /// their presence was compared); at most [`MAX_NAMED`] named.
    pub varied: Vec<String>,
    /// The group stopped learning keys ([`consensus::MAX_KEYS`]).
    pub saturated: bool,
}

/// Varied keys named per group in the summary.
pub const MAX_NAMED: usize = 32;

/// The whole run's summary.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FleetSummary {
    /// Snapshots read.
    pub hosts: usize,
    /// Snapshots that could not be read.
    pub unreadable: usize,
    /// Hosts with an unexplained finding at or above the threshold.
    pub outliers: usize,
    /// Per group, most hosts first.
    pub groups: Vec<GroupSummary>,
}

/// Lists the input's snapshots.
pub fn sources(input: &Input) -> Result<Vec<Source>, std::io::Error> {
    match input {
        Input::Dir(d) => {
            let mut out = Vec::new();
            let mut stack = vec![(d.clone(), 0usize)];
            while let Some((dir, depth)) = stack.pop() {
                for e in std::fs::read_dir(&dir)? {
                    let p = e?.path();
                    if p.is_dir() && depth < MAX_DEPTH {
                        stack.push((p, depth + 1));
                    } else if p.extension().is_some_and(|x| x == "json") {
                        out.push(p);
                    }
                }
            }
            out.sort();
            Ok(out.into_iter().map(Source::File).collect())
        }
        Input::Lines { path, .. } => {
            let r = BufReader::new(std::fs::File::open(path)?);
            let mut out = Vec::new();
            for (i, l) in r.split(b'\n').enumerate() {
                if !l?.iter().all(u8::is_ascii_whitespace) {
                    out.push(Source::Line(i + 1));
                }
            }
            Ok(out)
        }
    }
}

/// Reads the snapshots at `sources` in order, `workers` at a time, and
/// calls `f` with each (in no particular order). A JSON-lines input is
/// read line by line by one reader and parsed by the workers.
fn each(
    input: &Input,
    sources: &[Source],
    workers: usize,
    f: &(dyn Fn(&Source, Result<Snapshot, String>) + Sync),
) {
    let name = |s: &Source| s.name(input);
    let parse =
        |s: &Source, bytes: &[u8]| snapshot::parse(bytes, &name(s)).map_err(|e| e.to_string());
    match input {
        Input::Dir(_) => {
            let next = Mutex::new(sources.iter());
            // The lock is held only while taking the next file, not while
            // reading and judging it.
            let take = || next.lock().ok().and_then(|mut it| it.next());
            std::thread::scope(|sc| {
                for _ in 0..workers.max(1) {
                    sc.spawn(|| {
                        while let Some(s) = take() {
                            let Source::File(p) = s else { continue };
                            let r = snapshot::read_bytes(p)
                                .map_err(|e| e.to_string())
                                .and_then(|b| parse(s, &b));
                            f(s, r);
                        }
                    });
                }
            });
        }
        Input::Lines { path: file, .. } => {
            let (tx, rx) = std::sync::mpsc::sync_channel::<(Source, Vec<u8>)>(workers.max(1));
            let rx = Mutex::new(rx);
            std::thread::scope(|sc| {
                for _ in 0..workers.max(1) {
                    sc.spawn(|| loop {
                        let got = rx.lock().ok().and_then(|r| r.recv().ok());
                        let Some((s, line)) = got else { break };
                        f(&s, parse(&s, &line));
                    });
                }
                let read = std::fs::File::open(file).map(BufReader::new);
                if let Ok(mut r) = read {
                    let mut n = 0usize;
                    loop {
                        n += 1;
                        let mut line = Vec::new();
                        let got = (&mut r).take(MAX_LINE + 1).read_until(b'\n', &mut line);
                        match got {
                            Ok(0) | Err(_) => break,
                            Ok(_) if line.iter().all(u8::is_ascii_whitespace) => continue,
                            Ok(_) if line.len() as u64 > MAX_LINE => {
                                f(
                                    &Source::Line(n),
                                    Err(format!("line longer than {MAX_LINE} bytes")),
                                );
                                break;
                            }
                            Ok(_) => {
                                if tx.send((Source::Line(n), line)).is_err() {
                                    break;
                                }
                            }
                        }
                    }
                }
                drop(tx);
            });
        }
    }
}

/// Runs the fleet analysis; `emit` gets each host's record as soon as it
/// is made (from several threads, one at a time). Returns the summary.
pub fn run(
    input: &Input,
    opts: &Options,
    threshold: findings::Severity,
    progress: &(dyn Fn(usize, usize) + Sync),
    emit: &(dyn Fn(HostRecord) + Sync),
) -> Result<FleetSummary, std::io::Error> {
    let srcs = sources(input)?;
    let total = srcs.len();
    // Pass 1: the groups' consensus.
    let groups: Mutex<BTreeMap<Group, Consensus>> = Mutex::new(BTreeMap::new());
    let done = std::sync::atomic::AtomicUsize::new(0);
    each(input, &srcs, opts.workers, &|_, r| {
        if let Ok(s) = r {
            let (g, p) = (profile::group(&s), profile::profile(&s));
            if let Ok(mut m) = groups.lock() {
                m.entry(g).or_default().add(&p);
            }
        }
        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        progress(n, 2 * total);
    });
    let groups = groups.into_inner().unwrap_or_default();
    // Pass 2: judge each host.
    let outliers: Mutex<BTreeMap<Group, usize>> = Mutex::new(BTreeMap::new());
    let unreadable = std::sync::atomic::AtomicUsize::new(0);
    let emit_lock = Mutex::new(());
    each(input, &srcs, opts.workers, &|src, r| {
        let name = src.name(input);
        let rec = match r {
            Ok(s) => judge(&name, &s, &groups, opts, threshold),
            Err(e) => {
                unreadable.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                HostRecord {
                    record: "host",
                    host: name.clone(),
                    source: name,
                    group: Group::default(),
                    group_hosts: 0,
                    findings: Vec::new(),
                    baseline_findings: None,
                    summary: Summary::default(),
                    outlier: false,
                    error: Some(e),
                }
            }
        };
        if rec.outlier {
            if let Ok(mut o) = outliers.lock() {
                *o.entry(rec.group.clone()).or_default() += 1;
            }
        }
        if let Ok(_g) = emit_lock.lock() {
            emit(rec);
        }
        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        progress(n, 2 * total);
    });
    let outliers = outliers.into_inner().unwrap_or_default();
    let mut gs: Vec<GroupSummary> = groups
        .iter()
        .map(|(g, c)| GroupSummary {
            group: g.clone(),
            hosts: c.hosts,
            outliers: outliers.get(g).copied().unwrap_or(0),
            consensus: c.hosts >= consensus::MIN_HOSTS,
            varied: c.varied().take(MAX_NAMED).map(str::to_string).collect(),
            saturated: c.saturated,
        })
        .collect();
    gs.sort_by(|a, b| b.hosts.cmp(&a.hosts).then(a.group.cmp(&b.group)));
    let unreadable = unreadable.into_inner();
    Ok(FleetSummary {
        hosts: total - unreadable,
        unreadable,
        outliers: outliers.values().sum(),
        groups: gs,
    })
}

fn judge(
    name: &str,
    s: &Snapshot,
    groups: &BTreeMap<Group, Consensus>,
    opts: &Options,
    threshold: findings::Severity,
) -> HostRecord {
    let g = profile::group(s);
    let c = groups.get(&g);
    let mut f = c
        .map(|c| c.departures(&profile::profile(s), opts.outlier_share))
        .unwrap_or_default();
    crate::diff::indicators::check(s, &mut f);
    findings::sort(&mut f);
    let host = profile::host_id(s, name);
    let baseline_findings = opts.baselines.as_ref().and_then(|dir| {
        let p = dir.join(format!("{host}.json"));
        let bytes = snapshot::read_bytes(&p).ok()?;
        let pname = p.display().to_string();
        let (reference, base) = if crate::baseline::is_baseline(&bytes) {
            let b = crate::baseline::parse(&bytes, &pname).ok()?;
            (b.reference.clone(), Some(b))
        } else {
            (snapshot::parse(&bytes, &pname).ok()?, None)
        };
        let mut r = crate::diff::diff(&pname, &reference, name, s);
        if let Some(b) = &base {
            crate::baseline::apply(b, &mut r);
        }
        Some(r.findings)
    });
    let mut all = f.clone();
    all.extend(baseline_findings.iter().flatten().cloned());
    HostRecord {
        record: "host",
        host,
        source: name.to_string(),
        group_hosts: c.map(|c| c.hosts).unwrap_or(0),
        group: g,
        summary: findings::summarize(&all),
        outlier: findings::fails(&all, threshold),
        findings: f,
        baseline_findings,
        error: None,
    }
}

/// Spools a stream (stdin) into a temporary file, removed when dropped,
/// so that it can be read twice.
pub fn spool(mut r: impl Read) -> std::io::Result<tempfile::NamedTempFile> {
    let mut f = tempfile::Builder::new()
        .prefix("bootaudit-fleet-")
        .suffix(".jsonl")
        .tempfile()?;
    std::io::copy(&mut r, &mut f)?;
    Ok(f)
}
