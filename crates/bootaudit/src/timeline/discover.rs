//! Finding the evidence: each path is a file, or a directory of evidence
//! as a responder collects it (a KAPE or Velociraptor triage folder, a
//! copied `C:\Windows`, a Linux `/var/log`). Files are recognised by their
//! first bytes, never by their names; what is not evidence bootaudit reads
//! is passed over and counted.
//!
//! Directories are walked without following links (a link, a device or a
//! FIFO is passed over), at most [`super::MAX_DEPTH`] deep and
//! [`super::MAX_FILES`] files in all. The files are read on every core.

use super::{Gathered, SourceKind, TimelineError};
use std::io::Read;
use std::path::{Path, PathBuf};

/// What a file's first bytes say it is (`None`: not evidence bootaudit
/// reads).
pub fn sniff(head: &[u8]) -> Option<SourceKind> {
    if head.starts_with(super::windows::MAGIC) {
        return Some(SourceKind::Evtx);
    }
    if head.starts_with(super::fwupd::MAGIC) {
        return Some(SourceKind::Fwupd);
    }
    if super::states::looks_like_tcg_log(head) {
        return Some(SourceKind::MeasuredBoot);
    }
    let text = {
        let mut t = head;
        while let [b' ' | b'\t' | b'\r' | b'\n', rest @ ..] = t {
            t = rest;
        }
        t
    };
    if text.starts_with(b"{") {
        let find = |n: &[u8]| memchr::memmem::find(head, n).is_some();
        if find(b"\"bootaudit-snapshot/") {
            return Some(SourceKind::Snapshot);
        }
        if find(b"\"__REALTIME_TIMESTAMP\"") || find(b"\"__CURSOR\"") {
            return Some(SourceKind::JournalJson);
        }
        return None;
    }
    if text.starts_with(b"__CURSOR=") || text.starts_with(b"__REALTIME_TIMESTAMP=") {
        return Some(SourceKind::JournalExport);
    }
    if text.starts_with(b"type=") && memchr::memmem::find(head, b" msg=audit(").is_some() {
        return Some(SourceKind::Audit);
    }
    if super::firmware_log::looks_like(head) {
        return Some(SourceKind::FirmwareLog);
    }
    if super::linux::looks_like_kernel_log(head) {
        return Some(SourceKind::KernelLog);
    }
    None
}

/// How many bytes are read to recognise a file.
const SNIFF: u64 = 1 << 16;

fn head_of(path: &Path) -> std::io::Result<Vec<u8>> {
    let f = crate::fsutil::open_input(path)?;
    let mut b = Vec::with_capacity(SNIFF as usize);
    f.take(SNIFF).read_to_end(&mut b)?;
    Ok(b)
}

/// How a file came to be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Named {
    /// The user named it: a file that is not evidence is an error.
    ByUser,
    /// Found under a directory: passed over when it is not evidence.
    Found,
    /// Found in a sealed bundle: only its snapshot is read.
    InBundle,
}

/// Every regular file under the paths, with how it was named.
fn walk(paths: &[PathBuf]) -> Result<(Vec<(PathBuf, Named)>, usize), TimelineError> {
    let mut files = Vec::new();
    let mut passed_over = 0usize;
    let mut stack: Vec<(PathBuf, usize, bool)> = Vec::new();
    for p in paths {
        let name = p.display().to_string();
        let md = std::fs::symlink_metadata(p)
            .map_err(|e| TimelineError::file(&name, format!("cannot read: {e}")))?;
        if md.is_dir() {
            stack.push((p.clone(), 0, false));
        } else if md.is_file() {
            files.push((p.clone(), Named::ByUser));
        } else {
            return Err(TimelineError::file(
                &name,
                format!(
                    "{}; bootaudit reads only regular files and directories",
                    crate::fsutil::kind_of(&md.file_type())
                ),
            ));
        }
    }
    while let Some((dir, depth, in_bundle)) = stack.pop() {
        let name = dir.display().to_string();
        let rd = std::fs::read_dir(&dir)
            .map_err(|e| TimelineError::file(&name, format!("cannot list: {e}")))?;
        let mut entries = Vec::new();
        for e in rd {
            let e = e.map_err(|e| TimelineError::file(&name, format!("cannot list: {e}")))?;
            entries.push(e);
        }
        entries.sort_by_key(|e| e.file_name());
        // A sealed evidence bundle is one firmware state, its snapshot:
        // the raw artefacts beside it (its TCG log among them) are what
        // the snapshot was made from, not more states.
        let bundle = in_bundle
            || entries.iter().any(|e| {
                e.file_name() == crate::bundle::MANIFEST
                    && head_of(&e.path()).is_ok_and(|h| {
                        memchr::memmem::find(&h, crate::bundle::FORMAT.as_bytes()).is_some()
                    })
            });
        for e in entries {
            let ft = e
                .file_type()
                .map_err(|err| TimelineError::file(&name, format!("cannot list: {err}")))?;
            if ft.is_dir() {
                if depth + 1 > super::MAX_DEPTH {
                    return Err(TimelineError::file(
                        &e.path().display().to_string(),
                        format!("deeper than {} directories", super::MAX_DEPTH),
                    ));
                }
                stack.push((e.path(), depth + 1, bundle));
            } else if ft.is_file() {
                if files.len() >= super::MAX_FILES {
                    return Err(TimelineError::file(
                        &name,
                        format!("more than {} files under the paths named", super::MAX_FILES),
                    ));
                }
                files.push((
                    e.path(),
                    if bundle {
                        Named::InBundle
                    } else {
                        Named::Found
                    },
                ));
            } else {
                passed_over += 1;
            }
        }
    }
    Ok((files, passed_over))
}

