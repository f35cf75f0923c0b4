//! The documentation cannot drift: every relative link of the README, the
//! book and the tests' README leads to a file (and, with an anchor, to a
//! heading of it), every chapter is in the book's summary, the README stays
//! short, and every shell example fenced as `sh exit=N` runs on the shipped
//! fixtures and exits with N. An example that names a shipped fixture
//! without `exit=N` is an error, so none escapes by omission.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Markdown files checked: the README, the tests' README, every chapter.
fn documents() -> Vec<PathBuf> {
    let mut v = vec![root().join("README.md"), root().join("tests/README.md")];
    let mut chapters: Vec<PathBuf> = std::fs::read_dir(root().join("docs/src"))
        .expect("docs/src is the book's source")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    chapters.sort();
    v.extend(chapters);
    v
}

/// A fenced code block: its info string, its lines, and where it starts.
struct Block {
    info: String,
    lines: Vec<String>,
    line: usize,
}

/// Splits a document into its prose lines (code blocks blanked) and its
/// fenced blocks. Fences may be indented (inside a list item).
fn split(text: &str) -> (Vec<String>, Vec<Block>) {
    let mut prose = Vec::new();
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for (i, l) in text.lines().enumerate() {
        let t = l.trim_start();
        if let Some(rest) = t.strip_prefix("```") {
            match open.take() {
                Some(b) => blocks.push(b),
                None => {
                    open = Some(Block {
                        info: rest.trim().to_string(),
                        lines: Vec::new(),
                        line: i + 1,
                    })
                }
            }
            prose.push(String::new());
            continue;
        }
        match open.as_mut() {
            Some(b) => {
                b.lines.push(t.to_string());
                prose.push(String::new());
            }
            None => prose.push(l.to_string()),
        }
    }
    assert!(open.is_none(), "a code fence is never closed");
    (prose, blocks)
}

/// The anchor a heading gets, as GitHub and mdBook make it: lower case,
/// letters, digits, `-` and `_` kept, spaces to `-`, the rest dropped.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn anchors(doc: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(doc).unwrap();
    let (prose, _) = split(&text);
    prose
        .iter()
        .filter_map(|l| l.strip_prefix('#'))
        .map(|h| slug(h.trim_start_matches('#')))
        .collect()
}

/// The targets of inline links `[text](target)` in prose, inline code left out.
fn links(prose: &[String]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, l) in prose.iter().enumerate() {
        // Inline code spans hold no links.
        let plain: String = l.split('`').step_by(2).collect::<Vec<_>>().join(" ");
        let mut rest = plain.as_str();
        while let Some(p) = rest.find("](") {
            let after = &rest[p + 2..];
            let Some(end) = after.find(')') else { break };
            out.push((i + 1, after[..end].to_string()));
            rest = &after[end..];
        }
    }
    out
}

#[test]
fn every_relative_link_leads_to_a_file_and_heading() {
    let mut checked = 0;
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).unwrap();
        let (prose, _) = split(&text);
        for (line, target) in links(&prose) {
            if target.starts_with("http://")
                || target.starts_with("https://")
                || target.starts_with("mailto:")
            {
                continue;
            }
            let (path, anchor) = match target.split_once('#') {
                Some((p, a)) => (p, Some(a)),
                None => (target.as_str(), None),
            };
            let file = if path.is_empty() {
                doc.clone()
            } else {
                doc.parent().unwrap().join(path)
            };
            let at = format!("{}:{line}: link {target:?}", doc.display());
            assert!(file.exists(), "{at} leads nowhere");
            let real = file.canonicalize().unwrap();
            assert!(
                real.starts_with(root().canonicalize().unwrap()),
                "{at} leaves the repository"
            );
            if let Some(a) = anchor {
                assert!(
                    anchors(&file).contains(a),
                    "{at}: {} has no heading with the anchor #{a}",
                    file.display()
                );
            }
            checked += 1;
        }
    }
    // The README alone links to a dozen chapters; a reader that found none
    // would pass vacuously.
    assert!(checked >= 30, "only {checked} links checked");
}

#[test]
fn every_chapter_is_in_the_summary_and_the_readme_is_short() {
    let summary = std::fs::read_to_string(root().join("docs/src/SUMMARY.md")).unwrap();
    let (prose, _) = split(&summary);
    let listed: BTreeSet<String> = links(&prose).into_iter().map(|(_, t)| t).collect();
    let mut chapters = 0;
    for doc in documents().iter().skip(2) {
        let name = doc.file_name().unwrap().to_str().unwrap();
        if name == "SUMMARY.md" {
            continue;
        }
        assert!(
            listed.contains(name),
            "{name} is not in docs/src/SUMMARY.md"
        );
        chapters += 1;
    }
    assert!(chapters >= 15, "only {chapters} chapters found");
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let n = readme.lines().count();
    assert!(
        n <= 300,
        "README.md has {n} lines: at most 300, the rest belongs in the book"
    );
}

/// The arguments of a command line that runs bootaudit, if it is one.
fn bootaudit_args(line: &str) -> Option<Vec<String>> {
    let line = line.split(" #").next().unwrap().trim();
    let rest = line
        .strip_prefix("cargo run --release -- ")
        .or_else(|| line.strip_prefix("bootaudit "))?;
    Some(rest.split_whitespace().map(str::to_string).collect())
}

#[test]
fn every_shell_example_on_the_shipped_fixtures_runs_with_its_exit_code() {
    let mut ran = 0;
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).unwrap();
        let (_, blocks) = split(&text);
        for b in blocks {
            let mut words = b.info.split_whitespace();
            if !matches!(words.next(), Some("sh" | "bash" | "console" | "shell")) {
                continue;
            }
            let exit: Option<i32> = words
                .find_map(|w| w.strip_prefix("exit="))
                .map(|n| n.parse().expect("exit=N takes a number"));
            for line in &b.lines {
                let Some(args) = bootaudit_args(line) else {
                    continue;
                };
                let at = format!("{}:{} `{line}`", doc.display(), b.line);
                let on_fixtures = args
                    .iter()
                    .any(|a| a.starts_with("fixtures/") && root().join(a).exists());
                let Some(want) = exit else {
                    assert!(
                        !on_fixtures,
                        "{at} runs on the shipped fixtures: fence it as `sh exit=N`"
                    );
                    continue;
                };
                assert!(
                    !line.contains(['"', '\'', '$', '|', '>', '<', '*']),
                    "{at}: an example that is run is one plain command"
                );
                let out = crate::common::bootaudit()
                    .args(&args)
                    .current_dir(root())
                    .stdin(Stdio::null())
                    .output()
                    .unwrap();
                assert_eq!(
                    out.status.code(),
                    Some(want),
                    "{at}: stderr {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                // Something was printed: an example that shows nothing
                // is not the example the prose describes.
                assert!(!out.stdout.is_empty(), "{at} printed nothing");
                ran += 1;
            }
        }
    }
    assert!(ran >= 8, "only {ran} examples ran");
}
