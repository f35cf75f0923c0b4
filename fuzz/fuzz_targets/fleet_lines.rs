//! Fuzz target for the fleet's JSON-lines reader (`fleet::lines`): the
//! first byte sets the line cap and the read size, the rest is the input.
//! Every line a reader hands out is no longer than the cap, lines are
//! numbered 1, 2, 3..., and the lines it keeps, joined by line feeds,
//! are the input's own bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::io::Read;

/// A reader handing out at most `step` bytes at a time.
struct Trickle<'a>(&'a [u8], usize);

impl Read for Trickle<'_> {
    fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.len().min(self.1).min(b.len());
        b[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&k, input)) = data.split_first() else {
        return;
    };
    let max = usize::from(k & 0x3f);
    let step = usize::from(k >> 6) * 3 + 1;
    let mut r = bootaudit::fleet::lines::Lines::new(Trickle(input, step), max);
    let mut expect = 1;
    let mut pieces = input.split(|&b| b == b'\n').collect::<Vec<_>>();
    // A final line feed ends the last line; it does not start another
    // (and an empty input has no line).
    if input.is_empty() || input.last() == Some(&b'\n') {
        pieces.pop();
    }
    while let Some(l) = r.next_line().expect("reads from memory do not fail") {
        let (n, text) = match l {
            bootaudit::fleet::lines::Line::Text(n, t) => (n, Some(t.to_vec())),
            bootaudit::fleet::lines::Line::TooLong(n) => (n, None),
        };
        assert_eq!(n, expect);
        let want = pieces[n - 1];
        match text {
            Some(t) => {
                assert!(t.len() <= max);
                assert_eq!(t, want);
            }
            None => assert!(want.len() > max),
        }
        expect += 1;
    }
    assert_eq!(expect - 1, pieces.len());
});
