//! A fast reader for a snapshot's two bulk parts, the memory maps and the
//! loaded images: two thirds of a snapshot's bytes, and most of a fleet's
//! time when serde_json's derive read them (a key string, a field match
//! and a number visitor for each of some 3,000 numbers per host).
//!
//! It is exact or it is nothing. [`parse`] accepts a part only when it is
//! written in the plain form a producer writes (known keys, each once, no
//! other; unsigned integers in range, without sign, fraction or exponent;
//! strings whose escapes are the JSON ones), and returns `None` for
//! anything else, so that the caller reads the document with serde_json
//! alone: the same value, or the same error, as before. What it reads is
//! cut out of the text and replaced by `[]`, and serde_json reads the rest,
//! with every check it makes: a duplicate key, an unknown part, a bad
//! value anywhere else still fails the document.
//!
//! Why the cut is sound: the cut value starts at a position the scanner
//! found by reading the document's structure from its first byte (objects,
//! arrays and strings with their escapes, as JSON defines them), and the
//! text before it is the same in both documents. When serde_json accepts
//! the cut document, that prefix is valid JSON, so the value sits where the
//! scanner says: the value of that top-level key. The value read here is a
//! whole JSON value of the type serde_json would build, so the original
//! document is valid too, and means the same. `tests` checks this against
//! serde_json on every byte flip of a real snapshot; `fuzz/fuzz_targets/
//! snapshot_fast.rs` does on anything.

use super::{LoadedImage, MapLabel, MemoryDescriptor, MemoryMap, MemoryType, Snapshot};

/// Reads `text` as a snapshot, or `None` where the fast path does not
/// apply (which says nothing about whether the document is valid).
pub(super) fn parse(text: &str) -> Option<Snapshot> {
    let mut c = Cursor {
        t: text,
        b: text.as_bytes(),
        i: 0,
    };
    let mut maps: Option<(usize, usize, Vec<MemoryMap>)> = None;
    let mut images: Option<(usize, usize, Vec<LoadedImage>)> = None;
    c.eat(b'{')?;
    // The top-level keys, until both parts are found.
    while maps.is_none() || images.is_none() {
        c.ws();
        if c.peek() == Some(b'}') {
            break;
        }
        let key = c.raw_key()?;
        c.eat(b':')?;
        c.ws();
        let at = c.i;
        match key {
            b"memory_maps" if maps.is_none() => {
                let v = c.array(memory_map)?;
                maps = Some((at, c.i, v));
            }
            b"loaded_images" if images.is_none() => {
                let v = c.array(loaded_image)?;
                images = Some((at, c.i, v));
            }
            _ => c.skip_value()?,
        }
        c.ws();
        match c.next()? {
            b',' => {}
            b'}' => break,
            _ => return None,
        }
    }
    if maps.is_none() && images.is_none() {
        return None;
    }
    // The document with each part read here cut down to `[]`.
    let mut cuts: Vec<(usize, usize)> = maps
        .iter()
        .map(|m| (m.0, m.1))
        .chain(images.iter().map(|m| (m.0, m.1)))
        .collect();
    cuts.sort_unstable();
    let mut rest = String::with_capacity(text.len());
    let mut from = 0;
    for (s, e) in cuts {
        rest.push_str(text.get(from..s)?);
        rest.push_str("[]");
        from = e;
    }
    rest.push_str(text.get(from..)?);
    let mut snap: Snapshot = serde_json::from_str(&rest).ok()?;
    if let Some((_, _, v)) = maps {
        snap.memory_maps = v;
    }
    if let Some((_, _, v)) = images {
        snap.loaded_images = Some(v);
    }
    Some(snap)
}

