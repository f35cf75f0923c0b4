//! Booting Debian's own kernel in the same virtual machine, with a busybox
//! initramfs whose `/init` prints what the fixtures need on the serial
//! console: how the fixtures of a running Linux host are made from a real
//! boot.

use crate::util::{Result, WorkDir};
use crate::vm::{Machine, Ovmf, Swtpm};
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The newest kernel in /boot (by version order, as `sort -V`) and its
/// release (`6.1.0-28-amd64`).
pub fn newest_kernel() -> Result<(PathBuf, String)> {
    let mut found: Vec<String> = std::fs::read_dir("/boot")
        .map_err(|e| format!("/boot: {e}"))?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|n| n.strip_prefix("vmlinuz-").map(String::from))
        .collect();
    found.sort_by(|a, b| version_cmp(a, b));
    let release = found
        .pop()
        .ok_or("no /boot/vmlinuz-* (package linux-image-amd64)")?;
    Ok((PathBuf::from(format!("/boot/vmlinuz-{release}")), release))
}

/// Compares version strings as `sort -V` does for kernel releases: runs of
/// digits by value, everything else by bytes.
fn version_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn chunks(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        let b = s.as_bytes();
        for i in 1..=b.len() {
            if i == b.len() || b[i].is_ascii_digit() != b[start].is_ascii_digit() {
                out.push((b[start].is_ascii_digit(), &s[start..i]));
                start = i;
            }
        }
        out
    }
    let (ca, cb) = (chunks(a), chunks(b));
    for ((da, xa), (db, xb)) in ca.iter().zip(&cb) {
        let o = if *da && *db {
            let ta = xa.trim_start_matches('0');
            let tb = xb.trim_start_matches('0');
            ta.len().cmp(&tb.len()).then(ta.cmp(tb))
        } else {
            xa.cmp(xb)
        };
        if o.is_ne() {
            return o;
        }
    }
    ca.len().cmp(&cb.len())
}

/// Packs directory `root` as a gzip-compressed newc cpio archive at `out`
/// (cpio and gzip; the paths are listed here, sorted, as `find .` would).
pub fn pack_initramfs(root: &Path, out: &Path) -> Result<()> {
    fn walk(dir: &Path, rel: &str, list: &mut Vec<String>) -> Result<()> {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .filter_map(|e| e.ok())
            .collect();
        names.sort_by_key(|e| e.file_name());
        for e in names {
            let name = e.file_name().to_string_lossy().into_owned();
            let r = format!("{rel}/{name}");
            list.push(r.clone());
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                walk(&e.path(), &r, list)?;
            }
        }
        Ok(())
    }
    let mut list = vec![".".to_string()];
    walk(root, ".", &mut list)?;
    let file = std::fs::File::create(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut cpio = Command::new("cpio")
        .args(["-o", "-H", "newc", "--quiet"])
        .current_dir(root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cpio could not run (package cpio): {e}"))?;
    let cpio_out = cpio.stdout.take().ok_or("cpio's stdout")?;
    let mut gzip = Command::new("gzip")
        .stdin(cpio_out)
        .stdout(file)
        .spawn()
        .map_err(|e| format!("gzip could not run: {e}"))?;
    {
        let mut stdin = cpio.stdin.take().ok_or("cpio's stdin")?;
        for p in &list {
            writeln!(stdin, "{p}").map_err(|e| format!("cpio: {e}"))?;
        }
    }
    let a = cpio.wait().map_err(|e| e.to_string())?;
    let b = gzip.wait().map_err(|e| e.to_string())?;
    if a.success() && b.success() {
        Ok(())
    } else {
        Err(format!("packing the initramfs: cpio {a}, gzip {b}"))
    }
}

/// One kernel boot: the kernel, an initramfs tree whose `/init` is
/// `init`, and the machine's firmware and SMBIOS.
pub struct KernelBoot<'a> {
    /// The kernel image (signed, for a Secure Boot machine).
    pub kernel: &'a Path,
    /// The initramfs tree (busybox at bin/busybox is added).
    pub tree: &'a Path,
    /// `/init`, a busybox shell script.
    pub init: &'a str,
    /// The OVMF build.
    pub ovmf: Ovmf,
    /// Further QEMU arguments (`-smbios`).
    pub extra: Vec<OsString>,
    /// QEMU is killed after this long (the kernel under TCG is slow).
    pub timeout: Duration,
}

impl KernelBoot<'_> {
    /// Boots and returns the serial console's text. QEMU's exit status is
    /// not judged (`poweroff -f` is not a clean firmware shutdown): the
    /// caller looks for its markers in the console.
    pub fn run(&self, work: &WorkDir) -> Result<String> {
        let w = work.path();
        let bin = self.tree.join("bin");
        std::fs::create_dir_all(&bin).map_err(|e| format!("{}: {e}", bin.display()))?;
        for d in ["proc", "sys", "etc"] {
            let _ = std::fs::create_dir_all(self.tree.join(d));
        }
        crate::util::copy(Path::new("/bin/busybox"), &bin.join("busybox"))
            .map_err(|e| format!("{e} (package busybox-static)"))?;
        let init = self.tree.join("init");
        std::fs::write(&init, self.init).map_err(|e| format!("{}: {e}", init.display()))?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&init, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| format!("{}: {e}", init.display()))?;
        let initrd = w.join("initrd.gz");
        pack_initramfs(self.tree, &initrd)?;
        let tpm = Swtpm::start(&w.join("tpm"))?;
        let mut extra = self.extra.clone();
        extra.extend([
            "-kernel".into(),
            self.kernel.as_os_str().to_owned(),
            "-initrd".into(),
            initrd.into_os_string(),
            "-append".into(),
            "console=ttyS0 quiet".into(),
        ]);
        let console = w.join("console.txt");
        Machine {
            ovmf: self.ovmf,
            code: None,
            vars_copy: w.join("vars.fd"),
            ram_mib: 1024,
            tpm: &tpm,
            extra,
            console: console.clone(),
            timeout: self.timeout,
        }
        .boot()?;
        let bytes = std::fs::read(&console).map_err(|e| format!("{}: {e}", console.display()))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::version_cmp;

    #[test]
    fn kernel_releases_sort_by_version() {
        let mut v = vec![
            "6.1.0-9-amd64",
            "6.1.0-28-amd64",
            "5.10.0-30-amd64",
            "6.12.1-amd64",
        ];
        v.sort_by(|a, b| version_cmp(a, b));
        assert_eq!(
            v,
            [
                "5.10.0-30-amd64",
                "6.1.0-9-amd64",
                "6.1.0-28-amd64",
                "6.12.1-amd64"
            ]
        );
    }
}
