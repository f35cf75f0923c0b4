//! The virtual machine every boot uses: QEMU q35 under TCG (this kind of
//! host's nested KVM crashes OVMF) with Debian's OVMF builds, or QEMU's
//! Arm `virt` machine with Debian's AAVMF builds, and a swtpm TPM 2.0 with
//! SHA-1 and SHA-256 banks on a Unix socket.

use crate::util::{run, Result};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian's ovmf package puts its builds.
const OVMF_DIR: &str = "/usr/share/OVMF";
/// Where Debian's qemu-efi-aarch64 package puts its builds.
const AAVMF_DIR: &str = "/usr/share/AAVMF";

/// The machine's architecture.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Arch {
    /// QEMU q35 and OVMF.
    #[default]
    X86_64,
    /// QEMU `virt` (a Cortex-A57) and AAVMF.
    Aarch64,
}

impl Arch {
    /// Parses `x86_64|aarch64`.
    pub fn parse(s: &str) -> Result<Arch> {
        match s {
            "x86_64" | "x64" | "amd64" => Ok(Arch::X86_64),
            "aarch64" | "arm64" => Ok(Arch::Aarch64),
            _ => Err(format!("--arch {s}: x86_64 or aarch64")),
        }
    }

    /// The UEFI target the collector is built for.
    pub fn uefi_target(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64-unknown-uefi",
            Arch::Aarch64 => "aarch64-unknown-uefi",
        }
    }

    /// The removable-media loader's name under `\EFI\BOOT`.
    pub fn loader_name(self) -> &'static str {
        match self {
            Arch::X86_64 => "BOOTX64.EFI",
            Arch::Aarch64 => "BOOTAA64.EFI",
        }
    }
}

/// An OVMF build and the variable store it starts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ovmf {
    /// OVMF_CODE_4M.fd: no Secure Boot.
    Plain,
    /// The Secure Boot capable build with an empty variable store (setup
    /// mode, Secure Boot off).
    Secboot,
    /// The Secure Boot build with Microsoft's keys enrolled.
    Ms,
    /// The Secure Boot build with Debian's snakeoil test keys enrolled and
    /// Secure Boot on: what it boots must be signed with that key.
    Snakeoil,
}

impl Ovmf {
    /// Parses `plain|secboot|ms|snakeoil`.
    pub fn parse(s: &str) -> Result<Ovmf> {
        Ok(match s {
            "plain" => Ovmf::Plain,
            "secboot" => Ovmf::Secboot,
            "ms" => Ovmf::Ms,
            "snakeoil" => Ovmf::Snakeoil,
            _ => return Err(format!("--ovmf {s}: plain, secboot, ms or snakeoil")),
        })
    }

    /// The code and variable-store files of this build for `arch`.
    /// Debian's AAVMF has one code image, Secure Boot capable, for every
    /// variable store.
    pub fn files(self, arch: Arch) -> (PathBuf, PathBuf) {
        let (dir, code, vars) = match (arch, self) {
            (Arch::X86_64, Ovmf::Plain) => (OVMF_DIR, "OVMF_CODE_4M.fd", "OVMF_VARS_4M.fd"),
            (Arch::X86_64, Ovmf::Secboot) => {
                (OVMF_DIR, "OVMF_CODE_4M.secboot.fd", "OVMF_VARS_4M.fd")
            }
            (Arch::X86_64, Ovmf::Ms) => (OVMF_DIR, "OVMF_CODE_4M.ms.fd", "OVMF_VARS_4M.ms.fd"),
            (Arch::X86_64, Ovmf::Snakeoil) => (
                OVMF_DIR,
                "OVMF_CODE_4M.secboot.fd",
                "OVMF_VARS_4M.snakeoil.fd",
            ),
            (Arch::Aarch64, Ovmf::Plain | Ovmf::Secboot) => {
                (AAVMF_DIR, "AAVMF_CODE.fd", "AAVMF_VARS.fd")
            }
            (Arch::Aarch64, Ovmf::Ms) => (AAVMF_DIR, "AAVMF_CODE.fd", "AAVMF_VARS.ms.fd"),
            (Arch::Aarch64, Ovmf::Snakeoil) => {
                (AAVMF_DIR, "AAVMF_CODE.fd", "AAVMF_VARS.snakeoil.fd")
            }
        };
        (Path::new(dir).join(code), Path::new(dir).join(vars))
    }
}

/// Debian's snakeoil signing key (passphrase "snakeoil", ovmf's
/// README.Debian) and its certificate.
pub const SNAKEOIL_KEY: &str = "/usr/share/ovmf/PkKek-1-snakeoil.key";
/// The snakeoil certificate, enrolled as PK, KEK and db in
/// OVMF_VARS_4M.snakeoil.fd.
pub const SNAKEOIL_CERT: &str = "/usr/share/ovmf/PkKek-1-snakeoil.pem";

