//! `bootaudit fleet`: thousands of snapshots at once. Hosts are grouped by
//! platform and firmware identity ([`profile::Group`]); within each group
//! the consensus of every compared artefact is built, and each host that
//! departs from it gets findings under `diff`'s rule ids, with how many of
//! its peers agree. Optionally each host is also diffed against its own
//! baseline.
//!
//! Each snapshot is parsed once. The first pass learns every host's facts
//! ([`facts`]) and counts them into its group's consensus; the second reads
//! the spooled facts back, judges each host and hands its record to the
//! caller as soon as it is made. Memory is bounded by the workers'
//! snapshots and the groups' distinct values, not by the fleet. A JSON-lines
//! input is scanned once more beforehand only to show a progress bar's
//! total ([`Options::count_first`]); a stream on stdin is read once, as
//! it comes, and never counted ([`Input::Stdin`]).

pub mod consensus;
pub mod facts;
#[cfg(feature = "parquet")]
pub mod facts_parquet;
/// Built without the `parquet` feature: [`Options::export`] is refused
/// before any snapshot is read.
#[cfg(not(feature = "parquet"))]
pub mod facts_parquet {
    use super::facts::HostFacts;
    use std::path::Path;

    /// A writer that cannot exist in this build.
    pub enum FactsWriter {}

    impl FactsWriter {
        /// Refuses: this build writes no Parquet.
        pub fn create(path: &Path) -> Result<FactsWriter, String> {
            Err(format!(
                "{}: this bootaudit was built without Parquet (feature `parquet`)",
                path.display()
            ))
        }

        /// Never called: no writer exists.
        pub fn push(&mut self, _: &HostFacts) -> Result<(), String> {
            match *self {}
        }

        /// Never called: no writer exists.
        pub fn finish(self) -> Result<(), String> {
            match self {}
        }
    }
}
pub mod lines;
pub mod profile;

use crate::findings::{self, Finding, Summary};
use crate::snapshot::{self, Snapshot};
use consensus::Consensus;
use profile::Group;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Read;
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
    /// JSON lines on standard input, read once as they come (so that a
    /// fleet of any size streams through a pipe without touching the
    /// disk), named `-` in reports. More than `max_bytes` is an error.
    Stdin {
        /// The most bytes read.
        max_bytes: u64,
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
            (Source::Line(n), Input::Stdin { .. }) => format!("-:{n}"),
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
    /// When given, every per-host baseline must be signed by one of them.
    pub allowed_signers: Option<Vec<crate::signing::AllowedSigner>>,
    /// Judge a host against a baseline of another machine.
    pub allow_other_machine: bool,
    /// Let unsigned baselines' acceptances explain findings.
    pub trust_unsigned_baseline: bool,
    /// Vendor references every host's firmware is judged against (none:
    /// no judgement).
    pub references: std::sync::Arc<Vec<crate::firmware::reference::Reference>>,
    /// Worker threads.
    pub workers: usize,
    /// Keep each host's identity and collection time for SIEM lines
    /// ([`HostRecord::siem`]).
    pub siem: bool,
    /// Write every host's facts (the rows the consensus is built from) to
    /// this Parquet file ([`facts_parquet`]).
    pub export: Option<PathBuf>,
    /// Scan a JSON-lines input once beforehand to count its snapshots, so
    /// that progress has a total from the start (a progress bar on a
    /// terminal). Without it the input is read once less, and progress's
    /// total is the snapshots read so far until the first pass ends.
    pub count_first: bool,
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
    /// Findings against the vendor references (with `--references` and no
    /// `--baselines`; with both, they are among the baseline findings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_findings: Option<Vec<Finding>>,
    /// Counts over all of them.
    pub summary: Summary,
    /// It has an unexplained finding at or above the run's threshold.
    pub outlier: bool,
    /// Why the snapshot could not be judged (unreadable), if so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Who the snapshot says the host is, and when it was collected: for
    /// `--format jsonl` (not in the host record itself).
    #[serde(skip)]
    pub siem: Option<(crate::siem::Host, Option<String>)>,
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

/// Lists the input's snapshots. A directory is walked without following
/// symbolic links (a link to `.` would make the walk endless); a `*.json`
/// entry that is not a regular file is listed, and refused when read. A
/// JSON-lines file is scanned in fixed-size blocks, so that a line of any
/// length costs no memory here.
pub fn sources(input: &Input) -> Result<Vec<Source>, std::io::Error> {
    match input {
        Input::Dir(d) => {
            crate::fsutil::check_input_dir(d)?;
            let mut out = Vec::new();
            let mut stack = vec![(d.clone(), 0usize)];
            while let Some((dir, depth)) = stack.pop() {
                for e in std::fs::read_dir(&dir)? {
                    let e = e?;
                    let ft = e.file_type()?;
                    let p = e.path();
                    if ft.is_dir() {
                        if depth < MAX_DEPTH {
                            stack.push((p, depth + 1));
                        }
                    } else if p.extension().is_some_and(|x| x == "json") {
                        out.push(p);
                    }
                    if out.len() > MAX_HOSTS {
                        return Err(too_many());
                    }
                }
            }
            out.sort();
            Ok(out.into_iter().map(Source::File).collect())
        }
        // A stream is read once, by the analysis.
        Input::Stdin { .. } => Ok(Vec::new()),
        Input::Lines { path, .. } => {
            let mut r = crate::fsutil::open_input(path)?;
            let mut out = Vec::new();
            let mut buf = vec![0u8; 64 << 10];
            let (mut line, mut blank) = (1usize, true);
            loop {
                let n = match r.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                };
                // Line ends are found a block at a time; a line is blank
                // while its bytes are whitespace, which the first byte of
                // a snapshot ('{') ends at once.
                let mut rest = &buf[..n];
                loop {
                    let end = memchr::memchr(b'\n', rest);
                    let seg = &rest[..end.unwrap_or(rest.len())];
                    if blank && !seg.iter().all(u8::is_ascii_whitespace) {
                        blank = false;
                    }
                    let Some(end) = end else { break };
                    if !blank {
                        out.push(Source::Line(line));
                    }
                    line += 1;
                    blank = true;
                    rest = &rest[end + 1..];
                }
                if out.len() > MAX_HOSTS {
                    return Err(too_many());
                }
            }
            if !blank {
                out.push(Source::Line(line));
            }
            Ok(out)
        }
    }
}

