//! `bootaudit verify-bundle`: check a sealed evidence bundle: every file
//! against its manifest, and the TPM quote over the manifest with an
//! enrolled AK. Exit 0 when whole, 1 naming each changed, added or removed
//! file or a quote that does not cover the manifest, 2 when unreadable.

use super::*;

// The arguments of `bootaudit verify-bundle` (not a doc comment: clap would take one for the
// command's summary, since the command's arguments are built deferred).
#[derive(clap::Args)]
pub struct Args {
    /// The bundle: a directory or a tar file (from `collect --bundle`).
    pub bundle: PathBuf,
    /// The enrolled AK (`bootaudit ak verify`) to check the quote with.
    #[arg(long, value_name = "FILE")]
    pub ak: Option<PathBuf>,
    /// Check the enrolled-AK record's signature (FILE.sig, namespace
    /// bootaudit-ak, from `ak verify --sign-key`) against this
    /// allowed-signers file. Without it, an enrolment record is a file
    /// anyone could write, and `ak-certified` fails.
    #[arg(long, value_name = "FILE", requires = "ak")]
    pub ak_signers: Option<PathBuf>,
    /// Check the bundle's seal (manifest.json.sig, namespace
    /// bootaudit-bundle) against this allowed-signers file: an unsealed
    /// bundle, or one sealed by a key the file does not list, fails.
    #[arg(long, value_name = "FILE")]
    pub allowed_signers: Option<PathBuf>,
    /// Exit 1 unless a verified seal or a verified TPM quote vouches for
    /// the manifest: without one, the files match only the bundle's own
    /// manifest, which anyone could have rewritten.
    #[arg(long)]
    pub require_seal: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    #[command(flatten)]
    pub out: Output,
}

/// Runs `bootaudit verify-bundle`.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let ak = match &a.ak {
        Some(p) => {
            let b = bootaudit::fsutil::read_input(p, bootaudit::attest::enrol::MAX_FILE)
                .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", p.display()))?;
            let signers = allowed_signers_from(a.ak_signers.as_deref())?;
            Some(bootaudit::quote::TrustedAk::read_vouched(
                &b,
                p,
                signers.as_deref(),
            )?)
        }
        None => None,
    };
    let signers = allowed_signers_from(a.allowed_signers.as_deref())?;
    let mut r = bootaudit::bundle::verify_with(&a.bundle, ak.as_ref(), signers.as_deref())?;
    if a.require_seal {
        r.require_sealed();
    }
    print(&a.out, a.format, &r, render::bundle::table)?;
    Ok(exit_if(!r.ok))
}
