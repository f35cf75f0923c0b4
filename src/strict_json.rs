//! JSON that says a key once. serde_json, like most readers, keeps the
//! last of two equal keys in an object silently: a hostile document could
//! then mean one thing to one reader and another to the next (a CEL record
//! with two `digest`s, a bundle manifest that lists a file twice). This
//! pass refuses it, in linear time, with serde_json's own depth limit.

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
