//! Lowercase hex, the encoding every bootaudit JSON document uses for
//! digests and raw data, and the serde helpers that write it. A table-driven
//! encoder: reports carry whole certificates as hex, and the `hex` crate's
//! char-by-char encoder dominated the time of `--format json`.

use serde::Serializer;

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Encodes bytes as lowercase hex.
pub fn encode(b: impl AsRef<[u8]>) -> String {
    let b = b.as_ref();
    let mut out = Vec::with_capacity(b.len() * 2);
    for &x in b {
        out.push(DIGITS[(x >> 4) as usize]);
        out.push(DIGITS[(x & 0xf) as usize]);
    }
    // Every byte pushed is an ASCII hex digit.
    String::from_utf8(out).unwrap_or_default()
}

/// The number of bytes `s` encodes when it is hex (an even number of hex
/// digits, either case, as the `hex` crate decodes), without decoding it.
pub fn hex_len(s: &str) -> Option<usize> {
    // A block of bytes at a time, without a branch per byte: a snapshot's
    // event log is tens of kilobytes of hex, checked for every snapshot a
    // fleet reads.
    let b = s.as_bytes();
    let bad = b
        .chunks(64)
        .any(|c| c.iter().fold(false, |bad, &x| bad | !x.is_ascii_hexdigit()));
    (b.len() % 2 == 0 && !bad).then_some(b.len() / 2)
}

/// Decodes hex (an even number of hex digits, either case), as the `hex`
/// crate does, but a pair of digits at a time through a table: an event
/// log in a snapshot is tens of kilobytes of hex, decoded for every
/// snapshot a fleet reads.
pub fn decode(s: &str) -> Option<Vec<u8>> {
    const fn table() -> [u8; 256] {
        let mut t = [0xffu8; 256];
        let mut i = 0;
        while i < 10 {
            t[b'0' as usize + i] = i as u8;
            i += 1;
        }
        let mut i = 0;
        while i < 6 {
            t[b'a' as usize + i] = 10 + i as u8;
            t[b'A' as usize + i] = 10 + i as u8;
            i += 1;
        }
        t
    }
    static NIBBLE: [u8; 256] = table();
    let b = s.as_bytes();
    if b.len() % 2 != 0 {
        return None;
    }
    // Every pair is decoded, and a bad digit (0xff in the table) is
    // noticed once at the end: a loop without a branch per byte.
    let mut out = vec![0u8; b.len() / 2];
    let mut bad = 0u8;
    for (o, pair) in out.iter_mut().zip(b.chunks_exact(2)) {
        let (hi, lo) = (NIBBLE[pair[0] as usize], NIBBLE[pair[1] as usize]);
        bad |= hi | lo;
        *o = hi << 4 | (lo & 0x0f);
    }
    (bad & 0xf0 == 0).then_some(out)
}

/// Serializes bytes as a lowercase hex string.
pub fn bytes<S: Serializer, T: AsRef<[u8]>>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&encode(v.as_ref()))
}

/// Lowercase hex of the SHA-256 of `b`.
pub fn sha256(b: &[u8]) -> String {
    use sha2::Digest;
    encode(sha2::Sha256::digest(b))
}

#[cfg(test)]
mod tests {
    #[test]
    fn encodes_like_the_hex_crate() {
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(super::encode(&all), hex::encode(&all));
        assert_eq!(super::encode([]), "");
    }

    #[test]
    fn decode_is_the_hex_crates() {
        let all: Vec<u8> = (0..=255).collect();
        let up = hex::encode_upper(&all);
        for s in [
            hex::encode(&all),
            up,
            "".into(),
            "0".into(),
            "0g".into(),
            "é0".into(),
            "ab cd".into(),
        ] {
            assert_eq!(super::decode(&s), hex::decode(&s).ok(), "{s:?}");
        }
        // Every pair of bytes, digit or not.
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                let s = String::from_utf8_lossy(&[a, b]).into_owned();
                assert_eq!(super::decode(&s), hex::decode(&s).ok(), "{s:?}");
            }
        }
    }

    #[test]
    fn hex_len_accepts_what_the_hex_crate_decodes() {
        for s in ["", "00", "aB", "0g", "abc", "ab cd", "ÿÿ", "12345678"] {
            assert_eq!(
                super::hex_len(s),
                hex::decode(s).ok().map(|b| b.len()),
                "{s:?}"
            );
        }
    }
}
