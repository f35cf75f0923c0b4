//! `cargo xtask boot`: the collector booted for real. Builds it, makes a
//! FAT ESP image with it as the removable-media loader
//! (`\EFI\BOOT\BOOTX64.EFI`, or `BOOTAA64.EFI` on Arm) and
//! `\bootaudit\config`, boots QEMU q35 + OVMF (or `virt` + AAVMF) +
//! swtpm under TCG, waits for the collector to power the machine off, and
//! copies `\bootaudit\` (the snapshot, its sidecar, the ACPI tables) out
//! of the image. No root, no mount: mkfs.fat and mtools.

use crate::util::{run, Result, WorkDir};
use crate::vm::{Arch, Machine, Ovmf, Swtpm};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What one boot gets.
#[derive(Clone, Debug)]
pub struct Boot {
    /// The architecture (`--arch`).
    pub arch: Arch,
    /// RAM in MiB.
    pub ram_mib: u32,
    /// The OVMF build.
    pub ovmf: Ovmf,
    /// `--ovmf-code FILE`: another code image, the build's variables.
    pub code: Option<PathBuf>,
    /// Further QEMU arguments (`-acpitable`, `-smbios`, `-device`).
    pub qemu: Vec<OsString>,
    /// Files put on the ESP: (source, ESP path with `\` or `/`).
    pub files: Vec<(PathBuf, String)>,
    /// `\bootaudit\config`.
    pub config: String,
    /// Keep the ESP image here.
    pub keep_esp: Option<PathBuf>,
    /// `--tpm-state DIR`: the swtpm state, kept across boots (made when
    /// DIR holds none); by default a fresh TPM in the work directory.
    pub tpm_state: Option<PathBuf>,
    /// `--linux NONCE`: the collector chains to Debian's kernel, whose
    /// initramfs runs `bootaudit collect --quote --nonce NONCE`.
    pub linux: Option<String>,
    /// `--loader FILE`: the removable-media loader in the collector's
    /// place (a shim, whose second stage `--file` puts beside it).
    pub loader: Option<PathBuf>,
    /// `--vars FILE`: the variable store to start from.
    pub vars: Option<PathBuf>,
    /// `--timeout SECS`: QEMU is killed after this long.
    pub timeout: Option<u64>,
    /// `--until TEXT`: QEMU is stopped as soon as the console shows TEXT.
    pub until: Option<String>,
    /// `--disk FILE`: boot this disk image (`collector media`'s) as the
    /// only disk; nothing is built or copied out of it.
    pub disk: Option<PathBuf>,
}

impl Default for Boot {
    fn default() -> Self {
        Boot {
            arch: Arch::X86_64,
            ram_mib: 1024,
            ovmf: Ovmf::Plain,
            code: None,
            qemu: Vec::new(),
            files: Vec::new(),
            config: "mode=shutdown".into(),
            keep_esp: None,
            tpm_state: None,
            linux: None,
            loader: None,
            vars: None,
            timeout: None,
            until: None,
            disk: None,
        }
    }
}

/// The usage of `cargo xtask boot`.
pub const USAGE: &str = "\
cargo xtask boot OUT [--arch x86_64|aarch64] [--ram MB]
                     [--ovmf plain|secboot|ms|snakeoil]
                     [--ovmf-code FILE]
                     [--acpitable FILE]... [--file SRC=ESP\\PATH]...
                     [--smbios ARGS]... [--device ARGS]... [--machine PROPS]
                     [--config TEXT]
                     [--rtc 2026-01-10T08:00:00] [--debugcon FILE]
                     [--keep-esp FILE] [--tpm-state DIR] [--linux NONCE]
                     [--loader FILE] [--vars FILE] [--timeout SECS]
                     [--until TEXT] [--disk FILE]