/// The most snapshots one run reads (the list of their places is the one
/// thing that grows with the fleet: 10 M places are about 400 MB).
pub const MAX_HOSTS: usize = 10_000_000;

fn too_many() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!("more than {MAX_HOSTS} snapshots; shard the fleet"),
    )
}

/// Reads the snapshots at `sources` in order, `workers` at a time, and
/// calls `f` with each (in no particular order). A JSON-lines input is
/// read line by line by one reader and parsed by the workers.
fn each(
    input: &Input,
    sources: &[Source],
    workers: usize,
    f: &(dyn Fn(&Source, Result<Snapshot, String>) + Sync),
) -> std::io::Result<()> {
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
        Input::Lines { .. } | Input::Stdin { .. } if workers <= 1 => {
            // One worker: read and parse in turn, each line in place.
            each_line(input, |s, r| {
                f(&s, r.and_then(|t| parse(&s, t)));
                true
            })?;
        }
        Input::Lines { .. } | Input::Stdin { .. } => {
            let (tx, rx) = std::sync::mpsc::sync_channel::<(Source, Vec<u8>)>(workers.max(1));
            let rx = Mutex::new(rx);
            // The line buffers go back to the reader once parsed and are
            // filled again: no allocation, and no free on another thread,
            // per line. Only buffers of at most POOLED bytes are kept.
            const POOLED: usize = 4 << 20;
            let (back_tx, back_rx) =
                std::sync::mpsc::sync_channel::<Vec<u8>>(2 * workers.max(1) + 2);
            std::thread::scope(|sc| {
                for _ in 0..workers.max(1) {
                    sc.spawn(|| loop {
                        let got = rx.lock().ok().and_then(|r| r.recv().ok());
                        let Some((s, line)) = got else { break };
                        f(&s, parse(&s, &line));
                        if line.capacity() <= POOLED {
                            let _ = back_tx.try_send(line);
                        }
                    });
                }
                let got = each_line(input, |s, r| match r {
                    Ok(t) => {
                        let mut b = back_rx.try_recv().unwrap_or_default();
                        b.clear();
                        b.extend_from_slice(t);
                        tx.send((s, b)).is_ok()
                    }
                    Err(e) => {
                        f(&s, Err(e));
                        true
                    }
                });
                drop(tx);
                got
            })?;
        }
    }
    Ok(())
}

