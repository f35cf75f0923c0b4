//! `bootaudit fleet`: Check a fleet: group hosts by platform and firmware identity, build each group's consensus, and report every host that departs from it (and, with --baselines, from its own baseline). Exit 1 when a host has an unexplained finding at or above --fail-on, else 2 when a snapshot was unreadable, else 0.

use super::*;

// The arguments of `bootaudit fleet` (not a doc comment: clap would take one for the
// command's summary, since the command's arguments are built deferred).
#[derive(clap::Args)]
pub struct Args {
    /// A directory of snapshots (searched recursively for *.json), a
    /// JSON-lines file of snapshots, or - for JSON lines on stdin.
    pub input: PathBuf,
    /// Per-host baselines: DIR/<host id>.json (host id: machine-id,
    /// else SMBIOS UUID or serial, else hostname).
    #[arg(long, value_name = "DIR")]
    pub baselines: Option<PathBuf>,
    /// table: per-group summary and the outliers; json: one record per
    /// host (JSON lines, for a SIEM), then a summary record; html: a
    /// self-contained overview (groups, outliers, their findings).
    #[arg(long, value_enum, default_value = "table")]
    pub format: DiffFormat,
    /// Write the report to this file (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The threshold for outliers and the exit status.
    #[arg(long, value_enum, default_value = "high")]
    pub fail_on: FailOn,
    /// A value held by at most this share of a group's hosts (and by
    /// fewer than hold another) is a departure.
    #[arg(long, default_value_t = 0.05, value_parser = share)]
    pub outlier_share: f64,
    /// Worker threads (default: the machine's cores).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub workers: Option<u16>,
    /// Require every per-host baseline to be signed by a key this
    /// allowed-signers file lists (a host whose baseline is not is
    /// reported with `baseline.missing`).
    #[arg(long, value_name = "FILE", requires = "baselines")]
    pub allowed_signers: Option<PathBuf>,
    /// Judge hosts even against baselines of other machines.
    #[arg(long, requires = "baselines")]
    pub allow_other_machine: bool,
    /// Let a baseline's acceptances explain findings even though no
    /// signer verified it (--allowed-signers). By default they do not: the
    /// file can be rewritten by whoever holds the judged host. For labs.
    #[arg(long, requires = "baselines")]
    pub trust_unsigned_baseline: bool,
    /// A reference store (`bootaudit reference add`): every host's PCR0
    /// firmware blobs and loaded firmware drivers are judged against the
    /// vendor images it holds (with --baselines, within each host's
    /// baseline diff, where a match also verifies a firmware update).
    #[arg(long, value_name = "DIR")]
    pub references: Option<PathBuf>,
    /// Require every reference to carry a valid SSH signature
    /// (FILE.json.sig, namespace bootaudit-reference) by a key this
    /// allowed-signers file lists; an unsigned store is refused (exit 2).
    #[arg(long, value_name = "FILE", requires = "references")]
    pub reference_signers: Option<PathBuf>,
    /// With `-`, the most bytes read from stdin (read once, as it comes;
    /// more is an error).
    #[arg(long, value_name = "BYTES", default_value_t = bootaudit::fleet::MAX_STDIN)]
    pub max_stdin: u64,
    /// Also write every host's facts, the rows the consensus is built
    /// from, to this Parquet file (atomically), for the SQL of
    /// contrib/sql/ on DuckDB, Spark, Trino or BigQuery.
    #[arg(long, value_name = "FILE.parquet")]
    pub export: Option<PathBuf>,
}

/// Runs `bootaudit fleet`.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let Args {
        input,
        baselines,
        format,
        output,
        fail_on,
        outlier_share,
        workers,
        max_stdin,
        allowed_signers,
        allow_other_machine,
        trust_unsigned_baseline,
        references,
        reference_signers,
        export,
    } = a;
    let fail_on: bootaudit::findings::Severity = fail_on.into();

    let opts = bootaudit::fleet::Options {
        outlier_share,
        baselines,
        allowed_signers: allowed_signers_from(allowed_signers.as_deref())?,
        allow_other_machine,
        trust_unsigned_baseline,
        references: std::sync::Arc::new(load_references(
            references.as_deref(),
            reference_signers.as_deref(),
        )?),
        workers: workers
            .map(usize::from)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
        siem: format == DiffFormat::Jsonl,
        export,
        // Only a progress bar needs the total before the first pass.
        count_first: ui::talkative() && std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    run_fleet(input, opts, format, output, fail_on, max_stdin)
}

