//! `bootaudit collector`: put the UEFI collector on this machine's ESP and
//! take it off again, or write it to a bootable image for a USB stick.

use super::*;
use bootaudit::deploy::{self, Arch, When};

/// `bootaudit collector` subcommands.
#[derive(clap::Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// Put the collector on this machine's ESP, with a boot entry that runs
    /// it before the OS (root, on a live Linux host booted through UEFI).
    ///
    /// Copies the collector to \EFI\bootaudit\bootaudit.efi on the mounted
    /// ESP (atomically) and writes a Boot#### entry through efivarfs that
    /// names it by the ESP's GPT partition: HD(n,GPT,guid,start,size). With
    /// --once (the default), BootNext runs it at the next boot only; with
    /// --every-boot it goes first in BootOrder. The collector writes its
    /// snapshot to \bootaudit\ on the ESP and hands the boot back to the
    /// firmware. Every variable's old value is kept: a failed step undoes
    /// the ones before it. Refused (exit 2, nothing changed) without root
    /// or efivarfs, on an immutable variable, on a boot entry or BootOrder
    /// that does not parse, and on an ESP that is a link or not a FAT mount
    /// point. The collector is --efi FILE, else
    /// `<dir of bootaudit>/../lib/bootaudit/bootaudit-collector-x64.efi`
    /// (aa64 on Arm), else /usr/lib/bootaudit/ (where the package puts it;
    /// `cargo xtask build` builds it).
    Install(InstallArgs),
    /// Remove the collector's boot entries, its place in BootOrder and
    /// BootNext, and its file; the snapshots in \bootaudit\ stay.
    Uninstall(UninstallArgs),
    /// Write a bootable disk image: GPT, one ESP, the collector as the
    /// removable-media loader (\EFI\BOOT\BOOTX64.EFI) and a configuration
    /// of mode=shutdown. Write it to a USB stick, boot the suspect machine
    /// from it, then read the stick back with `bootaudit ingest`.
    Media(MediaArgs),
}

