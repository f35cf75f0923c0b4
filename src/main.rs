//! The `bootaudit` command line: parses arguments, calls the library,
//! renders. Each subcommand lives in its own file under `src/cli/`. Exit
//! codes: 0 clean, 1 findings or mismatches, 2 bad usage or unreadable
//! input.

mod allocator;
mod cli;

use bootaudit::render;
use clap::{FromArgMatches, Parser, Subcommand};
use std::process::ExitCode;

/// mimalloc for `fleet`, the C library's allocator for every other command
/// (`allocator` says why).
#[global_allocator]
static ALLOCATOR: allocator::Allocator = allocator::Allocator;

#[derive(Parser)]
#[command(
    name = "bootaudit",
    version,
    about = "Boot-integrity forensics: TPM event logs, UEFI snapshots, baselines"
)]
struct Cli {
    // These three are taken before a command's name or after it, though
    // not declared `global` here: `with_global_options` says why.
    /// Print no warnings, notes or progress on stderr (errors still).
    #[arg(short, long, conflicts_with = "verbose")]
    quiet: bool,
    /// Print more on stderr: each input file, with its size, as it is read.
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Colour severities and verdicts in tables on stdout (auto: when stdout
    /// is a terminal, NO_COLOR is unset and TERM is not `dumb`). Never into
    /// a file.
    #[arg(long, value_enum, default_value = "auto", value_name = "WHEN")]
    color: cli::ui::ColorChoice,
    #[command(subcommand)]
    command: Command,
}

/// Deferred: each subcommand's arguments are built only when that subcommand
/// is parsed or documented (its name and summary are there from the start,
/// for the grouped help), so a run builds one command's definitions, not
/// twenty.
#[derive(Subcommand)]
#[command(defer = true)]
enum Command {
    // The order is the one of `bootaudit --help` (GROUPS below), which is
    // also the order of the man page and the completions.
    /// Judge one machine with no baseline: its evidence's consistency, and the known bad.
    ///
    /// Judge one machine with no baseline, as an incident responder finds
    /// it: the consistency of its evidence (the event log against the PCRs,
    /// the loaded images against PCR4, Secure Boot policy against PCR7...)
    /// and what is known bad (test keys, revoked boot managers, published
    /// implant indicators). Exit 1 when a check at or above --fail-on fails.
    Check(cli::check::Args),

    /// Compare a snapshot with a baseline of the same machine.
    ///
    /// Compare a snapshot with a baseline snapshot of the same machine: every
    /// difference as a finding with a severity and, when the evidence has
    /// one, an explanation. Exit 1 when an unexplained finding at or above
    /// --fail-on exists.
    Diff(cli::diff::Args),

    /// Check a fleet: every host that departs from its identical siblings.
    ///
    /// Check a fleet: group hosts by platform and firmware identity, build
    /// each group's consensus, and report every host that departs from it
    /// (and, with --baselines, from its own baseline). Exit 1 when a host
    /// has an unexplained finding at or above --fail-on, else 2 when a
    /// snapshot was unreadable, else 0.
    Fleet(cli::fleet::Args),

    /// Inventory a firmware image, or compare two (`firmware diff`).
    ///
    /// Inventory a UEFI firmware image (an OVMF .fd, a full SPI dump, a
    /// vendor's capsule): every volume and FFS file, with UI names, body
    /// hashes and dependency expressions. `firmware diff KNOWN-GOOD IMAGE`
    /// compares two images. Exit 1 on structural problems (inventory) or
    /// findings at or above --fail-on (diff), 2 when unreadable.
    Firmware(cli::firmware::Args),

    /// Who changed the firmware, when, and with what tool: OS logs and boots on one time line.
    ///
    /// Put the OS's logs (Windows event logs, the journal, auditd, fwupd's
    /// history, the firmware's boot log) and the firmware states of the
    /// measured boots (snapshots, MeasuredBoot logs) on one time line: who
    /// changed the firmware, when, and with what tool. Exit 1 when an
    /// unexplained finding at or above --fail-on exists.
    Timeline(cli::timeline::Args),

