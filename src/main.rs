//! The `bootaudit` command line: parses arguments, calls the library,
//! renders. Each subcommand lives in its own file under `src/cli/`. Exit
//! codes: 0 clean, 1 findings or mismatches, 2 bad usage or unreadable
//! input.

mod cli;

use bootaudit::render;
use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// mimalloc rather than the system allocator: parsing a fleet's snapshots
/// is mostly allocating and freeing small strings, where glibc's malloc
/// took a fifth of `fleet`'s time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    Eventlog(cli::eventlog::Args),

    /// Make or amend a baseline: the known-good state of a machine.
    #[command(subcommand)]
    Baseline(cli::baseline::Cmd),

    /// Compare a snapshot with a baseline snapshot of the same machine: every
    /// difference as a finding with a severity and, when the evidence has
    /// one, an explanation. Exit 1 when an unexplained finding at or above
    /// --fail-on exists.
    Diff(cli::diff::Args),

    /// Gather a snapshot on this running Linux host (sysfs, securityfs,
    /// efivarfs): ACPI tables, memory maps, the TPM event log and PCRs,
    /// Secure Boot variables and boot entries, identity. What is missing or
    /// unreadable is recorded in the snapshot with the reason.
    Collect(cli::collect::Args),

    /// Check a snapshot's TPM quote: made by the trusted attestation key,
    /// over the verifier's nonce, quoting exactly the snapshot's PCR
    /// values, to which its event log replays. Exit 0 when every check
    /// passes, 1 when one fails.
    VerifyQuote(cli::verify_quote::Args),

    /// Check a sealed evidence bundle (`collect --bundle`): every file
    /// against its manifest, and the TPM quote over the manifest.
    VerifyBundle(cli::verify_bundle::Args),

    /// Check that a pre-OS collector snapshot is of the same boot, TPM and
    /// moment as a host snapshot quoted later (`collect --quote`): its boot
    /// quote, resetCount, PCRs 0-3, 6, 7 and PCR 4 against the host's.
    VerifyBoot(cli::verify_boot::Args),

    /// Enrol an attestation key: prove, with the TPM's endorsement-key
    /// certificate and credential activation, that it lives in a
    /// certified TPM.
    #[command(subcommand)]
    Ak(cli::ak::Command),

    /// List the EFI binaries on an ESP (a mounted directory, or a FAT or
    /// GPT/MBR disk image) with their SHA-256 and Authenticode hashes; with
    /// an event log or a snapshot, match each boot application measured
    /// into PCR4 to a file. Exit 1 when one ran that the ESP does not hold,
    /// or the file at its place has another hash.
    Esp(cli::esp::Args),

    /// Inventory a UEFI firmware image (an OVMF .fd, a full SPI dump, a
    /// vendor's capsule): every volume and FFS file, with UI names, body
    /// hashes and dependency expressions. `firmware diff KNOWN-GOOD IMAGE`
    /// compares two images. Exit 1 on structural problems (inventory) or
    /// findings at or above --fail-on (diff), 2 when unreadable.
    Firmware(cli::firmware::Args),

    /// Manage the reference store: `reference add IMAGE --vendor V
    /// --version X -o DIR` writes what a vendor image will measure and load
    /// (its volumes' digests, its files), for `diff --references DIR`.
    #[command(subcommand)]
    Reference(cli::reference::Command),

    /// Check a fleet: group hosts by platform and firmware identity, build
    /// each group's consensus, and report every host that departs from it
    /// (and, with --baselines, from its own baseline). Exit 1 when a host
    /// has an unexplained finding at or above --fail-on, else 2 when a
    /// snapshot was unreadable, else 0.
    Fleet(cli::fleet::Args),

    /// List every rule a finding can carry: its id, category, severity (and
    /// how it varies), what may explain it, and what it means. For
    /// suppressions, baseline acceptances and SIEM mappings.
    Rules(cli::rules::Args),

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
    Ingest(cli::ingest::Args),

    /// Summarise a snapshot: identity, memory maps, MapKey evidence, TPM,
    /// and whether its event log replays to the PCRs it recorded.
    Show(cli::show::Args),

    /// Judge one machine with no baseline: consistency of its evidence, and the known bad.
    Check(cli::check::Args),

    /// Put the OS's logs (Windows event logs, the journal, auditd, fwupd's
    /// history, the firmware's boot log) and the firmware states of the
    /// measured boots (snapshots, MeasuredBoot logs) on one time line: who
    /// changed the firmware, when, and with what tool. Exit 1 when an
    /// unexplained finding at or above --fail-on exists.
    Timeline(cli::timeline::Args),

    /// Write a boot's event log in another tool's format (CEL-JSON).
    #[command(subcommand)]
    Export(cli::export::Command),
}

fn main() -> ExitCode {
    // Run under the name tpm2_eventlog (a symlink), bootaudit is a drop-in
    // for that tool: its arguments, its YAML, its exit status.
    let argv0 = std::env::args_os().next().unwrap_or_default();
    if std::path::Path::new(&argv0).file_name() == Some("tpm2_eventlog".as_ref()) {
        return cli::eventlog::tpm2_eventlog_drop_in(std::env::args_os().skip(1));
    }
    let cli = Cli::parse();
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
    match cli.command {
        Command::Eventlog(a) => cli::eventlog::run(a),
        Command::Baseline(c) => cli::baseline::run(c),
        Command::Diff(a) => cli::diff::run(a),
        Command::Collect(a) => cli::collect::run(a),
        Command::VerifyQuote(a) => cli::verify_quote::run(a),
        Command::Ak(c) => cli::ak::run(c),
        Command::VerifyBundle(a) => cli::verify_bundle::run(a),
        Command::VerifyBoot(a) => cli::verify_boot::run(a),
        Command::Esp(a) => cli::esp::run(a),
        Command::Firmware(a) => cli::firmware::run(a),
        Command::Reference(c) => cli::reference::run(c),
        Command::Fleet(a) => cli::fleet::run(a),
        Command::Rules(a) => cli::rules::run(a),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut cmd, "bootaudit", &mut out);
            cli::emit_bytes(&out)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => {
            let cmd = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut out)?;
            cli::emit_bytes(&out)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Ingest(a) => cli::ingest::run(a),
        Command::Show(a) => cli::show::run(a),
        Command::Check(a) => cli::check::run(a),
        Command::Export(c) => cli::export::run(c),
        Command::Timeline(a) => cli::timeline::run(a),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_definition_is_consistent() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
