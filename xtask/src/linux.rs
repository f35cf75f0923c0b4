//! Booting Debian's own kernel in the same virtual machine, with a busybox
//! initramfs whose `/init` prints what the fixtures need on the serial
//! console: how the fixtures of a running Linux host are made from a real
//! boot.

use crate::util::{Result, WorkDir};
use crate::vm::{Arch, Machine, Ovmf, Swtpm};
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Where `.ci/run` unpacks Debian's amd64 kernel package (its image,
/// config and efivarfs.ko; `BOOTAUDIT_DEBIAN_LINUX` overrides), else `/`.
pub fn kernel_root() -> PathBuf {
    let cache = std::env::var_os("BOOTAUDIT_DEBIAN_LINUX")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/bootaudit/debian-linux"));
    if cache.join("boot").is_dir() {
        cache
    } else {
        PathBuf::from("/")
    }
}

/// Where `.ci/run` unpacks what an arm64 Linux boot needs, from Debian's
/// arm64 packages (`BOOTAUDIT_DEBIAN_LINUX_ARM64` overrides): the kernel
/// image and config, efivarfs.ko and tpm_tis_core.ko from
/// linux-image-arm64, busybox from busybox-static:arm64, and tpm_tis.ko,
/// which Debian's arm64 kernel does not build (CONFIG_TCG_TIS is off, and
/// QEMU's `virt` offers only a memory-mapped TIS TPM): `.ci/run` builds it
/// from linux-source against the kernel's own headers.
pub fn kernel_root_arm64() -> PathBuf {
    std::env::var_os("BOOTAUDIT_DEBIAN_LINUX_ARM64")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/bootaudit/debian-linux-arm64"))
}

/// The kernel root of `arch`.
fn root_of(arch: Arch) -> PathBuf {
    match arch {
        Arch::X86_64 => kernel_root(),
        Arch::Aarch64 => kernel_root_arm64(),
    }
}

/// The newest kernel under [`kernel_root`]'s /boot (by version order, as
/// `sort -V`) and its release (`6.1.0-28-amd64`).
pub fn newest_kernel() -> Result<(PathBuf, String)> {
    newest_kernel_in(&kernel_root(), "linux-image-amd64")
}

/// The newest kernel under `root`/boot and its release.
fn newest_kernel_in(root: &Path, package: &str) -> Result<(PathBuf, String)> {
    let boot = root.join("boot");
    let mut found: Vec<String> = std::fs::read_dir(&boot)
        .map_err(|e| {
            format!(
                "{}: {e} (package {package}; .ci/run unpacks it)",
                boot.display()
            )
        })?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|n| n.strip_prefix("vmlinuz-").map(String::from))
        .collect();
    found.sort_by(|a, b| version_cmp(a, b));
    let release = found.pop().ok_or_else(|| {
        format!(
            "no {}/vmlinuz-* (package {package}; .ci/run unpacks it)",
            boot.display()
        )
    })?;
    Ok((boot.join(format!("vmlinuz-{release}")), release))
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

/// How `cargo xtask static` builds: the dev profile (quick to build, what
/// the tests' initramfs images carry) or the release profile (what a
/// responder copies onto a host).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// `target/static/TRIPLE/debug/bootaudit`, without debug information.
    Dev,
    /// `target/static/TRIPLE/release/bootaudit`.
    Release,
}

