//! The library's layers, checked over its manifests and paths: the
//! event-log engine is a crate of its own that depends only on the
//! snapshot crate (its helpers use only helpers), the library's low-level
//! modules use nothing above them, and no module re-exports with a glob.

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
fn the_event_log_engine_is_a_crate_with_no_judgement_code() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // Its dependencies: the snapshot crate's wire values and third-party
    // crates, never the bootaudit library (cargo would refuse the cycle,
    // and a path dependency on anything else of ours is a new layer).
    let manifest = std::fs::read_to_string(root.join("eventlog/Cargo.toml")).unwrap();
    let ours: Vec<&str> = manifest.lines().filter(|l| l.contains("path =")).collect();
    assert_eq!(ours.len(), 1, "{ours:?}");
    assert!(ours[0].starts_with("bootaudit-snapshot"), "{ours:?}");
    let mut files = Vec::new();
    rust_files(&root.join("eventlog/src"), &mut files);
    assert!(files.len() >= 17, "{files:?}");
    for file in &files {
        let name = file.file_stem().unwrap().to_str().unwrap();
        for m in crate_modules(file) {
            // The helpers use only helpers; the engine, helpers and itself.
            let allowed = HELPERS.contains(&m.as_str())
                || (!HELPERS.contains(&name) && file.parent().unwrap().ends_with("src"));
            assert!(allowed, "{} uses crate::{m}", file.display());
        }
        let text = std::fs::read_to_string(file).unwrap();
        assert!(
            !text.contains("bootaudit::"),
            "{} names the bootaudit library",
            file.display()
        );
    }
    // The library's own low-level modules use only the helpers and each other.
    for own in ["fsutil", "guard"] {
        for m in crate_modules(&src().join(format!("{own}.rs"))) {
            assert!(
                HELPERS.contains(&m.as_str()) || m == "fsutil" || m == "guard",
                "src/{own}.rs uses crate::{m}"
            );
        }
    }
}

#[test]
fn no_module_reexports_with_a_glob() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    for c in ["snapshot/src", "eventlog/src"] {
        rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join(c), &mut files);
    }
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
