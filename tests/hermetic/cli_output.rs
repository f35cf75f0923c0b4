//! One command line: every command that prints a report takes `-o FILE`
//! (the same bytes as stdout, written atomically, never through a symlink
//! or into a special file), and the global `-q`, `-v` and `--color` do what
//! they say, on the shipped fixtures.

use crate::common::{self, Run};
use std::path::Path;
use std::process::Command;

/// Runs bootaudit from the project's root, with NO_COLOR unset.
fn run(args: &[&str]) -> Run {
    let mut c = common::bootaudit();
    c.args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("NO_COLOR");
    common::run_command(&mut c)
}

const SNAP: &str = "fixtures/collector/snap-0000.json";
const LOG: &str = "fixtures/ovmf-swtpm/binary_bios_measurements";

/// The report commands, each with the formats it has.
fn reports() -> Vec<Vec<&'static str>> {
    let mut v: Vec<Vec<&str>> = Vec::new();
    for f in ["table", "json", "html", "jsonl"] {
        v.push(vec!["check", SNAP, "--format", f]);
    }
    for f in ["table", "json", "tpm2-yaml"] {
        v.push(vec!["eventlog", LOG, "--format", f]);
    }
    for f in ["table", "json"] {
        v.push(vec!["show", SNAP, "--format", f]);
    }
    for f in ["table", "json", "markdown"] {
        v.push(vec!["rules", "--format", f]);
    }
    v.push(vec![
        "diff",
        "fixtures/implant/baseline.json",
        "fixtures/implant/implant.json",
    ]);
    v.push(vec!["export", "cel-json", LOG]);
    v
}

#[test]
fn every_report_goes_to_o_file_byte_for_byte_as_to_stdout() {
    let d = tempfile::tempdir().unwrap();
    let mut n = 0;
    for (i, args) in reports().iter().enumerate() {
        let stdout = run(args).exits_in(&[0, 1]);
        let file = d.path().join(format!("report-{i}"));
        let mut with_o = args.clone();
        with_o.extend(["-o", file.to_str().unwrap()]);
        let to_file = run(&with_o).exits(stdout.code);
        assert!(!stdout.stdout.is_empty(), "{args:?} printed nothing");
        assert!(to_file.stdout.is_empty(), "{args:?} -o also printed");
        assert_eq!(
            std::fs::read(&file).unwrap(),
            stdout.stdout,
            "{args:?}: -o FILE differs from stdout"
        );
        n += 1;
    }
    assert_eq!(n, 14);
}

#[test]
fn o_refuses_a_symlink_and_a_special_file_and_leaves_them_alone() {
    let d = tempfile::tempdir().unwrap();
    let target = d.path().join("precious");
    std::fs::write(&target, b"keep me").unwrap();
    let link = d.path().join("link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    for args in reports() {
        let mut a = args.clone();
        a.extend(["-o", link.to_str().unwrap()]);
        let err = run(&a).exits(2).stderr;
        assert!(
            err.contains(link.to_str().unwrap()) && err.contains("symbolic link"),
            "{args:?}: {err}"
        );
        assert_eq!(std::fs::read(&target).unwrap(), b"keep me");
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
    }
    // A FIFO is a special file: refused, not opened (which would block).
    let fifo = d.path().join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    run(&["rules", "-o", fifo.to_str().unwrap()]).exits(2);
}

#[test]
fn quiet_silences_warnings_and_verbose_names_every_input_with_its_size() {
    // A log with one boot application has no `kernels` entry for Keylime:
    // a warning, not an error.
    let loud = run(&["export", "keylime-policy", LOG]).exits(0);
    assert!(
        loud.stderr.contains("warning: ") && loud.stderr.contains("no `kernels` entry"),
        "{}",
        loud.stderr
    );
    let quiet = run(&["-q", "export", "keylime-policy", LOG]).exits(0);
    assert!(quiet.stderr.is_empty());
    assert_eq!(quiet.stdout, loud.stdout);

    let (a, b) = (
        "fixtures/implant/plain-a.json",
        "fixtures/implant/plain-b.json",
    );
    let v = run(&["diff", a, b, "-v"]).exits(0);
    let err = &v.stderr;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for f in [a, b] {
        let len = std::fs::metadata(root.join(f)).unwrap().len();
        assert!(
            err.contains(&format!("reading {f} ({len} bytes)")),
            "{f}: {err}"
        );
    }
    // -v changes stderr only.
    assert_eq!(v.stdout, run(&["diff", a, b]).exits(0).stdout);
    run(&["-q", "-v", "rules"]).exits(2);
}

#[test]
fn color_marks_only_severity_and_verdict_cells_and_never_json_or_files() {
    // The fixture fails a check (below): exit 1 either way.
    let plain = run(&["check", SNAP, "--color", "never"]).exits(1);
    let coloured = run(&["check", SNAP, "--color", "always"]).exits(1);
    assert!(!plain.stdout.contains(&0x1b));
    let text = String::from_utf8(coloured.stdout).unwrap();
    // The fixture is a plain OVMF boot with Secure Boot off: a failed check
    // (secure-boot.on), so FAIL appears, coloured.
    assert!(text.contains("\x1b[1;31mFAIL\x1b[0m"), "{text}");
    let mut stripped = text.clone();
    for sgr in [
        "\x1b[1;31m",
        "\x1b[31m",
        "\x1b[33m",
        "\x1b[36m",
        "\x1b[32m",
        "\x1b[0m",
    ] {
        stripped = stripped.replace(sgr, "");
    }
    assert_eq!(stripped.as_bytes(), plain.stdout, "colour changed the text");
    // Piped, auto means none; JSON and -o files never carry it.
    assert!(!run(&["check", SNAP]).exits(1).stdout.contains(&0x1b));
    assert!(
        !run(&["check", SNAP, "--format", "json", "--color", "always"])
            .exits(1)
            .stdout
            .contains(&0x1b)
    );
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("t");
    run(&[
        "check",
        SNAP,
        "--color",
        "always",
        "-o",
        f.to_str().unwrap(),
    ])
    .exits(1);
    assert_eq!(std::fs::read(&f).unwrap(), plain.stdout);
}

