//! `bootaudit show`: Summarise a snapshot: identity, memory maps, MapKey evidence, TPM, and whether its event log replays to the PCRs it recorded.

use super::*;

// The arguments of `bootaudit show` (not a doc comment: clap would take one for the
// command's summary, since the command's arguments are built deferred).
#[derive(clap::Args)]
pub struct Args {
    /// The snapshot (JSON, from the collector or `bootaudit ingest`).
    pub snapshot: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    #[command(flatten)]
    pub out: Output,
}

/// Runs `bootaudit show`.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let Args {
        snapshot,
        format,
        out,
    } = a;

    let s = bootaudit::snapshot::read_file(&snapshot)?;
    let r = bootaudit::show::build(&snapshot.display().to_string(), &s);
    print(&out, format, &r, render::show::table)?;
    Ok(exit_if(!r.consistent))
}
