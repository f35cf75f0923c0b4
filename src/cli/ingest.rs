//! `bootaudit ingest`: Pull the collector's snapshots out of an ESP (a mounted directory, or a raw FAT or GPT/MBR disk image, read in-process without mounting or modifying it), validate them, and write them into a directory.

use super::*;

// The arguments of `bootaudit ingest` (not a doc comment: clap would take one for the
// command's summary, since the command's arguments are built deferred).
#[derive(clap::Args)]
pub struct Args {
    /// The ESP: a directory or an image file.
    pub esp: PathBuf,
    /// Where to write the snapshots.
    #[arg(short, long, value_name = "DIR", required_unless_present = "bundle")]
    pub out: Option<PathBuf>,
    /// Write a sealed evidence bundle of the ESP's bootaudit directory
    /// into this new directory (or, named `*.tar`, tar file) instead (see `collect --bundle`;
    /// `verify-bundle` checks it).
    #[arg(long, value_name = "DIR", conflicts_with = "out")]
    pub bundle: Option<PathBuf>,
    /// Who collects (recorded in the bundle's manifest).
    #[arg(long, value_name = "NAME", requires = "bundle")]
    pub operator: Option<String>,
    /// Seal the bundle with this OpenSSH private key (unencrypted): an
    /// SSH signature over the manifest (namespace bootaudit-bundle), as
    /// `manifest.json.sig`, that `verify-bundle --allowed-signers` checks.
    /// Keep the key with the responder, not on the judged host.
    #[arg(long, value_name = "KEY", requires = "bundle")]
    pub sign_key: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

/// Runs `bootaudit ingest`.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let Args {
        esp,
        out,
        bundle,
        operator,
        sign_key,
        format,
    } = a;
    if let Some(dir) = bundle {
        use bootaudit::bundle;
        let (files, host) = bundle::from_esp(&esp)?;
        if !files.iter().any(|(p, _)| p.ends_with(".json")) {
            anyhow::bail!("{}: no bootaudit snapshot on this ESP", esp.display());
        }
        return seal_bundle(&dir, &files, host, Sealer { operator, sign_key }, None);
    }
    let out = out.unwrap_or_default();
    let r = bootaudit::ingest::ingest(&esp, &out)?;
    print(&Output::default(), format, &r, render::ingest::table)?;
    Ok(exit_if(!r.ok))
}
