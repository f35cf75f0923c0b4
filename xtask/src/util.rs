//! What every task needs: running a tool and saying which one failed, a
//! work directory removed on every exit, the project's paths.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A task's error: what failed, in words for the developer.
pub type Result<T> = std::result::Result<T, String>;

/// The project's root (the directory above xtask/).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask/ has a parent")
        .to_path_buf()
}

/// Runs `cmd` with `args`, its output shown, and fails naming it unless it
/// succeeds. `hint` names the package that provides it.
pub fn run<I, S>(cmd: &str, args: I, hint: &str) -> Result<()>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run_in(cmd, args, None, hint)
}

/// [`run`] in directory `dir`.
pub fn run_in<I, S>(cmd: &str, args: I, dir: Option<&Path>, hint: &str) -> Result<()>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut c = Command::new(cmd);
    // The tasks know where each workspace builds (the collector's in
    // efi-collector/target): a CARGO_TARGET_DIR from the caller would move
    // it.
    c.args(args)
        .env("MTOOLS_SKIP_CHECK", "1")
        .env_remove("CARGO_TARGET_DIR");
    if let Some(d) = dir {
        c.current_dir(d);
    }
    let out = c
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("{cmd} could not run ({hint}): {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A directory under the system's temporary directory, removed when this
/// value is dropped (also when a task fails).
pub struct WorkDir(PathBuf);

impl WorkDir {
    /// Makes a new, empty work directory named after `tag`.
    pub fn new(tag: &str) -> Result<WorkDir> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let p = std::env::temp_dir().join(format!(
            "bootaudit-xtask-{tag}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        Ok(WorkDir(p))
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Copies `src` to `dst`, naming both when it fails.
pub fn copy(src: &Path, dst: &Path) -> Result<()> {
    std::fs::copy(src, dst)
        .map(|_| ())
        .map_err(|e| format!("copy {} to {}: {e}", src.display(), dst.display()))
}

/// Writes `bytes` to `dst` through a temporary file beside it and a
/// rename, so that a fixture is never half-written.
pub fn write_atomic(dst: &Path, bytes: &[u8]) -> Result<()> {
    let name = dst
        .file_name()
        .ok_or_else(|| format!("{}: not a file name", dst.display()))?;
    let tmp = dst.with_file_name(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    std::fs::write(&tmp, bytes).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, dst).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("{}: {e}", dst.display())
    })
}

/// Decodes standard base64 (RFC 4648, padding optional, whitespace
/// ignored), as a kernel's initramfs prints files on the serial console.
pub fn base64_decode(text: &str) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for (i, c) in text.bytes().enumerate() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' | b'\n' | b'\r' | b' ' | b'\t' => continue,
            _ => return Err(format!("base64: byte {c:#04x} at offset {i}")),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

/// The lines of `console` between a line `begin` and a line `end`
/// (carriage returns removed), or an error naming the markers.
pub fn between(console: &str, begin: &str, end: &str) -> Result<String> {
    let mut lines = console.lines().map(|l| l.trim_end_matches('\r'));
    lines
        .by_ref()
        .find(|l| l.ends_with(begin))
        .ok_or_else(|| format!("the console has no {begin} line"))?;
    let mut body = String::new();
    for l in lines {
        if l == end {
            return Ok(body);
        }
        body.push_str(l);
        body.push('\n');
    }
    Err(format!("the console has no {end} line after {begin}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_test_vectors() {
        // RFC 4648 §10.
        for (plain, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64_decode(enc).unwrap(), plain.as_bytes(), "{enc}");
        }
        assert!(base64_decode("Zm9v!").is_err());
    }

    #[test]
    fn between_takes_the_marked_lines() {
        let c = "noise\r\n[  1.0] x BEGIN\r\na\r\nb\r\nEND\r\nafter\n";
        assert_eq!(between(c, "BEGIN", "END").unwrap(), "a\nb\n");
        assert!(between("BEGIN\na\n", "BEGIN", "END").is_err());
    }
}
