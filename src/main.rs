//! The `bootaudit` command line: parses arguments, calls the library,
//! renders. Exit codes: 0 clean, 1 findings or mismatches, 2 bad usage or
//! unreadable input.

use bootaudit::eventlog::{self, report};
use bootaudit::pcrs::PcrSource;
use bootaudit::render::{self, Format};
use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;
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
    /// Compare a snapshot with a baseline snapshot of the same machine: every
    /// difference as a finding with a severity and, when the evidence has
    /// one, an explanation. Exit 1 when an unexplained finding at or above
    /// --fail-on exists.
    Diff {
        /// The baseline snapshot (known good).
        baseline: PathBuf,
        /// The snapshot to check.
        current: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
        /// Exit 1 when an unexplained finding at or above this severity exists.
        #[arg(long, value_enum, default_value = "high")]
        fail_on: bootaudit::findings::Severity,
    },
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("bootaudit: error: {e:#}");
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

fn emit(s: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    quiet_pipe(out.write_all(s.as_bytes()).and_then(|_| out.flush()))
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
                Format::Table => emit(&render::eventlog::table(&r))?,
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
            fail_on,
        } => {
            let a = bootaudit::snapshot::read_file(&baseline)?;
            let b = bootaudit::snapshot::read_file(&current)?;
            let r = bootaudit::diff::diff(
                &baseline.display().to_string(),
                &a,
                &current.display().to_string(),
                &b,
            );
            match format {
                Format::Table => emit(&render::diff::table(&r))?,
                Format::Json => emit_json(&r)?,
            }
            Ok(if bootaudit::findings::fails(&r.findings, fail_on) {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
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
