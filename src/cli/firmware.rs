//! `bootaudit firmware`: inventory a UEFI firmware image, or (`firmware
//! diff`) compare a known-good image with another.

use super::*;

// The arguments of `bootaudit firmware` (not a doc comment: clap would take one for the
// command's summary, since the command's arguments are built deferred).
#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<Sub>,
    /// The image: an OVMF .fd, a full SPI flash dump, a capsule.
    #[arg(required = true)]
    pub image: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: InventoryFormat,
    #[command(flatten)]
    pub out: Output,
}

/// Output formats of `bootaudit firmware IMAGE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum InventoryFormat {
    /// Human-readable tables.
    Table,
    /// One JSON object on stdout.
    Json,
    /// CHIPSEC's efilist.json (its tools.uefi.scan_image reads it).
    ChipsecEfilist,
}

// `bootaudit firmware` subcommands (not a doc comment: clap would take one
// for the summary of `firmware`, whose arguments are built deferred).
#[derive(clap::Subcommand)]
pub enum Sub {
    /// Compare a known-good image (the vendor's) with another (a dump of a
    /// machine's flash): files and volumes added, removed and changed.
    /// Exit 1 when a finding at or above --fail-on exists.
    Diff(DiffArgs),
    /// Judge the boot a snapshot recorded against a reference store, with
    /// no baseline: every PCR0 firmware blob must be a reference volume's
    /// digest and every loaded firmware driver a file of that reference.
    /// Exit 1 when a finding at or above --fail-on exists.
    Check(CheckArgs),
}

/// The arguments of `bootaudit firmware check`.
#[derive(clap::Args)]
pub struct CheckArgs {
    /// The snapshot.
    pub snapshot: PathBuf,
    /// The reference store (`bootaudit reference add`).
    #[arg(long, value_name = "DIR")]
    pub references: PathBuf,
    /// Require every reference to carry a valid SSH signature
    /// (FILE.json.sig, namespace bootaudit-reference) by a key this
    /// allowed-signers file lists; an unsigned store is refused (exit 2).
    #[arg(long, value_name = "FILE", requires = "references")]
    pub reference_signers: Option<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    #[command(flatten)]
    pub out: Output,
    /// Exit 1 when a finding at or above this severity exists.
    #[arg(long, value_enum, default_value = "high")]
    pub fail_on: FailOn,
}

/// The arguments of `bootaudit firmware diff`.
#[derive(clap::Args)]
pub struct DiffArgs {
    /// The known-good image.
    pub known_good: PathBuf,
    /// The image to judge.
    pub image: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    #[command(flatten)]
    pub out: Output,
    /// Exit 1 when a finding at or above this severity exists.
    #[arg(long, value_enum, default_value = "high")]
    pub fail_on: FailOn,
}

/// Runs `bootaudit firmware`.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    match (a.command, a.image) {
        (Some(Sub::Diff(d)), _) => {
            let x = bootaudit::firmware::read_file(&d.known_good)?;
            let y = bootaudit::firmware::read_file(&d.image)?;
            let r = bootaudit::firmware::diff::diff(
                &d.known_good.display().to_string(),
                &x,
                &d.image.display().to_string(),
                &y,
            );
            print(&d.out, d.format, &r, render::firmware::diff)?;
            Ok(exit_if(bootaudit::findings::fails(
                &r.findings,
                d.fail_on.into(),
            )))
        }
        (Some(Sub::Check(c)), _) => {
            let refs = load_references(Some(&c.references), c.reference_signers.as_deref())?;
            let snap = bootaudit::snapshot::read_file(&c.snapshot)?;
            let r =
                bootaudit::firmware::judge::check(&c.snapshot.display().to_string(), &snap, &refs);
            print(&c.out, c.format, &r, render::firmware::check)?;
            Ok(exit_if(bootaudit::findings::fails(
                &r.findings,
                c.fail_on.into(),
            )))
        }
        (None, Some(image)) if a.format == InventoryFormat::ChipsecEfilist => {
            let b = bootaudit::fsutil::read_input(&image, bootaudit::firmware::MAX_IMAGE)
                .map_err(|e| anyhow::anyhow!("{}: {e}", image.display()))?;
            let l = bootaudit::firmware::efilist::efilist(&b)
                .map_err(|e| anyhow::anyhow!("{}: {e}", image.display()))?;
            emit_json_to(&a.out, &l)?;
            Ok(ExitCode::SUCCESS)
        }
        (None, Some(image)) => {
            let inv = bootaudit::firmware::read_file(&image)?;
            let name = image.display().to_string();
            let format = if a.format == InventoryFormat::Json {
                Format::Json
            } else {
                Format::Table
            };
            print(&a.out, format, &inv, |i| {
                render::firmware::inventory(&name, i)
            })?;
            Ok(exit_if(!inv.problems.is_empty()))
        }
        (None, None) => anyhow::bail!("bootaudit firmware: give an IMAGE, or `firmware diff A B`"),
    }
}
