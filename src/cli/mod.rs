//! The subcommands of the `bootaudit` command line, one file each: every
//! file parses its arguments, calls the library and renders, and nothing
//! else. What they share is here: the output formats a person chooses
//! (mapped onto the library's types here, so the library does not depend
//! on clap), and one way to print, write and exit.

pub mod ak;
pub mod baseline;
pub mod check;
pub mod collect;
pub mod collector;
pub mod diff;
pub mod esp;
pub mod eventlog;
pub mod export;
pub mod firmware;
pub mod fleet;
pub mod ingest;
pub mod reference;
pub mod rules;
pub mod show;
pub mod timeline;
pub mod ui;
pub mod verify_boot;
pub mod verify_bundle;
pub mod verify_quote;

pub(crate) use bootaudit::logreport as report;
pub(crate) use bootaudit::pcrs::PcrSource;
pub(crate) use bootaudit::render;
pub(crate) use std::io::Write;
pub(crate) use std::path::{Path, PathBuf};
pub(crate) use std::process::ExitCode;

/// Output formats a person can choose with `--format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable tables.
    Table,
    /// One JSON object on stdout.
    Json,
}

/// Output formats of `bootaudit diff` and `fleet`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffFormat {
    /// Human-readable table.
    Table,
    /// One JSON object (diff) or JSON lines (fleet).
    Json,
    /// A self-contained HTML report.
    Html,
    /// One finding per line in the `bootaudit-finding/1` schema (with the
    /// host and collection time), for a SIEM.
    Jsonl,
}

/// Output formats of `bootaudit rules`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RulesFormat {
    /// Human-readable table.
    Table,
    /// One JSON array of rules.
    Json,
    /// The Markdown table the book carries (docs/src/rules.md).
    Markdown,
}

/// `--fail-on`: the library's severities, as the command line names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// Only critical findings fail.
    Critical,
    /// High and critical.
    High,
    /// Medium and above.
    Medium,
    /// Low and above.
    Low,
    /// Any finding.
    Info,
}

impl From<FailOn> for bootaudit::findings::Severity {
    fn from(f: FailOn) -> Self {
        use bootaudit::findings::Severity as S;
        match f {
            FailOn::Critical => S::Critical,
            FailOn::High => S::High,
            FailOn::Medium => S::Medium,
            FailOn::Low => S::Low,
            FailOn::Info => S::Info,
        }
    }
}

/// A verifier's nonce (one value, not a list of bytes, to clap).
#[derive(Clone, Debug)]
pub struct Nonce(pub Vec<u8>);

// `-o FILE`, for every command that prints a report. (Not a doc comment:
// clap would take one for the summary of each command it is flattened into,
// since their arguments are built deferred.)
#[derive(clap::Args, Clone, Debug, Default)]
pub struct Output {
    /// Write the report to this file (atomically; never through a symlink
    /// or into a special file) instead of stdout. `-` is stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

impl Output {
    /// The file, or `None` for stdout (no `-o`, or `-o -`).
    pub fn file(&self) -> Option<&Path> {
        self.output.as_deref().filter(|p| p.as_os_str() != "-")
    }
}

/// Prints a report for a person (a table, escaped for the terminal) or as
/// JSON, to stdout or `-o FILE`: the one way every subcommand with
/// `--format table|json` prints.
pub(crate) fn print<T: serde::Serialize>(
    out: &Output,
    format: Format,
    report: &T,
    table: impl FnOnce(&T) -> String,
) -> anyhow::Result<()> {
    match format {
        Format::Table => emit_to(out, &table(report)),
        Format::Json => emit_json_to(out, report),
    }
}

/// Where a streamed report goes: stdout, or `-o FILE` written atomically
/// (put in place by [`Sink::finish`] only).
pub(crate) enum Sink {
    Stdout(std::io::BufWriter<std::io::StdoutLock<'static>>),
    File(bootaudit::fsutil::AtomicFile, PathBuf),
}

impl Sink {
    /// Opens the destination of `out`.
    pub fn open(out: &Output) -> anyhow::Result<Sink> {
        Ok(match out.file() {
            None => Sink::Stdout(std::io::BufWriter::with_capacity(
                64 << 10,
                std::io::stdout().lock(),
            )),
            Some(p) => Sink::File(
                bootaudit::fsutil::AtomicFile::create(p).map_err(cannot_write(p))?,
                p.to_path_buf(),
            ),
        })
    }

    /// Writes, a closed stdout pipe being no error.
    pub fn put(&mut self, b: &[u8]) -> anyhow::Result<()> {
        match self {
            Sink::Stdout(w) => quiet_pipe(w.write_all(b)),
            Sink::File(f, p) => f.write_all(b).map_err(cannot_write(p)),
        }
    }

