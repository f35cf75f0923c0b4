//! `bootaudit export`: Write a boot's event log in a format another tool reads: `cel-json`, the TCG Canonical Event Log in JSON as systemd-pcrlock's `cel` verb writes it (which `bootaudit eventlog` reads back).

use super::*;

/// `bootaudit export` formats.
#[derive(clap::Subcommand)]
pub enum Command {
    /// The TCG Canonical Event Log in JSON (systemd-pcrlock's `cel`
    /// shape): one record per event, with its PCR, digests, type and data.
    CelJson(Args),
}

/// The arguments of an export.
#[derive(clap::Args)]
pub struct Args {
    /// A snapshot (its TPM event log is exported) or an event log (binary,
    /// or CEL-JSON).
    pub input: PathBuf,
    /// Write here (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// The event log of `input`: a snapshot's, or the file itself.
fn log_of(input: &Path) -> anyhow::Result<bootaudit::eventlog::EventLog> {
    let bytes = bootaudit::snapshot::read_bytes(input)?;
    let is_snapshot = bootaudit::eventlog::cel::looks_like_json(&bytes)
        && serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .is_some_and(|v| v.get("format").is_some());
    if !is_snapshot {
        return Ok(bootaudit::eventlog::read_file(input)?);
    }
    let name = input.display().to_string();
    let s = bootaudit::snapshot::parse(&bytes, &name)?;
    let t = s
        .tpm
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("{name}: the snapshot holds no TPM part"))?;
    bootaudit::snapshot::event_log(t, &name)?
        .ok_or_else(|| anyhow::anyhow!("{name}: the snapshot holds no TPM event log"))
}

/// Runs `bootaudit export`.
pub fn run(c: Command) -> anyhow::Result<ExitCode> {
    match c {
        Command::CelJson(a) => {
            let log = log_of(&a.input)?;
            let mut v = serde_json::to_vec_pretty(&bootaudit::eventlog::cel::to_json(&log))?;
            v.push(b'\n');
            deliver(a.output.as_deref(), &v)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