/// Calls `f` with each line of a JSON-lines input that is not blank (in
/// place), or with the error of a line over [`MAX_LINE`]; stops early when
/// `f` returns false.
fn each_line(
    input: &Input,
    f: impl FnMut(Source, Result<&[u8], String>) -> bool,
) -> std::io::Result<()> {
    match input {
        Input::Lines { path, .. } => each_line_of(crate::fsutil::open_input(path)?, f),
        Input::Stdin { max_bytes } => each_line_of(
            Capped {
                r: {
                    widen_pipe(&std::io::stdin());
                    std::io::stdin().lock()
                },
                left: *max_bytes,
                max: *max_bytes,
            },
            f,
        ),
        Input::Dir(_) => Ok(()),
    }
}

/// When `f` is a pipe, asks for a 1 MiB buffer (Linux's default limit for
/// any user; 64 KiB otherwise): a fleet streamed through a pipe is then
/// read in 16 times fewer calls, with as many fewer waits for the writer.
/// Failing changes nothing but the speed.
fn widen_pipe(f: &impl std::os::fd::AsRawFd) {
    let fd = f.as_raw_fd();
    // SAFETY: fstat and fcntl on a descriptor this process holds, with a
    // zeroed stat buffer it owns; neither touches other memory.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstat(fd, &mut st) == 0 && st.st_mode & libc::S_IFMT == libc::S_IFIFO {
            libc::fcntl(fd, libc::F_SETPIPE_SZ, 1 << 20);
        }
    }
}

