//! `bootaudit reference`: the reference store, made from vendor images.

use super::*;

/// `bootaudit reference` subcommands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Read a vendor firmware image and write its reference into the
    /// store DIR (created when missing), atomically: every volume's
    /// digests in the SHA-1, SHA-256 and SHA-384 banks, whether a boot's
    /// measurement of it can be predicted, and every file.
    Add(AddArgs),
    /// List the references of a store.
    List(ListArgs),
}

/// The arguments of `bootaudit reference add`.
#[derive(clap::Args)]
pub struct AddArgs {
    /// The vendor's image (an .fd, an SPI dump, a capsule).
    pub image: PathBuf,
    /// The vendor's name for it.
    #[arg(long)]
    pub vendor: String,
    /// The firmware version it is.
    #[arg(long)]
    pub version: String,
    /// The reference store.
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,
}

/// The arguments of `bootaudit reference list`.
#[derive(clap::Args)]
pub struct ListArgs {
    /// The reference store.
    pub dir: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

/// Runs `bootaudit reference`.
pub fn run(c: Command) -> anyhow::Result<ExitCode> {
    use bootaudit::firmware::reference;
    match c {
        Command::Add(a) => {
            let bytes = bootaudit::fsutil::read_input(&a.image, bootaudit::firmware::MAX_IMAGE)
                .map_err(|e| anyhow::anyhow!("{}: {e}", a.image.display()))?;
            let inv = bootaudit::firmware::read_with_all_banks(&bytes)
                .map_err(|e| anyhow::anyhow!("{}: {e}", a.image.display()))?;
            if !inv.problems.is_empty() {
                anyhow::bail!(
                    "{}: {} structural problems (see `bootaudit firmware`); a damaged image is no known-good",
                    a.image.display(),
                    inv.problems.len() + inv.problems_dropped
                );
            }
            let r = reference::build(&inv, &a.vendor, &a.version);
            let p = reference::add(&a.output, &r)?;
            emit(&format!(
                "{}: {} volumes, {} files -> {}\n",
                r.label(),
                r.volumes.len(),
                r.files.len(),
                p.display()
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::List(a) => {
            let refs = reference::load_dir(&a.dir)?;
            let list = reference::list(&refs);
            print(a.format, &list, |l| render::firmware::references(l))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
