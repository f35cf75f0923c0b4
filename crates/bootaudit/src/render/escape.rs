//! Strings from the judged machine, made harmless for a terminal.
//!
//! ACPI OEM IDs, Boot#### descriptions, device paths, SMBIOS strings,
//! variable and file names all come from a machine that may be compromised.
//! Printed raw, `ESC[2J` clears the responder's screen, `ESC]0;…BEL` sets
//! the window title, OSC 8 plants a link, CR and BS rewrite a line, and the
//! bidi overrides (U+202A–U+202E, U+2066–U+2069) make text read other than
//! it is stored. Every human-readable output goes through [`terminal`] (or
//! [`line`] for one value); JSON stays exact, since serde_json escapes the
//! control characters itself and a consumer wants the real bytes.

use std::borrow::Cow;

/// True for the characters shown escaped: every C0 control, DEL, every C1
/// control, the bidi embeddings, overrides, isolates and marks, and the
/// line and paragraph separators (line breaks to Unicode-aware viewers).
fn dangerous(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{200e}' | '\u{200f}' | '\u{061c}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}'
        | '\u{2028}' | '\u{2029}')
}

fn escape_with(s: &str, keep_newlines: bool) -> Cow<'_, str> {
    let bad = |c: char| dangerous(c) && !(keep_newlines && c == '\n');
    if !s.chars().any(bad) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if !bad(c) {
            out.push(c);
        } else if (c as u32) < 0x80 {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        }
    }
    Cow::Owned(out)
}

/// A whole text for a terminal: every dangerous character escaped
/// visibly (`\x1b`, `\u{202e}`) except the line feeds that separate its
/// lines. Tabs are escaped too (a tab can hide what follows it).
pub fn terminal(s: &str) -> Cow<'_, str> {
    escape_with(s, true)
}

/// One value (a cell, a name in a sentence): as [`terminal`], and a line
/// feed is escaped too, so a value cannot forge a line of its own.
pub fn line(s: &str) -> Cow<'_, str> {
    escape_with(s, false)
}

/// A value shown in a sentence: its `Display` text passed through
/// [`line`], for `write!` arguments (`E(&name)`).
pub struct E<T>(pub T);

impl<T: std::fmt::Display> std::fmt::Display for E<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&line(&self.0.to_string()))
    }
}

/// Cuts an escaped value into lines of at most `width` characters, never
/// inside one of the escapes [`line`] writes (`\x1b`, `\u{202e}`), so a
/// wrapped table cell still shows each escape whole.
pub fn wrap(s: &str, width: usize) -> Vec<String> {
    let width = width.max(12);
    let chars: Vec<char> = s.chars().collect();
    let mut lines = Vec::new();
    let mut cur = String::new();
    let mut n = 0;
    let mut i = 0;
    while i < chars.len() {
        // One token: an escape, or one character.
        let len = match (chars.get(i), chars.get(i + 1)) {
            (Some('\\'), Some('x')) => 4,
            (Some('\\'), Some('u')) if chars.get(i + 2) == Some(&'{') => chars[i..]
                .iter()
                .position(|&c| c == '}')
                .map_or(1, |p| p + 1),
            _ => 1,
        }
        .min(chars.len() - i);
        if n + len > width && n > 0 {
            lines.push(std::mem::take(&mut cur));
            n = 0;
        }
        cur.extend(&chars[i..i + len]);
        n += len;
        i += len;
    }
    if !cur.is_empty() || lines.is_empty() {
        lines.push(cur);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_are_shown_escaped() {
        assert_eq!(
            terminal("a\u{1b}[2Jb\u{7}\n\r\u{8}\u{0}"),
            "a\\x1b[2Jb\\x07\n\\x0d\\x08\\x00"
        );
        assert_eq!(line("x\ny"), "x\\x0ay");
        assert_eq!(
            terminal("evil\u{202e}fdp.exe \u{2066}\u{85}\u{9b}"),
            "evil\\u{202e}fdp.exe \\u{2066}\\u{85}\\u{9b}"
        );
        assert!(matches!(terminal("plain ÿ é 中"), Cow::Borrowed(_)));
    }

    #[test]
    fn wrapping_keeps_escapes_whole() {
        let s = line("abcdefghij\u{202e}klm\u{1b}");
        let w = wrap(&s, 12);
        assert_eq!(w, ["abcdefghij", "\\u{202e}klm", "\\x1b"]);
        assert_eq!(wrap("", 20), [""]);
    }
}