    /// Flushes stdout, or commits the file.
    pub fn finish(self) -> anyhow::Result<()> {
        match self {
            Sink::Stdout(mut w) => quiet_pipe(w.flush()),
            Sink::File(f, p) => f.commit().map_err(cannot_write(&p)),
        }
    }
}

/// [`emit`] to stdout or `-o FILE`.
/// Colour (`--color`) goes to stdout only, never into a file.
pub(crate) fn emit_to(out: &Output, s: &str) -> anyhow::Result<()> {
    match out.file() {
        None => emit(s),
        Some(p) => write_file(p, render::escape::terminal(s).as_bytes()),
    }
}

/// [`emit_json`] to stdout or `-o FILE`.
pub(crate) fn emit_json_to<T: serde::Serialize>(out: &Output, v: &T) -> anyhow::Result<()> {
    match out.file() {
        None => emit_json(v),
        Some(p) => {
            let mut b = Vec::new();
            render::json_to(v, &mut b)?;
            write_file(p, &b)
        }
    }
}

/// The allowed signers of `--allowed-signers FILE`, when it was given.
pub(crate) fn allowed_signers_from(
    file: Option<&Path>,
) -> anyhow::Result<Option<Vec<bootaudit::signing::AllowedSigner>>> {
    Ok(file
        .map(bootaudit::signing::read_allowed_signers)
        .transpose()?)
}

/// The references of `--references DIR`, when it was given.
pub(crate) fn load_references(
    dir: Option<&Path>,
    signers: Option<&Path>,
) -> anyhow::Result<Vec<bootaudit::firmware::reference::Reference>> {
    let allowed = allowed_signers_from(signers)?;
    Ok(match dir {
        Some(d) => bootaudit::firmware::reference::load_dir(d, allowed.as_deref())?
            .into_iter()
            .map(|(_, r)| r)
            .collect(),
        None => Vec::new(),
    })
}

/// Exit 1 when `fails`, else 0.
pub(crate) fn exit_if(fails: bool) -> ExitCode {
    if fails {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// A closed pipe (`| head`) is not an error worth exit code 2.
pub(crate) fn quiet_pipe(r: std::io::Result<()>) -> anyhow::Result<()> {
    match r {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => Ok(r?),
    }
}

/// `--outlier-share`: a share of a group, at least 0 and under one half
/// (a value half the group holds is not an outlier).
pub(crate) fn share(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if (0.0..0.5).contains(&v) {
        Ok(v)
    } else {
        Err("must be at least 0 and under 0.5".into())
    }
}

/// A nonce on the command line: hex, 1 to 64 bytes (TPM2B_DATA's limit).
pub(crate) fn parse_nonce(s: &str) -> Result<Nonce, String> {
    let b = hex::decode(s).map_err(|e| format!("not hex: {e}"))?;
    if b.is_empty() || b.len() > 64 {
        return Err(format!("{} bytes; a nonce has 1 to 64", b.len()));
    }
    Ok(Nonce(b))
}

/// Prints text for a person: everything the judged machine wrote into it
/// (names, descriptions, paths) has its control and bidi characters
/// escaped first.
pub(crate) fn emit(s: &str) -> anyhow::Result<()> {
    emit_bytes(ui::paint(&render::escape::terminal(s)).as_bytes())
}

pub(crate) fn emit_bytes(b: &[u8]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    quiet_pipe(out.write_all(b).and_then(|_| out.flush()))
}

/// The error of a failed write, naming the file.
pub(crate) fn cannot_write(path: &Path) -> impl Fn(std::io::Error) -> anyhow::Error + '_ {
    move |e| anyhow::anyhow!("{}: cannot write: {e}", path.display())
}

/// Writes `bytes` to `path` atomically, the error naming the file.
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    bootaudit::fsutil::write_atomic(path, bytes).map_err(cannot_write(path))
}

/// A report goes to `-o FILE` (atomically) or to stdout.
/// `-o -` is stdout.
pub(crate) fn deliver(output: Option<&Path>, bytes: &[u8]) -> anyhow::Result<()> {
    match output.filter(|p| p.as_os_str() != "-") {
        Some(p) => write_file(p, bytes),
        None => emit_bytes(bytes),
    }
}

pub(crate) fn emit_json<T: serde::Serialize>(v: &T) -> anyhow::Result<()> {
    let out = std::io::BufWriter::with_capacity(64 << 10, std::io::stdout().lock());
    quiet_pipe(render::json_to(v, out))
}

/// Seals `files` as a bundle at `dir` (`collect --bundle`, `ingest
/// --bundle`): the manifest with this command line, one time for the
/// manifest and the tar entries, and with `tcti` a TPM quote whose nonce is
/// the manifest's SHA-256.
/// Who seals a bundle: the operator's name for the manifest, and the
/// responder's SSH key that signs it (`--sign-key`).
pub(crate) struct Sealer {
    /// `--operator`.
    pub operator: Option<String>,
    /// `--sign-key`: an unencrypted OpenSSH private key.
    pub sign_key: Option<PathBuf>,
}

pub(crate) fn seal_bundle(
    dir: &Path,
    files: &[(String, Vec<u8>)],
    host: bootaudit::bundle::Host,
    sealer: Sealer,
    tcti: Option<&str>,
) -> anyhow::Result<ExitCode> {
    use bootaudit::bundle;
    let argv = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let now = bootaudit::attest::now();
    let mb = bundle::manifest_bytes(&bundle::manifest(files, argv, sealer.operator, host, now));
    let sha = bootaudit::hexser::sha256(&mb);
    let q = tcti.map(|t| quote_manifest(t, &sha)).transpose()?;
    let seal = sealer
        .sign_key
        .as_deref()
        .map(|k| bootaudit::signing::sign_in(bundle::SEAL_NAMESPACE, k, &mb))
        .transpose()?;
    bundle::write_any(dir, files, &mb, q.as_ref(), seal.as_deref(), now)?;
    ui::note(&format!(
        "wrote {} ({} files, manifest SHA-256 {sha}{}{})",
        dir.display(),
        files.len(),
        if q.is_some() {
            ", quoted by the TPM"
        } else {
            ""
        },
        if seal.is_some() {
            ", sealed with the responder's key"
        } else {
            ""
        }
    ));
    Ok(ExitCode::SUCCESS)
}

fn quote_manifest(tcti: &str, sha: &str) -> anyhow::Result<bootaudit::bundle::BundleQuote> {
    bootaudit::bundle::quote_manifest(tcti, sha).map_err(|e| anyhow::anyhow!("{tcti}: {e}"))
}
