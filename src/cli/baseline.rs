//! `bootaudit baseline create|accept`: a machine's known-good state, and
//! the changes accepted since.

use super::*;

/// `bootaudit baseline`'s subcommands.
#[derive(clap::Subcommand)]
#[command(defer = true)]
pub enum Cmd {
    /// Make a baseline from one or more snapshots of a known-good machine;
    /// what differs between them is learned as legitimate variation.
    Create(CreateArgs),

    /// Accept findings (a rule id, or rule:subject as `diff --format json`
    /// shows them) so that later diffs show them as explained.
    Accept(AcceptArgs),
}

/// Runs `bootaudit baseline ...`.
pub fn run(c: Cmd) -> anyhow::Result<ExitCode> {
    match c {
        Cmd::Create(a) => create(a),
        Cmd::Accept(a) => accept(a),
    }
}

// The arguments of `bootaudit baseline create`.
// (Not a doc comment: clap would take one for the command's summary,
// since the command's arguments are built deferred.)
#[derive(clap::Args)]
pub struct CreateArgs {
    /// The snapshots (the first is the reference).
    #[arg(required = true)]
    pub snapshots: Vec<PathBuf>,
    /// Where to write the baseline (atomically).
    #[arg(short, long)]
    pub out: PathBuf,
    /// Sign the baseline with this OpenSSH private key (unencrypted),
    /// writing OUT.sig beside it, for `diff --allowed-signers`.
    #[arg(long, value_name = "KEY")]
    pub sign_key: Option<PathBuf>,
}

fn create(a: CreateArgs) -> anyhow::Result<ExitCode> {
    let CreateArgs {
        snapshots,
        out,
        sign_key,
    } = a;

    let mut snaps = Vec::new();
    for p in &snapshots {
        let bytes = bootaudit::snapshot::read_bytes(p)?;
        let s = bootaudit::snapshot::parse(&bytes, &p.display().to_string())?;
        snaps.push((p.display().to_string(), bytes, s));
    }
    let b =
        bootaudit::baseline::create(&snaps).ok_or_else(|| anyhow::anyhow!("no snapshot given"))?;
    bootaudit::baseline::write(&b, &out, sign_key.as_deref())?;
    emit(&format!(
        "{}: baseline of {} snapshots, {} varying findings learned\n",
        out.display(),
        b.sources.len(),
        b.varies.len()
    ))?;
    Ok(ExitCode::SUCCESS)
}

// The arguments of `bootaudit baseline accept`.
// (Not a doc comment: clap would take one for the command's summary,
// since the command's arguments are built deferred.)
#[derive(clap::Args)]
pub struct AcceptArgs {
    /// The baseline to amend.
    pub baseline: PathBuf,
    /// The findings to accept.
    #[arg(long = "finding", required = true, num_args = 1..)]
    pub findings: Vec<String>,
    /// Why they are accepted.
    #[arg(long)]
    pub reason: String,
    /// Who accepts them (default: $USER).
    #[arg(long)]
    pub by: Option<String>,
    /// Where to write the amended baseline (atomically).
    #[arg(short, long)]
    pub out: PathBuf,
    /// Sign the amended baseline with this OpenSSH private key,
    /// writing OUT.sig beside it.
    #[arg(long, value_name = "KEY")]
    pub sign_key: Option<PathBuf>,
    /// Require the baseline being amended to be signed by one of these
    /// allowed signers.
    #[arg(long, value_name = "FILE")]
    pub allowed_signers: Option<PathBuf>,
}

fn accept(a: AcceptArgs) -> anyhow::Result<ExitCode> {
    let AcceptArgs {
        baseline,
        findings,
        reason,
        by,
        out,
        sign_key,
        allowed_signers,
    } = a;

    let allowed = allowed_signers_from(allowed_signers.as_deref())?;
    let l = bootaudit::baseline::load(&baseline, allowed.as_deref())?;
    let b = l.baseline.ok_or_else(|| {
        anyhow::anyhow!(
            "{}: a snapshot, not a baseline (make one with `baseline create`)",
            baseline.display()
        )
    })?;
    let by = by
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "unknown".into());
    let b = bootaudit::baseline::accept(b, &findings, &reason, &by);
    bootaudit::baseline::write(&b, &out, sign_key.as_deref())?;
    emit(&format!(
        "{}: {} accepted findings\n",
        out.display(),
        b.accepted.len()
    ))?;
    Ok(ExitCode::SUCCESS)
}
