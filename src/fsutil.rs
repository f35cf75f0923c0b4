//! Files written so that nothing is ever half-written: a temporary file in
//! the same directory, flushed to disk, then renamed over the target.

use std::io::Write;
use std::path::{Path, PathBuf};

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
    /// Starts a temporary file in `path`'s directory.
    pub fn create(path: &Path) -> std::io::Result<AtomicFile> {
        static SERIAL: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let name = path
            .file_name()
            .ok_or_else(|| std::io::Error::other("no file name"))?;
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(
            ".tmp-{}-{}",
            std::process::id(),
            SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let tmp = dir_of(path).join(tmp_name);
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
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
        std::fs::rename(&self.tmp, &self.path)?;
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
