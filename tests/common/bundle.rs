//! Sealed evidence bundles of the linux-host fixture, for the bundle tests
//! of both tiers: making one, and reading `verify-bundle`'s verdicts.

use serde_json::Value;
use std::path::{Path, PathBuf};

/// A path as the `&str` an argument list takes.
pub fn p(x: &Path) -> &str {
    x.to_str().unwrap()
}

/// The linux-host fixture's root: a real host's /sys and /proc trees.
pub fn fixture_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/linux-host/root")
}

/// `collect --bundle out` of the fixture, with `extra` options; it must
/// succeed. `out` is a directory, or a tar when its name ends in `.tar`.
pub fn collect(out: &Path, extra: &[&str]) {
    let root = fixture_root();
    let mut args = vec!["collect", "--root", p(&root), "--bundle", p(out)];
    args.extend(extra);
    super::run(&args).exits(0);
}

/// A fresh bundle of the fixture in `dir`.
pub fn make(dir: &Path) -> PathBuf {
    let b = dir.join("bundle");
    collect(&b, &["--operator", "IR team: Alice"]);
    b
}

/// The failed checks: (check, file, detail).
pub fn failures(v: &Value) -> Vec<(String, String, String)> {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["verdict"] == "fail")
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap_or("").to_string();
            (s("check"), s("file"), s("detail"))
        })
        .collect()
}

/// The failed checks: (check, file).
pub fn failed(v: &Value) -> Vec<(String, String)> {
    failures(v).into_iter().map(|(c, f, _)| (c, f)).collect()
}

/// `verify-bundle --format json`, which must exit with `code`.
#[track_caller]
pub fn verify(b: &Path, code: i32) -> Value {
    verify_with(b, &[], code)
}

/// `verify-bundle --format json` with `extra` options, which must exit
/// with `code`.
#[track_caller]
pub fn verify_with(b: &Path, extra: &[&str], code: i32) -> Value {
    let mut args = vec!["verify-bundle", p(b)];
    args.extend(extra);
    args.extend(["--format", "json"]);
    super::run(&args).exits(code).json()
}