Boots the collector once in QEMU q35 + OVMF + swtpm (TCG), or with
--arch aarch64 in QEMU virt + AAVMF + swtpm (tpm-tis-device), and copies
\\bootaudit\\ from its ESP into OUT/bootaudit; the serial console is
OUT/console.txt. --config replaces \\bootaudit\\config (default
\"mode=shutdown\"); --device adds a QEMU device, e.g.
\"pci-testdev,romfile=/abs/implant.rom\"; --machine adds machine
properties (\"acpi=off\": on Arm, a Device Tree instead of ACPI);
--ovmf snakeoil signs the
collector with Debian's test key and boots with Secure Boot on;
--ovmf-code boots another firmware code image with that build's
variable store; --rtc starts the firmware's clock at that UTC time;
--debugcon writes QEMU's debug console (port 0x402, where a DEBUG OVMF
logs) to FILE; --tpm-state keeps the TPM in DIR across boots (the
same seeds and keys, the next resetCount). --linux NONCE chains from
the collector to Debian's kernel (amd64, or arm64 with --arch aarch64;
unpacked by .ci/run) with an initramfs that runs the static (musl)
`bootaudit collect --quote --nonce NONCE` of `cargo xtask static` on
/dev/tpmrm0 (on Arm, through the TIS driver .ci/run builds): its
snapshot and AK are OUT/host.json and OUT/ak.pub.
--loader puts FILE (a shim) where the collector goes, which --file then
puts beside it (\\EFI\\BOOT\\grubx64.efi, shim's second stage); --vars
starts from that variable store (one with a MOK enrolled); --timeout
kills QEMU after SECS (default 300, 900 with --linux); --until stops it
as soon as the console shows TEXT (a loader's refusal, which waits for a
key), and the boot then fails. --disk boots FILE (`bootaudit collector
media`'s image) as the only disk instead of an ESP made here: nothing is
built, and nothing is copied out (read it with `bootaudit ingest`).
Exit 1 when QEMU does not power off (--linux: when the host printed
nothing) or no snapshot was written.";

/// Parses `boot`'s options (after OUT).
pub fn parse(args: &[String]) -> Result<Boot> {
    let mut b = Boot::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{a} needs a value"))
        };
        match a.as_str() {
            "--arch" => b.arch = Arch::parse(&value()?)?,
            "--ram" => {
                let v = value()?;
                b.ram_mib = v.parse().map_err(|_| format!("--ram {v}: MiB"))?;
            }
            "--ovmf" => b.ovmf = Ovmf::parse(&value()?)?,
            "--ovmf-code" => b.code = Some(PathBuf::from(value()?)),
            "--acpitable" => {
                let p = std::path::absolute(value()?).map_err(|e| e.to_string())?;
                let mut s = OsString::from("file=");
                s.push(p);
                b.qemu.extend(["-acpitable".into(), s]);
            }
            "--smbios" => b.qemu.extend(["-smbios".into(), value()?.into()]),
            "--device" => b.qemu.extend(["-device".into(), value()?.into()]),
            // Machine properties merged into the machine's own, e.g.
            // `acpi=off` on Arm's virt (the firmware then hands over a
            // Device Tree instead of ACPI).
            "--machine" => b.qemu.extend(["-machine".into(), value()?.into()]),
            "--rtc" => {
                // The firmware's clock at power-on (QEMU's RTC, UTC): a
                // boot placed at a chosen time, for `timeline` tests.
                let mut s = OsString::from("base=");
                s.push(value()?);
                b.qemu.extend(["-rtc".into(), s]);
            }
            "--debugcon" => {
                // QEMU's debug console (I/O port 0x402), where a DEBUG
                // build of OVMF writes its boot log.
                let p = std::path::absolute(value()?).map_err(|e| e.to_string())?;
                let mut s = OsString::from("file:");
                s.push(p);
                b.qemu.extend([
                    "-debugcon".into(),
                    s,
                    "-global".into(),
                    "isa-debugcon.iobase=0x402".into(),
                ]);
            }
            "--file" => {
                let v = value()?;
                let (src, dst) = v
                    .split_once('=')
                    .ok_or_else(|| format!("--file {v}: SRC=ESP\\PATH"))?;
                b.files.push((PathBuf::from(src), dst.to_string()));
            }
            "--config" => b.config = value()?,
            "--keep-esp" => b.keep_esp = Some(PathBuf::from(value()?)),
            "--tpm-state" => b.tpm_state = Some(PathBuf::from(value()?)),
            "--linux" => b.linux = Some(value()?),
            "--loader" => b.loader = Some(PathBuf::from(value()?)),
            "--until" => b.until = Some(value()?),
            "--disk" => b.disk = Some(PathBuf::from(value()?)),
            "--vars" => b.vars = Some(PathBuf::from(value()?)),
            "--timeout" => {
                let v = value()?;
                b.timeout = Some(v.parse().map_err(|_| format!("--timeout {v}: seconds"))?);
            }
            _ => return Err(format!("unknown option {a}")),
        }
    }
    Ok(b)
}

