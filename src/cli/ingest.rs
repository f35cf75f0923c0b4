//! `bootaudit ingest`: Pull the collector's snapshots out of an ESP (a mounted directory, or a raw FAT or GPT/MBR disk image, read in-process without mounting or modifying it), validate them, and write them into a directory.

use super::*;

/// The arguments of `bootaudit ingest`.
#[derive(clap::Args)]
pub struct Args {
    /// The ESP: a directory or an image file.
    pub esp: PathBuf,
    /// Where to write the snapshots.
    #[arg(short, long, value_name = "DIR")]
    pub out: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

/// Runs `bootaudit ingest`.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let Args { esp, out, format } = a;

    let r = bootaudit::ingest::ingest(&esp, &out)?;
    print(format, &r, render::ingest::table)?;
    Ok(exit_if(!r.ok))
}
