//! Files read and written safely.
//!
//! Reading: every input file is opened with [`open_input`], which refuses
//! a symbolic link and anything that is not a regular file (a FIFO or a
//! device would block or never end) without blocking on it.
//!
//! Writing: nothing is ever half-written. A temporary file in the same
//! directory is flushed to disk, then renamed over the target. A target
//! that exists and is not a regular file (a device node, a FIFO, a
//! symlink, a directory) is refused, temporaries left by a process that was
//! killed are removed by the next write to the same target, and
//! temporaries of this process are removed on SIGINT and SIGTERM.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub use bootaudit_eventlog::input::{check_input_dir, kind_of, on_open, open_input, read_input};

/// Set by `bootaudit -q`: the library's own warning (a signal handler that
/// could not be installed) is not printed.
pub static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Temporary files of this process, removed by the signal handler.
static TEMPORARIES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Creates a temporary file with `create` and registers the path it
/// returns, to be removed if the process is ended by SIGINT, SIGTERM or
/// SIGHUP. The handler ([`remove_temporaries_on_signals`]) is installed
/// first, and the list of temporaries is held locked while the file is
/// created: a signal arriving at any point either finds the file
/// registered or waits until it is, so no temporary outlives a signal. A
/// run that writes no temporary (most `eventlog` and `show` runs) pays
/// nothing for it, no signal thread, no pipe.
pub fn create_temporary<T>(
    create: impl FnOnce() -> std::io::Result<(T, PathBuf)>,
) -> std::io::Result<T> {
    static HANDLER: std::sync::Once = std::sync::Once::new();
    HANDLER.call_once(|| {
        if let Err(e) = remove_temporaries_on_signals() {
            if !QUIET.load(std::sync::atomic::Ordering::Relaxed) {
                eprintln!(
                    "bootaudit: warning: no signal handler ({e}); temporaries stay after Ctrl-C"
                );
            }
        }
    });
    let mut t = TEMPORARIES.lock().unwrap_or_else(|e| e.into_inner());
    let (v, path) = create()?;
    t.push(path);
    Ok(v)
}

/// Forgets a temporary file (renamed into place, or removed).
pub fn forget_temporary(p: &Path) {
    let mut t = TEMPORARIES.lock().unwrap_or_else(|e| e.into_inner());
    t.retain(|x| x != p);
}

/// Installs handlers for SIGINT, SIGTERM and SIGHUP that remove this
/// process's registered temporary files and then end the process with the
/// conventional status (128 + the signal). [`create_temporary`] calls
/// it once, before the first temporary.
pub fn remove_temporaries_on_signals() -> std::io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if let Some(sig) = signals.forever().next() {
                let t = TEMPORARIES.lock().unwrap_or_else(|e| e.into_inner());
                for p in t.iter() {
                    let _ = std::fs::remove_file(p);
                }
                std::process::exit(128 + sig);
            }
        })?;
    Ok(())
}