fn run_fleet(
    input: PathBuf,
    opts: bootaudit::fleet::Options,
    format: DiffFormat,
    output: Option<PathBuf>,
    fail_on: bootaudit::findings::Severity,
    max_stdin: u64,
) -> anyhow::Result<ExitCode> {
    use bootaudit::fleet;
    use std::io::IsTerminal;
    // stdin is read once, as it comes.
    let src = if input.as_os_str() == "-" {
        fleet::Input::Stdin {
            max_bytes: max_stdin,
        }
    } else {
        match std::fs::symlink_metadata(&input) {
            Ok(m) if m.is_dir() => fleet::Input::Dir(input.clone()),
            Ok(m) if m.is_file() => fleet::Input::Lines {
                path: input.clone(),
                name: input.display().to_string(),
            },
            Ok(m) => anyhow::bail!(
                "{}: {}, neither a directory nor a regular file",
                input.display(),
                bootaudit::fsutil::kind_of(&m.file_type())
            ),
            Err(e) => anyhow::bail!("{}: {e}", input.display()),
        }
    };
    let bar = (ui::talkative() && std::io::stderr().is_terminal()).then(|| {
        let b = indicatif::ProgressBar::new(0);
        b.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} (two passes) {elapsed}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    let progress = |n: usize, total: usize| {
        if let Some(b) = &bar {
            b.set_length(total as u64);
            b.set_position(n as u64);
        }
    };
    // JSON lines go out as they are made (to stdout, or to a temporary file
    // renamed into place at the end); table and HTML keep the outliers.
    let output = output.filter(|p| p.as_os_str() != "-");
    if let Some(p) = &opts.export {
        bootaudit::fsutil::check_output(p).map_err(cannot_write(p))?;
    }
    let mut file = match (&output, format) {
        (Some(p), DiffFormat::Json | DiffFormat::Jsonl) => {
            Some(bootaudit::fsutil::AtomicFile::create(p).map_err(cannot_write(p))?)
        }
        _ => None,
    };
    let mut stdout = std::io::BufWriter::new(std::io::stdout());
    let sink: &mut (dyn Write + Send) = match &mut file {
        Some(f) => f,
        None => &mut stdout,
    };
    let keep = std::sync::Mutex::new(Vec::new());
    let lines = std::sync::Mutex::new((&mut *sink, Ok(())));
    let summary = fleet::run(&src, &opts, fail_on, &progress, &|rec| match format {
        DiffFormat::Json => {
            if let Ok(mut g) = lines.lock() {
                let (w, res) = &mut *g;
                if res.is_ok() {
                    *res =
                        bootaudit::siem::to_line(&mut **w, &rec).and_then(|_| w.write_all(b"\n"));
                }
            }
        }
        DiffFormat::Jsonl => {
            if let (Ok(mut g), Some((host, at))) = (lines.lock(), &rec.siem) {
                let (w, res) = &mut *g;
                if res.is_ok() {
                    let all = rec
                        .findings
                        .iter()
                        .chain(rec.baseline_findings.iter().flatten())
                        .chain(rec.reference_findings.iter().flatten());
                    *res = bootaudit::siem::write(
                        &mut **w,
                        all.map(|f| {
                            bootaudit::siem::finding("fleet", host, at.as_deref(), &rec.source, f)
                        }),
                    );
                }
            }
        }
        DiffFormat::Table | DiffFormat::Html => {
            if rec.outlier || rec.error.is_some() {
                if let Ok(mut o) = keep.lock() {
                    o.push(rec);
                }
            }
        }
    })
    .map_err(|e| anyhow::anyhow!("{}: {e}", input.display()))?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let (_, written) = lines
        .into_inner()
        .map_err(|_| anyhow::anyhow!("output lock poisoned"))?;
    quiet_pipe(written)?;
    let mut outliers = keep.into_inner().unwrap_or_default();
    outliers.sort_by(|a, b| a.host.cmp(&b.host).then(a.source.cmp(&b.source)));
    match format {
        DiffFormat::Jsonl => {
            quiet_pipe(sink.flush())?;
            if let (Some(f), Some(p)) = (file, &output) {
                f.commit().map_err(cannot_write(p))?;
            }
        }
        DiffFormat::Json => {
            let mut v = serde_json::to_value(&summary)?;
            v["type"] = serde_json::Value::String("summary".into());
            bootaudit::siem::to_line(&mut *sink, &v)?;
            sink.write_all(b"\n")?;
            quiet_pipe(sink.flush())?;
            if let (Some(f), Some(p)) = (file, &output) {
                f.commit().map_err(cannot_write(p))?;
            }
        }
        DiffFormat::Table | DiffFormat::Html => {
            let text = if format == DiffFormat::Html {
                render::html::fleet(&summary, &outliers, fail_on)
            } else {
                render::escape::terminal(&render::fleet::table(&summary, &outliers, fail_on))
                    .into_owned()
            };
            deliver(output.as_deref(), text.as_bytes())?;
        }
    }
    Ok(if summary.outliers > 0 {
        ExitCode::from(1)
    } else if summary.unreadable > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