/// Builds bootaudit as a static, position-independent executable for a
/// Linux host of `arch`, in its own target directory; returns its path. No
/// TSS library: it speaks to /dev/tpmrm0 itself. The target is musl's
/// (`x86_64-unknown-linux-musl`, `aarch64-unknown-linux-musl`): a binary for
/// rescue systems and initramfs images, which is also the one a release
/// ships. cargo-zigbuild builds it, with zig from the project's venv as the
/// C compiler and linker (SQLite, xz and mimalloc are C).
///
/// zig links a fixed-address executable unless told `-fPIE`: the binary
/// would then be loaded at the same address on every run, which a tool
/// reading hostile input through C libraries must not give up. The flag is
/// passed through the target's rustflags.
///
/// Refuses a result that names a dynamic loader, is not position
/// independent, or is for another machine.
pub fn build_static_bootaudit(arch: Arch, profile: Profile) -> Result<PathBuf> {
    let root = crate::util::root();
    let (target, machine) = match arch {
        Arch::X86_64 => ("x86_64-unknown-linux-musl", 0x3e),
        Arch::Aarch64 => ("aarch64-unknown-linux-musl", 0xb7),
    };
    // cargo-zigbuild finds zig as `python3 -m ziglang`.
    let venv = root.join(".venv/bin");
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![venv];
    dirs.extend(std::env::split_paths(&path));
    let joined = std::env::join_paths(dirs).map_err(|e| format!("PATH: {e}"))?;
    let rustflags = format!(
        "CARGO_TARGET_{}_RUSTFLAGS",
        target.to_uppercase().replace('-', "_")
    );
    let mut cmd = Command::new("cargo");
    cmd.args([
        "zigbuild",
        "--quiet",
        "--bin",
        "bootaudit",
        "--target",
        target,
    ]);
    if profile == Profile::Release {
        cmd.arg("--release");
    }
    let st = cmd
        .arg("--target-dir")
        .arg(root.join("target/static"))
        .env("PATH", joined)
        .env(rustflags, "-C link-arg=-fPIE")
        .env("CARGO_PROFILE_DEV_DEBUG", "0")
        .env("CARGO_PROFILE_DEV_STRIP", "true")
        .current_dir(&root)
        .status()
        .map_err(|e| format!("cargo could not run: {e}"))?;
    if !st.success() {
        return Err(format!(
            "the static build of bootaudit for {target} failed ({st}): it needs cargo-zigbuild, the venv's ziglang and the {target} target (.ci/run installs all three)"
        ));
    }
    let dir = match profile {
        Profile::Dev => "debug",
        Profile::Release => "release",
    };
    let bin = root.join(format!("target/static/{target}/{dir}/bootaudit"));
    let elf = std::fs::read(&bin).map_err(|e| format!("{}: {e}", bin.display()))?;
    match static_pie(&elf)? {
        Linking::StaticPie => {}
        Linking::Dynamic => return Err(format!("{} is dynamically linked", bin.display())),
        Linking::FixedAddress => {
            return Err(format!(
                "{} is not position independent (ELF type EXEC): it would load at one address on every run (is RUSTFLAGS set? it replaces the target's -fPIE)",
                bin.display()
            ))
        }
    }
    let e_machine = elf
        .get(0x12..0x14)
        .map(|b| u16::from_le_bytes([b[0], b[1]]));
    if e_machine != Some(machine) {
        return Err(format!(
            "{} is for ELF machine {e_machine:?}, not {machine:#x}",
            bin.display()
        ));
    }
    Ok(bin)
}

/// How an executable is linked, as its ELF header says.
#[derive(Debug, PartialEq, Eq)]
enum Linking {
    /// No interpreter, and position independent (ET_DYN): loaded at a
    /// random address.
    StaticPie,
    /// No interpreter, at a fixed address (ET_EXEC).
    FixedAddress,
    /// A PT_INTERP names a dynamic loader.
    Dynamic,
}

/// How a 64-bit little-endian ELF executable is linked.
fn static_pie(elf: &[u8]) -> Result<Linking> {
    let u16_at = |o: usize| elf.get(o..o + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u64_at = |o: usize| {
        elf.get(o..o + 8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()))
    };
    if elf.get(..5) != Some(b"\x7fELF\x02".as_slice()) {
        return Err("not a 64-bit ELF file".into());
    }
    let bad = || "a truncated ELF header".to_string();
    let phoff = u64_at(0x20).ok_or_else(bad)? as usize;
    let phentsize = u16_at(0x36).ok_or_else(bad)? as usize;
    let phnum = u16_at(0x38).ok_or_else(bad)? as usize;
    for i in 0..phnum {
        let ty = elf
            .get(phoff + i * phentsize..phoff + i * phentsize + 4)
            .ok_or_else(bad)?;
        if ty == 3u32.to_le_bytes() {
            return Ok(Linking::Dynamic);
        }
    }
    // e_type: 2 ET_EXEC, 3 ET_DYN.
    match u16_at(0x10).ok_or_else(bad)? {
        3 => Ok(Linking::StaticPie),
        2 => Ok(Linking::FixedAddress),
        t => Err(format!("ELF type {t} is not an executable")),
    }
}

