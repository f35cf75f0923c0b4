//! `bootaudit diff`: Compare a snapshot with a baseline snapshot of the same machine: every difference as a finding with a severity and, when the evidence has one, an explanation. Exit 1 when an unexplained finding at or above --fail-on exists.

use super::*;

// The arguments of `bootaudit diff` (not a doc comment: clap would take one for the
// command's summary, since the command's arguments are built deferred).
#[derive(clap::Args)]
pub struct Args {
    /// The baseline: a snapshot of the machine in a known-good state, or
    /// a baseline made by `bootaudit baseline create`.
    pub baseline: PathBuf,
    /// The snapshot to check.
    pub current: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: DiffFormat,
    /// Write the report to this file (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit 1 when an unexplained finding at or above this severity exists.
    #[arg(long, value_enum, default_value = "high")]
    pub fail_on: FailOn,
    /// Require the baseline to carry a valid SSH signature (BASELINE.sig)
    /// by a key this allowed-signers file lists (ssh-keygen -Y format);
    /// an unsigned or wrongly signed baseline is refused (exit 2).
    #[arg(long, value_name = "FILE")]
    pub allowed_signers: Option<PathBuf>,
    /// Compare even when the baseline's SMBIOS system identity is that
    /// of another machine (refused by default, exit 2).
    #[arg(long)]
    pub allow_other_machine: bool,
    /// Let a baseline's acceptances explain findings even though no
    /// signer verified it (--allowed-signers). By default they do not: the
    /// file can be rewritten by whoever holds the judged host. For labs.
    #[arg(long)]
    pub trust_unsigned_baseline: bool,
    /// A reference store (`bootaudit reference add`): the current boot's
    /// PCR0 firmware blobs and loaded firmware drivers are judged against
    /// the vendor images it holds, and only a match with one verifies a
    /// firmware update.
    #[arg(long, value_name = "DIR")]
    pub references: Option<PathBuf>,
    /// Require every reference to carry a valid SSH signature
    /// (FILE.json.sig, namespace bootaudit-reference) by a key this
    /// allowed-signers file lists; an unsigned store is refused (exit 2).
    #[arg(long, value_name = "FILE", requires = "references")]
    pub reference_signers: Option<PathBuf>,
}

/// Runs `bootaudit diff`.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let Args {
        baseline,
        current,
        format,
        output,
        fail_on,
        allowed_signers,
        allow_other_machine,
        trust_unsigned_baseline,
        references,
        reference_signers,
    } = a;
    let fail_on: bootaudit::findings::Severity = fail_on.into();

    let allowed = allowed_signers_from(allowed_signers.as_deref())?;
    let mut l = bootaudit::baseline::load(&baseline, allowed.as_deref())?;
    l.trust_unsigned = trust_unsigned_baseline;
    let b = bootaudit::snapshot::read_file(&current)?;
    let same = if allow_other_machine {
        None
    } else {
        Some(bootaudit::baseline::check_same_machine(&l, &b)?)
    };
    let refs = load_references(references.as_deref(), reference_signers.as_deref())?;
    let mut r =
        bootaudit::baseline::diff_against_with(&l, &current.display().to_string(), &b, &refs);
    r.machine_identity = same;
    let text = match format {
        DiffFormat::Table => render::escape::terminal(&render::diff::table(&r)).into_owned(),
        DiffFormat::Json => {
            let mut v = Vec::new();
            render::json_to(&r, &mut v)?;
            String::from_utf8(v)?
        }
        DiffFormat::Html => render::html::diff(&r),
        DiffFormat::Jsonl => {
            let host = bootaudit::siem::host(&b, &r.current);
            let at = bootaudit::siem::collected_at(&b);
            let mut v = Vec::new();
            bootaudit::siem::write(
                &mut v,
                r.findings
                    .iter()
                    .map(|f| bootaudit::siem::finding("diff", &host, at, &r.current, f)),
            )?;
            String::from_utf8(v)?
        }
    };
    deliver(output.as_deref(), text.as_bytes())?;
    Ok(exit_if(bootaudit::findings::fails(&r.findings, fail_on)))
}
