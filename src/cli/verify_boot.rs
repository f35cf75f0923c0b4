//! `bootaudit verify-boot`: is a pre-OS collector snapshot of the same
//! boot, TPM and moment as a host snapshot quoted later (`collect
//! --quote`)? Exit 0 when every check passes, 1 when one fails or cannot be
//! decided, 2 when an input is unreadable.

use super::*;

// The arguments of `bootaudit verify-boot` (not a doc comment: clap would take one for the
// command's summary, since the command's arguments are built deferred).
#[derive(clap::Args)]
pub struct Args {
    /// The collector's snapshot (`snap-NNNN.json` from the ESP).
    pub collector: PathBuf,
    /// The host snapshot from `bootaudit collect --quote`, later in the
    /// same boot.
    pub host: PathBuf,
    /// The collector's boot quote (default: `snap-NNNN.quote.json`
    /// beside the collector snapshot, as the collector writes it).
    #[arg(long, value_name = "FILE")]
    pub boot_quote: Option<PathBuf>,
    /// The trusted AK: an enrolled AK (`bootaudit ak verify`), or a bare
    /// public key, which fails `host/ak-certified`.
    #[arg(long, value_name = "FILE")]
    pub ak: PathBuf,
    /// Check the enrolled-AK record's signature (FILE.sig, namespace
    /// bootaudit-ak, from `ak verify --sign-key`) against this
    /// allowed-signers file. Without it, an enrolment record is a file
    /// anyone could write, and `ak-certified` fails.
    #[arg(long, value_name = "FILE")]
    pub ak_signers: Option<PathBuf>,
    /// The nonce the verifier gave the host's `collect --quote`, hex.
    #[arg(long, value_name = "HEX", value_parser = parse_nonce)]
    pub nonce: Nonce,
    /// A known collector build (the .efi file): the collector's own PCR 4
    /// measurement must be its Authenticode hash. Without it,
    /// `collector-build` is unknown.
    #[arg(long, value_name = "FILE")]
    pub collector_efi: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    #[command(flatten)]
    pub out: Output,
}

/// The largest boot quote file read.
const MAX_BOOT_QUOTE: u64 = 64 << 10;

/// Runs `bootaudit verify-boot`.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let cname = a.collector.display().to_string();
    let cbytes = bootaudit::snapshot::read_bytes(&a.collector)?;
    let csnap = bootaudit::snapshot::parse(&cbytes, &cname)?;
    let hsnap = bootaudit::snapshot::read_file(&a.host)?;
    let qpath = match &a.boot_quote {
        Some(p) => p.clone(),
        None => {
            let stem = a
                .collector
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".json"))
                .ok_or_else(|| {
                    anyhow::anyhow!("{cname}: not a .json name; give --boot-quote FILE")
                })?;
            a.collector.with_file_name(format!("{stem}.quote.json"))
        }
    };
    let qname = qpath.display().to_string();
    let qbytes = bootaudit::fsutil::read_input(&qpath, MAX_BOOT_QUOTE)
        .map_err(|e| anyhow::anyhow!("{qname}: cannot read: {e}"))?;
    let q: bootaudit::snapshot::TpmQuote = serde_json::from_slice(&qbytes).map_err(|e| {
        anyhow::anyhow!(
            "{qname}: not a boot quote: {e} (byte {})",
            bootaudit::attest::enrol::json_offset(&qbytes, e.line(), e.column())
        )
    })?;
    let ak_name = a.ak.display().to_string();
    let ak = bootaudit::fsutil::read_input(&a.ak, bootaudit::attest::enrol::MAX_FILE)
        .map_err(|e| anyhow::anyhow!("{ak_name}: cannot read: {e}"))?;
    let signers = allowed_signers_from(a.ak_signers.as_deref())?;
    let ak = bootaudit::quote::TrustedAk::read_vouched(&ak, &a.ak, signers.as_deref())?;
    let known = match &a.collector_efi {
        Some(p) => {
            let b = bootaudit::fsutil::read_input(p, 64 << 20)
                .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", p.display()))?;
            let facts = bootaudit::pe::inspect(&b)
                .map_err(|e| anyhow::anyhow!("{}: not a PE image: {e}", p.display()))?;
            let h = bootaudit::hexser::decode(&facts.authenticode_sha256)
                .and_then(|h| <[u8; 32]>::try_from(h).ok())
                .ok_or_else(|| anyhow::anyhow!("{}: no Authenticode hash", p.display()))?;
            Some((p.display().to_string(), h))
        }
        None => None,
    };
    let hname = a.host.display().to_string();
    let r = bootaudit::bootbind::verify(&bootaudit::bootbind::Inputs {
        collector: (&cname, &cbytes, &csnap),
        boot_quote: (&qname, &q),
        host: (&hname, &hsnap),
        ak: (&ak, &ak_name),
        nonce: &a.nonce.0,
        collector_build: known.as_ref().map(|(n, h)| (n.as_str(), *h)),
    })?;
    print(&a.out, a.format, &r, render::bootbind::table)?;
    Ok(exit_if(r.verdict != bootaudit::bootbind::Outcome::Pass))
}
