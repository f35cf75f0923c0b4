//! `bootaudit eventlog`: Parse a TPM measured-boot event log, check its digests, replay it, and optionally compare the replay with real PCR values.

use super::*;

// The arguments of `bootaudit eventlog` (not a doc comment: clap would take one for the
// command's summary, since the command's arguments are built deferred).
#[derive(clap::Args)]
pub struct Args {
    /// The binary log (e.g. a copy of
    /// /sys/kernel/security/tpm0/binary_bios_measurements), or a Windows
    /// MeasuredBoot directory (C:\\Windows\\Logs\\MeasuredBoot, one
    /// `BOOT-RESUME.log` per boot), of which the newest boot is read.
    pub file: PathBuf,
    /// With a MeasuredBoot directory: report every boot's log, oldest
    /// first (JSON: an array of reports), not only the newest.
    #[arg(long, conflicts_with_all = ["pcrs", "tpm", "rtmrs"])]
    pub all_boots: bool,
    /// Real PCR values: a JSON file ({"sha256": {"0": "hex"}}), `sysfs`,
    /// `sysfs:ROOT`, or `tpm:TCTI`.
    #[arg(long, value_name = "SOURCE", conflicts_with = "tpm")]
    pub pcrs: Option<String>,
    /// For a CC event log (Intel TDX CCEL): the real RTMR values, a JSON
    /// file {"rtmr0": "hex", ..., "rtmr3": "hex"} (from a TD quote, or the
    /// guest's /sys/class/misc/tdx_guest/measurements).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["pcrs", "tpm"])]
    pub rtmrs: Option<PathBuf>,
    /// Read real PCR values from a live TPM through this TCTI
    /// (e.g. device:/dev/tpmrm0 or swtpm:host=127.0.0.1,port=2321).
    #[arg(long, value_name = "TCTI")]
    pub tpm: Option<String>,
    /// Output format. tpm2-yaml: what `tpm2_eventlog` prints (see
    /// --eventlog-version), for the pipelines that read it.
    #[arg(long, value_enum, default_value = "table")]
    pub format: LogFormat,
    #[command(flatten)]
    pub out: Output,
    /// With --format tpm2-yaml: tpm2_eventlog's output version (2 decodes
    /// Secure Boot and boot variables, the GPT and the startup locality).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=2), default_value_t = 1)]
    pub eventlog_version: u8,
    /// Show only these PCRs (repeat or separate with commas).
    #[arg(long = "pcr", value_name = "N", value_delimiter = ',', num_args = 1.., value_parser = clap::value_parser!(u32).range(0..24))]
    pub pcr: Vec<u32>,
}

/// Output formats of `bootaudit eventlog`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable tables.
    Table,
    /// One JSON object on stdout.
    Json,
    /// The YAML tpm2_eventlog (tpm2-tools 5.x) prints.
    Tpm2Yaml,
}

/// Prints a log as tpm2_eventlog's YAML.
pub fn print_tpm2_yaml(file: &std::path::Path, version: u8, out: &Output) -> anyhow::Result<()> {
    let log = bootaudit::eventlog::read_file(file)?;
    let v = if version == 2 {
        bootaudit::eventlog::tpm2_yaml::Version::V2
    } else {
        bootaudit::eventlog::tpm2_yaml::Version::V1
    };
    let text = bootaudit::eventlog::tpm2_yaml::render(&log, v);
    deliver(out.file(), text.as_bytes())
}

