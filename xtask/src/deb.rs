//! `cargo xtask deb`: the Debian package, built with cargo-deb from what
//! this task stages in `target/deb-assets/`:
//!
//! - the release binary (with the `tpm` feature: `ak` works, and cargo-deb's
//!   `$auto` makes the package depend on libtss2);
//! - the x86 collector as `/usr/lib/bootaudit/bootaudit-collector-x64.efi`,
//!   where `collector install` and `collector media` look for it;
//! - a man page per command and subcommand (`bootaudit man --dir`,
//!   gzipped), and bash, zsh and fish completions;
//! - `contrib/systemd/`: the script in `/usr/lib/bootaudit/`, the units in
//!   `/lib/systemd/system/` (ExecStart pointed there), the settings as the
//!   conffile `/etc/default/bootaudit`; the timer is not enabled, since a
//!   host needs its baseline first;
//! - THIRD-PARTY-NOTICES.md (the licences of what the binary links) and the
//!   README in `/usr/share/doc/bootaudit/`.
//!
//! The package's contents are checked (`dpkg-deb --contents`) before its
//! path is printed. `.ci/run` installs it with dpkg, runs it from the
//! installed files, and purges it.

use crate::util::{root, run_in, Result};
use crate::vm::Arch;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What the package must hold, beside its man pages.
const MUST_HOLD: [&str; 11] = [
    "./usr/bin/bootaudit",
    "./usr/lib/bootaudit/bootaudit-collector-x64.efi",
    "./usr/lib/bootaudit/bootaudit-check",
    "./lib/systemd/system/bootaudit-check.service",
    "./lib/systemd/system/bootaudit-check.timer",
    "./etc/default/bootaudit",
    "./usr/share/bash-completion/completions/bootaudit",
    "./usr/share/zsh/vendor-completions/_bootaudit",
    "./usr/share/fish/vendor_completions.d/bootaudit.fish",
    "./usr/share/doc/bootaudit/THIRD-PARTY-NOTICES.md",
    "./usr/share/man/man1/bootaudit-collector-install.1.gz",
];

fn output(cmd: &mut Command, what: &str) -> Result<Vec<u8>> {
    let o = cmd.output().map_err(|e| format!("{what}: {e}"))?;
    if !o.status.success() {
        return Err(format!(
            "{what} failed ({}): {}",
            o.status,
            String::from_utf8_lossy(&o.stderr)
        ));
    }
    Ok(o.stdout)
}

/// Builds the package and returns its path.
pub fn deb() -> Result<PathBuf> {
    let root = root();
    let collector = crate::boot::build_collector(Arch::X86_64)?;
    run_in(
        "cargo",
        [
            "build",
            "--release",
            "--quiet",
            "--features",
            "tpm",
            "--bin",
            "bootaudit",
        ],
        Some(&root),
        "libtss2-dev (the tpm feature)",
    )?;
    let bin = root.join("target/release/bootaudit");
    let stage = root.join("target/deb-assets");
    let _ = std::fs::remove_dir_all(&stage);
    for d in ["man", "completions", "systemd"] {
        std::fs::create_dir_all(stage.join(d)).map_err(|e| format!("{d}: {e}"))?;
    }
    crate::util::copy(&collector, &stage.join("bootaudit-collector-x64.efi"))?;
    output(
        Command::new(&bin)
            .arg("man")
            .arg("--dir")
            .arg(stage.join("man")),
        "bootaudit man --dir",
    )?;
    let pages: Vec<PathBuf> = std::fs::read_dir(stage.join("man"))
        .map_err(|e| format!("man: {e}"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    for p in &pages {
        // -n: no name or time stamp, so the package is reproducible.
        output(Command::new("gzip").arg("-9nf").arg(p), "gzip")?;
    }
    for (shell, name) in [
        ("bash", "bootaudit"),
        ("zsh", "_bootaudit"),
        ("fish", "bootaudit.fish"),
    ] {
        let text = output(
            Command::new(&bin).args(["completions", shell]),
            "completions",
        )?;
        std::fs::write(stage.join("completions").join(name), text)
            .map_err(|e| format!("{name}: {e}"))?;
    }
    let unit = std::fs::read_to_string(root.join("contrib/systemd/bootaudit-check.service"))
        .map_err(|e| format!("bootaudit-check.service: {e}"))?;
    let packaged = unit.replace(
        "ExecStart=/usr/local/lib/bootaudit/bootaudit-check",
        "ExecStart=/usr/lib/bootaudit/bootaudit-check",
    );
    if packaged == unit {
        return Err("bootaudit-check.service: no ExecStart=/usr/local/lib/bootaudit/bootaudit-check to point at the packaged script".into());
    }
    std::fs::write(stage.join("systemd/bootaudit-check.service"), packaged)
        .map_err(|e| format!("bootaudit-check.service: {e}"))?;

    let out = output(
        Command::new("cargo")
            .args(["deb", "--no-build", "--quiet"])
            .env_remove("CARGO_TARGET_DIR")
            .current_dir(&root),
        "cargo deb (cargo install cargo-deb)",
    )?;
    let deb = PathBuf::from(
        String::from_utf8_lossy(&out)
            .trim()
            .lines()
            .last()
            .unwrap_or(""),
    );
    let deb = if deb.is_absolute() {
        deb
    } else {
        root.join(deb)
    };
    check_contents(&deb, pages.len())?;
    Ok(deb)
}

/// The package holds every file it must, and a man page per command.
fn check_contents(deb: &Path, pages: usize) -> Result<()> {
    let list = output(
        Command::new("dpkg-deb").arg("--contents").arg(deb),
        "dpkg-deb --contents",
    )?;
    let list = String::from_utf8_lossy(&list);
    let paths: Vec<&str> = list
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .collect();
    for want in MUST_HOLD {
        if !paths.contains(&want) {
            return Err(format!("{}: no {want} in {list}", deb.display()));
        }
    }
    let man = paths
        .iter()
        .filter(|p| p.starts_with("./usr/share/man/man1/") && p.ends_with(".1.gz"))
        .count();
    if man != pages || man < 20 {
        return Err(format!(
            "{}: {man} man pages, where `bootaudit man --dir` wrote {pages}",
            deb.display()
        ));
    }
    Ok(())
}
