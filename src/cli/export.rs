//! `bootaudit export`: Write a boot in a format another tool reads: `cel-json`, the TCG Canonical Event Log in JSON as systemd-pcrlock's `cel` verb writes it (which `bootaudit eventlog` reads back), and `keylime-policy`, Keylime's measured-boot reference state.

use super::*;

/// `bootaudit export` formats.
#[derive(clap::Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// The TCG Canonical Event Log in JSON (systemd-pcrlock's `cel`
    /// shape): one record per event, with its PCR, digests, type and data.
    CelJson(Args),
    /// Keylime's measured-boot reference state (the policy its `example`
    /// evaluator reads), from a log that checks out: its digests cover
    /// their data, and a snapshot's log replays to its PCRs.
    KeylimePolicy(Args),
}

// The arguments of an export.
// (Not a doc comment: clap would take one for the command's summary,
// since the command's arguments are built deferred.)
#[derive(clap::Args)]
pub struct Args {
    /// A snapshot (its TPM event log is exported) or an event log (binary,
    /// or CEL-JSON).
    pub input: PathBuf,
    /// Write here (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// The event log of `input`: a snapshot's (with its PCR values), or the
/// file itself.
fn log_of(
    input: &Path,
) -> anyhow::Result<(
    bootaudit::eventlog::EventLog,
    Option<bootaudit::eventlog::replay::PcrBanks>,
)> {
    let name = input.display().to_string();
    // Read once, as large as a snapshot may be; a log must also fit a
    // log's bound.
    let bytes = bootaudit::snapshot::read_bytes(input)?;
    let is_snapshot = bootaudit::eventlog::cel::looks_like_json(&bytes)
        && serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .is_some_and(|v| v.get("format").is_some());
    if !is_snapshot {
        use bootaudit::eventlog::{LogReadError, MAX_LOG_SIZE};
        if bytes.len() as u64 > MAX_LOG_SIZE {
            return Err(LogReadError::TooLarge {
                path: name,
                max: MAX_LOG_SIZE,
            }
            .into());
        }
        return Ok((bootaudit::eventlog::from_bytes(&bytes, &name)?, None));
    }
    let s = bootaudit::snapshot::parse(&bytes, &name)?;
    let t = s
        .tpm
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("{name}: the snapshot holds no TPM part"))?;
    let log = bootaudit::snapshot::event_log(t, &name)?
        .ok_or_else(|| anyhow::anyhow!("{name}: the snapshot holds no TPM event log"))?;
    Ok((log, Some(bootaudit::snapshot::pcr_banks(t))))
}

/// Runs `bootaudit export`.
pub fn run(c: Command) -> anyhow::Result<ExitCode> {
    match c {
        Command::KeylimePolicy(a) => {
            let (log, pcrs) = log_of(&a.input)?;
            let (policy, notes) = bootaudit::keylime::refstate(&log, pcrs.as_ref())
                .map_err(|e| anyhow::anyhow!("{}: {e}", a.input.display()))?;
            if let Some(why) = notes.kernels {
                ui::warn(&format!("{}: no `kernels` entry: {why}", a.input.display()));
            }
            let mut v = serde_json::to_vec_pretty(&policy)?;
            v.push(b'\n');
            deliver(a.output.as_deref(), &v)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::CelJson(a) => {
            let (log, _) = log_of(&a.input)?;
            let mut v = serde_json::to_vec_pretty(&bootaudit::eventlog::cel::to_json(&log))?;
            v.push(b'\n');
            deliver(a.output.as_deref(), &v)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
