//! `bootaudit esp`: List the EFI binaries on an ESP (a mounted directory, or a FAT or GPT/MBR disk image) with their SHA-256 and Authenticode hashes; with an event log or a snapshot, match each boot application measured into PCR4 to a file. Exit 1 when one ran that the ESP does not hold, or the file at its place has another hash.

use super::*;

// The arguments of `bootaudit esp` (not a doc comment: clap would take one for the
// command's summary, since the command's arguments are built deferred).
#[derive(clap::Args)]
pub struct Args {
    /// The ESP: a directory or an image file.
    pub esp: PathBuf,
    /// A TPM event log (binary_bios_measurements) to match.
    #[arg(long, value_name = "FILE", conflicts_with = "snapshot")]
    pub eventlog: Option<PathBuf>,
    /// A snapshot whose event log to match.
    #[arg(long, value_name = "FILE")]
    pub snapshot: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    #[command(flatten)]
    pub out: Output,
}

/// Runs `bootaudit esp`.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let Args {
        esp,
        eventlog,
        snapshot,
        format,
        out,
    } = a;

    let (layout, binaries) = bootaudit::esp::binaries::scan(&esp)?;
    let log = match (&eventlog, &snapshot) {
        (Some(p), _) => Some(bootaudit::eventlog::read_file(p)?),
        (None, Some(p)) => {
            let s = bootaudit::snapshot::read_file(p)?;
            match s.tpm.as_ref() {
                Some(t) => bootaudit::snapshot::event_log(t, &p.display().to_string())?,
                None => anyhow::bail!("{}: the snapshot has no TPM part", p.display()),
            }
        }
        (None, None) => None,
    };
    let report = bootaudit::esp::binaries::EspReport {
        esp: esp.display().to_string(),
        layout,
        boot_applications: log
            .as_ref()
            .map(|l| bootaudit::esp::binaries::match_log(&binaries, l)),
        binaries,
    };
    print(&out, format, &report, render::esp::table)?;
    Ok(exit_if(report.has_findings()))
}