    /// Gather a snapshot on this running Linux host.
    ///
    /// Gather a snapshot on this running Linux host (sysfs, securityfs,
    /// efivarfs): ACPI tables, memory maps, the TPM event log and PCRs,
    /// Secure Boot variables and boot entries, identity. What is missing or
    /// unreadable is recorded in the snapshot with the reason.
    Collect(cli::collect::Args),

    /// Put the UEFI collector on this machine's ESP, or on a USB stick.
    ///
    /// Put the UEFI collector on this machine's ESP with a boot entry that
    /// runs it before the OS, once or at every boot (`collector install`),
    /// take it off (`collector uninstall`), or write a bootable image for a
    /// USB stick (`collector media`).
    #[command(subcommand)]
    Collector(cli::collector::Command),

    /// Pull the collector's snapshots out of an ESP or a disk image.
    ///
    /// Pull the collector's snapshots out of an ESP (a mounted directory, or
    /// a raw FAT or GPT/MBR disk image, read in-process without mounting or
    /// modifying it), validate them, and write them into a directory.
    Ingest(cli::ingest::Args),

    /// List an ESP's EFI binaries and match them to the boot's PCR4.
    ///
    /// List the EFI binaries on an ESP (a mounted directory, or a FAT or
    /// GPT/MBR disk image) with their SHA-256 and Authenticode hashes; with
    /// an event log or a snapshot, match each boot application measured
    /// into PCR4 to a file. Exit 1 when one ran that the ESP does not hold,
    /// or the file at its place has another hash.
    Esp(cli::esp::Args),

    /// Check a snapshot's TPM quote under a trusted attestation key.
    ///
    /// Check a snapshot's TPM quote: made by the trusted attestation key,
    /// over the verifier's nonce, quoting exactly the snapshot's PCR
    /// values, to which its event log replays. Exit 0 when every check
    /// passes, 1 when one fails.
    VerifyQuote(cli::verify_quote::Args),

    /// Check a sealed evidence bundle against its manifest and quote.
    ///
    /// Check a sealed evidence bundle (`collect --bundle`): every file
    /// against its manifest, and the TPM quote over the manifest.
    VerifyBundle(cli::verify_bundle::Args),

    /// Check that a pre-OS snapshot is of the same boot as a later quote.
    ///
    /// Check that a pre-OS collector snapshot is of the same boot, TPM and
    /// moment as a host snapshot quoted later (`collect --quote`): its boot
    /// quote, resetCount, PCRs 0-3, 6, 7 and PCR 4 against the host's.
    VerifyBoot(cli::verify_boot::Args),

    /// Make or amend a baseline: the known-good state of a machine.
    #[command(subcommand)]
    Baseline(cli::baseline::Cmd),

    /// Manage the store of vendor firmware references.
    ///
    /// Manage the reference store: `reference add IMAGE --vendor V
    /// --version X -o DIR` writes what a vendor image will measure and load
    /// (its volumes' digests, its files), for `diff --references DIR`.
    #[command(subcommand)]
    Reference(cli::reference::Command),

    /// Enrol an attestation key through the TPM's endorsement key.
    ///
    /// Enrol an attestation key: prove, with the TPM's endorsement-key
    /// certificate and credential activation, that it lives in a
    /// certified TPM.
    #[command(subcommand)]
    Ak(cli::ak::Command),

    /// Parse, check and replay a TPM measured-boot event log.
    ///
    /// Parse a TPM measured-boot event log, check its digests, replay it, and
    /// optionally compare the replay with real PCR values.
    Eventlog(cli::eventlog::Args),

    /// Summarise a snapshot, and check that its log replays to its PCRs.
    ///
    /// Summarise a snapshot: identity, memory maps, MapKey evidence, TPM,
    /// and whether its event log replays to the PCRs it recorded.
    Show(cli::show::Args),

