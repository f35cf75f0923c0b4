//! The rule list of `bootaudit rules`: a table for a person, and the
//! Markdown table the book carries in docs/src/rules.md (a test checks the two agree).

use super::new_table;
use crate::rules::Rule;

/// The severity column: the usual severity, and how it varies.
fn severity(r: &Rule) -> String {
    match r.severity_varies {
        Some(v) => format!("{} ({v})", r.severity.word()),
        None => r.severity.word().to_string(),
    }
}

/// The level column: a check's level, `-` for a finding of `diff`.
fn level(r: &Rule) -> String {
    r.level.map_or_else(|| "-".to_string(), |l| l.to_string())
}

/// Renders the rules as a text table.
pub fn table(rules: &[&Rule]) -> String {
    let mut t = new_table(&[
        "Rule",
        "Category",
        "Severity",
        "Explained by",
        "Check level",
        "Description",
    ]);
    for r in rules {
        t.add_row(vec![
            r.id.to_string(),
            r.category.word().to_string(),
            severity(r),
            r.explained_by().unwrap_or_else(|| "-".to_string()),
            level(r),
            r.description.to_string(),
        ]);
    }
    format!("{t}\n{} rules\n", rules.len())
}

/// Renders the rules as a Markdown table (the book's, docs/src/rules.md).
pub fn markdown(rules: &[&Rule]) -> String {
    let mut out = String::from(
        "| rule | category | severity | explained by | check level | description |\n| --- | --- | --- | --- | --- | --- |\n",
    );
    for r in rules {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} |\n",
            r.id,
            r.category.word(),
            severity(r),
            r.explained_by().as_deref().unwrap_or("-"),
            level(r),
            r.description.replace('|', "\\|")
        ));
    }
    out
}