/// A position in the document, every read bounds-checked.
struct Cursor<'a> {
    t: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    #[inline]
    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }

    /// Skips JSON white space (the four characters JSON allows).
    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    /// After white space, `c`.
    #[inline]
    fn eat(&mut self, c: u8) -> Option<()> {
        self.ws();
        (self.next()? == c).then_some(())
    }

    /// Exactly these bytes, here (a fixed size, compared without a call).
    #[inline]
    fn literal<const N: usize>(&mut self, s: &[u8; N]) -> bool {
        let here: Option<&[u8; N]> = self
            .b
            .get(self.i..self.i.wrapping_add(N))
            .and_then(|x| x.try_into().ok());
        let hit = here == Some(s);
        if hit {
            self.i += N;
        }
        hit
    }

    /// The key `k` here, quoted, as a producer writes it.
    #[inline]
    fn key_is(&mut self, k: &[u8]) -> bool {
        let n = k.len();
        let hit = self.b.get(self.i) == Some(&b'"')
            && self.b.get(self.i + 1..self.i + 1 + n) == Some(k)
            && self.b.get(self.i + 1 + n) == Some(&b'"');
        if hit {
            self.i += n + 2;
        }
        hit
    }

    /// A key's bytes, after white space: a string with no escape and no
    /// control character (a key spelt with escapes is left to serde_json).
    #[inline]
    fn raw_key(&mut self) -> Option<&'a [u8]> {
        self.eat(b'"')?;
        let s = self.i;
        let mut i = s;
        loop {
            match *self.b.get(i)? {
                b'"' => break,
                b'\\' | 0..=0x1f => return None,
                _ => i += 1,
            }
        }
        self.i = i + 1;
        self.b.get(s..i)
    }

    /// A string value, after white space, with its escapes decoded as
    /// serde_json decodes them; `None` for a control character, a bad
    /// escape or a lone surrogate (serde_json refuses those).
    fn string(&mut self) -> Option<String> {
        self.eat(b'"')?;
        let mut out = String::new();
        loop {
            let s = self.i;
            let i = s + memchr::memchr2(b'"', b'\\', self.b.get(s..)?)?;
            // A run of the document between ASCII bytes: whole UTF-8, taken
            // from the `str` without checking it again.
            let run = self.t.get(s..i)?;
            if run.bytes().any(|c| c < 0x20) {
                return None;
            }
            self.i = i + 1;
            if self.b[i] == b'"' {
                if out.is_empty() {
                    return Some(String::from(run));
                }
                out.push_str(run);
                return Some(out);
            }
            out.push_str(run);
            let c = match self.next()? {
                b'"' => '"',
                b'\\' => '\\',
                b'/' => '/',
                b'b' => '\u{8}',
                b'f' => '\u{c}',
                b'n' => '\n',
                b'r' => '\r',
                b't' => '\t',
                b'u' => {
                    let hi = self.hex4()?;
                    match hi {
                        0xd800..=0xdbff => {
                            if !self.literal(b"\\u") {
                                return None;
                            }
                            let lo = self.hex4()?;
                            if !(0xdc00..=0xdfff).contains(&lo) {
                                return None;
                            }
                            char::from_u32(0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00))?
                        }
                        0xdc00..=0xdfff => return None,
                        _ => char::from_u32(hi)?,
                    }
                }
                _ => return None,
            };
            out.push(c);
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = self.b.get(self.i..self.i + 4)?;
        let mut v = 0u32;
        for &c in h {
            v = v << 4 | char::from(c).to_digit(16)?;
        }
        self.i += 4;
        Some(v)
    }

    /// An unsigned integer, after white space, as serde_json reads one into
    /// a u64: digits, no leading zero, no sign, fraction or exponent (each
    /// of those is left to serde_json), at most `u64::MAX`.
    #[inline]
    fn u64(&mut self) -> Option<u64> {
        self.ws();
        let s = self.i;
        let mut i = s;
        let mut v: u64 = 0;
        while let Some(&c) = self.b.get(i) {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            v = v.checked_mul(10)?.checked_add(u64::from(d))?;
            i += 1;
        }
        let n = i - s;
        if n == 0 || (n > 1 && self.b[s] == b'0') {
            return None;
        }
        if let Some(b'.' | b'e' | b'E') = self.b.get(i) {
            return None;
        }
        self.i = i;
        Some(v)
    }

    #[inline]
    fn u32(&mut self) -> Option<u32> {
        u32::try_from(self.u64()?).ok()
    }

    /// An optional number: `null` or a number of the type.
    fn opt<T: TryFrom<u64>>(&mut self) -> Option<Option<T>> {
        self.ws();
        if self.literal(b"null") {
            return Some(None);
        }
        T::try_from(self.u64()?).ok().map(Some)
    }

    /// A JSON array of `item`s.
    fn array<T>(&mut self, item: fn(&mut Self) -> Option<T>) -> Option<Vec<T>> {
        self.eat(b'[')?;
        let mut v = Vec::new();
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Some(v);
        }
        loop {
            v.push(item(self)?);
            self.ws();
            match self.next()? {
                b',' => {}
                b']' => return Some(v),
                _ => return None,
            }
        }
    }

    /// The fields of an object whose keys are `keys`: each is handed to
    /// `field` by its index, which reads its value. `None` for another key
    /// or a key seen twice. Returns the indices seen, as bits. The key
    /// after the one just read is tried first, in place: producers write
    /// the fields in this order.
    #[inline]
    fn object(
        &mut self,
        keys: &[&[u8]],
        mut field: impl FnMut(&mut Self, usize) -> Option<()>,
    ) -> Option<u32> {
        self.eat(b'{')?;
        let mut seen = 0u32;
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Some(seen);
        }
        let mut hint = 0;
        loop {
            self.ws();
            let n = match keys.get(hint) {
                Some(k) if self.key_is(k) => hint,
                _ => {
                    let k = self.raw_key()?;
                    keys.iter().position(|x| *x == k)?
                }
            };
            self.eat(b':')?;
            field(self, n)?;
            if seen & 1 << n != 0 {
                return None;
            }
            seen |= 1 << n;
            hint = n + 1;
            self.ws();
            match self.next()? {
                b',' => {}
                b'}' => return Some(seen),
                _ => return None,
            }
        }
    }

    /// Steps over one value, after white space, by its structure only:
    /// strings to their closing quote (escapes stepped over), objects and
    /// arrays to their matching bracket. It checks nothing else; serde_json
    /// reads these parts.
    fn skip_value(&mut self) -> Option<()> {
        self.ws();
        let mut depth = 0usize;
        loop {
            match self.next()? {
                b'"' => self.skip_string()?,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => depth = depth.checked_sub(1)?,
                _ => {
                    if depth == 0 {
                        // A number or literal: to the byte that ends it.
                        while let Some(c) = self.peek() {
                            if matches!(c, b',' | b'}' | b']' | b' ' | b'\n' | b'\t' | b'\r') {
                                break;
                            }
                            self.i += 1;
                        }
                    }
                }
            }
            if depth == 0 {
                return Some(());
            }
        }
    }

    /// After an opening quote: to just past the closing one.
    fn skip_string(&mut self) -> Option<()> {
        loop {
            let at = memchr::memchr2(b'"', b'\\', self.b.get(self.i..)?)?;
            self.i += at + 1;
            if self.b[self.i - 1] == b'"' {
                return Some(());
            }
            // An escape: its next byte is never the string's end.
            self.i += 1;
        }
    }
}