/// Builds the collector (release, for `arch`'s UEFI target) and returns
/// its path.
pub fn build_collector(arch: Arch) -> Result<PathBuf> {
    let ws = crate::util::root().join("efi-collector");
    let target = arch.uefi_target();
    crate::util::run_in(
        "cargo",
        [
            "build",
            "--release",
            "--quiet",
            "-p",
            "efi-collector",
            "--target",
            target,
        ],
        Some(&ws),
        &format!("rustup target add {target}"),
    )?;
    Ok(ws.join(format!("target/{target}/release/efi-collector.efi")))
}

/// Builds the test implant (a DXE driver) for `arch` and returns its path.
pub fn build_implant(arch: Arch) -> Result<PathBuf> {
    let ws = crate::util::root().join("efi-collector");
    let target = arch.uefi_target();
    crate::util::run_in(
        "cargo",
        [
            "build",
            "--release",
            "--quiet",
            "-p",
            "bootaudit-test-implant",
            "--target",
            target,
        ],
        Some(&ws),
        &format!("rustup target add {target}"),
    )?;
    Ok(ws.join(format!(
        "target/{target}/release/bootaudit-test-implant.efi"
    )))
}

/// Makes a 64 MiB FAT ESP image at `esp` holding `loader` as `arch`'s
/// removable-media loader (`\EFI\BOOT\BOOTX64.EFI`), `config` as
/// `\bootaudit\config`, and `files`.
pub fn make_esp(
    esp: &Path,
    arch: Arch,
    loader: &Path,
    config: &str,
    files: &[(PathBuf, String)],
    work: &Path,
) -> Result<()> {
    let img = esp.as_os_str();
    run(
        "mkfs.fat",
        [
            "-C".as_ref(),
            "-n".as_ref(),
            "BOOTAUDIT".as_ref(),
            img,
            "65536".as_ref(),
        ],
        "dosfstools",
    )?;
    let mtools = "mtools";
    run(
        "mmd",
        [
            "-i".as_ref(),
            img,
            "::/EFI".as_ref(),
            "::/EFI/BOOT".as_ref(),
            "::/bootaudit".as_ref(),
        ],
        mtools,
    )?;
    run(
        "mcopy",
        [
            "-i".as_ref(),
            img,
            loader.as_os_str(),
            format!("::/EFI/BOOT/{}", arch.loader_name()).as_ref(),
        ],
        mtools,
    )?;
    let cfg = work.join("config");
    std::fs::write(&cfg, format!("{config}\n")).map_err(|e| format!("{}: {e}", cfg.display()))?;
    run(
        "mcopy",
        [
            "-i".as_ref(),
            img,
            cfg.as_os_str(),
            "::/bootaudit/config".as_ref(),
        ],
        mtools,
    )?;
    // The files' directories, each made once, parents first.
    let mut made: Vec<String> = ["EFI", "EFI/BOOT", "bootaudit"].map(String::from).to_vec();
    for (_, dst) in files {
        let rel = dst.replace('\\', "/");
        let parts: Vec<&str> = rel.trim_start_matches('/').split('/').collect();
        for n in 1..parts.len() {
            let dir = parts[..n].join("/");
            if !made.iter().any(|m| m.eq_ignore_ascii_case(&dir)) {
                run(
                    "mmd",
                    ["-i".as_ref(), img, format!("::/{dir}").as_ref()],
                    mtools,
                )?;
                made.push(dir);
            }
        }
    }
    for (src, dst) in files {
        let dst = format!("::/{}", dst.replace('\\', "/").trim_start_matches('/'));
        run(
            "mcopy",
            ["-i".as_ref(), img, src.as_os_str(), dst.as_ref()],
            mtools,
        )?;
    }
    Ok(())
}

