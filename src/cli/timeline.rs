//! `bootaudit timeline`: the OS's logs and the firmware states of the
//! measured boots on one time line, and who changed the firmware, when,
//! and with what tool.

use super::*;

// The arguments of `bootaudit timeline` (not a doc comment: clap would take one for the
// command's summary, since the command's arguments are built deferred).
#[derive(clap::Args)]
pub struct Args {
    /// Evidence: files, or directories of them (a triage folder, a copied
    /// C:\Windows, a Linux /var/log). Recognised by content: EVTX,
    /// journalctl -o json or export, audit.log, kern.log or dmesg,
    /// fwupd's pending.db, snapshots and bundles, TCG logs (Windows
    /// MeasuredBoot), EDK II debug logs.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// The LOLDrivers list (its drivers.csv) to match drivers against.
    #[arg(long, value_name = "FILE")]
    pub loldrivers: Option<PathBuf>,
    /// Only what happened at or after this time (RFC 3339, or a date and
    /// time read as UTC).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub since: Option<bootaudit::timeline::At>,
    /// Only what happened at or before this time.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub until: Option<bootaudit::timeline::At>,
    /// Vendor firmware references (`reference add`): a change to firmware
    /// they verify, that fwupd's history also names, is a vendor update.
    #[arg(long, value_name = "DIR")]
    pub references: Option<PathBuf>,
    /// The allowed signers a signed reference store must be signed by.
    #[arg(long, value_name = "FILE", requires = "references")]
    pub reference_signers: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: DiffFormat,
    /// Write the report here (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit 1 when an unexplained finding of at least this severity exists.
    #[arg(long, value_enum, default_value = "high")]
    pub fail_on: FailOn,
}

fn parse_time(s: &str) -> Result<bootaudit::timeline::At, String> {
    bootaudit::timeline::At::parse(s)
        .ok_or_else(|| format!("{s:?} is not a time (RFC 3339, e.g. 2026-12-06T10:00:00Z)"))
}

/// Runs `bootaudit timeline`.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let loldrivers = a
        .loldrivers
        .as_deref()
        .map(bootaudit::timeline::lists::read_loldrivers)
        .transpose()?;
    let o = bootaudit::timeline::Options {
        paths: a.paths,
        loldrivers,
        since: a.since,
        until: a.until,
        references: a
            .references
            .is_some()
            .then(|| load_references(a.references.as_deref(), a.reference_signers.as_deref()))
            .transpose()?,
    };
    let r = bootaudit::timeline::run(&o)?;
    let bytes = match a.format {
        DiffFormat::Table => render::timeline::table(&r).into_bytes(),
        DiffFormat::Json => {
            let mut v = Vec::new();
            render::json_to(&r, &mut v)?;
            v
        }
        DiffFormat::Html => render::timeline::html(&r).into_bytes(),
        DiffFormat::Jsonl => {
            let mut v = Vec::new();
            let host = bootaudit::siem::Host {
                id: r.host.clone(),
                ..Default::default()
            };
            bootaudit::siem::write(
                &mut v,
                r.findings
                    .iter()
                    .map(|f| bootaudit::siem::finding("timeline", &host, None, "timeline", f)),
            )?;
            v
        }
    };
    deliver(a.output.as_deref(), &bytes)?;
    Ok(exit_if(bootaudit::timeline::correlate::fails(
        &r,
        a.fail_on.into(),
    )))
}
