//! The house's layers, checked over its manifests and sources:
//!
//! - the crates depend only downwards: snapshot ← eventlog ← firmware ←
//!   bootaudit (the judgement library) ← the command line;
//! - the library names none of the command line's crates (clap, the man
//!   pages, progress bars, the allocator);
//! - the event-log engine's helpers use only helpers, and the low-level
//!   crates never name the library;
//! - no module re-exports with a glob.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The files of one source tree, with a floor on how many there are (a
/// moved tree must not leave a check over nothing).
fn files_of(dir: &str, at_least: usize) -> Vec<PathBuf> {
    let mut files = Vec::new();
    rust_files(&root().join(dir), &mut files);
    assert!(files.len() >= at_least, "{dir}: {} files", files.len());
    files
}

/// The `crate::MODULE` paths a file names, outside comments.
fn crate_modules(file: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(file).unwrap();
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap();
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            out.insert(name);
            rest = after;
        }
    }
    out
}

/// The names of a manifest's `[dependencies]` (not dev, not build), and
/// which of them are path dependencies (ours).
fn dependencies(manifest: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let text = std::fs::read_to_string(root().join(manifest)).unwrap();
    let (mut all, mut ours) = (BTreeSet::new(), BTreeSet::new());
    let mut inside = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            inside = t == "[dependencies]";
            continue;
        }
        if !inside || t.starts_with('#') || t.is_empty() {
            continue;
        }
        let name = t.split([' ', '=']).next().unwrap().to_string();
        if t.contains("path = ") {
            ours.insert(name.clone());
        }
        all.insert(name);
    }
    assert!(!all.is_empty(), "{manifest}: no [dependencies] read");
    (all, ours)
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn the_crates_depend_only_downwards() {
    let layers: &[(&str, &[&str])] = &[
        ("crates/snapshot/Cargo.toml", &[]),
        ("crates/eventlog/Cargo.toml", &["bootaudit-snapshot"]),
        (
            "crates/firmware/Cargo.toml",
            &["bootaudit-eventlog", "bootaudit-snapshot"],
        ),
        (
            "crates/bootaudit/Cargo.toml",
            &[
                "bootaudit-eventlog",
                "bootaudit-firmware",
                "bootaudit-snapshot",
            ],
        ),
        ("Cargo.toml", &["bootaudit"]),
    ];
    for (manifest, allowed) in layers {
        let (_, ours) = dependencies(manifest);
        assert_eq!(ours, set(allowed), "{manifest}: its crates of ours");
    }
    // The collector shares the snapshot crate and nothing else of ours.
    let (_, ours) = dependencies("efi-collector/Cargo.toml");
    assert_eq!(ours, set(&["bootaudit-snapshot"]), "efi-collector");
}

#[test]
fn the_library_names_none_of_the_command_lines_crates() {
    const CLI_ONLY: &[&str] = &[
        "clap",
        "clap_complete",
        "clap_mangen",
        "indicatif",
        "mimalloc",
    ];
    let (lib, _) = dependencies("crates/bootaudit/Cargo.toml");
    let (cli, _) = dependencies("Cargo.toml");
    for c in CLI_ONLY {
        assert!(!lib.contains(*c), "the library depends on {c}");
        assert!(cli.contains(*c), "the command line no longer uses {c}");
    }
    for f in files_of("crates/bootaudit/src", 100) {
        let text = std::fs::read_to_string(&f).unwrap();
        for c in CLI_ONLY {
            assert!(
                !text.contains(&format!("{c}::")),
                "{} names {c}",
                f.display()
            );
        }
    }
}

/// The helpers the engine brings, re-exported by the library.
const HELPERS: &[&str] = &[
    "le",
    "hexser",
    "efi",
    "devpath",
    "loadoption",
    "strict_json",
    "input",
];

#[test]
fn the_event_log_engine_and_the_firmware_reader_hold_no_judgement_code() {
    for file in &files_of("crates/eventlog/src", 17) {
        let name = file.file_stem().unwrap().to_str().unwrap();
        for m in crate_modules(file) {
            // The helpers use only helpers; the engine, helpers and itself.
            let allowed = HELPERS.contains(&m.as_str())
                || (!HELPERS.contains(&name) && file.parent().unwrap().ends_with("src"));
            assert!(allowed, "{} uses crate::{m}", file.display());
        }
    }
    let low = [
        files_of("crates/eventlog/src", 17),
        files_of("crates/firmware/src", 9),
        files_of("crates/snapshot/src", 5),
    ];
    for file in low.iter().flatten() {
        let text = std::fs::read_to_string(file).unwrap();
        assert!(
            !text.contains("bootaudit::"),
            "{} names the bootaudit library",
            file.display()
        );
    }
    // The library's own low-level module uses only the helpers.
    for m in crate_modules(&root().join("crates/bootaudit/src/fsutil.rs")) {
        assert!(
            HELPERS.contains(&m.as_str()) || m == "fsutil",
            "crates/bootaudit/src/fsutil.rs uses crate::{m}"
        );
    }
}

#[test]
fn no_module_reexports_with_a_glob() {
    let trees = [
        files_of("crates/bootaudit/src", 100),
        files_of("crates/eventlog/src", 17),
        files_of("crates/firmware/src", 9),
        files_of("crates/snapshot/src", 5),
        files_of("src", 15),
    ];
    for f in trees.iter().flatten() {
        let text = std::fs::read_to_string(f).unwrap();
        for (n, line) in text.lines().enumerate() {
            let t = line.trim_start();
            assert!(
                !(t.starts_with("pub use") && t.trim_end().ends_with("::*;")),
                "{}:{}: a glob re-export: name what is re-exported",
                f.display(),
                n + 1
            );
        }
    }
}