// Where the ESP is and what to print; shared by install and uninstall.
// (Not a doc comment: clap would take one for the command's summary,
// since the command's arguments are built deferred.)
#[derive(clap::Args)]
pub struct Common {
    /// The ESP's mount point (default: /boot/efi, else /efi).
    #[arg(long, value_name = "DIR")]
    pub esp: Option<PathBuf>,
    /// Print the exact variables and files that would change, and change
    /// nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

// The arguments of `bootaudit collector install`.
// (Not a doc comment: clap would take one for the command's summary,
// since the command's arguments are built deferred.)
#[derive(clap::Args)]
pub struct InstallArgs {
    #[command(flatten)]
    pub common: Common,
    /// Run the collector at the next boot only (BootNext). The default.
    #[arg(long, conflicts_with = "every_boot")]
    pub once: bool,
    /// Run it at every boot, first in BootOrder.
    #[arg(long)]
    pub every_boot: bool,
    /// The collector's EFI image (see the long help for where it is
    /// otherwise found).
    #[arg(long, value_name = "FILE")]
    pub efi: Option<PathBuf>,
    /// Start the collector through shim, the path on the ESP of
    /// shimx64.efi (\EFI\debian\shimx64.efi): under Secure Boot with a
    /// Machine Owner Key, the collector signed with it.
    #[arg(long, value_name = "SHIM")]
    pub via_shim: Option<String>,
    /// More options for the collector (its load options after
    /// mode=return: hash-budget-ms=N, flash-window=BYTES).
    #[arg(long, value_name = "TEXT")]
    pub options: Option<String>,
    #[command(flatten)]
    pub signing: Signing,
}

// Signing the collector with the owner's key.
// (Not a doc comment: clap would take one for the command's summary,
// since the command's arguments are built deferred.)
#[derive(clap::Args)]
pub struct Signing {
    /// Sign the collector (Authenticode, as sbsign does) with this RSA
    /// private key (PEM, unencrypted): one whose certificate is in db, on a
    /// machine that trusts its owner's keys (or a MOK, with --via-shim).
    #[arg(long, value_name = "KEY", requires = "sign_cert")]
    pub sign_key: Option<PathBuf>,
    /// The certificate of --sign-key (PEM or DER), carried in the
    /// signature.
    #[arg(long, value_name = "CERT", requires = "sign_key")]
    pub sign_cert: Option<PathBuf>,
}

impl Signing {
    /// `efi`, signed when a key was given.
    fn apply(&self, efi: Vec<u8>) -> anyhow::Result<Vec<u8>> {
        let (Some(k), Some(c)) = (&self.sign_key, &self.sign_cert) else {
            return Ok(efi);
        };
        let key = bootaudit::fsutil::read_input(k, 1 << 16)
            .map_err(|e| anyhow::anyhow!("{}: {e}", k.display()))?;
        let key = String::from_utf8(key)
            .map_err(|_| anyhow::anyhow!("{}: not a PEM text", k.display()))?;
        let cert = bootaudit::fsutil::read_input(c, 1 << 16)
            .map_err(|e| anyhow::anyhow!("{}: {e}", c.display()))?;
        Ok(deploy::sign::sign(&efi, &key, &cert)?)
    }
}

// The arguments of `bootaudit collector uninstall`.
// (Not a doc comment: clap would take one for the command's summary,
// since the command's arguments are built deferred.)
#[derive(clap::Args)]
pub struct UninstallArgs {
    #[command(flatten)]
    pub common: Common,
}

// The arguments of `bootaudit collector media`.
// (Not a doc comment: clap would take one for the command's summary,
// since the command's arguments are built deferred.)
#[derive(clap::Args)]
pub struct MediaArgs {
    /// The image to write (atomically; an existing regular file is
    /// replaced).
    pub image: PathBuf,
    /// The collector's EFI image (default: as for install; its machine
    /// picks BOOTX64.EFI or BOOTAA64.EFI).
    #[arg(long, value_name = "FILE")]
    pub efi: Option<PathBuf>,
    /// For which machine, when --efi is not given (x64 or aa64; default:
    /// this one's).
    #[arg(long, value_name = "ARCH")]
    pub arch: Option<String>,
    /// The image's size in MiB (40 to 256).
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    pub size: u64,
    #[command(flatten)]
    pub signing: Signing,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

/// Runs `bootaudit collector`.
pub fn run(c: Command) -> anyhow::Result<ExitCode> {
    match c {
        Command::Install(a) => install(a),
        Command::Uninstall(a) => uninstall(a),
        Command::Media(a) => media(a),
    }
}

/// The collector's bytes: `--efi`, else the first default path that exists.
fn collector(efi: Option<&Path>, arch: Arch) -> anyhow::Result<(PathBuf, Vec<u8>)> {
    let candidates = match efi {
        Some(p) => vec![p.to_path_buf()],
        None => deploy::default_collector_paths(arch),
    };
    for p in &candidates {
        match bootaudit::fsutil::read_input(p, deploy::MAX_EFI) {
            Ok(b) => return Ok((p.clone(), b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && efi.is_none() => continue,
            Err(e) => anyhow::bail!("{}: {e}", p.display()),
        }
    }
    anyhow::bail!(
        "no collector for {}: looked in {}; name one with --efi (cargo xtask build builds it)",
        arch.name(),
        candidates
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn find_esp(esp: Option<&Path>) -> anyhow::Result<deploy::partition::EspPartition> {
    deploy::partition::find(esp).map_err(anyhow::Error::msg)
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Prints the plan, then applies it unless this is a dry run.
fn carry_out(
    plan: deploy::Plan,
    common: &Common,
    vars: &mut dyn deploy::efivarfs::VarStore,
) -> anyhow::Result<ExitCode> {
    let out = Output::default();
    if common.dry_run {
        let report = render::deploy::Report {
            plan: &plan,
            dry_run: true,
            done: None,
        };
        print(&out, common.format, &report, render::deploy::table)?;
        return Ok(ExitCode::SUCCESS);
    }
    if !is_root() {
        anyhow::bail!(
            "collector {} changes boot variables and the ESP: run it as root (--dry-run shows what it would change)",
            plan.command
        );
    }
    let applied = deploy::apply(&plan, vars)?;
    let report = render::deploy::Report {
        plan: &plan,
        dry_run: false,
        done: Some(&applied.done),
    };
    print(&out, common.format, &report, render::deploy::table)?;
    Ok(ExitCode::SUCCESS)
}

fn install(a: InstallArgs) -> anyhow::Result<ExitCode> {
    let arch = Arch::host();
    let (_, efi) = collector(a.efi.as_deref(), arch)?;
    let efi = a.signing.apply(efi)?;
    let esp = find_esp(a.common.esp.as_deref())?;
    let mut vars = deploy::efivarfs::Efivarfs::live()?;
    let req = deploy::Install {
        when: if a.every_boot {
            When::EveryBoot
        } else {
            When::Once
        },
        efi,
        via_shim: a.via_shim.clone(),
        options: a.options.clone(),
    };
    let plan = deploy::plan_install(&req, &esp, &vars, arch)?;
    carry_out(plan, &a.common, &mut vars)
}

fn uninstall(a: UninstallArgs) -> anyhow::Result<ExitCode> {
    let esp = find_esp(a.common.esp.as_deref())?;
    let mut vars = deploy::efivarfs::Efivarfs::live()?;
    let plan = deploy::plan_uninstall(&esp.mount, &vars)?;
    carry_out(plan, &a.common, &mut vars)
}

fn media(a: MediaArgs) -> anyhow::Result<ExitCode> {
    let wanted = match a.arch.as_deref() {
        None => None,
        Some("x64") | Some("x86_64") => Some(Arch::X64),
        Some("aa64") | Some("aarch64") => Some(Arch::Aa64),
        Some(other) => anyhow::bail!("--arch {}: x64 or aa64", render::escape::terminal(other)),
    };
    let (path, efi) = collector(a.efi.as_deref(), wanted.unwrap_or_else(Arch::host))?;
    let facts =
        bootaudit::pe::inspect(&efi).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let arch = Arch::of_efi_application(&facts).ok_or_else(|| {
        anyhow::anyhow!(
            "{}: PE machine {:#x}, subsystem {}: not an x64 or aa64 EFI application",
            path.display(),
            facts.machine,
            facts.subsystem
        )
    })?;
    let efi = a.signing.apply(efi)?;
    if wanted.is_some_and(|w| w != arch) {
        anyhow::bail!(
            "{}: an {} image, not {}",
            path.display(),
            arch.name(),
            wanted.map_or("", |w| w.name())
        );
    }
    let m = deploy::media::write(&a.image, &efi, arch.loader_name(), "mode=shutdown", a.size)
        .map_err(|e| anyhow::anyhow!("{}: {e}", a.image.display()))?;
    print(&Output::default(), a.format, &m, render::deploy::media)?;
    Ok(ExitCode::SUCCESS)
}
