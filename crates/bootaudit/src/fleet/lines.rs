//! The lines of a JSON-lines file, read in large blocks and handed out in
//! place: a fleet's file is gigabytes of snapshots, and copying each line
//! out of a reader's buffer into its own cost a tenth of `fleet`'s time.
//!
//! A line longer than the cap is reported as such, without being held: the
//! reader skips to its end a block at a time, so memory stays within the
//! cap plus one block whatever the input.

use std::io::Read;

/// One line of the input.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// Line `n` (1-based), without its line feed.
    Text(usize, &'a [u8]),
    /// Line `n` is longer than the cap; its bytes were skipped.
    TooLong(usize),
}

/// Reads lines from `r`, each at most `max` bytes.
pub struct Lines<R> {
    r: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    line: usize,
    max: usize,
    /// Bytes read from `r` so far.
    read: u64,
    /// The byte offset of the line last returned.
    at: u64,
}

/// The block read at a time.
const BLOCK: usize = 4 << 20;

impl<R: Read> Lines<R> {
    /// A reader of lines of at most `max` bytes.
    pub fn new(r: R, max: usize) -> Lines<R> {
        Lines {
            r,
            buf: vec![0; BLOCK.min(max.saturating_add(1)).max(1)],
            start: 0,
            end: 0,
            eof: false,
            line: 0,
            max,
            read: 0,
            at: 0,
        }
    }

    /// Notes that the line starting at `buf[s]` is the one returned.
    fn starts_at(&mut self, s: usize) {
        self.at = self.read - (self.end - s) as u64;
    }

    /// The next line, blank ones included; `None` at the end.
    pub fn next_line(&mut self) -> std::io::Result<Option<Line<'_>>> {
        Ok(self.advance()?.map(|r| self.line_of(r)))
    }

    /// As [`Lines::next_line`], with the byte offset in the input where
    /// the line starts (for an error to name).
    pub fn next_line_at(&mut self) -> std::io::Result<Option<(u64, Line<'_>)>> {
        Ok(self.advance()?.map(|r| (self.at, self.line_of(r))))
    }

    fn line_of(&self, r: Option<(usize, usize)>) -> Line<'_> {
        match r {
            Some((s, e)) => Line::Text(self.line, &self.buf[s..e]),
            None => Line::TooLong(self.line),
        }
    }

    /// Finds the next line: `Some(Some((s, e)))` when it is `buf[s..e]`,
    /// `Some(None)` when it is over the cap (and skipped), `None` at the
    /// end.
    fn advance(&mut self) -> std::io::Result<Option<Option<(usize, usize)>>> {
        loop {
            if let Some(p) = memchr::memchr(b'\n', &self.buf[self.start..self.end]) {
                self.line += 1;
                let (s, e) = (self.start, self.start + p);
                self.starts_at(s);
                self.start = e + 1;
                return Ok(Some((e - s <= self.max).then_some((s, e))));
            }
            if self.eof {
                if self.start == self.end {
                    return Ok(None);
                }
                self.line += 1;
                let (s, e) = (self.start, self.end);
                self.starts_at(s);
                self.start = self.end;
                return Ok(Some((e - s <= self.max).then_some((s, e))));
            }
            // The line so far is longer than the cap: skip to its end.
            if self.end - self.start > self.max {
                self.line += 1;
                self.starts_at(self.start);
                self.skip_rest()?;
                return Ok(Some(None));
            }
            // Keep the start of the line, and make room after it.
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            if self.end == self.buf.len() {
                let grown = (self.buf.len() * 2).min(self.max.saturating_add(1 + BLOCK));
                self.buf.resize(grown.max(self.buf.len() + 1), 0);
            }
            let n = loop {
                match self.r.read(&mut self.buf[self.end..]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            };
            if n == 0 {
                self.eof = true;
            }
            self.read += n as u64;
            self.end += n;
        }
    }

    /// Drops the buffered part of an overlong line and reads on to its
    /// line feed, a block at a time.
    fn skip_rest(&mut self) -> std::io::Result<()> {
        self.start = 0;
        self.end = 0;
        // Give back the memory the long line took.
        self.buf.truncate(BLOCK.min(self.buf.len()));
        self.buf.shrink_to_fit();
        loop {
            let n = match self.r.read(&mut self.buf) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                self.eof = true;
                return Ok(());
            }
            self.read += n as u64;
            if let Some(p) = memchr::memchr(b'\n', &self.buf[..n]) {
                self.start = p + 1;
                self.end = n;
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out at most `step` bytes per read.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
            let n = self.0.len().min(self.1).min(b.len());
            b[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn all(input: &[u8], max: usize, step: usize) -> Vec<(usize, Option<Vec<u8>>)> {
        let mut r = Lines::new(Trickle(input, step), max);
        let mut out = Vec::new();
        while let Some((at, l)) = r.next_line_at().unwrap() {
            let l = match l {
                Line::Text(n, t) => (n, Some(t.to_vec())),
                Line::TooLong(n) => (n, None),
            };
            // Each line's offset is where its text starts in the input:
            // just after the previous line feed.
            let at = at as usize;
            let want = match l.0 {
                1 => 0,
                k => {
                    memchr::memchr_iter(b'\n', input)
                        .nth(k - 2)
                        .expect("an earlier line feed")
                        + 1
                }
            };
            assert_eq!(at, want, "line {}", l.0);
            out.push(l);
        }
        out
    }

    #[test]
    fn lines_are_numbered_cut_and_capped_however_the_input_arrives() {
        let long = vec![b'x'; 300];
        let mut input = b"a\n\n  \nbcd\n".to_vec();
        input.extend(&long);
        input.extend(b"\nlast");
        let want = vec![
            (1, Some(b"a".to_vec())),
            (2, Some(Vec::new())),
            (3, Some(b"  ".to_vec())),
            (4, Some(b"bcd".to_vec())),
            (5, None),
            (6, Some(b"last".to_vec())),
        ];
        for step in [1, 2, 3, 7, 64, 1000] {
            assert_eq!(all(&input, 100, step), want, "step {step}");
        }
        // At the cap exactly, a line is kept.
        assert_eq!(all(&long, 300, 5), vec![(1, Some(long.clone()))]);
        assert_eq!(all(&long, 299, 5), vec![(1, None)]);
        assert_eq!(all(b"", 10, 1), vec![]);
        assert_eq!(all(b"\n", 10, 1), vec![(1, Some(Vec::new()))]);
    }
}
