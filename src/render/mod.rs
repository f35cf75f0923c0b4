//! Renderers: they turn computed reports into tables, JSON or HTML and
//! never compute anything themselves.

pub mod attest;
pub mod bootbind;
pub mod bundle;
pub mod check;
pub mod diff;
pub mod escape;
pub mod esp;
pub mod eventlog;
pub mod firmware;
pub mod fleet;
pub mod html;
pub mod ingest;
pub mod quote;
pub mod rules;
pub mod show;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};

/// A table that fits the terminal, or 100 columns when stdout is not one.
pub fn new_table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.to_vec());
    if t.width().is_none() {
        t.set_width(100);
    }
    t
}

/// Writes a report as pretty JSON with a trailing newline, streaming (a
/// report of a large log is never held whole in memory as text).
pub fn json_to<T: serde::Serialize, W: std::io::Write>(v: &T, mut w: W) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut w, v)?;
    w.write_all(b"\n")?;
    w.flush()
}