    /// Write a boot's event log in another tool's format.
    ///
    /// Write a boot's event log in another tool's format (CEL-JSON, a
    /// Keylime measured-boot policy).
    #[command(subcommand)]
    Export(cli::export::Command),

    /// List every rule a finding can carry.
    ///
    /// List every rule a finding can carry: its id, category, severity (and
    /// how it varies), what may explain it, and what it means. For
    /// suppressions, baseline acceptances and SIEM mappings.
    Rules(cli::rules::Args),

    /// Print a shell completion script.
    ///
    /// Print a shell completion script (bash, zsh, fish, elvish,
    /// powershell) for bootaudit on stdout.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },

    /// Print the man page (roff), or write one per command.
    ///
    /// Print bootaudit's man page (roff) on stdout, generated from these
    /// definitions: `bootaudit man > bootaudit.1`. With --dir, write one
    /// page per command and subcommand there (bootaudit.1,
    /// bootaudit-diff.1, bootaudit-baseline-create.1, ...), each
    /// atomically, and list them.
    Man {
        /// The directory to write every page into (it must exist, and not
        /// be a symbolic link).
        #[arg(long, value_name = "DIR")]
        dir: Option<std::path::PathBuf>,
    },
}

/// The groups of `bootaudit --help`, in the order a user meets them. Every
/// subcommand is in exactly one (a test checks it).
const GROUPS: &[(&str, &[&str])] = &[
    (
        "Judge a machine",
        &["check", "diff", "fleet", "firmware", "timeline"],
    ),
    (
        "Gather evidence",
        &["collect", "collector", "ingest", "esp"],
    ),
    ("Verify", &["verify-quote", "verify-bundle", "verify-boot"]),
    ("Manage", &["baseline", "reference", "ak"]),
    ("Read and convert", &["eventlog", "show", "export", "rules"]),
    ("Shell", &["completions", "man", "help"]),
];

/// The options every command takes, before its name or after it.
const GLOBAL_OPTIONS: [&str; 3] = ["quiet", "verbose", "color"];

/// The whole command line, every command taking the global options: for
/// help, man pages and completions.
fn command() -> clap::Command {
    let root = root_command();
    let all = command_names(&root);
    with_global_options(root, &all)
}

/// The command line to parse `argv` with: the global options are given to
/// the command `argv` names, or to every command for `help COMMAND`.
fn command_for(argv: &[std::ffi::OsString]) -> clap::Command {
    let root = root_command();
    let names = match named_command(&root, argv) {
        Some(name) if name == "help" => command_names(&root),
        Some(name) => vec![name],
        None => Vec::new(),
    };
    with_global_options(root, &names)
}

/// The names of the root's commands, in their order.
fn command_names(root: &clap::Command) -> Vec<String> {
    root.get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect()
}

/// The command `argv` names: its first word that is not an option of the
/// root or the value of one (`--color WHEN`), as clap finds it, since the
/// root takes no positional argument. `help` for the help command; None
/// when there is no such word, for a word no command has (clap then says
/// so), and after `--`.
fn named_command(root: &clap::Command, argv: &[std::ffi::OsString]) -> Option<String> {
    let mut words = argv.iter().skip(1);
    while let Some(w) = words.next() {
        let w = w.to_str()?;
        if w == "--" {
            return None;
        }
        if w == "--color" {
            words.next();
            continue;
        }
        if w.starts_with('-') {
            continue;
        }
        if w == "help" {
            return Some(w.to_string());
        }
        return root.find_subcommand(w).map(|c| c.get_name().to_string());
    }
    None
}

/// Gives the global options to the commands `names`.
///
/// clap's `global` would copy the root's options into all twenty commands
/// at every start, although a run parses one: sixty copies of a clap
/// argument, and the heap pages they fill, about 5% of `eventlog` on a
/// 34 KB log (the event-log bench). So the root's are its own, and each
/// command named gets copies declared global there, which clap passes on
/// to that command's own subcommands as it builds them. clap merges the
/// values given at each level as it does for any global option (the
/// deepest level's wins), and the root's own arguments, which have the
/// same ids, receive the merged values: `Cli` reads them there. A unit
/// test holds this to clap's own `global` on a set of placements.
fn with_global_options(root: clap::Command, names: &[String]) -> clap::Command {
    let globals: Vec<clap::Arg> = root
        .get_arguments()
        .filter(|a| GLOBAL_OPTIONS.contains(&a.get_id().as_str()))
        .map(|a| a.clone().global(true))
        .collect();
    // Added with no display order of the command's own (clap's `global`
    // adds them so too): its options keep theirs, and help lists both as
    // before.
    names.iter().fold(root, |root, name| {
        root.mut_subcommand(name, |c| {
            c.next_display_order(None)
                .args(globals.iter().cloned())
                .next_display_order(0)
        })
    })
}

/// The root of the command line, with the top-level help grouped by job:
/// clap lists subcommands in one block, so the block is written here from
/// GROUPS and each subcommand's one-line summary.
fn root_command() -> clap::Command {
    use clap::CommandFactory;
    let cmd = Cli::command();
    let width = GROUPS
        .iter()
        .flat_map(|(_, names)| names.iter())
        .map(|n| n.len())
        .max()
        .unwrap_or(0);
    let mut groups = String::new();
    for (title, names) in GROUPS {
        groups.push_str(&format!("{title}:\n"));
        for name in *names {
            let about = match *name {
                "help" => "Print this message or the help of the given subcommand(s)".to_string(),
                n => cmd
                    .find_subcommand(n)
                    .and_then(|c| c.get_about())
                    .map(|a| a.to_string())
                    .unwrap_or_default(),
            };
            groups.push_str(&format!("  {name:<width$}  {about}\n"));
        }
        groups.push('\n');
    }
    cmd.help_template(format!(
        "{{about-with-newline}}\n{{usage-heading}} {{usage}}\n\n{groups}Options:\n{{options}}{{after-help}}"
    ))
}

fn main() -> ExitCode {
    // Run under the name tpm2_eventlog (a symlink), bootaudit is a drop-in
    // for that tool: its arguments, its YAML, its exit status.
    let argv0 = std::env::args_os().next().unwrap_or_default();
    if std::path::Path::new(&argv0).file_name() == Some("tpm2_eventlog".as_ref()) {
        return cli::eventlog::tpm2_eventlog_drop_in(std::env::args_os().skip(1));
    }
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let matches = command_for(&argv).get_matches_from(argv);
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            let msg = format!("{e:#}");
            eprintln!("bootaudit: error: {}", render::escape::terminal(&msg));
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    cli::ui::set(cli.quiet, cli.verbose, cli.color);
    match cli.command {
        Command::Eventlog(a) => cli::eventlog::run(a),
        Command::Baseline(c) => cli::baseline::run(c),
        Command::Diff(a) => cli::diff::run(a),
        Command::Collect(a) => cli::collect::run(a),
        Command::Collector(c) => cli::collector::run(c),
        Command::VerifyQuote(a) => cli::verify_quote::run(a),
        Command::Ak(c) => cli::ak::run(c),
        Command::VerifyBundle(a) => cli::verify_bundle::run(a),
        Command::VerifyBoot(a) => cli::verify_boot::run(a),
        Command::Esp(a) => cli::esp::run(a),
        Command::Firmware(a) => cli::firmware::run(a),
        Command::Reference(c) => cli::reference::run(c),
        Command::Fleet(a) => {
            allocator::long_run();
            cli::fleet::run(a)
        }
        Command::Rules(a) => cli::rules::run(a),
        Command::Completions { shell } => {
            let mut cmd = command();
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut cmd, "bootaudit", &mut out);
            cli::emit_bytes(&out)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Man { dir: None } => {
            let cmd = command();
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut out)?;
            cli::emit_bytes(&out)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Man { dir: Some(dir) } => {
            bootaudit::fsutil::check_input_dir(&dir)
                .map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
            let mut cmd = command().disable_help_subcommand(true);
            cmd.build();
            let mut pages = Vec::new();
            man_pages(&cmd, &dir, &mut pages)?;
            cli::emit(&format!("{}\n", pages.join("\n")))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Ingest(a) => cli::ingest::run(a),
        Command::Show(a) => cli::show::run(a),
        Command::Check(a) => cli::check::run(a),
        Command::Export(c) => cli::export::run(c),
        Command::Timeline(a) => cli::timeline::run(a),
    }
}

/// Writes the man page of `cmd` and of every subcommand under it into
/// `dir`, each atomically, named as man(1) looks them up.
fn man_pages(
    cmd: &clap::Command,
    dir: &std::path::Path,
    out: &mut Vec<String>,
) -> anyhow::Result<()> {
    let page = clap_mangen::Man::new(cmd.clone());
    let mut roff = Vec::new();
    page.render(&mut roff)?;
    let path = dir.join(page.get_filename());
    cli::write_file(&path, &roff)?;
    out.push(path.display().to_string());
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        man_pages(sub, dir, out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The command line as clap's `global` defines it: the root's options
    /// declared global, copied into every command (what `command_for`
    /// avoids doing at each start).
    fn clap_global() -> clap::Command {
        GLOBAL_OPTIONS
            .iter()
            .fold(root_command(), |c, id| c.mut_arg(*id, |a| a.global(true)))
    }

    /// What a parse gives the program: the global options' values and the
    /// command's path, or the error clap prints.
    fn outcome(cmd: clap::Command, argv: &[&str]) -> String {
        let argv: Vec<std::ffi::OsString> = argv.iter().map(Into::into).collect();
        match cmd.try_get_matches_from(&argv) {
            Err(e) => format!("error {:?}: {}", e.kind(), e.render()),
            Ok(m) => {
                let cli = Cli::from_arg_matches(&m).expect("matches convert");
                let options = (cli.quiet, cli.verbose, cli.color);
                let mut path = Vec::new();
                let mut level = &m;
                while let Some((name, sub)) = level.subcommand() {
                    path.push(name.to_string());
                    level = sub;
                }
                format!("{options:?} {path:?}")
            }
        }
    }

    /// Every placement of the global options parses as clap's `global`
    /// parses it: the same values, command and errors. The cases put them
    /// before, after and between command names, at one level and at
    /// several, in both spellings, wrongly, and around `--`.
    #[test]
    fn global_options_parse_as_clap_global_ones_do() {
        let log = "fixtures/ovmf-swtpm/binary_bios_measurements";
        let cases: &[&[&str]] = &[
            &["-q", "export", "keylime-policy", log],
            &["export", "-q", "keylime-policy", log],
            &["export", "keylime-policy", "-q", log],
            &["export", "keylime-policy", log],
            &["-v", "eventlog", log],
            &["eventlog", log, "-v"],
            &["-vv", "eventlog", "-v", log],
            &["--color", "always", "eventlog", log],
            &["eventlog", "--color=always", log],
            &["--color=never", "eventlog", log, "--color", "always"],
            &["--color", "always", "eventlog", log, "--color", "never"],
            &["--color", "always", "eventlog", log, "--color", "auto"],
            &["-q", "rules", "-v"],
            &["rules", "-q", "-v"],
            &["-qv", "rules"],
            &["-q", "-q", "rules"],
            &["rules", "--quiet", "--verbose"],
            &["collector", "-q", "install"],
            &["collector", "-v", "media", "-q", "x.img"],
            &["firmware", "-q", "diff", "a", "b"],
            &["firmware", "diff", "a", "b", "--color", "never"],
            &["-v", "firmware", "diff", "-q", "a", "b"],
            &["verify-boot", "-q", "a", "b"],
            &["rules", "--color", "bogus"],
            &["--color", "bogus", "rules"],
            &["--color"],
            &["--color", "rules"],
            &["chek", "-q"],
            &["-q"],
            &[],
            &["--", "rules"],
            &["rules", "--", "-q"],
            &["-", "rules"],
            &["help", "-q"],
            &["rules", "-V"],
        ];
        let mut parsed = 0;
        for case in cases {
            let argv: Vec<&str> = std::iter::once("bootaudit")
                .chain(case.iter().copied())
                .collect();
            let os: Vec<std::ffi::OsString> = argv.iter().map(Into::into).collect();
            let ours = outcome(command_for(&os), &argv);
            let clap = outcome(clap_global(), &argv);
            assert_eq!(ours, clap, "{case:?}");
            parsed += usize::from(!ours.starts_with("error"));
        }
        // Both outcomes occur: parses that succeed and errors.
        assert!(
            (15..cases.len() - 5).contains(&parsed),
            "{parsed} of {} cases parsed",
            cases.len()
        );
        // Every command's help, short and long, lists the same options in
        // the same order.
        let paths = command_paths();
        for path in &paths {
            for flag in ["-h", "--help"] {
                let argv: Vec<&str> = std::iter::once("bootaudit")
                    .chain(path.iter().map(String::as_str))
                    .chain([flag])
                    .collect();
                let os: Vec<std::ffi::OsString> = argv.iter().map(Into::into).collect();
                let ours = outcome(command_for(&os), &argv);
                assert!(ours.contains("--quiet"), "{argv:?}: {ours}");
                assert_eq!(ours, outcome(clap_global(), &argv), "{argv:?}");
            }
        }
    }

    /// The path of every command and subcommand (`["collector", "install"]`).
    fn command_paths() -> Vec<Vec<String>> {
        fn walk(c: &clap::Command, path: Vec<String>, out: &mut Vec<Vec<String>>) {
            for s in c.get_subcommands().filter(|s| s.get_name() != "help") {
                let mut p = path.clone();
                p.push(s.get_name().to_string());
                walk(s, p.clone(), out);
                out.push(p);
            }
        }
        let mut all = command();
        all.build();
        let mut paths = Vec::new();
        walk(&all, Vec::new(), &mut paths);
        assert!(paths.len() > 30, "{paths:?}");
        paths
    }

    /// Each command, and each of its subcommands, takes the global options
    /// after its name when the command line names it.
    #[test]
    fn every_command_takes_the_global_options_after_its_name() {
        for path in &command_paths() {
            let argv: Vec<std::ffi::OsString> = std::iter::once("bootaudit".into())
                .chain(path.iter().map(Into::into))
                .chain(["-q".into(), "--color".into(), "never".into()])
                .collect();
            let kind = command_for(&argv)
                .try_get_matches_from(&argv)
                .err()
                .map(|e| e.kind());
            assert!(
                !matches!(
                    kind,
                    Some(clap::error::ErrorKind::UnknownArgument)
                        | Some(clap::error::ErrorKind::InvalidValue)
                ),
                "{path:?}: {kind:?}"
            );
        }
    }

    #[test]
    fn the_command_line_definition_is_consistent() {
        super::command().debug_assert();
    }

    #[test]
    fn every_subcommand_is_in_exactly_one_help_group_in_the_enum_order() {
        let cmd = super::command();
        let mut names: Vec<String> = cmd
            .get_subcommands()
            .map(|c| c.get_name().to_string())
            .collect();
        names.push("help".into());
        let grouped: Vec<String> = super::GROUPS
            .iter()
            .flat_map(|(_, n)| n.iter().map(|s| s.to_string()))
            .collect();
        // The same names, each once, and the enum (the man page's order)
        // follows the groups.
        assert_eq!(grouped, names);
        for c in cmd.get_subcommands() {
            let about = c.get_about().map(|a| a.to_string()).unwrap_or_default();
            assert!(
                !about.is_empty() && about.split_whitespace().count() <= 20,
                "{}: a one-line summary of at most 20 words, not {about:?}",
                c.get_name()
            );
        }
    }
}