/// bootaudit run as `tpm2_eventlog [--eventlog-version=N] FILE`: prints the
/// log as that tool does, and exits 0, or 1 with a message on stderr as it
/// does on bad arguments or an unreadable log.
pub fn tpm2_eventlog_drop_in(args: impl Iterator<Item = std::ffi::OsString>) -> ExitCode {
    let fail = |msg: String| {
        eprintln!("ERROR: {}", render::escape::terminal(&msg));
        ExitCode::from(1)
    };
    let mut version = 1u8;
    let mut file = None;
    let mut args = args.peekable();
    while let Some(a) = args.next() {
        let s = a.to_string_lossy().into_owned();
        let value = if let Some(v) = s.strip_prefix("--eventlog-version=") {
            Some(v.to_string())
        } else if s == "--eventlog-version" || s == "-y" {
            match args.next() {
                Some(v) => Some(v.to_string_lossy().into_owned()),
                None => return fail(format!("{s} needs a value")),
            }
        } else {
            None
        };
        match value {
            Some(v) => match v.parse::<u8>() {
                Ok(n @ 1..=2) => version = n,
                _ => return fail(format!("Unexpected YAML version number: {v}")),
            },
            None if s.starts_with('-') && s != "-" => {
                return fail(format!(
                    "unknown option {s} (this is bootaudit as tpm2_eventlog)"
                ))
            }
            None if file.is_none() => file = Some(PathBuf::from(a)),
            None => return fail("expected one event log file".into()),
        }
    }
    let Some(file) = file else {
        return fail("expected an event log file".into());
    };
    match print_tpm2_yaml(&file, version, &Output::default()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(format!("{e:#}")),
    }
}

/// Runs `bootaudit eventlog`.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let Args {
        file,
        pcrs,
        rtmrs,
        tpm,
        format,
        pcr,
        all_boots,
        eventlog_version,
        out,
    } = a;
    let format = match format {
        LogFormat::Tpm2Yaml => {
            if all_boots || pcrs.is_some() || tpm.is_some() || rtmrs.is_some() || file.is_dir() {
                anyhow::bail!("--format tpm2-yaml prints one log file, with no PCR source");
            }
            print_tpm2_yaml(&file, eventlog_version, &out)?;
            return Ok(ExitCode::SUCCESS);
        }
        LogFormat::Table => Format::Table,
        LogFormat::Json => Format::Json,
    };

    if all_boots && !file.is_dir() {
        anyhow::bail!(
            "{}: --all-boots reads a Windows MeasuredBoot directory, and this is not a directory",
            file.display()
        );
    }
    let files = if file.is_dir() {
        let all = bootaudit::eventlog::measured_boot::logs(&file)?;
        if all_boots {
            all
        } else {
            all.into_iter().last().into_iter().collect()
        }
    } else {
        vec![file]
    };
    if all_boots {
        // One log at a time, read, reported and dropped: a MeasuredBoot
        // directory of years of boots is never held in memory at once.
        let mut sink = Sink::open(&out)?;
        let mut all_ok = true;
        if format == Format::Json {
            sink.put(b"[")?;
        }
        for (i, f) in files.iter().enumerate() {
            let log = bootaudit::eventlog::read_file(f)?;
            let r = report::build(&f.display().to_string(), &log, &pcr, None);
            all_ok &= r.ok;
            let mut b = Vec::new();
            match format {
                Format::Table => render::eventlog::write_table(&r, &mut b)?,
                Format::Json => {
                    if i > 0 {
                        b.push(b',');
                    }
                    serde_json::to_writer_pretty(&mut b, &r)?;
                }
            }
            sink.put(&b)?;
        }
        if format == Format::Json {
            sink.put(b"]\n")?;
        }
        sink.finish()?;
        return Ok(exit_if(!all_ok));
    }
    let file = files.into_iter().next().unwrap_or_default();
    let log = bootaudit::eventlog::read_file(&file)?;
    let source = match (pcrs, tpm, rtmrs) {
        (Some(s), _, _) => Some(PcrSource::parse(&s)),
        (None, Some(t), _) => Some(PcrSource::Tpm(t)),
        (None, None, Some(r)) => Some(PcrSource::Rtmrs(r)),
        (None, None, None) => None,
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
            let mut b = Vec::new();
            render::eventlog::write_table(&r, &mut b)?;
            deliver(out.file(), &b)?;
        }
        Format::Json => emit_json_to(&out, &r)?,
    }
    Ok(exit_if(!r.ok))
}
