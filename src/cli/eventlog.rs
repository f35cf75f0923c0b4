//! `bootaudit eventlog`: Parse a TPM measured-boot event log, check its digests, replay it, and optionally compare the replay with real PCR values.

use super::*;

/// The arguments of `bootaudit eventlog`.
#[derive(clap::Args)]
pub struct Args {
    /// The binary log (e.g. a copy of
    /// /sys/kernel/security/tpm0/binary_bios_measurements).
    pub file: PathBuf,
    /// Real PCR values: a JSON file ({"sha256": {"0": "hex"}}), `sysfs`,
    /// `sysfs:ROOT`, or `tpm:TCTI`.
    #[arg(long, value_name = "SOURCE", conflicts_with = "tpm")]
    pub pcrs: Option<String>,
    /// Read real PCR values from a live TPM through this TCTI
    /// (e.g. device:/dev/tpmrm0 or swtpm:host=127.0.0.1,port=2321).
    #[arg(long, value_name = "TCTI")]
    pub tpm: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Show only these PCRs (repeat or separate with commas).
    #[arg(long = "pcr", value_name = "N", value_delimiter = ',', num_args = 1.., value_parser = clap::value_parser!(u32).range(0..24))]
    pub pcr: Vec<u32>,
}

/// Runs `bootaudit eventlog`.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let Args {
        file,
        pcrs,
        tpm,
        format,
        pcr,
    } = a;

    let log = bootaudit::eventlog::read_file(&file)?;
    let source = match (pcrs, tpm) {
        (Some(s), _) => Some(PcrSource::parse(&s)),
        (None, Some(t)) => Some(PcrSource::Tpm(t)),
        (None, None) => None,
    };
    let actual = source
        .as_ref()
        .map(|s| s.read().map(|v| (s.describe(), v)))
        .transpose()?;
    let r = report::build(
        &file.display().to_string(),
        &log,
        &pcr,
        actual.as_ref().map(|(d, v)| (d.clone(), v)),
    );
    match format {
        Format::Table => {
            let mut out = std::io::BufWriter::with_capacity(64 << 10, std::io::stdout().lock());
            quiet_pipe(render::eventlog::write_table(&r, &mut out).and_then(|_| out.flush()))?;
        }
        Format::Json => emit_json(&r)?,
    }
    Ok(exit_if(!r.ok))
}