/// A stream that fails once it has given `left` bytes and has more.
struct Capped<R> {
    r: R,
    left: u64,
    max: u64,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        // One byte past the cap tells a stream that ends there from one
        // that goes on.
        let want = buf
            .len()
            .min(usize::try_from(self.left.saturating_add(1)).unwrap_or(usize::MAX));
        let n = self.r.read(&mut buf[..want])?;
        if n as u64 > self.left {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "stdin: more than {} bytes; raise --max-stdin or give a file",
                    self.max
                ),
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

fn each_line_of(
    r: impl Read,
    mut f: impl FnMut(Source, Result<&[u8], String>) -> bool,
) -> std::io::Result<()> {
    let mut r = lines::Lines::new(r, MAX_LINE as usize);
    let mut seen = 0usize;
    while let Some(l) = r.next_line()? {
        if matches!(&l, lines::Line::Text(_, t) if t.iter().all(u8::is_ascii_whitespace)) {
            continue;
        }
        seen += 1;
        if seen > MAX_HOSTS {
            return Err(too_many());
        }
        let go = match l {
            lines::Line::Text(n, t) => f(Source::Line(n), Ok(t)),
            lines::Line::TooLong(n) => f(
                Source::Line(n),
                Err(format!("line longer than {MAX_LINE} bytes")),
            ),
        };
        if !go {
            break;
        }
    }
    Ok(())
}

/// Runs the fleet analysis; `emit` gets each host's record as soon as it
/// is made (from several threads, one at a time). Returns the summary.
///
/// Each snapshot is read and parsed once. The first pass learns each
/// host's facts ([`facts::HostFacts`]: its profile, and the findings that
/// depend on it alone), adds its profile to its group's consensus, and
/// spools the facts to a temporary file (and, with `opts.export`, writes
/// them as Parquet rows). The second pass reads the spooled facts back and
/// judges each host against its group. An unreadable snapshot's record is
/// emitted in the first pass.
pub fn run(
    input: &Input,
    opts: &Options,
    threshold: findings::Severity,
    progress: &(dyn Fn(usize, usize) + Sync),
    emit: &(dyn Fn(HostRecord) + Sync),
) -> Result<FleetSummary, std::io::Error> {
    let srcs = match input {
        Input::Lines { .. } if !opts.count_first => Vec::new(),
        _ => sources(input)?,
    };
    let counted = (!srcs.is_empty()).then_some(srcs.len());
    let emit_lock = Mutex::new(());
    let emit_one = |rec: HostRecord| {
        let _g = emit_lock.lock().unwrap_or_else(|e| e.into_inner());
        emit(rec);
    };
    // Pass 1: each host's facts, and the groups' consensus.
    struct Learnt {
        groups: BTreeMap<Group, Consensus>,
        spool: facts::Spool,
        export: Option<facts_parquet::FactsWriter>,
        failed: Option<std::io::Error>,
    }
    let export = match &opts.export {
        Some(p) => Some(facts_parquet::FactsWriter::create(p).map_err(std::io::Error::other)?),
        None => None,
    };
    let learnt = Mutex::new(Learnt {
        groups: BTreeMap::new(),
        spool: facts::Spool::new()?,
        export,
        failed: None,
    });
    let unreadable = std::sync::atomic::AtomicUsize::new(0);
    let done = std::sync::atomic::AtomicUsize::new(0);
    each(input, &srcs, opts.workers, &|src, r| {
        let total = counted.unwrap_or_else(|| done.load(std::sync::atomic::Ordering::Relaxed) + 1);
        let name = src.name(input);
        match r {
            Ok(s) => {
                let (f, p) = learn(&name, &s, opts);
                drop(s);
                let b = facts::encode(&f);
                let mut l = learnt.lock().unwrap_or_else(|e| e.into_inner());
                let l = &mut *l;
                l.groups.entry(f.group.clone()).or_default().add(&p);
                let wrote = b.and_then(|b| l.spool.push_encoded(&b)).and_then(|()| {
                    l.export
                        .as_mut()
                        .map_or(Ok(()), |x| x.push(&f).map_err(std::io::Error::other))
                });
                if let Err(e) = wrote {
                    l.failed.get_or_insert(e);
                }
            }
            Err(e) => {
                unreadable.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                emit_one(unreadable_record(name, e));
            }
        }
        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        progress(n, 2 * total);
    })?;
    let Learnt {
        groups,
        spool,
        export,
        failed,
    } = learnt.into_inner().unwrap_or_else(|e| e.into_inner());
    if let Some(e) = failed {
        return Err(e);
    }
    if let Some(x) = export {
        x.finish().map_err(std::io::Error::other)?;
    }
    // Pass 2: judge each host from its facts.
    let outliers: Mutex<BTreeMap<Group, usize>> = Mutex::new(BTreeMap::new());
    let unreadable = unreadable.into_inner();
    // Every snapshot was read once in the first pass.
    let total = done.load(std::sync::atomic::Ordering::Relaxed);
    let mut reader = spool.into_reader()?;
    let judge_one = |at: u64, b: Vec<u8>| -> std::io::Result<()> {
        let rec = judge(facts::view(at, &b)?, &groups, opts, threshold);
        if rec.outlier {
            let mut o = outliers.lock().unwrap_or_else(|e| e.into_inner());
            *o.entry(rec.group.clone()).or_default() += 1;
        }
        emit_one(rec);
        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        progress(n, 2 * total);
        Ok(())
    };
    let failed: Mutex<Option<std::io::Error>> = Mutex::new(None);
    let fail = |e: std::io::Error| {
        failed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert(e);
    };
    let has_failed = || failed.lock().map(|f| f.is_some()).unwrap_or(true);
    if opts.workers <= 1 {
        while let Some(r) = reader.next_record() {
            if let Err(e) = r.and_then(|(at, b)| judge_one(at, b)) {
                fail(e);
                break;
            }
        }
    } else {
        // The reader hands out whole records; each worker decodes its own
        // and judges from views into it.
        let (tx, rx) = std::sync::mpsc::sync_channel::<(u64, Vec<u8>)>(opts.workers);
        let rx = Mutex::new(rx);
        std::thread::scope(|sc| {
            for _ in 0..opts.workers {
                sc.spawn(|| loop {
                    let got = rx.lock().ok().and_then(|r| r.recv().ok());
                    let Some((at, b)) = got else { break };
                    if let Err(e) = judge_one(at, b) {
                        fail(e);
                    }
                });
            }
            while let Some(r) = reader.next_record() {
                if has_failed() {
                    break;
                }
                match r {
                    Ok(rec) => {
                        if tx.send(rec).is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        fail(e);
                        break;
                    }
                }
            }
            drop(tx);
        });
    }
    let failed = failed.into_inner().unwrap_or_else(|e| e.into_inner());
    if let Some(e) = failed {
        return Err(e);
    }
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
    Ok(FleetSummary {
        hosts: total - unreadable,
        unreadable,
        outliers: outliers.values().sum(),
        groups: gs,
    })
}

/// The record of a snapshot that could not be read.
fn unreadable_record(name: String, e: String) -> HostRecord {
    HostRecord {
        record: "host",
        host: name.clone(),
        source: name,
        group: Group::default(),
        group_hosts: 0,
        findings: Vec::new(),
        baseline_findings: None,
        reference_findings: None,
        summary: Summary::default(),
        outlier: false,
        error: Some(e),
        siem: None,
    }
}

/// What the first pass learns of one host: its facts, and its profile for
/// the consensus.
fn learn(name: &str, s: &Snapshot, opts: &Options) -> (facts::HostFacts, profile::Profile) {
    let log = s
        .tpm
        .as_ref()
        .and_then(|t| snapshot::event_log(t, name).ok().flatten());
    let p = profile::profile_with_log(s, log.as_ref());
    let mut f = Vec::new();
    crate::diff::indicators::check_with_log(s, log.as_ref(), &mut f);
    drop(log);
    let host = profile::host_id(s, name);
    let baseline_findings = opts
        .baselines
        .as_ref()
        .map(|dir| host_baseline(dir, &host, name, s, opts));
    let reference_findings = (!opts.references.is_empty() && opts.baselines.is_none())
        .then(|| crate::firmware::judge::check(name, s, &opts.references).findings);
    let facts = facts::HostFacts {
        source: name.to_string(),
        host,
        group: profile::group(s),
        items: p
            .items
            .iter()
            .map(|((k, key), v)| (*k, key.clone(), v.clone()))
            .collect(),
        findings: f,
        baseline_findings,
        reference_findings,
        siem: opts.siem.then(|| {
            (
                crate::siem::host(s, name),
                crate::siem::collected_at(s).map(str::to_string),
            )
        }),
    };
    (facts, p)
}

/// Judges one host from its facts: its departures from its group's
/// consensus, with the findings that depend on it alone.
fn judge(
    facts: facts::FactsView<'_>,
    groups: &BTreeMap<Group, Consensus>,
    opts: &Options,
    threshold: findings::Severity,
) -> HostRecord {
    let c = groups.get(&facts.group);
    let mut f = c
        .map(|c| c.departures_of(&facts.items, opts.outlier_share))
        .unwrap_or_default();
    f.extend(facts.findings);
    findings::sort(&mut f);
    let mut all = f.clone();
    all.extend(facts.baseline_findings.iter().flatten().cloned());
    all.extend(facts.reference_findings.iter().flatten().cloned());
    HostRecord {
        record: "host",
        host: facts.host.to_string(),
        source: facts.source.to_string(),
        group_hosts: c.map(|c| c.hosts).unwrap_or(0),
        group: facts.group,
        summary: findings::summarize(&all),
        outlier: findings::fails(&all, threshold),
        findings: f,
        baseline_findings: facts.baseline_findings,
        reference_findings: facts.reference_findings,
        error: None,
        siem: facts.siem,
    }
}

/// True when a host id can name a file in the baselines directory: the
/// host chooses its own id, so `../x` or `a/b` must never be joined to it.
pub fn valid_host_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':'))
}