/// The subcommand names a `--help` lists: the lines under a "Commands:"
/// heading, or under the group headings of the top-level help.
fn listed_commands(help: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_list = false;
    for line in help.lines() {
        if line.ends_with(':') && !line.starts_with(' ') {
            in_list = line != "Options:" && line != "Arguments:" && !line.starts_with("Usage");
            continue;
        }
        if in_list {
            if let Some(name) = line
                .strip_prefix("  ")
                .and_then(|l| l.split_whitespace().next())
            {
                if !line.starts_with("   ") && name != "help" {
                    names.push(name.to_string());
                }
            }
        }
    }
    names
}

#[test]
fn man_dir_writes_one_page_per_command_the_help_lists() {
    let top = run(&["--help"]).exits(0).out();
    let mut expected = vec!["bootaudit".to_string()];
    for name in listed_commands(&top) {
        expected.push(format!("bootaudit-{name}"));
        let sub = run(&[&name, "--help"]).exits(0).out();
        for nested in listed_commands(&sub) {
            expected.push(format!("bootaudit-{name}-{nested}"));
        }
    }
    // 21 commands (help aside) and the nested ones of baseline, reference,
    // ak, export and firmware.
    assert!(expected.len() >= 30, "{expected:?}");
    let d = tempfile::tempdir().unwrap();
    run(&["man", "--dir", d.path().to_str().unwrap()]).exits(0);
    let mut written: Vec<String> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    written.sort();
    let mut want: Vec<String> = expected.iter().map(|n| format!("{n}.1")).collect();
    want.sort();
    assert_eq!(written, want);
    for n in &expected {
        let page = std::fs::read_to_string(d.path().join(format!("{n}.1"))).unwrap();
        assert!(page.contains(&format!(".TH {n} 1")), "{n}");
        assert!(page.contains(".SH NAME"), "{n}");
    }
    // A symbolic link in place of the directory is refused.
    let link = d.path().join("link");
    std::os::unix::fs::symlink(d.path(), &link).unwrap();
    run(&["man", "--dir", link.to_str().unwrap()]).exits(2);
}

#[test]
fn the_top_level_help_is_grouped_by_job_however_it_is_asked_for() {
    for args in [
        &["--help"][..],
        &["-h"],
        &["help"],
        &["-q", "--help"],
        &["--color", "never", "-h"],
    ] {
        let text = run(args).exits(0).out();
        for group in ["Judge a machine:", "Gather evidence:", "Verify:", "Manage:"] {
            assert!(text.contains(group), "{args:?}: {text}");
        }
        // check comes before eventlog: the order a user meets them.
        assert!(text.find("  check ").unwrap() < text.find("  eventlog ").unwrap());
    }
}

/// Each command's own help opens with the summary the top-level help lists
/// for it. The commands' arguments are built deferred (only the chosen
/// command's, at start-up), and a doc comment on an argument struct would
/// then silently replace the command's summary with its own text.
#[test]
fn each_command_s_help_opens_with_the_summary_the_top_level_help_lists() {
    let top = run(&["--help"]).exits(0).out();
    let names = listed_commands(&top);
    assert_eq!(names.len(), 21, "{names:?}");
    for name in &names {
        let listed = top
            .lines()
            .find_map(|l| {
                let rest = l.strip_prefix("  ")?.strip_prefix(name.as_str())?;
                rest.starts_with(' ').then(|| rest.trim().to_string())
            })
            .unwrap_or_else(|| panic!("{name} has no summary line: {top}"));
        assert!(listed.len() > 20, "{name}: {listed:?}");
        let own = run(&[name, "-h"]).exits(0).out();
        assert_eq!(own.lines().next(), Some(listed.as_str()), "{name}");
        let long = run(&[name, "--help"]).exits(0).out();
        // The long help's first line is the doc comment's first paragraph,
        // with its full stop when the command has a longer text.
        let first = long.lines().next().unwrap_or_default();
        assert_eq!(first.strip_suffix('.').unwrap_or(first), listed, "{name}");
    }
}

/// `fleet` runs on mimalloc, every other command on the C library's
/// allocator, chosen from the command line before the first allocation
/// (`src/allocator.rs`). mimalloc's statistics, printed at exit under
/// MIMALLOC_SHOW_STATS, list its arena only when it served the run.
#[test]
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn fleet_alone_runs_on_mimalloc() {
    let arenas = |args: &[&str], code: i32| -> usize {
        let r = common::run_command(
            common::bootaudit()
                .args(args)
                .env("MIMALLOC_SHOW_STATS", "1"),
        )
        .exits(code);
        r.stderr
            .lines()
            .filter(|l| l.trim_start().starts_with("reserved"))
            .count()
    };
    assert_eq!(arenas(&["--version"], 0), 0);
    assert_eq!(arenas(&["eventlog", LOG, "--format", "json"], 0), 0);
    assert_eq!(arenas(&["check", SNAP], 1), 0);
    // A file called fleet changes only the allocator.
    assert_eq!(arenas(&["eventlog", "fleet"], 2), 1);
    assert_eq!(arenas(&["fleet", "fixtures/implant"], 1), 1);
    assert_eq!(
        arenas(&["--color", "never", "fleet", "fixtures/implant"], 1),
        1
    );
}