/// Builds the collector (or takes `--loader`) and makes the ESP image in
/// `w`; returns its path.
fn esp_of(b: &Boot, w: &Path) -> Result<PathBuf> {
    let mut loader = match &b.loader {
        Some(l) => l.clone(),
        None => build_collector(b.arch)?,
    };
    if b.ovmf == Ovmf::Snakeoil && b.loader.is_none() {
        // Secure Boot on with the snakeoil db: unsigned, the firmware
        // refuses the collector (Access Denied).
        let signed = w.join("collector.efi");
        crate::vm::snakeoil_sign(&loader, &signed, w)?;
        loader = signed;
    }
    let (mut files, mut config) = (b.files.clone(), b.config.clone());
    if let Some(nonce) = &b.linux {
        let (more, chain) = crate::linux::chain_to_host(nonce, b.arch, w)?;
        files.extend(more);
        config = chain;
    }
    let esp = w.join("esp.img");
    make_esp(&esp, b.arch, &loader, &config, &files, w)?;
    Ok(esp)
}

/// Boots the collector as `b` says and copies `\bootaudit\` into
/// `out/bootaudit`; returns that directory.
pub fn boot(out: &Path, b: &Boot) -> Result<PathBuf> {
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let out = std::path::absolute(out).map_err(|e| format!("{}: {e}", out.display()))?;
    if b.arch == Arch::Aarch64 && b.qemu.iter().any(|a| a == "-debugcon") {
        return Err("--debugcon boots x86 only (the debug console is an ISA port)".into());
    }
    let work = WorkDir::new("boot")?;
    let w = work.path();
    let esp = match &b.disk {
        // `collector media`'s image: nothing built, nothing copied out.
        Some(disk) => std::path::absolute(disk).map_err(|e| format!("{}: {e}", disk.display()))?,
        None => esp_of(b, w)?,
    };
    let tpm = match &b.tpm_state {
        Some(dir) => Swtpm::start_in(dir, true)?,
        None => Swtpm::start(&w.join("tpm"))?,
    };
    let mut extra: Vec<OsString> = vec!["-drive".into(), {
        let mut s = OsString::from("format=raw,file=");
        s.push(&esp);
        s
    }];
    extra.extend(b.qemu.iter().cloned());
    let console = out.join("console.txt");
    let clean = Machine {
        arch: b.arch,
        ovmf: b.ovmf,
        code: b.code.clone(),
        vars: b.vars.clone(),
        vars_copy: w.join("vars.fd"),
        ram_mib: b.ram_mib,
        tpm: &tpm,
        extra,
        console: console.clone(),
        // The kernel under TCG takes minutes more than the collector.
        timeout: Duration::from_secs(b.timeout.unwrap_or(if b.linux.is_some() {
            900
        } else {
            300
        })),
        until: b.until.clone(),
    }
    .boot()?;
    drop(tpm);
    if b.disk.is_some() {
        return match clean {
            true => Ok(out),
            false => Err(format!(
                "QEMU did not power off cleanly; console in {}",
                console.display()
            )),
        };
    }
    if b.linux.is_some() {
        // `poweroff -f` is not judged: what the host printed is.
        let text = std::fs::read(&console).map_err(|e| format!("{}: {e}", console.display()))?;
        crate::linux::host_outputs(&String::from_utf8_lossy(&text), &out)
            .map_err(|e| format!("{e}; console in {}", console.display()))?;
    } else if !clean {
        return Err(format!(
            "QEMU did not power off cleanly; console in {}",
            console.display()
        ));
    }
    // mcopy -n: overwrite without asking; a missing \bootaudit\ is the
    // error below.
    let _ = run(
        "mcopy",
        [
            "-i".as_ref(),
            esp.as_os_str(),
            "-s".as_ref(),
            "-n".as_ref(),
            "::/bootaudit".as_ref(),
            out.as_os_str(),
        ],
        "mtools",
    );
    if let Some(keep) = &b.keep_esp {
        crate::util::copy(&esp, keep)?;
    }
    let dir = out.join("bootaudit");
    let has_snapshot = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok()).any(|e| {
                let n = e.file_name();
                let n = n.to_string_lossy();
                n.starts_with("snap-") && n.ends_with(".json")
            })
        })
        .unwrap_or(false);
    if !has_snapshot {
        return Err(format!(
            "no snapshot on the ESP; console in {}",
            console.display()
        ));
    }
    Ok(dir)
}
