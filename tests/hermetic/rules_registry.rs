//! The rule registry is the one place a rule id or a severity is written:
//! the book's rule table (docs/src/rules.md) is the registry's, and no library code outside
//! `crates/bootaudit/src/rules.rs` spells a rule id or picks a severity by name.

use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_readme_table_is_the_registry() {
    let readme = std::fs::read_to_string(root().join("docs/src/rules.md")).unwrap();
    let (_, rest) = readme
        .split_once("<!-- rules:begin -->\n")
        .expect("docs/src/rules.md has the rules:begin marker");
    let (table, _) = rest
        .split_once("<!-- rules:end -->")
        .expect("docs/src/rules.md has the rules:end marker");
    let want = bootaudit::render::rules::markdown(bootaudit::rules::ALL);
    assert_eq!(
        table, want,
        "the rule table of docs/src/rules.md differs from the registry: regenerate it with `bootaudit rules --format markdown`"
    );
    // And `bootaudit rules` prints the same.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_bootaudit"))
        .args(["rules", "--format", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let ids: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), bootaudit::rules::ALL.len());
    assert!(ids.contains(&"acpi.table.added") && ids.contains(&"baseline.missing"));
}

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn no_rule_id_or_severity_is_written_outside_the_registry() {
    let mut files = Vec::new();
    sources(&root().join("crates/bootaudit/src"), &mut files);
    sources(&root().join("src"), &mut files);
    assert!(files.len() > 30, "{files:?}");
    let ids: Vec<String> = bootaudit::rules::ALL
        .iter()
        .map(|r| format!("\"{}\"", r.id))
        .collect();
    let mut found = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(root()).unwrap().display().to_string();
        if rel == "crates/bootaudit/src/rules.rs" {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap();
        // Unit tests state expected values; only the code counts.
        let code = text.split("#[cfg(test)]").next().unwrap();
        for id in &ids {
            if code.contains(id.as_str()) {
                found.push(format!("{rel}: {id}"));
            }
        }
        // The severity type itself and the renderers that draw it.
        if rel != "crates/bootaudit/src/findings.rs"
            && !rel.starts_with("crates/bootaudit/src/render/")
        {
            for s in ["Critical", "High", "Medium", "Low", "Info"] {
                if code.contains(&format!("Severity::{s}")) {
                    found.push(format!("{rel}: Severity::{s}"));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "written outside crates/bootaudit/src/rules.rs: {found:#?}"
    );
}