/// A busybox `/init` that mounts what `bootaudit collect` reads (proc,
/// sysfs, securityfs, efivarfs from efivarfs.ko at the root), then runs
/// `$rest`: the start every initramfs here shares.
#[macro_export]
macro_rules! init_script {
    ($rest:literal) => {
        concat!(
            "#!/bin/busybox sh\n",
            "/bin/busybox --install -s /bin\n",
            "mount -t proc proc /proc\n",
            "mount -t sysfs sys /sys\n",
            "mount -t securityfs none /sys/kernel/security\n",
            "insmod /efivarfs.ko\n",
            "mount -t efivarfs none /sys/firmware/efi/efivars\n",
            $rest
        )
    };
}

/// `/init` of the Linux host that follows the collector in a chain boot:
/// mounts what `bootaudit collect` reads, runs `collect --quote` with the
/// verifier's nonce on the kernel's TPM device, prints the host snapshot
/// and the AK's public area in base64 on the serial port, and powers off.
/// `modules` are loaded first (the TIS driver on arm64).
pub fn host_init(nonce: &str, modules: &[&str]) -> String {
    let modules: String = modules.iter().map(|m| format!("insmod /{m}\n")).collect();
    format!(
        crate::init_script!(
            r#"{modules}mount -t devtmpfs dev /dev
hostname bootaudit-host
i=0
while [ ! -e /dev/tpmrm0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
/bin/bootaudit collect --quote --nonce {nonce} -o /host.json --ak-pub-out /ak.pub
echo "BOOTAUDIT-COLLECT-EXIT $?"
echo BEGIN-HOST
base64 /host.json
echo END-HOST
echo BEGIN-AK
base64 /ak.pub
echo END-AK
poweroff -f
"#
        ),
        nonce = nonce,
        modules = modules
    )
}

/// The ESP files and collector configuration of a boot that goes on from
/// the collector (chain mode) to Debian's kernel for `arch`, whose
/// initramfs (in `work`) runs [`host_init`] with `nonce`: the kernel as
/// `\EFI\linux\vmlinuz.efi`, the initramfs as `\initrd.gz`.
pub fn chain_to_host(
    nonce: &str,
    arch: Arch,
    work: &Path,
) -> Result<(Vec<(PathBuf, String)>, String)> {
    if nonce.is_empty() || nonce.len() > 128 || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("--linux {nonce}: a nonce in hex, at most 64 bytes"));
    }
    let root = root_of(arch);
    let (kernel, release, busybox, console, package) = match arch {
        Arch::X86_64 => {
            let (k, r) = newest_kernel()?;
            (
                k,
                r,
                PathBuf::from("/bin/busybox"),
                "ttyS0",
                "busybox-static",
            )
        }
        Arch::Aarch64 => {
            let (k, r) = newest_kernel_in(&root, "linux-image-arm64")?;
            (
                k,
                r,
                root.join("bin/busybox"),
                "ttyAMA0",
                "busybox-static:arm64",
            )
        }
    };
    let tree = work.join("initramfs");
    let bin = tree.join("bin");
    std::fs::create_dir_all(&bin).map_err(|e| format!("{}: {e}", bin.display()))?;
    for d in ["proc", "sys", "dev", "etc"] {
        let _ = std::fs::create_dir_all(tree.join(d));
    }
    crate::util::copy(&busybox, &bin.join("busybox"))
        .map_err(|e| format!("{e} (package {package})"))?;
    crate::util::copy(
        &build_static_bootaudit(arch, Profile::Dev)?,
        &bin.join("bootaudit"),
    )?;
    let modules_dir = root.join(format!("lib/modules/{release}/kernel"));
    crate::util::copy(
        &modules_dir.join("fs/efivarfs/efivarfs.ko"),
        &tree.join("efivarfs.ko"),
    )?;
    let mut modules = Vec::new();
    if arch == Arch::Aarch64 {
        crate::util::copy(
            &modules_dir.join("drivers/char/tpm/tpm_tis_core.ko"),
            &tree.join("tpm_tis_core.ko"),
        )?;
        crate::util::copy(&root.join("tpm_tis.ko"), &tree.join("tpm_tis.ko"))
            .map_err(|e| format!("{e} (.ci/run builds it from linux-source)"))?;
        modules = vec!["tpm_tis_core.ko", "tpm_tis.ko"];
    }
    let init = tree.join("init");
    std::fs::write(&init, host_init(nonce, &modules))
        .map_err(|e| format!("{}: {e}", init.display()))?;
    use std::os::unix::fs::PermissionsExt;
    for f in [&init, &bin.join("busybox"), &bin.join("bootaudit")] {
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| format!("{}: {e}", f.display()))?;
    }
    let initrd = work.join("initrd.gz");
    pack_initramfs(&tree, &initrd)?;
    Ok((
        vec![
            (kernel, "\\EFI\\linux\\vmlinuz.efi".to_string()),
            (initrd, "\\initrd.gz".to_string()),
        ],
        format!(
            "mode=chain chain=\\EFI\\linux\\vmlinuz.efi chain-options=initrd=\\initrd.gz console={console} quiet"
        ),
    ))
}