/// One memory descriptor in the compact form `serde_json::to_string`
/// writes, without a key lookup per field.
fn descriptor_compact(c: &mut Cursor) -> Option<MemoryDescriptor> {
    if !c.literal(b"{\"type\":") {
        return None;
    }
    let ty = MemoryType(c.u32()?);
    if !c.literal(b",\"physical_start\":") {
        return None;
    }
    let physical_start = c.u64()?;
    if !c.literal(b",\"virtual_start\":") {
        return None;
    }
    let virtual_start = c.u64()?;
    if !c.literal(b",\"pages\":") {
        return None;
    }
    let pages = c.u64()?;
    if !c.literal(b",\"attributes\":") {
        return None;
    }
    let attributes = c.u64()?;
    if !c.literal(b"}") {
        return None;
    }
    Some(MemoryDescriptor {
        ty,
        physical_start,
        virtual_start,
        pages,
        attributes,
    })
}

fn descriptor(c: &mut Cursor) -> Option<MemoryDescriptor> {
    c.ws();
    let at = c.i;
    if let Some(d) = descriptor_compact(c) {
        return Some(d);
    }
    c.i = at;
    let mut d = MemoryDescriptor::default();
    let keys: [&[u8]; 5] = [
        b"type",
        b"physical_start",
        b"virtual_start",
        b"pages",
        b"attributes",
    ];
    let seen = c.object(&keys, |c, k| {
        match k {
            0 => d.ty = MemoryType(c.u32()?),
            1 => d.physical_start = c.u64()?,
            2 => d.virtual_start = c.u64()?,
            3 => d.pages = c.u64()?,
            _ => d.attributes = c.u64()?,
        }
        Some(())
    })?;
    (seen == 31).then_some(d)
}

