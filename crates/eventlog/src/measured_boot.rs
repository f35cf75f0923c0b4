//! Windows keeps one TCG log per boot in `C:\Windows\Logs\MeasuredBoot`,
//! named `BBBBBBBBBB-RRRRRRRRRR.log`: the TPM's boot counter, then the
//! resume count within that boot. Given that directory (copied off the
//! disk, or mounted), this finds the logs and orders them, newest last.
//!
//! Only regular files directly in the directory are taken: links and
//! subdirectories are passed over, so nothing outside what the user named
//! is read.

use std::path::{Path, PathBuf};

/// At most this many logs are listed (a machine booted daily for thirty
/// years has about 11,000).
pub const MAX_LOGS: usize = 100_000;

/// Why a MeasuredBoot directory could not be listed.
#[derive(Debug, thiserror::Error)]
pub enum MeasuredBootError {
    /// The directory could not be read.
    #[error("{path}: cannot list: {cause}")]
    Io {
        /// The directory.
        path: String,
        /// What failed.
        cause: std::io::Error,
    },
    /// No `*.log` file in it.
    #[error("{0}: no *.log file (a Windows MeasuredBoot directory holds one per boot)")]
    Empty(String),
    /// More logs than [`MAX_LOGS`].
    #[error("{0}: more than {MAX_LOGS} logs")]
    TooMany(String),
}

/// The (boot, resume) numbers of a Windows log name, when it has them.
fn counters(name: &str) -> Option<(u64, u64)> {
    let (b, r) = name.strip_suffix(".log")?.split_once('-')?;
    // Digits only: u64's parser would also take a leading '+'.
    let number = |s: &str| {
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse::<u64>().ok())
            .flatten()
    };
    Some((number(b)?, number(r)?))
}

/// Every `*.log` in `dir`, oldest first: by boot counter, then resume
/// count; logs without counters in their names come first, by name.
pub fn logs(dir: &Path) -> Result<Vec<PathBuf>, MeasuredBootError> {
    let path = dir.display().to_string();
    let io = |cause| MeasuredBootError::Io {
        path: path.clone(),
        cause,
    };
    crate::input::check_input_dir(dir).map_err(io)?;
    let mut found = Vec::new();
    for e in std::fs::read_dir(dir).map_err(io)? {
        let e = e.map_err(io)?;
        if !e.file_type().map_err(io)?.is_file() {
            continue;
        }
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.to_ascii_lowercase().ends_with(".log") {
            continue;
        }
        if found.len() == MAX_LOGS {
            return Err(MeasuredBootError::TooMany(path));
        }
        found.push((counters(&name), name, e.path()));
    }
    if found.is_empty() {
        return Err(MeasuredBootError::Empty(path));
    }
    found.sort();
    Ok(found.into_iter().map(|(_, _, p)| p).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_order_by_boot_then_resume() {
        assert_eq!(counters("0000000012-0000000001.log"), Some((12, 1)));
        assert_eq!(counters("12-x.log"), None);
        assert_eq!(counters("notes.log"), None);
        let d = tempfile::tempdir().unwrap();
        for n in [
            "0000000010-0000000000.log",
            "0000000009-0000000003.log",
            "0000000010-0000000002.log",
            "setup.log",
            "readme.txt",
        ] {
            std::fs::write(d.path().join(n), b"x").unwrap();
        }
        std::fs::create_dir(d.path().join("sub.log")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", d.path().join("link.log")).unwrap();
        let got: Vec<String> = logs(d.path())
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            got,
            [
                "setup.log",
                "0000000009-0000000003.log",
                "0000000010-0000000000.log",
                "0000000010-0000000002.log"
            ]
        );
    }
}