/// What the host printed: `host.json` and `ak.pub` written into `out`.
pub fn host_outputs(console: &str, out: &Path) -> Result<()> {
    for (begin, end, name) in [
        ("BEGIN-HOST", "END-HOST", "host.json"),
        ("BEGIN-AK", "END-AK", "ak.pub"),
    ] {
        let bytes = crate::util::base64_decode(&crate::util::between(console, begin, end)?)?;
        let p = out.join(name);
        std::fs::write(&p, bytes).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    Ok(())
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
            arch: crate::vm::Arch::X86_64,
            ovmf: self.ovmf,
            code: None,
            vars: None,
            vars_copy: w.join("vars.fd"),
            ram_mib: 1024,
            tpm: &tpm,
            extra,
            console: console.clone(),
            timeout: self.timeout,
            until: None,
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
    fn an_executable_is_told_static_pie_fixed_or_dynamic_by_its_header() {
        use super::{static_pie, Linking};
        // This test binary is a normal cargo build: dynamically linked and
        // position independent.
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        assert_eq!(static_pie(&me).unwrap(), Linking::Dynamic);
        assert!(static_pie(b"#!/bin/sh\n").is_err());
        assert!(static_pie(&me[..0x30]).is_err());
        // The same file with its PT_INTERP made PT_NULL: no loader left.
        let u = |o: usize, n: usize| {
            me[o..o + n]
                .iter()
                .rev()
                .fold(0usize, |a, &b| (a << 8) | b as usize)
        };
        let (phoff, phentsize, phnum) = (u(0x20, 8), u(0x36, 2), u(0x38, 2));
        let mut no_interp = me.clone();
        let mut cleared = 0;
        for i in 0..phnum {
            let at = phoff + i * phentsize;
            if u(at, 4) == 3 {
                no_interp[at..at + 4].copy_from_slice(&0u32.to_le_bytes());
                cleared += 1;
            }
        }
        assert_eq!(cleared, 1);
        assert_eq!(static_pie(&no_interp).unwrap(), Linking::StaticPie);
        // And with e_type ET_EXEC: a fixed-address executable.
        no_interp[0x10..0x12].copy_from_slice(&2u16.to_le_bytes());
        assert_eq!(static_pie(&no_interp).unwrap(), Linking::FixedAddress);
        no_interp[0x10..0x12].copy_from_slice(&1u16.to_le_bytes());
        assert!(static_pie(&no_interp).is_err());
    }

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
