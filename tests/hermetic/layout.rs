//! The library's layers, checked over its `use` lines and paths: the
//! byte and text helpers use nothing above them, the event-log engine
//! uses only the helpers (and the snapshot crate's wire values), and no
//! module re-exports another with a glob.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
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

const HELPERS: &[&str] = &[
    "le",
    "hexser",
    "efi",
    "devpath",
    "loadoption",
    "strict_json",
    "fsutil",
    "guard",
];

#[test]
fn the_helpers_and_the_event_log_engine_use_nothing_above_them() {
    let mut checked = 0;
    for h in HELPERS {
        let file = src().join(format!("{h}.rs"));
        for m in crate_modules(&file) {
            assert!(
                HELPERS.contains(&m.as_str()),
                "src/{h}.rs uses crate::{m}, above the helpers"
            );
        }
        checked += 1;
    }
    let mut engine = Vec::new();
    rust_files(&src().join("eventlog"), &mut engine);
    assert!(engine.len() >= 10, "{engine:?}");
    for file in &engine {
        for m in crate_modules(file) {
            assert!(
                m == "eventlog" || HELPERS.contains(&m.as_str()),
                "{} uses crate::{m}: the event-log engine depends on no judgement code",
                file.display()
            );
        }
        checked += 1;
    }
    assert!(checked >= 18);
}

#[test]
fn no_module_reexports_with_a_glob() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshot/src"),
        &mut files,
    );
    assert!(files.len() >= 100, "{} files", files.len());
    for f in &files {
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
