//! `bootaudit verify-quote`: Check a snapshot's TPM quote: made by the trusted attestation key, over the verifier's nonce, quoting exactly the snapshot's PCR values, to which its event log replays. Exit 0 when every check passes, 1 when one fails.

use super::*;

// The arguments of `bootaudit verify-quote` (not a doc comment: clap would take one for the
// command's summary, since the command's arguments are built deferred).
#[derive(clap::Args)]
pub struct Args {
    /// The snapshot (from `bootaudit collect --quote`).
    pub snapshot: PathBuf,
    /// The trusted AK: an enrolled AK (`bootaudit ak verify`), or a bare
    /// TPMT_PUBLIC / TPM2B_PUBLIC (as `collect --ak-pub-out` or
    /// `tpm2_readpublic -o` write it), which fails the `ak-certified` check.
    #[arg(long, visible_alias = "ak-pub", value_name = "FILE")]
    pub ak: PathBuf,
    /// Check the enrolled-AK record's signature (FILE.sig, namespace
    /// bootaudit-ak, from `ak verify --sign-key`) against this
    /// allowed-signers file. Without it, an enrolment record is a file
    /// anyone could write, and `ak-certified` fails.
    #[arg(long, value_name = "FILE")]
    pub ak_signers: Option<PathBuf>,
    /// The nonce the verifier gave to `collect --quote`, hex.
    #[arg(long, value_name = "HEX", value_parser = parse_nonce)]
    pub nonce: Nonce,
    /// Require the quote to cover only these PCRs (by default: every
    /// PCR the snapshot records and the log extends).
    #[arg(long = "pcrs", value_name = "N", value_delimiter = ',', num_args = 1.., value_parser = clap::value_parser!(u32).range(0..24))]
    pub pcrs: Vec<u32>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    #[command(flatten)]
    pub out: Output,
}

/// Runs `bootaudit verify-quote`.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let Args {
        snapshot,
        ak: ak_pub,
        ak_signers,
        nonce,
        pcrs,
        format,
        out,
    } = a;

    let s = bootaudit::snapshot::read_file(&snapshot)?;
    let ak = bootaudit::fsutil::read_input(&ak_pub, 1 << 16)
        .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", ak_pub.display()))?;
    let signers = allowed_signers_from(ak_signers.as_deref())?;
    let ak = bootaudit::quote::TrustedAk::read_vouched(&ak, &ak_pub, signers.as_deref())?;
    let r = bootaudit::quote::verify_trusted(
        &snapshot.display().to_string(),
        &s,
        &ak,
        &ak_pub.display().to_string(),
        &nonce.0,
        &pcrs,
    )?;
    print(&out, format, &r, render::quote::table)?;
    Ok(exit_if(!r.ok))
}