fn memory_map(c: &mut Cursor) -> Option<MemoryMap> {
    let mut m = MemoryMap::default();
    let keys: [&[u8]; 5] = [
        b"label",
        b"map_key",
        b"descriptor_size",
        b"descriptor_version",
        b"descriptors",
    ];
    let seen = c.object(&keys, |c, k| {
        match k {
            0 => m.label = MapLabel::from(c.string()?),
            1 => m.map_key = c.u64()?,
            2 => m.descriptor_size = c.u64()?,
            3 => m.descriptor_version = c.u32()?,
            _ => m.descriptors = c.array(descriptor)?,
        }
        Some(())
    })?;
    (seen == 31).then_some(m)
}

fn loaded_image(c: &mut Cursor) -> Option<LoadedImage> {
    let mut m = LoadedImage::default();
    let keys: [&[u8]; 10] = [
        b"device_path",
        b"base",
        b"size",
        b"code_type",
        b"data_type",
        b"format",
        b"machine",
        b"subsystem",
        b"timestamp",
        b"size_of_image",
    ];
    let seen = c.object(&keys, |c, k| {
        match k {
            0 => m.device_path = c.string()?,
            1 => m.base = c.u64()?,
            2 => m.size = c.u64()?,
            3 => m.code_type = c.u32()?,
            4 => m.data_type = c.u32()?,
            5 => m.format = c.string()?,
            6 => m.machine = c.opt()?,
            7 => m.subsystem = c.opt()?,
            8 => m.timestamp = c.opt()?,
            _ => m.size_of_image = c.opt()?,
        }
        Some(())
    })?;
    // The six required fields; the four optional ones may be absent.
    (seen & 63 == 63).then_some(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serde(text: &str) -> Option<Snapshot> {
        serde_json::from_str(text).ok()
    }

    /// A real snapshot, compact as a fleet's JSON lines hold it.
    fn plain() -> String {
        serde_json::to_string(&real()).unwrap()
    }

    fn real() -> Snapshot {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/implant/plain-a.json");
        serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap()
    }

    /// The same, cut small enough to flip every byte of both parts: one
    /// memory map of 24 descriptors, 12 images, no TPM or ACPI part.
    fn small() -> String {
        let mut s = real();
        s.memory_maps.truncate(1);
        s.memory_maps[0].descriptors.truncate(24);
        s.loaded_images.as_mut().unwrap().truncate(12);
        s.tpm = None;
        s.acpi = None;
        serde_json::to_string(&s).unwrap()
    }

    #[test]
    fn the_fast_path_reads_a_real_snapshot_as_serde_json_does() {
        let text = plain();
        let s = serde(&text).unwrap();
        assert!(
            !s.memory_maps.is_empty() && s.loaded_images.as_ref().is_some_and(|v| !v.is_empty())
        );
        assert_eq!(parse(&text), Some(s.clone()));
        // Pretty-printed, each descriptor goes the long way.
        let pretty = serde_json::to_string_pretty(&s).unwrap();
        assert_eq!(parse(&pretty), Some(s));
    }

    #[test]
    fn what_the_fast_path_reads_equals_serde_json_on_every_byte_flip() {
        // At every byte of a real snapshot's memory map and images, and of
        // the keys around them, five replacements. Whenever the fast path
        // gives a value, serde_json must give the same one; whenever
        // serde_json refuses, the fast path must too.
        let text = small();
        let b = text.as_bytes();
        let maps = text.find("\"memory_maps\"").unwrap() - 1;
        let maps_end = text[maps..].find("]}]").unwrap() + maps + 4;
        let img = text.find("\"loaded_images\"").unwrap() - 1;
        let img_end = text[img..].find("}]").unwrap() + img + 3;
        let mut tried = 0;
        let mut fast = 0;
        let mut refused = 0;
        for at in (maps..maps_end).chain(img..img_end) {
            for with in [b'"', b'\\', b'1', b'-', b'}'] {
                let mut m = b.to_vec();
                if m[at] == with {
                    continue;
                }
                m[at] = with;
                let Ok(t) = std::str::from_utf8(&m) else {
                    continue;
                };
                tried += 1;
                let want = serde(t);
                let got = parse(t);
                if got.is_some() {
                    fast += 1;
                    assert_eq!(got, want, "byte {at} set to {:?}", with as char);
                }
                if want.is_none() {
                    refused += 1;
                    assert!(got.is_none(), "byte {at}");
                }
            }
        }
        // Both outcomes were reached, often.
        assert!(tried > 10_000, "{tried}");
        assert!(fast > 500, "{fast} of {tried} read by the fast path");
        assert!(refused > 5_000, "{refused} of {tried} refused");
    }

    #[test]
    fn escapes_numbers_and_keys_are_read_as_serde_json_reads_them() {
        let text = plain();
        let img = text.find("\"device_path\":\"").unwrap() + 15;
        let cases: &[(&str, &str)] = &[
            // Escapes that decode, and ones serde_json refuses.
            ("A\\\\B\\/\\n\\u00e9\\ud83d\\ude00", "fast"),
            ("\\ud83d", "refused"),
            ("\\udc00x", "refused"),
            ("\\x", "refused"),
            ("a\tb", "refused"),
        ];
        for (insert, want) in cases {
            let t = format!("{}{}{}", &text[..img], insert, &text[img..]);
            let s = serde(&t);
            assert_eq!(s.is_some(), *want == "fast", "{insert}");
            assert_eq!(parse(&t), s, "{insert}");
        }
        // Numbers: what the fast path leaves to serde_json, and the largest
        // u64, which both read.
        let n = text.find("\"pages\":").unwrap() + 8;
        let end = n + text[n..].find(|c: char| !c.is_ascii_digit()).unwrap();
        let with = |num: &str| format!("{}{}{}", &text[..n], num, &text[end..]);
        for num in [
            "01",
            "1.0",
            "1e2",
            "18446744073709551616",
            "-1",
            "\"1\"",
            "null",
        ] {
            let t = with(num);
            assert!(serde(&t).is_none(), "serde_json takes {num}");
            assert!(parse(&t).is_none(), "{num}");
        }
        let max = with("18446744073709551615");
        assert_eq!(parse(&max), Some(serde(&max).unwrap()));
        // A key twice: serde_json refuses, and so must the fast path.
        let k = text.find("\"memory_maps\":").unwrap();
        let end = text
            .find(",\"map_key_watch\"")
            .unwrap_or_else(|| text.find(",\"tpm\"").unwrap());
        let twice = format!("{},{}", &text[..end], &text[k..]);
        assert!(serde(&twice).is_none());
        assert!(parse(&twice).is_none());
    }
}
