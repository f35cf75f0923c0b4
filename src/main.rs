//! The `bootaudit` command line: parses arguments, calls the library,
//! renders. Exit codes: 0 clean, 1 findings or mismatches, 2 bad usage or
//! unreadable input.

use bootaudit::eventlog::{self, report};
use bootaudit::pcrs::PcrSource;
use bootaudit::render::{self, Format};
use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "bootaudit",
    version,
    about = "Boot-integrity forensics: TPM event logs, UEFI snapshots, baselines"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse a TPM measured-boot event log, check its digests, replay it, and
    /// optionally compare the replay with real PCR values.
    Eventlog {
        /// The binary log (e.g. a copy of
        /// /sys/kernel/security/tpm0/binary_bios_measurements).
        file: PathBuf,
        /// Real PCR values: a JSON file ({"sha256": {"0": "hex"}}), `sysfs`,
        /// `sysfs:ROOT`, or `tpm:TCTI`.
        #[arg(long, value_name = "SOURCE", conflicts_with = "tpm")]
        pcrs: Option<String>,
        /// Read real PCR values from a live TPM through this TCTI
        /// (e.g. device:/dev/tpmrm0 or swtpm:host=127.0.0.1,port=2321).
        #[arg(long, value_name = "TCTI")]
        tpm: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
        /// Show only these PCRs (repeat or separate with commas).
        #[arg(long = "pcr", value_name = "N", value_delimiter = ',', num_args = 1.., value_parser = clap::value_parser!(u32).range(0..24))]
        pcr: Vec<u32>,
    },
    /// Make or amend a baseline: the known-good state of a machine.
    #[command(subcommand)]
    Baseline(BaselineCmd),
    /// Compare a snapshot with a baseline snapshot of the same machine: every
    /// difference as a finding with a severity and, when the evidence has
    /// one, an explanation. Exit 1 when an unexplained finding at or above
    /// --fail-on exists.
    Diff {
        /// The baseline: a snapshot of the machine in a known-good state, or
        /// a baseline made by `bootaudit baseline create`.
        baseline: PathBuf,
        /// The snapshot to check.
        current: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: render::DiffFormat,
        /// Write the report to this file (atomically) instead of stdout.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Exit 1 when an unexplained finding at or above this severity exists.
        #[arg(long, value_enum, default_value = "high")]
        fail_on: bootaudit::findings::Severity,
        /// Require the baseline to carry a valid SSH signature (BASELINE.sig)
        /// by a key this allowed-signers file lists (ssh-keygen -Y format);
        /// an unsigned or wrongly signed baseline is refused (exit 2).
        #[arg(long, value_name = "FILE")]
        allowed_signers: Option<PathBuf>,
        /// Compare even when the baseline's SMBIOS system identity is that
        /// of another machine (refused by default, exit 2).
        #[arg(long)]
        allow_other_machine: bool,
    },
    /// Gather a snapshot on this running Linux host (sysfs, securityfs,
    /// efivarfs): ACPI tables, memory maps, the TPM event log and PCRs,
    /// Secure Boot variables and boot entries, identity. What is missing or
    /// unreadable is recorded in the snapshot with the reason.
    Collect {
        /// Write the snapshot here (atomically) instead of stdout.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Read the kernel's trees under this root instead of `/` (a copied
        /// tree, a mounted disk, an unpacked tarball of /sys).
        #[arg(long, value_name = "DIR", default_value = "/")]
        root: PathBuf,
        /// Read PCRs from the TPM through this TCTI when sysfs has none
        /// (e.g. `device:/dev/tpmrm0`, `swtpm:host=127.0.0.1,port=2321`).
        #[arg(long, value_name = "TCTI")]
        tpm: Option<String>,
        /// The ESP whose EFI binaries to hash (a mounted directory or an
        /// image); by default <root>/boot/efi or <root>/efi.
        #[arg(long, value_name = "PATH")]
        esp: Option<PathBuf>,
        /// Quote the PCRs with the TPM (through --tpm, default
        /// device:/dev/tpmrm0) and bootaudit's attestation key.
        #[arg(long, requires = "nonce")]
        quote: bool,
        /// The verifier's nonce for --quote, hex (up to 64 bytes).
        #[arg(long, value_name = "HEX", value_parser = parse_nonce)]
        nonce: Option<Nonce>,
        /// Also write the attestation key's public part (TPMT_PUBLIC) here,
        /// to enrol it with the verifier.
        #[arg(long, value_name = "FILE", requires = "quote")]
        ak_pub_out: Option<PathBuf>,
    },
    /// Check a snapshot's TPM quote: made by the trusted attestation key,
    /// over the verifier's nonce, quoting exactly the snapshot's PCR
    /// values, to which its event log replays. Exit 0 when every check
    /// passes, 1 when one fails.
    VerifyQuote {
        /// The snapshot (from `bootaudit collect --quote`).
        snapshot: PathBuf,
        /// The trusted AK: TPMT_PUBLIC or TPM2B_PUBLIC (as `collect
        /// --ak-pub-out` or `tpm2_readpublic -o` write it).
        #[arg(long, value_name = "FILE")]
        ak_pub: PathBuf,
        /// The nonce the verifier gave to `collect --quote`, hex.
        #[arg(long, value_name = "HEX", value_parser = parse_nonce)]
        nonce: Nonce,
        /// Require the quote to cover only these PCRs (by default: every
        /// PCR the snapshot records and the log extends).
        #[arg(long = "pcrs", value_name = "N", value_delimiter = ',', num_args = 1.., value_parser = clap::value_parser!(u32).range(0..24))]
        pcrs: Vec<u32>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// List the EFI binaries on an ESP (a mounted directory, or a FAT or
    /// GPT/MBR disk image) with their SHA-256 and Authenticode hashes; with
    /// an event log or a snapshot, match each boot application measured
    /// into PCR4 to a file. Exit 1 when one ran that the ESP does not hold,
    /// or the file at its place has another hash.
    Esp {
        /// The ESP: a directory or an image file.
        esp: PathBuf,
        /// A TPM event log (binary_bios_measurements) to match.
        #[arg(long, value_name = "FILE", conflicts_with = "snapshot")]
        eventlog: Option<PathBuf>,
        /// A snapshot whose event log to match.
        #[arg(long, value_name = "FILE")]
        snapshot: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Check a fleet: group hosts by platform and firmware identity, build
    /// each group's consensus, and report every host that departs from it
    /// (and, with --baselines, from its own baseline). Exit 1 when a host
    /// has an unexplained finding at or above --fail-on, else 2 when a
    /// snapshot was unreadable, else 0.
    Fleet {
        /// A directory of snapshots (searched recursively for *.json), a
        /// JSON-lines file of snapshots, or - for JSON lines on stdin.
        input: PathBuf,
        /// Per-host baselines: DIR/<host id>.json (host id: machine-id,
        /// else SMBIOS UUID or serial, else hostname).
        #[arg(long, value_name = "DIR")]
        baselines: Option<PathBuf>,
        /// table: per-group summary and the outliers; json: one record per
        /// host (JSON lines, for a SIEM), then a summary record; html: a
        /// self-contained overview (groups, outliers, their findings).
        #[arg(long, value_enum, default_value = "table")]
        format: render::DiffFormat,
        /// Write the report to this file (atomically) instead of stdout.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// The threshold for outliers and the exit status.
        #[arg(long, value_enum, default_value = "high")]
        fail_on: bootaudit::findings::Severity,
        /// A value held by at most this share of a group's hosts (and by
        /// fewer than hold another) is a departure.
        #[arg(long, default_value_t = 0.05, value_parser = share)]
        outlier_share: f64,
        /// Worker threads (default: the machine's cores).
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
        workers: Option<u16>,
        /// Require every per-host baseline to be signed by a key this
        /// allowed-signers file lists (a host whose baseline is not is
        /// reported with `baseline.missing`).
        #[arg(long, value_name = "FILE", requires = "baselines")]
        allowed_signers: Option<PathBuf>,
        /// Judge hosts even against baselines of other machines.
        #[arg(long, requires = "baselines")]
        allow_other_machine: bool,
        /// With `-`, the most bytes read from stdin (it is spooled to a
        /// temporary file, read twice).
        #[arg(long, value_name = "BYTES", default_value_t = bootaudit::fleet::MAX_SPOOL)]
        max_stdin: u64,
    },
    /// List every rule a finding can carry: its id, category, severity (and
    /// how it varies), what may explain it, and what it means. For
    /// suppressions, baseline acceptances and SIEM mappings.
    Rules {
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: render::RulesFormat,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish,
    /// powershell) for bootaudit on stdout.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print bootaudit's man page (roff) on stdout, generated from these
    /// definitions: `bootaudit man > bootaudit.1`.
    Man,
    /// Pull the collector's snapshots out of an ESP (a mounted directory, or
    /// a raw FAT or GPT/MBR disk image, read in-process without mounting or
    /// modifying it), validate them, and write them into a directory.
    Ingest {
        /// The ESP: a directory or an image file.
        esp: PathBuf,
        /// Where to write the snapshots.
        #[arg(short, long, value_name = "DIR")]
        out: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Summarise a snapshot: identity, memory maps, MapKey evidence, TPM,
    /// and whether its event log replays to the PCRs it recorded.
    Show {
        /// The snapshot (JSON, from the collector or `bootaudit ingest`).
        snapshot: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

#[derive(Subcommand)]
enum BaselineCmd {
    /// Make a baseline from one or more snapshots of a known-good machine;
    /// what differs between them is learned as legitimate variation.
    Create {
        /// The snapshots (the first is the reference).
        #[arg(required = true)]
        snapshots: Vec<PathBuf>,
        /// Where to write the baseline (atomically).
        #[arg(short, long)]
        out: PathBuf,
        /// Sign the baseline with this OpenSSH private key (unencrypted),
        /// writing OUT.sig beside it, for `diff --allowed-signers`.
        #[arg(long, value_name = "KEY")]
        sign_key: Option<PathBuf>,
    },
    /// Accept findings (a rule id, or rule:subject as `diff --format json`
    /// shows them) so that later diffs show them as explained.
    Accept {
        /// The baseline to amend.
        baseline: PathBuf,
        /// The findings to accept.
        #[arg(long = "finding", required = true, num_args = 1..)]
        findings: Vec<String>,
        /// Why they are accepted.
        #[arg(long)]
        reason: String,
        /// Who accepts them (default: $USER).
        #[arg(long)]
        by: Option<String>,
        /// Where to write the amended baseline (atomically).
        #[arg(short, long)]
        out: PathBuf,
        /// Sign the amended baseline with this OpenSSH private key,
        /// writing OUT.sig beside it.
        #[arg(long, value_name = "KEY")]
        sign_key: Option<PathBuf>,
        /// Require the baseline being amended to be signed by one of these
        /// allowed signers.
        #[arg(long, value_name = "FILE")]
        allowed_signers: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = bootaudit::fsutil::remove_temporaries_on_signals() {
        eprintln!("bootaudit: warning: no signal handler ({e}); temporaries stay after Ctrl-C");
    }
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            let msg = format!("{e:#}");
            eprintln!("bootaudit: error: {}", render::escape::terminal(&msg));
            ExitCode::from(2)
        }
    }
}

/// A closed pipe (`| head`) is not an error worth exit code 2.
fn quiet_pipe(r: std::io::Result<()>) -> anyhow::Result<()> {
    match r {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => Ok(r?),
    }
}

fn run_fleet(
    input: PathBuf,
    opts: bootaudit::fleet::Options,
    format: render::DiffFormat,
    output: Option<PathBuf>,
    fail_on: bootaudit::findings::Severity,
    max_stdin: u64,
) -> anyhow::Result<ExitCode> {
    use bootaudit::fleet;
    use render::DiffFormat;
    use std::io::IsTerminal;
    // stdin is spooled to a file: the analysis reads its input twice.
    let spooled = if input.as_os_str() == "-" {
        Some(
            fleet::spool(std::io::stdin().lock(), max_stdin)
                .map_err(|e| anyhow::anyhow!("stdin: {e}"))?,
        )
    } else {
        None
    };
    let src = match &spooled {
        Some(s) => fleet::Input::Lines {
            path: s.path().to_path_buf(),
            name: "-".into(),
        },
        None => match std::fs::symlink_metadata(&input) {
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
        },
    };
    let bar = std::io::stderr().is_terminal().then(|| {
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
    let mut file = match (&output, format) {
        (Some(p), DiffFormat::Json) => {
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
                    *res = serde_json::to_writer(&mut **w, &rec)
                        .map_err(std::io::Error::from)
                        .and_then(|_| w.write_all(b"\n"));
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
        DiffFormat::Json => {
            let mut v = serde_json::to_value(&summary)?;
            v["type"] = serde_json::Value::String("summary".into());
            serde_json::to_writer(&mut *sink, &v)?;
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

/// `--outlier-share`: a share of a group, at least 0 and under one half
/// (a value half the group holds is not an outlier).
fn share(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if (0.0..0.5).contains(&v) {
        Ok(v)
    } else {
        Err("must be at least 0 and under 0.5".into())
    }
}

/// A verifier's nonce (one value, not a list of bytes, to clap).
#[derive(Clone, Debug)]
struct Nonce(Vec<u8>);

/// A nonce on the command line: hex, 1 to 64 bytes (TPM2B_DATA's limit).
fn parse_nonce(s: &str) -> Result<Nonce, String> {
    let b = hex::decode(s).map_err(|e| format!("not hex: {e}"))?;
    if b.is_empty() || b.len() > 64 {
        return Err(format!("{} bytes; a nonce has 1 to 64", b.len()));
    }
    Ok(Nonce(b))
}

/// Prints text for a person: everything the judged machine wrote into it
/// (names, descriptions, paths) has its control and bidi characters
/// escaped first.
fn emit(s: &str) -> anyhow::Result<()> {
    emit_bytes(render::escape::terminal(s).as_bytes())
}

fn emit_bytes(b: &[u8]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    quiet_pipe(out.write_all(b).and_then(|_| out.flush()))
}

/// The error of a failed write, naming the file.
fn cannot_write(path: &Path) -> impl Fn(std::io::Error) -> anyhow::Error + '_ {
    move |e| anyhow::anyhow!("{}: cannot write: {e}", path.display())
}

/// Writes `bytes` to `path` atomically, the error naming the file.
fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    bootaudit::fsutil::write_atomic(path, bytes).map_err(cannot_write(path))
}

/// A report goes to `-o FILE` (atomically) or to stdout.
/// `-o -` is stdout.
fn deliver(output: Option<&Path>, bytes: &[u8]) -> anyhow::Result<()> {
    match output.filter(|p| p.as_os_str() != "-") {
        Some(p) => write_file(p, bytes),
        None => emit_bytes(bytes),
    }
}

fn emit_json<T: serde::Serialize>(v: &T) -> anyhow::Result<()> {
    let out = std::io::BufWriter::with_capacity(64 << 10, std::io::stdout().lock());
    quiet_pipe(render::json_to(v, out))
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Eventlog {
            file,
            pcrs,
            tpm,
            format,
            pcr,
        } => {
            let log = eventlog::read_file(&file)?;
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
                    let mut out =
                        std::io::BufWriter::with_capacity(64 << 10, std::io::stdout().lock());
                    quiet_pipe(
                        render::eventlog::write_table(&r, &mut out).and_then(|_| out.flush()),
                    )?;
                }
                Format::Json => emit_json(&r)?,
            }
            Ok(if r.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Diff {
            baseline,
            current,
            format,
            output,
            fail_on,
            allowed_signers,
            allow_other_machine,
        } => {
            let allowed = allowed_signers
                .as_deref()
                .map(bootaudit::signing::read_allowed_signers)
                .transpose()?;
            let l = bootaudit::baseline::load(&baseline, allowed.as_deref())?;
            let b = bootaudit::snapshot::read_file(&current)?;
            if !allow_other_machine {
                bootaudit::baseline::check_same_machine(&l, &b)?;
            }
            let r = bootaudit::baseline::diff_against(&l, &current.display().to_string(), &b);
            let text = match format {
                render::DiffFormat::Table => {
                    render::escape::terminal(&render::diff::table(&r)).into_owned()
                }
                render::DiffFormat::Json => {
                    let mut v = Vec::new();
                    render::json_to(&r, &mut v)?;
                    String::from_utf8(v)?
                }
                render::DiffFormat::Html => render::html::diff(&r),
            };
            deliver(output.as_deref(), text.as_bytes())?;
            Ok(if bootaudit::findings::fails(&r.findings, fail_on) {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Baseline(BaselineCmd::Create {
            snapshots,
            out,
            sign_key,
        }) => {
            let mut snaps = Vec::new();
            for p in &snapshots {
                let bytes = bootaudit::snapshot::read_bytes(p)?;
                let s = bootaudit::snapshot::parse(&bytes, &p.display().to_string())?;
                snaps.push((p.display().to_string(), bytes, s));
            }
            let b = bootaudit::baseline::create(&snaps)
                .ok_or_else(|| anyhow::anyhow!("no snapshot given"))?;
            bootaudit::baseline::write(&b, &out, sign_key.as_deref())?;
            emit(&format!(
                "{}: baseline of {} snapshots, {} varying findings learned\n",
                out.display(),
                b.sources.len(),
                b.varies.len()
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Baseline(BaselineCmd::Accept {
            baseline,
            findings,
            reason,
            by,
            out,
            sign_key,
            allowed_signers,
        }) => {
            let allowed = allowed_signers
                .as_deref()
                .map(bootaudit::signing::read_allowed_signers)
                .transpose()?;
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
        Command::Collect {
            output,
            root,
            tpm,
            esp,
            quote,
            nonce,
            ak_pub_out,
        } => {
            if !root.is_dir() {
                anyhow::bail!("{}: not a directory", root.display());
            }
            let snap = bootaudit::collect::collect(&bootaudit::collect::Options {
                root,
                tpm_tcti: tpm,
                esp,
                quote_nonce: if quote { nonce.map(|n| n.0) } else { None },
            });
            let quoted = snap.tpm.as_ref().and_then(|t| t.quote.as_ref());
            if let (Some(p), Some(q)) = (&ak_pub_out, quoted) {
                let ak = hex::decode(&q.ak_public)?;
                write_file(p, &ak)?;
            }
            let mut v = serde_json::to_vec_pretty(&snap)?;
            v.push(b'\n');
            deliver(output.as_deref(), &v)?;
            // The snapshot is written either way; a quote that was asked
            // for and could not be made is an unreadable input (exit 2).
            if quote && quoted.is_none() {
                let why: Vec<_> = snap
                    .errors
                    .iter()
                    .filter(|e| e.part == "tpm")
                    .map(|e| e.what.clone())
                    .collect();
                anyhow::bail!("no quote: {}", why.join("; "));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Esp {
            esp,
            eventlog,
            snapshot,
            format,
        } => {
            let (layout, binaries) = bootaudit::espbin::scan(&esp)?;
            let log = match (&eventlog, &snapshot) {
                (Some(p), _) => Some(bootaudit::eventlog::read_file(p)?),
                (None, Some(p)) => {
                    let s = bootaudit::snapshot::read_file(p)?;
                    match s.tpm.as_ref() {
                        Some(t) => bootaudit::snapshot::event_log(t, &p.display().to_string())?,
                        None => anyhow::bail!("{}: the snapshot has no TPM part", p.display()),
                    }
                }
                (None, None) => None,
            };
            let report = bootaudit::espbin::EspReport {
                esp: esp.display().to_string(),
                layout,
                boot_applications: log
                    .as_ref()
                    .map(|l| bootaudit::espbin::match_log(&binaries, l)),
                binaries,
            };
            match format {
                Format::Table => emit(&render::esp::table(&report))?,
                Format::Json => emit_json(&report)?,
            }
            Ok(if report.has_findings() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::VerifyQuote {
            snapshot,
            ak_pub,
            nonce,
            pcrs,
            format,
        } => {
            let s = bootaudit::snapshot::read_file(&snapshot)?;
            let ak = bootaudit::fsutil::read_input(&ak_pub, 1 << 16)
                .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", ak_pub.display()))?;
            let r = bootaudit::quote::verify_snapshot(
                &snapshot.display().to_string(),
                &s,
                &ak,
                &ak_pub.display().to_string(),
                &nonce.0,
                &pcrs,
            )?;
            match format {
                Format::Table => emit(&render::quote::table(&r))?,
                Format::Json => emit_json(&r)?,
            }
            Ok(if r.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Fleet {
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
        } => {
            let opts = bootaudit::fleet::Options {
                outlier_share,
                baselines,
                allowed_signers: allowed_signers
                    .as_deref()
                    .map(bootaudit::signing::read_allowed_signers)
                    .transpose()?,
                allow_other_machine,
                workers: workers
                    .map(usize::from)
                    .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
            };
            run_fleet(input, opts, format, output, fail_on, max_stdin)
        }
        Command::Rules { format } => {
            let all = bootaudit::rules::ALL;
            match format {
                render::RulesFormat::Table => emit(&render::rules::table(all))?,
                render::RulesFormat::Json => emit_json(&all)?,
                render::RulesFormat::Markdown => emit(&render::rules::markdown(all))?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut cmd, "bootaudit", &mut out);
            emit_bytes(&out)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => {
            let cmd = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut out)?;
            emit_bytes(&out)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Ingest { esp, out, format } => {
            let r = bootaudit::ingest::ingest(&esp, &out)?;
            match format {
                Format::Table => emit(&render::ingest::table(&r))?,
                Format::Json => emit_json(&r)?,
            }
            Ok(if r.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Show { snapshot, format } => {
            let s = bootaudit::snapshot::read_file(&snapshot)?;
            let r = bootaudit::show::build(&snapshot.display().to_string(), &s);
            match format {
                Format::Table => emit(&render::show::table(&r))?,
                Format::Json => emit_json(&r)?,
            }
            Ok(if r.consistent {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_definition_is_consistent() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
