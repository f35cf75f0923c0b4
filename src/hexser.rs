//! Serde helpers that write byte strings as lowercase hex, the encoding every
//! bootaudit JSON document uses for digests and raw data.

use serde::Serializer;

/// Serializes bytes as a lowercase hex string.
pub fn bytes<S: Serializer, T: AsRef<[u8]>>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(v.as_ref()))
}