/// Checks that a report may be written at `path`: it does not exist, or is
/// a regular file (not a device node, FIFO, symlink or directory, which a
/// rename would replace: `-o /dev/null` as root must not replace
/// /dev/null).
pub fn check_output(path: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_file() => Ok(()),
        Ok(m) => Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!(
                "exists and is {}; refusing to replace it (only a regular file is replaced)",
                kind_of(&m.file_type())
            ),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// The longest file name [`AtomicFile`] can write: its temporary,
/// `.NAME.tmp-PID-SERIAL`, must fit NAME_MAX (255 bytes).
pub const MAX_ATOMIC_NAME: usize = 255 - 32;

/// True when a file of this name can be written atomically.
pub fn fits_atomic_write(name: &std::ffi::OsStr) -> bool {
    name.len() <= MAX_ATOMIC_NAME
}

/// True when process `pid` no longer runs.
fn gone(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return true;
    };
    // SAFETY: kill with signal 0 sends nothing; it only checks existence.
    let r = unsafe { libc::kill(pid, 0) };
    r != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

/// Removes the temporaries `.NAME.tmp-PID-N` beside `path` left by
/// processes that no longer run (a writer killed with SIGKILL).
fn remove_stale_temporaries(path: &Path) {
    let Some(name) = path.file_name() else {
        return;
    };
    let prefix = format!(".{}.tmp-", name.to_string_lossy());
    let Ok(rd) = std::fs::read_dir(dir_of(path)) else {
        return;
    };
    for e in rd.flatten().take(1 << 16) {
        let f = e.file_name();
        let f = f.to_string_lossy();
        let Some(rest) = f.strip_prefix(&prefix) else {
            continue;
        };
        let Some((pid, serial)) = rest.split_once('-') else {
            continue;
        };
        let (Ok(pid), true) = (
            pid.parse::<u32>(),
            !serial.is_empty() && serial.bytes().all(|b| b.is_ascii_digit()),
        ) else {
            continue;
        };
        let is_file = e.file_type().is_ok_and(|t| t.is_file());
        if is_file && pid != std::process::id() && gone(pid) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Writes `bytes` to `path` atomically (temp file + fsync + rename + fsync
/// of the directory). A reader sees the old file or the new one, never a
/// part of either.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = AtomicFile::create(path)?;
    f.write_all(bytes)?;
    f.commit()
}

/// A file written as a stream and put in place only by [`AtomicFile::commit`]:
/// until then it is a temporary file beside the target (created with the
/// process umask, like the target would be), removed if the writer is
/// dropped uncommitted (an error, a panic), so nothing half-written remains
/// under the target's name.
pub struct AtomicFile {
    out: Option<std::io::BufWriter<std::fs::File>>,
    tmp: PathBuf,
    path: PathBuf,
}

/// The directory a path lives in (`.` for a bare file name).
fn dir_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

impl AtomicFile {
    /// Starts a temporary file in `path`'s directory. Refuses a target
    /// that is not a regular file, and a name so long that the temporary's
    /// name would pass the file system's limit; removes the temporaries of
    /// earlier writers of the same target that were killed.
    pub fn create(path: &Path) -> std::io::Result<AtomicFile> {
        static SERIAL: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let name = path
            .file_name()
            .ok_or_else(|| std::io::Error::other("no file name"))?;
        check_output(path)?;
        if !fits_atomic_write(name) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "file name of {} bytes is too long to be written atomically (at most {MAX_ATOMIC_NAME})",
                    name.len()
                ),
            ));
        }
        remove_stale_temporaries(path);
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(
            ".tmp-{}-{}",
            std::process::id(),
            SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let tmp = dir_of(path).join(tmp_name);
        let f = create_temporary(|| {
            let f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
                .open(&tmp)?;
            Ok((f, tmp.clone()))
        })?;
        Ok(AtomicFile {
            out: Some(std::io::BufWriter::new(f)),
            tmp,
            path: path.to_path_buf(),
        })
    }

    /// Flushes to disk and renames over the target (then syncs the
    /// directory, so the rename itself survives a power cut).
    pub fn commit(mut self) -> std::io::Result<()> {
        let out = self
            .out
            .take()
            .ok_or_else(|| std::io::Error::other("committed twice"))?;
        let f = out.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        drop(f);
        // The target may have been replaced by something else meanwhile.
        check_output(&self.path)?;
        std::fs::rename(&self.tmp, &self.path)?;
        forget_temporary(&self.tmp);
        if let Ok(d) = std::fs::File::open(dir_of(&self.path)) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        // Not committed (or the commit failed before the rename): remove.
        if self.out.take().is_some() || self.tmp.exists() {
            let _ = std::fs::remove_file(&self.tmp);
        }
        forget_temporary(&self.tmp);
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.out {
            Some(o) => o.write(buf),
            None => Err(std::io::Error::other("already committed")),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.out {
            Some(o) => o.flush(),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn replaces_whole_files_and_leaves_no_temporaries() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.json");
        super::write_atomic(&p, b"one").unwrap();
        super::write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
        assert!(super::write_atomic(&d.path().join("missing/b"), b"x").is_err());
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_stream_given_up_halfway_leaves_the_old_file_whole() {
        use std::io::Write;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("fleet.jsonl");
        super::write_atomic(&p, b"old\n").unwrap();
        let mut f = super::AtomicFile::create(&p).unwrap();
        f.write_all(b"new, half").unwrap();
        f.flush().unwrap();
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 2);
        drop(f);
        assert_eq!(std::fs::read(&p).unwrap(), b"old\n");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
        let mut f = super::AtomicFile::create(&p).unwrap();
        f.write_all(b"new\n").unwrap();
        f.commit().unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new\n");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }
}
