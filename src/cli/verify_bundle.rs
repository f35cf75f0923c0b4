//! `bootaudit verify-bundle`: check a sealed evidence bundle: every file
//! against its manifest, and the TPM quote over the manifest with an
//! enrolled AK. Exit 0 when whole, 1 naming each changed, added or removed
//! file or a quote that does not cover the manifest, 2 when unreadable.

use super::*;

/// The arguments of `bootaudit verify-bundle`.
#[derive(clap::Args)]
pub struct Args {
    /// The bundle: a directory or a tar file (from `collect --bundle`).
    pub bundle: PathBuf,
    /// The enrolled AK (`bootaudit ak verify`) to check the quote with.
    #[arg(long, value_name = "FILE")]
    pub ak: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

/// Runs `bootaudit verify-bundle`.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let ak = match &a.ak {
        Some(p) => {
            let b = bootaudit::fsutil::read_input(p, bootaudit::attest::enrol::MAX_FILE)
                .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", p.display()))?;
            Some(bootaudit::quote::TrustedAk::read(
                &b,
                &p.display().to_string(),
            )?)
        }
        None => None,
    };
    let r = bootaudit::bundle::verify(&a.bundle, ak.as_ref())?;
    print(a.format, &r, render::bundle::table)?;
    Ok(exit_if(!r.ok))
}
