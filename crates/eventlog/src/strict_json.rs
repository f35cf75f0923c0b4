//! JSON that says a key once. serde_json, like most readers, keeps the
//! last of two equal keys in an object silently: a hostile document could
//! then mean one thing to one reader and another to the next (a CEL record
//! with two `digest`s, a bundle manifest that lists a file twice). This
//! pass refuses it, in linear time, with serde_json's own depth limit.
//! [`first_value_past`] bounds how many values a document may hold, before
//! a parser allocates a tree for them.

/// The byte offset of the JSON value after the first `max` (object keys
/// not counted), if there is one.
pub fn first_value_past(bytes: &[u8], max: usize) -> Option<usize> {
    // Every value takes at least one byte: a document of at most `max`
    // bytes (every snapshot but a hostile one) needs no scan.
    if bytes.len() <= max {
        return None;
    }
    // Containers open, innermost last: true for an object. Deeper than the
    // parser's own limit (128) is not tracked: the parser rejects it.
    let mut stack: Vec<bool> = Vec::new();
    let mut deep = 0usize;
    let mut n = 0usize;
    // A value may start here (after `[`, `:`, an array's `,`, or at the
    // start of the document).
    let mut expect_value = true;
    let mut i = 0usize;
    while let Some(&b) = bytes.get(i) {
        match b {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b',' => {
                expect_value = !(deep == 0 && stack.last() == Some(&true));
                i += 1;
            }
            b':' => {
                expect_value = true;
                i += 1;
            }
            b']' | b'}' => {
                if deep > 0 {
                    deep -= 1;
                } else {
                    stack.pop();
                }
                expect_value = false;
                i += 1;
            }
            _ => {
                if expect_value {
                    n += 1;
                    if n > max {
                        return Some(i);
                    }
                }
                expect_value = false;
                match b {
                    // Skip the string (key or value) to its closing quote,
                    // a block at a time: strings are most of a snapshot's
                    // bytes (the event log's hex).
                    b'"' => i = string_end(bytes, i + 1),
                    b'[' | b'{' => {
                        if stack.len() < 256 && deep == 0 {
                            stack.push(b == b'{');
                        } else {
                            deep += 1;
                        }
                        expect_value = b == b'[';
                        i += 1;
                    }
                    // A number or literal: skip to the next byte that
                    // means something here.
                    _ => {
                        i += 1;
                        while bytes.get(i).is_some_and(|c| {
                            !matches!(
                                c,
                                b',' | b':'
                                    | b']'
                                    | b'}'
                                    | b'"'
                                    | b'['
                                    | b'{'
                                    | b' '
                                    | b'\t'
                                    | b'\n'
                                    | b'\r'
                            )
                        }) {
                            i += 1;
                        }
                    }
                }
            }
        }
    }
    None
}

/// The offset just past the closing quote of a JSON string whose contents
/// start at `i` (the end of `bytes` when it is not closed).
fn string_end(bytes: &[u8], mut i: usize) -> usize {
    // Most strings are short (object keys): look at their first bytes one
    // by one before a block search.
    for (k, &b) in bytes.iter().enumerate().skip(i).take(24) {
        match b {
            b'"' => return k + 1,
            b'\\' => {
                i = k + 2;
                break;
            }
            _ => i = k + 1,
        }
    }
    while let Some(j) = bytes.get(i..).and_then(|r| memchr::memchr2(b'"', b'\\', r)) {
        let at = i + j;
        if bytes[at] == b'"' {
            return at + 1;
        }
        // A backslash escapes the byte after it.
        i = at + 2;
    }
    bytes.len()
}

/// A JSON value that refuses an object holding the same key twice (serde
/// and most readers keep the last one silently, so a record could carry
/// one digest for one reader and another for the next). `record` names
/// the top-level record being read, for the error.
#[derive(Clone, Copy)]
struct Unique {
    record: Option<usize>,
}

impl<'de> serde::de::DeserializeSeed<'de> for Unique {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Unique {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        // The top-level array's elements are the records.
        let mut i = 0usize;
        let top = self.record.is_none();
        while seq
            .next_element_seed(Unique {
                record: if top { Some(i) } else { self.record },
            })?
            .is_some()
        {
            i += 1;
        }
        Ok(())
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(k) = map.next_key::<String>()? {
            if !seen.insert(k.clone()) {
                return Err(serde::de::Error::custom(match self.record {
                    Some(usize::MAX) => format!("the key {k:?} appears twice in one object"),
                    Some(i) => format!("record {i}: the key {k:?} appears twice in one object"),
                    None => format!("document: the key {k:?} appears twice in one object"),
                }));
            }
            // `{"records": [...]}`: its array's elements are the records.
            let inner = if self.record.is_none() && k == "records" {
                Unique { record: None }
            } else {
                Unique {
                    record: self.record.or(Some(usize::MAX)),
                }
            };
            map.next_value_seed(inner)?;
        }
        Ok(())
    }
}

/// Refuses `bytes` when an object in it holds a key twice; the error
/// (with serde_json's line and column) names the key. With `records`, the
/// document is an array of records, or `{"records": [...]}`, and the
/// message starts with `record N: ` for a key repeated inside record N
/// (`document: ` outside the records).
pub fn no_duplicate_keys(bytes: &[u8], records: bool) -> Result<(), serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let seed = if records {
        Unique { record: None }
    } else {
        Unique {
            record: Some(usize::MAX),
        }
    };
    serde::de::DeserializeSeed::deserialize(seed, &mut de)?;
    de.end()
}