/// Diffs a host against `DIR/<host id>.json`. A host with no usable
/// baseline (an id that cannot name a file, no file, a file that does not
/// parse, is unsigned with allowed signers given, or is of another
/// machine) gets one high finding saying so: with `--baselines`, a host
/// must not escape its baseline by choosing an id.
fn host_baseline(
    dir: &std::path::Path,
    host: &str,
    name: &str,
    s: &Snapshot,
    opts: &Options,
) -> Vec<Finding> {
    let refuse = |why: String| {
        vec![Finding::new(
            crate::rules::BASELINE_MISSING,
            format!("no baseline to judge this host against: {why}"),
            serde_json::json!({"host": host, "baselines": dir.display().to_string()}),
        )
        .about(host.to_string())]
    };
    if !valid_host_id(host) {
        return refuse(format!(
            "its host id {host:?} cannot name a baseline file (only letters, digits, '.', '_', '-', ':'; no leading '.')"
        ));
    }
    let p = dir.join(format!("{host}.json"));
    let mut l = match crate::baseline::load(&p, opts.allowed_signers.as_deref()) {
        Ok(l) => l,
        Err(e) => return refuse(e.to_string()),
    };
    l.trust_unsigned = opts.trust_unsigned_baseline;
    if !opts.allow_other_machine {
        if let Err(e) = crate::baseline::check_same_machine(&l, s) {
            return refuse(e.to_string());
        }
    }
    crate::baseline::diff_against_with(&l, name, s, &opts.references).findings
}

/// The default cap on the bytes read from stdin: 1 TiB, [`MAX_HOSTS`]
/// snapshots of about 100 KB (a million of the collector's are 71 GB), and
/// an end to an endless stream.
pub const MAX_STDIN: u64 = 1 << 40;
