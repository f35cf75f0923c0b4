//! `bootaudit check`: Judge one machine with no baseline (a snapshot, or this host with --live): whether its evidence agrees with itself (the log, the PCRs, a quote, the Secure Boot variables, the loaded images, ACPI), and whether it holds anything known bad (implant indicators, test keys, a stale dbx, expired CAs). Each check passes, fails, does not apply or is unknown.

use super::*;

// The arguments of `bootaudit check` (not a doc comment: clap would take one for the
// command's summary, since the command's arguments are built deferred).
#[derive(clap::Args)]
pub struct Args {
    /// The snapshot (from the collector, `collect` or `ingest`).
    #[arg(required_unless_present = "live", conflicts_with = "live")]
    pub snapshot: Option<PathBuf>,
    /// Judge this running Linux host instead: what `collect` reads, and
    /// the platform's posture (SPI flash write protection, Boot Guard,
    /// IOMMU, kernel lockdown, option ROMs; the registers need root).
    #[arg(long)]
    pub live: bool,
    /// With --live, read the host's trees under this root instead of `/`
    /// (a copied or built tree).
    #[arg(long, value_name = "DIR", default_value = "/", requires = "live")]
    pub root: PathBuf,
    /// Vendor firmware references (`reference add`) to judge the firmware by.
    #[arg(long, value_name = "DIR")]
    pub references: Option<PathBuf>,
    /// The allowed signers a signed reference store must be signed by.
    #[arg(long, value_name = "FILE", requires = "references")]
    pub reference_signers: Option<PathBuf>,
    /// More implant indicators, in CHIPSEC's blockedlist.json format
    /// (repeatable).
    #[arg(long, value_name = "FILE")]
    pub indicators: Vec<PathBuf>,
    /// A UEFI revocation update (dbxupdate*.bin) the dbx must hold every
    /// entry of (repeatable).
    #[arg(long, value_name = "FILE")]
    pub dbx: Vec<PathBuf>,
    /// A shim binary whose newest SBAT level (its .sbatlevel section) the
    /// measured SbatLevel must hold (repeatable; with --live, the host's
    /// usr/lib/shim by default).
    #[arg(long, value_name = "FILE")]
    pub shim: Vec<PathBuf>,
    /// A firmware image (an SPI dump, a vendor image, the machine's flash
    /// copy) whose executable files the indicators are matched against:
    /// GUID, UI name, hashes and byte patterns (repeatable).
    #[arg(long, value_name = "IMAGE")]
    pub firmware: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: DiffFormat,
    #[command(flatten)]
    pub out: Output,
    /// Exit 1 when a check of at least this severity fails.
    #[arg(long, value_enum, default_value = "high")]
    pub fail_on: FailOn,
    /// Count an unknown result as a failure for the exit code.
    #[arg(long)]
    pub strict: bool,
}

/// Runs `bootaudit check`.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let mut o = bootaudit::check::Options::default();
    for f in &a.indicators {
        o.blocklist
            .extend(bootaudit::check::indicators::read_file(f)?);
    }
    for f in &a.dbx {
        o.dbx_updates
            .push(bootaudit::secure_boot::dbx::read_update(f)?);
    }
    for f in &a.firmware {
        let b = bootaudit::fsutil::read_input(f, bootaudit::firmware::MAX_IMAGE)
            .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", f.display()))?;
        let name = f.display().to_string();
        let rules = bootaudit::check::indicator_rules(&o.blocklist);
        let candidates = bootaudit::check::indicators::image_candidates(&b, &name, &rules)
            .map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        o.firmware.push(bootaudit::check::FirmwareImage {
            sha256: bootaudit::hexser::sha256(&b),
            file: name,
            candidates,
        });
    }
    for f in &a.shim {
        let b = bootaudit::fsutil::read_input(f, 64 << 20)
            .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", f.display()))?;
        let levels = bootaudit::secure_boot::sbat::shim_levels(&b)
            .map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
        o.shims.push((f.display().to_string(), Ok(levels)));
    }
    if a.references.is_some() {
        o.references = Some(load_references(
            a.references.as_deref(),
            a.reference_signers.as_deref(),
        )?);
    }
    let (s, r) = match &a.snapshot {
        Some(f) => {
            let s = bootaudit::snapshot::read_file(f)?;
            let r = bootaudit::check::run(&f.display().to_string(), &s, &o);
            (s, r)
        }
        None => {
            bootaudit::fsutil::check_input_dir(&a.root)
                .map_err(|e| anyhow::anyhow!("{}: {e}", a.root.display()))?;
            bootaudit::check::run_live(&a.root, o)
                .map_err(|e| anyhow::anyhow!("{}: {e}", a.root.display()))?
        }
    };
    match a.format {
        DiffFormat::Table => emit_to(&a.out, &render::check::table(&r))?,
        DiffFormat::Json => emit_json_to(&a.out, &r)?,
        DiffFormat::Html => deliver(a.out.file(), render::check::html(&r).as_bytes())?,
        DiffFormat::Jsonl => {
            let host = bootaudit::siem::host(&s, &r.file);
            let at = bootaudit::siem::collected_at(&s);
            let mut v = Vec::new();
            bootaudit::siem::write(
                &mut v,
                r.results
                    .iter()
                    .map(|c| bootaudit::siem::check(&host, at, &r.file, c)),
            )?;
            deliver(a.out.file(), &v)?
        }
    }
    Ok(exit_if(bootaudit::check::fails(
        &r,
        a.fail_on.into(),
        a.strict,
    )))
}
