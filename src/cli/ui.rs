//! What the command line says besides its report: warnings and notes on
//! stderr, as `-q` and `-v` choose, and colour in tables, as `--color`
//! chooses. Set once in `main`, before a subcommand runs.
//!
//! Colour is added after a table has been escaped for the terminal
//! ([`render::escape::terminal`]), and only to cells whose whole content is
//! a severity or a verdict the renderer wrote, so nothing the judged
//! machine wrote can carry or break an escape sequence. It never goes into
//! `-o FILE` or a pipe unless `--color always` asks for it.

use std::borrow::Cow;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicI8, Ordering::Relaxed};

/// `--color`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// When stdout is a terminal, NO_COLOR is unset and TERM is not `dumb`.
    Auto,
    /// Always, even into a pipe.
    Always,
    /// Never.
    Never,
}

static LEVEL: AtomicI8 = AtomicI8::new(0);
static COLOR: AtomicBool = AtomicBool::new(false);

/// Sets the verbosity (`-q`: -1, none: 0, `-v`: 1 and up) and decides
/// colour from `choice` and the environment.
pub fn set(quiet: bool, verbose: u8, choice: ColorChoice) {
    let level = if quiet {
        -1
    } else {
        verbose.min(i8::MAX as u8) as i8
    };
    LEVEL.store(level, Relaxed);
    bootaudit::fsutil::QUIET.store(quiet, Relaxed);
    if level >= 1 {
        bootaudit::fsutil::on_open(|path, len| {
            detail(&format!("reading {} ({len} bytes)", path.display()))
        });
    }
    let env_allows = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::env::var_os("TERM").is_none_or(|t| t != "dumb");
    COLOR.store(
        match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => env_allows && std::io::stdout().is_terminal(),
        },
        Relaxed,
    );
}

/// Warnings and notes are printed (not `-q`).
pub fn talkative() -> bool {
    LEVEL.load(Relaxed) >= 0
}

/// `-v` was given: each input file is named on stderr, with its size, as
/// it is opened.
pub fn verbose() -> bool {
    LEVEL.load(Relaxed) >= 1
}

/// A warning on stderr, unless `-q`: something the user should know that
/// does not change the exit code. `msg` is escaped for the terminal.
pub fn warn(msg: &str) {
    if talkative() {
        eprintln!(
            "bootaudit: warning: {}",
            bootaudit::render::escape::terminal(msg)
        );
    }
}

/// A note on stderr, unless `-q`: what a command wrote.
pub fn note(msg: &str) {
    if talkative() {
        eprintln!("bootaudit: {}", bootaudit::render::escape::terminal(msg));
    }
}

/// A detail on stderr, only with `-v`.
pub fn detail(msg: &str) {
    if verbose() {
        eprintln!("bootaudit: {}", bootaudit::render::escape::terminal(msg));
    }
}

/// The SGR colour of a cell that holds only a severity or a verdict, as
/// the renderers write them (`CRITICAL !`, `HIGH`, `FAIL`, `PASS`...).
fn colour_of(cell: &str) -> Option<&'static str> {
    let (word, rest) = cell.split_once(' ').unwrap_or((cell, ""));
    if !rest.chars().all(|c| c == '!' || c == ' ') {
        return None;
    }
    Some(match word {
        "CRITICAL" | "FAIL" | "FAILED" => "1;31",
        "HIGH" => "31",
        "MEDIUM" | "UNKNOWN" => "33",
        "LOW" => "36",
        "PASS" => "32",
        _ => return None,
    })
}

/// Colours the severity and verdict cells of tables in `text` (already
/// escaped), when colour is on; otherwise returns it unchanged.
pub fn paint(text: &str) -> Cow<'_, str> {
    if !COLOR.load(Relaxed) {
        return Cow::Borrowed(text);
    }
    paint_cells(text)
}

/// [`paint`] regardless of the setting.
fn paint_cells(text: &str) -> Cow<'_, str> {
    // comfy-table's UTF8_FULL_CONDENSED borders, the only tables we draw.
    const SEPARATORS: [char; 2] = ['│', '┆'];
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let mut changed = false;
    for line in text.split_inclusive('\n') {
        if !line.contains(SEPARATORS) {
            out.push_str(line);
            continue;
        }
        let mut rest = line;
        while let Some(i) = rest.find(SEPARATORS) {
            let sep_len = rest[i..].chars().next().map_or(1, char::len_utf8);
            let (cell, after) = rest.split_at(i);
            let word = cell.trim();
            match colour_of(word) {
                Some(sgr) => {
                    let start = cell.len() - cell.trim_start().len();
                    out.push_str(&cell[..start]);
                    out.push_str(&format!("\x1b[{sgr}m{word}\x1b[0m"));
                    out.push_str(&cell[start + word.len()..]);
                    changed = true;
                }
                None => out.push_str(cell),
            }
            out.push_str(&after[..sep_len]);
            rest = &after[sep_len..];
        }
        out.push_str(rest);
    }
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::paint_cells;

    #[test]
    fn only_whole_cells_of_a_severity_or_verdict_are_coloured() {
        let t = "│ HIGH !   ┆ a HIGH finding ┆ FAIL │\n│ CRITICAL ┆ LOW x          ┆ PASS │\nplain HIGH line\n";
        let p = paint_cells(t);
        assert_eq!(
            p,
            "│ \x1b[31mHIGH !\x1b[0m   ┆ a HIGH finding ┆ \x1b[1;31mFAIL\x1b[0m │\n│ \x1b[1;31mCRITICAL\x1b[0m ┆ LOW x          ┆ \x1b[32mPASS\x1b[0m │\nplain HIGH line\n"
        );
        // Removing the colour codes gives the table back, byte for byte.
        let stripped = p
            .replace("\x1b[31m", "")
            .replace("\x1b[1;31m", "")
            .replace("\x1b[32m", "")
            .replace("\x1b[0m", "");
        assert_eq!(stripped, t);
        // A table with no such cell is returned as it is.
        assert!(matches!(
            paint_cells("│ a ┆ b │\n"),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