/// Signs the PE image `src` into `dst` with the snakeoil key (sbsign),
/// working in `work`.
pub fn snakeoil_sign(src: &Path, dst: &Path, work: &Path) -> Result<()> {
    let key = work.join("snakeoil.key");
    run(
        "openssl",
        [
            "pkey".as_ref(),
            "-in".as_ref(),
            SNAKEOIL_KEY.as_ref(),
            "-passin".as_ref(),
            "pass:snakeoil".as_ref(),
            "-out".as_ref(),
            key.as_os_str(),
        ],
        "openssl",
    )?;
    run(
        "sbsign",
        [
            "--key".as_ref(),
            key.as_os_str(),
            "--cert".as_ref(),
            SNAKEOIL_CERT.as_ref(),
            "--output".as_ref(),
            dst.as_os_str(),
            src.as_os_str(),
        ],
        "sbsigntool",
    )
}

/// A running swtpm, stopped when dropped.
pub struct Swtpm {
    child: Child,
    sock: PathBuf,
}

/// The file swtpm keeps a TPM 2.0's whole state in.
const STATE: &str = "tpm2-00.permall";

/// The TPM state every plain boot copies, manufactured by swtpm_setup once
/// under target/xtask/tpm-template (made in a scratch folder and renamed
/// into place, so that boots started side by side agree on one).
fn template() -> Result<PathBuf> {
    let base = crate::util::root().join("target/xtask");
    let dir = base.join("tpm-template");
    if dir.join(STATE).is_file() {
        return Ok(dir);
    }
    std::fs::create_dir_all(&base).map_err(|e| format!("{}: {e}", base.display()))?;
    let scratch = base.join(format!("tpm-template.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    Swtpm::setup(&scratch)?;
    // Another boot may have won the race: its template is as good.
    if std::fs::rename(&scratch, &dir).is_err() {
        let _ = std::fs::remove_dir_all(&scratch);
    }
    if dir.join(STATE).is_file() {
        Ok(dir)
    } else {
        Err(format!("no TPM template at {}", dir.display()))
    }
}

impl Swtpm {
    /// Serves a copy of the one TPM every plain boot uses in `dir`
    /// (absolute: swtpm resolves relative paths elsewhere), on `dir/sock`.
    /// The copy is of a state manufactured once ([`template`]): the same
    /// seeds, hence the same endorsement key, in every boot, as one
    /// machine's TPM would have; its PCRs start afresh at each power-on.
    pub fn start(dir: &Path) -> Result<Swtpm> {
        let dir = std::path::absolute(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        crate::util::copy(&template()?.join(STATE), &dir.join(STATE))?;
        Self::serve(&dir)
    }

    /// As [`Swtpm::start`]; with `keep`, a TPM state already in `dir` is
    /// served as it is (the same TPM, booted again: its seeds, hence its
    /// keys, are kept and its resetCount goes on), and made only when none
    /// is there.
    pub fn start_in(dir: &Path, keep: bool) -> Result<Swtpm> {
        let dir = std::path::absolute(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        if !(keep && dir.join(STATE).is_file()) {
            Self::setup(&dir)?;
        }
        Self::serve(&dir)
    }

    fn setup(dir: &Path) -> Result<()> {
        run(
            "swtpm_setup",
            [
                "--tpm2".as_ref(),
                "--overwrite".as_ref(),
                "--pcr-banks".as_ref(),
                "sha1,sha256".as_ref(),
                "--tpmstate".as_ref(),
                dir.as_os_str(),
            ],
            "swtpm-tools",
        )
    }

    fn serve(dir: &Path) -> Result<Swtpm> {
        let sock = dir.join("sock");
        let _ = std::fs::remove_file(&sock);
        let mut state = OsString::from("dir=");
        state.push(dir);
        let mut ctrl = OsString::from("type=unixio,path=");
        ctrl.push(&sock);
        let child = Command::new("swtpm")
            .args(["socket", "--tpm2", "--tpmstate"])
            .arg(state)
            .arg("--ctrl")
            .arg(ctrl)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("swtpm could not run (package swtpm): {e}"))?;
        let mut tpm = Swtpm { child, sock };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !tpm.sock.exists() {
            if let Ok(Some(st)) = tpm.child.try_wait() {
                return Err(format!("swtpm exited at once ({st})"));
            }
            if Instant::now() > deadline {
                return Err(format!("swtpm made no socket at {}", tpm.sock.display()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(tpm)
    }

    /// QEMU's arguments for a TIS TPM on this swtpm: on the ISA bus of
    /// q35, or as the memory-mapped `tpm-tis-device` of Arm's `virt`.
    pub fn qemu_args(&self, arch: Arch) -> Vec<OsString> {
        let mut chardev = OsString::from("socket,id=chrtpm,path=");
        chardev.push(&self.sock);
        vec![
            "-chardev".into(),
            chardev,
            "-tpmdev".into(),
            "emulator,id=tpm0,chardev=chrtpm".into(),
            "-device".into(),
            match arch {
                Arch::X86_64 => "tpm-tis,tpmdev=tpm0",
                Arch::Aarch64 => "tpm-tis-device,tpmdev=tpm0",
            }
            .into(),
        ]
    }
}

impl Drop for Swtpm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One QEMU run: the machine, its firmware, and what else it gets.
pub struct Machine<'a> {
    /// The architecture: q35 + OVMF, or `virt` + AAVMF.
    pub arch: Arch,
    /// The OVMF build.
    pub ovmf: Ovmf,
    /// Another firmware code image in place of the build's (an OVMF with
    /// a driver inserted); the build's variable store is kept.
    pub code: Option<PathBuf>,
    /// Another variable store to start from than the build's (one with a
    /// MOK enrolled).
    pub vars: Option<PathBuf>,
    /// A writable copy of the variable store is made here.
    pub vars_copy: PathBuf,
    /// RAM in MiB.
    pub ram_mib: u32,
    /// The TPM.
    pub tpm: &'a Swtpm,
    /// Further QEMU arguments (drives, -kernel, -smbios, devices).
    pub extra: Vec<OsString>,
    /// The serial console is written here.
    pub console: PathBuf,
    /// QEMU is killed after this long.
    pub timeout: Duration,
    /// The machine is stopped as soon as the console shows this text (a
    /// loader's refusal, which then waits for a key for ever).
    pub until: Option<String>,
}

impl Machine<'_> {
    /// Boots the machine and waits until it powers off. `Ok(true)` when
    /// QEMU exited cleanly, `Ok(false)` when it failed or was killed at the
    /// timeout; the console holds what happened.
    pub fn boot(&self) -> Result<bool> {
        let (code, vars) = self.ovmf.files(self.arch);
        let code = match &self.code {
            Some(c) => std::path::absolute(c).map_err(|e| format!("{}: {e}", c.display()))?,
            None => code,
        };
        crate::util::copy(self.vars.as_deref().unwrap_or(&vars), &self.vars_copy)?;
        let console = std::fs::File::create(&self.console)
            .map_err(|e| format!("{}: {e}", self.console.display()))?;
        let console2 = console
            .try_clone()
            .map_err(|e| format!("{}: {e}", self.console.display()))?;
        let mut pflash0 = OsString::from("if=pflash,format=raw,unit=0,readonly=on,file=");
        pflash0.push(&code);
        let mut pflash1 = OsString::from("if=pflash,format=raw,unit=1,file=");
        pflash1.push(&self.vars_copy);
        let (qemu, machine, package) = match self.arch {
            Arch::X86_64 => ("qemu-system-x86_64", ["-machine", "q35"], "qemu-system-x86"),
            // A Cortex-A57: `max` emulates pointer authentication, which
            // is slow under TCG.
            Arch::Aarch64 => (
                "qemu-system-aarch64",
                ["-machine", "virt"],
                "qemu-system-arm",
            ),
        };
        let mut cmd = Command::new(qemu);
        cmd.args(machine);
        if self.arch == Arch::Aarch64 {
            cmd.args(["-cpu", "cortex-a57"]);
        }
        let mut child = cmd
            .args(["-accel", "tcg", "-nographic", "-net", "none"])
            .arg("-m")
            .arg(self.ram_mib.to_string())
            .arg("-drive")
            .arg(pflash0)
            .arg("-drive")
            .arg(pflash1)
            .args(self.tpm.qemu_args(self.arch))
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(console)
            .stderr(console2)
            .spawn()
            .map_err(|e| format!("{qemu} could not run (package {package}): {e}"))?;
        let deadline = Instant::now() + self.timeout;
        loop {
            match child.try_wait() {
                Ok(Some(st)) => return Ok(st.success()),
                Ok(None) if Instant::now() > deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Ok(false);
                }
                Ok(None) => {
                    if let Some(marker) = &self.until {
                        let seen = std::fs::read(&self.console).unwrap_or_default();
                        if seen.windows(marker.len()).any(|w| w == marker.as_bytes()) {
                            let _ = child.kill();
                            let _ = child.wait();
                            return Ok(false);
                        }
                    }
                    std::thread::sleep(Duration::from_millis(50))
                }
                Err(e) => return Err(format!("waiting for QEMU: {e}")),
            }
        }
    }
}
