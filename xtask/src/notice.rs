//! `cargo xtask notice [--check]`: THIRD-PARTY-NOTICES.md, the licences of
//! every crate linked into the two shipped binaries, made from `cargo
//! metadata`: the host CLI (`bootaudit`, for x86_64-unknown-linux-gnu) and
//! the UEFI collector (`efi-collector`, for x86_64-unknown-uefi).
//!
//! For each binary, the crates reached from it through normal dependencies
//! (build and dev dependencies are not linked) on its target, with each
//! crate's licence expression and repository; then each distinct licence
//! text the crates' packages ship (LICENSE*, LICENCE*, COPYING*, NOTICE*,
//! COPYRIGHT*, UNLICENSE), once, with the crates that ship it. A crate that
//! ships no licence file is named as such. `--check` regenerates the notice
//! in memory and fails when the committed one differs (.ci/run runs it).

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The notice's file, at the project's root.
pub const FILE: &str = "THIRD-PARTY-NOTICES.md";

/// One linked third-party crate.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Crate {
    name: String,
    version: String,
    license: String,
    repository: String,
    /// (file name, text) of the licence files its package ships.
    texts: Vec<(String, String)>,
}

/// The crates linked into `root_package` of the workspace at `manifest`,
/// built for `target`.
fn linked(manifest: &Path, root_package: &str, target: &str) -> Result<Vec<Crate>, String> {
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["metadata", "--format-version", "1", "--locked"])
        .arg("--filter-platform")
        .arg(target)
        .arg("--manifest-path")
        .arg(manifest)
        .output()
        .map_err(|e| format!("cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata --manifest-path {}: {}",
            manifest.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let m: Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("cargo metadata: {e}"))?;
    let packages: BTreeMap<&str, &Value> = m["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| Some((p["id"].as_str()?, p)))
        .collect();
    let nodes: BTreeMap<&str, &Value> = m["resolve"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| Some((n["id"].as_str()?, n)))
        .collect();
    let root = packages
        .iter()
        .find(|(_, p)| p["name"] == root_package && p["source"].is_null())
        .map(|(id, _)| *id)
        .ok_or_else(|| format!("no package {root_package} in {}", manifest.display()))?;
    let mut seen = BTreeSet::new();
    let mut stack = vec![root];
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        for d in nodes
            .get(id)
            .and_then(|n| n["deps"].as_array())
            .into_iter()
            .flatten()
        {
            let normal = d["dep_kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|k| k["kind"].is_null());
            if normal {
                if let Some(p) = d["pkg"].as_str() {
                    stack.push(p);
                }
            }
        }
    }
    let mut out = Vec::new();
    for id in seen {
        let p = packages[id];
        // Our own crates (path dependencies) are the project's licence.
        if p["source"].is_null() {
            continue;
        }
        let dir = Path::new(p["manifest_path"].as_str().unwrap_or_default())
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        out.push(Crate {
            name: p["name"].as_str().unwrap_or_default().into(),
            version: p["version"].as_str().unwrap_or_default().into(),
            license: p["license"].as_str().unwrap_or("(none given)").into(),
            repository: p["repository"].as_str().unwrap_or_default().into(),
            texts: licence_files(&dir)?,
        });
    }
    out.sort();
    Ok(out)
}

/// The licence files at the top of a package's directory, by name.
fn licence_files(dir: &Path) -> Result<Vec<(String, String)>, String> {
    const PREFIXES: [&str; 6] = [
        "LICENSE",
        "LICENCE",
        "COPYING",
        "NOTICE",
        "COPYRIGHT",
        "UNLICENSE",
    ];
    let mut out = Vec::new();
    let rd = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for e in rd {
        let e = e.map_err(|e| format!("{}: {e}", dir.display()))?;
        let name = e.file_name().to_string_lossy().into_owned();
        let upper = name.to_ascii_uppercase();
        if !PREFIXES.iter().any(|p| upper.starts_with(p))
            || !e.file_type().is_ok_and(|t| t.is_file())
        {
            continue;
        }
        let t = std::fs::read(e.path()).map_err(|err| format!("{}: {err}", e.path().display()))?;
        let t = String::from_utf8_lossy(&t).replace("\r\n", "\n");
        out.push((name, t.trim_end().to_string()));
    }
    out.sort();
    Ok(out)
}

/// The notice's text.
fn render(binaries: &[(&str, Vec<Crate>)]) -> String {
    let mut s = String::from(
        "# Third-party notices\n\n\
         Generated by `cargo xtask notice` from `cargo metadata`; do not edit. `.ci/run` fails\n\
         when it is out of date.\n\n\
         bootaudit itself is under MIT OR Apache-2.0. The binaries link the crates below, each\n\
         under its own licence; their licence texts follow, each once, with the crates that ship\n\
         it.\n",
    );
    for (what, crates) in binaries {
        s.push_str(&format!("\n## {what}\n\n{} crates.\n\n", crates.len()));
        s.push_str("| Crate | Version | Licence | Repository |\n|---|---|---|---|\n");
        for c in crates {
            s.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                c.name,
                c.version,
                c.license.replace('|', "\\|"),
                c.repository
            ));
        }
    }
    // Each distinct text once, in the order of its first crate.
    let mut texts: Vec<(String, Vec<String>)> = Vec::new();
    let mut bare = BTreeSet::new();
    let all: BTreeSet<&Crate> = binaries.iter().flat_map(|(_, c)| c).collect();
    for c in &all {
        if c.texts.is_empty() {
            bare.insert(format!("{} {} ({})", c.name, c.version, c.license));
        }
        for (file, t) in &c.texts {
            let who = format!("{} {} ({file})", c.name, c.version);
            match texts.iter_mut().find(|(x, _)| x == t) {
                Some((_, w)) => w.push(who),
                None => texts.push((t.clone(), vec![who])),
            }
        }
    }
    s.push_str("\n## Licence texts\n");
    if !bare.is_empty() {
        s.push_str(
            "\nThese crates' packages ship no licence file; their licence is the SPDX text of the\n\
             expression given:\n\n",
        );
        for b in &bare {
            s.push_str(&format!("- {b}\n"));
        }
    }
    for (t, who) in &texts {
        s.push_str(&format!("\n### {}\n\n", who.join(", ")));
        let fence = if t.contains("~~~~") { "`````" } else { "~~~~" };
        s.push_str(&format!("{fence}text\n{t}\n{fence}\n"));
    }
    s
}

/// Writes the notice, or (`check`) fails when the committed one differs.
pub fn notice(check: bool) -> Result<(), String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .ok_or("no project root")?;
    let host = linked(
        &root.join("Cargo.toml"),
        "bootaudit-cli",
        "x86_64-unknown-linux-gnu",
    )?;
    let collector = linked(
        &root.join("efi-collector/Cargo.toml"),
        "efi-collector",
        "x86_64-unknown-uefi",
    )?;
    let text = render(&[
        (
            "bootaudit (the host command line, x86_64-unknown-linux-gnu)",
            host,
        ),
        (
            "efi-collector (the UEFI collector, x86_64-unknown-uefi)",
            collector,
        ),
    ]);
    let path = root.join(FILE);
    if check {
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        if have != text {
            return Err(format!(
                "{FILE} is out of date with Cargo.lock: run `cargo xtask notice` and commit it"
            ));
        }
        println!("{FILE} is up to date");
        return Ok(());
    }
    let tmp = root.join(format!(".{FILE}.tmp"));
    std::fs::write(&tmp, &text).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &path).map_err(|e| format!("{}: {e}", path.display()))?;
    println!("{}", path.display());
    Ok(())
}
