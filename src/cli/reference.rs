//! `bootaudit reference`: the reference store, made from vendor images.

use super::*;

/// `bootaudit reference` subcommands.
#[derive(clap::Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// Read a vendor firmware image and write its reference into the
    /// store DIR (created when missing), atomically: every volume's
    /// digests in the SHA-1, SHA-256 and SHA-384 banks, whether a boot's
    /// measurement of it can be predicted, and every file.
    Add(AddArgs),
    /// List the references of a store.
    List(ListArgs),
}

// The arguments of `bootaudit reference add`.
// (Not a doc comment: clap would take one for the command's summary,
// since the command's arguments are built deferred.)
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
    /// Sign the reference with this OpenSSH private key (unencrypted):
    /// FILE.json.sig beside it, namespace bootaudit-reference (or sign with
    /// `ssh-keygen -Y sign -n bootaudit-reference`).
    #[arg(long, value_name = "KEY")]
    pub sign_key: Option<PathBuf>,
    /// Make the reference even though the image has structural problems
    /// (see `bootaudit firmware`); the reference records them. Without it,
    /// such an image is refused: a damaged image is no known-good.
    #[arg(long)]
    pub accept_problems: bool,
}

// The arguments of `bootaudit reference list`.
// (Not a doc comment: clap would take one for the command's summary,
// since the command's arguments are built deferred.)
#[derive(clap::Args)]
pub struct ListArgs {
    /// The reference store.
    pub dir: PathBuf,
    /// Verify every reference's signature against this allowed-signers
    /// file.
    #[arg(long, value_name = "FILE")]
    pub reference_signers: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    #[command(flatten)]
    pub out: Output,
}

/// Runs `bootaudit reference`.
pub fn run(c: Command) -> anyhow::Result<ExitCode> {
    use bootaudit::firmware::reference;
    match c {
        Command::Add(a) => {
            let inv = bootaudit::firmware::read_file_with_all_banks(&a.image)?;
            if !inv.problems.is_empty() && !a.accept_problems {
                anyhow::bail!(
                    "{}: {} structural problems (see `bootaudit firmware`); a damaged image is no known-good (--accept-problems records them in the reference)",
                    a.image.display(),
                    inv.problems.len() + inv.problems_dropped
                );
            }
            let r = reference::build(&inv, &a.vendor, &a.version);
            let p = reference::add(&a.output, &r, a.sign_key.as_deref())?;
            emit(&format!(
                "{}: {} volumes, {} files{} -> {}\n",
                r.label(),
                r.volumes.len(),
                r.files.len(),
                if r.problems.is_empty() {
                    String::new()
                } else {
                    format!(", {} structural problems accepted", r.problems.len())
                },
                p.display()
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::List(a) => {
            let allowed = allowed_signers_from(a.reference_signers.as_deref())?;
            let refs = reference::load_dir(&a.dir, allowed.as_deref())?;
            let list = reference::list(&refs);
            print(&a.out, a.format, &list, |l| render::firmware::references(l))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
