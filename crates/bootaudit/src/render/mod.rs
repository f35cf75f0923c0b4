//! Renderers: they turn computed reports into tables, JSON or HTML and
//! never compute anything themselves.

pub mod attest;
pub mod bootbind;
pub mod bundle;
pub mod check;
pub mod deploy;
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
pub mod timeline;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::ContentArrangement;

/// A text table whose cells are escaped as they go in: every value passes
/// through [`escape::line`], so a string from the judged machine can
/// neither drive the terminal nor start a line of its own (a line feed in a
/// Boot#### description shows as `\x0a`, inside its cell). A renderer
/// that wants a cell of several lines says so with [`Table::add_row_lines`].
pub struct Table(comfy_table::Table);

impl Table {
    /// Adds a row of one-line cells, each escaped.
    pub fn add_row<S: AsRef<str>>(&mut self, cells: Vec<S>) -> &mut Table {
        self.0.add_row(
            cells
                .iter()
                .map(|c| escape::line(c.as_ref()).into_owned())
                .collect::<Vec<String>>(),
        );
        self
    }

    /// Adds a row whose cells are each made of lines: every line escaped
    /// on its own, then joined by the line feeds the renderer chose.
    pub fn add_row_lines(&mut self, cells: Vec<Vec<String>>) -> &mut Table {
        self.0.add_row(
            cells
                .iter()
                .map(|lines| {
                    lines
                        .iter()
                        .map(|l| escape::line(l).into_owned())
                        .collect::<Vec<String>>()
                        .join("\n")
                })
                .collect::<Vec<String>>(),
        );
        self
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A table that fits the terminal, or 100 columns when stdout is not one.
pub fn new_table(header: &[&str]) -> Table {
    let mut t = comfy_table::Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.to_vec());
    if t.width().is_none() {
        t.set_width(100);
    }
    Table(t)
}

/// Writes a report as pretty JSON with a trailing newline, streaming (a
/// report of a large log is never held whole in memory as text).
pub fn json_to<T: serde::Serialize, W: std::io::Write>(v: &T, mut w: W) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut w, v)?;
    w.write_all(b"\n")?;
    w.flush()
}