/// What one file gave.
enum Read1 {
    Events(super::Input, Vec<super::Event>),
    Snapshot(
        super::Input,
        super::FirmwareState,
        Box<crate::snapshot::Snapshot>,
    ),
    State(super::Input, super::FirmwareState),
    FirmwareLog(super::Input, super::firmware_log::BootLog),
    Skip,
}

fn read_one(path: &Path, named: Named, evtx_threads: usize) -> Result<Read1, TimelineError> {
    let file = path.display().to_string();
    let head =
        head_of(path).map_err(|e| TimelineError::file(&file, format!("cannot read: {e}")))?;
    let kind = sniff(&head).filter(|k| named != Named::InBundle || *k == SourceKind::Snapshot);
    let Some(kind) = kind else {
        if named == Named::ByUser {
            return Err(TimelineError::at(
                &file,
                0,
                "not evidence bootaudit reads (an EVTX file, a journal, an audit log, a kernel log, fwupd's pending.db, a snapshot, a TCG log or an EDK II debug log)",
            ));
        }
        return Ok(Read1::Skip);
    };
    Ok(match kind {
        SourceKind::Evtx => {
            let (i, e) = super::windows::read_with(path, evtx_threads)?;
            Read1::Events(i, e)
        }
        SourceKind::JournalJson => {
            let (i, e) = super::linux::read_journal_json(path)?;
            Read1::Events(i, e)
        }
        SourceKind::JournalExport => {
            let (i, e) = super::linux::read_journal_export(path)?;
            Read1::Events(i, e)
        }
        SourceKind::Audit => {
            let (i, e) = super::linux::read_audit(path)?;
            Read1::Events(i, e)
        }
        SourceKind::KernelLog => {
            let (i, e) = super::linux::read_kernel_log(path)?;
            Read1::Events(i, e)
        }
        SourceKind::Fwupd => {
            let (i, e) = super::fwupd::read(path)?;
            Read1::Events(i, e)
        }
        SourceKind::Snapshot => {
            let s = crate::snapshot::read_file(path)
                .map_err(|e| TimelineError::file(&file, e.to_string()))?;
            let st = super::states::of_snapshot(&file, &s);
            let mut i = super::Input::new(file, kind);
            i.saw(st.at);
            Read1::Snapshot(i, st, Box::new(s))
        }
        SourceKind::MeasuredBoot => {
            let st = super::states::of_log(path)?;
            let mut i = super::Input::new(file, kind);
            i.saw(st.at);
            Read1::State(i, st)
        }
        SourceKind::FirmwareLog => {
            let l = super::firmware_log::read(path)?;
            let mut i = super::Input::new(file, kind);
            i.records = (l.drivers.len() + l.peims) as u64;
            Read1::FirmwareLog(i, l)
        }
    })
}

/// Reads every file under the paths, on every core, into one gathering
/// (in the order of the files, whatever order the threads finish in).
pub fn gather(paths: &[PathBuf]) -> Result<Gathered, TimelineError> {
    if paths.is_empty() {
        return Err(TimelineError::file("(none)", "no evidence named"));
    }
    let (files, passed_over) = walk(paths)?;
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 16);
    let threads = cores.min(files.len().max(1));
    // What each file's reader may use beside it: a file read alone gets
    // every core (the evtx crate renders its chunks side by side).
    let per_file = (cores / files.len().max(1)).max(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<Option<Result<Read1, TimelineError>>> = Vec::new();
    results.resize_with(files.len(), || None);
    let slots = std::sync::Mutex::new(results);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some((p, named)) = files.get(i) else {
                    break;
                };
                let r = read_one(p, *named, per_file);
                let failed = r.is_err();
                if let Ok(mut v) = slots.lock() {
                    v[i] = Some(r);
                }
                if failed {
                    // The first error in file order is reported; later
                    // files are not needed.
                    next.fetch_max(files.len(), std::sync::atomic::Ordering::Relaxed);
                }
            });
        }
    });
    let results = slots.into_inner().unwrap_or_default();
    let mut g = Gathered {
        passed_over,
        ..Gathered::default()
    };
    for r in results.into_iter().flatten() {
        match r? {
            Read1::Events(i, e) => {
                let f = i.file.clone();
                g.inputs.push(i);
                g.push_events(&f, e)?;
            }
            Read1::Snapshot(i, st, s) => {
                g.snapshots.push((i.file.clone(), *s));
                g.inputs.push(i);
                g.states.push(st);
            }
            Read1::State(i, st) => {
                g.inputs.push(i);
                g.states.push(st);
            }
            Read1::FirmwareLog(i, l) => {
                g.firmware_logs.push((i.file.clone(), l));
                g.inputs.push(i);
            }
            Read1::Skip => g.passed_over += 1,
        }
    }
    if g.inputs.is_empty() {
        return Err(TimelineError::file(
            &paths[0].display().to_string(),
            "no evidence found under the paths named",
        ));
    }
    Ok(g)
}
