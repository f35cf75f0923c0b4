//! The one bounds-checked byte reader for every binary structure bootaudit
//! reads: the TCG event log, TPM responses and structures, firmware
//! volumes, FAT and GPT, signature lists, Device Trees, the fleet's spool
//! records, and the collector's own table walks.
//!
//! Everything read is hostile. No read panics, no offset overflows, and a
//! read past the end is a [`Short`] naming the field, the byte offset it
//! was asked at and how many bytes it needed and had, which each parser
//! folds into its own error type (keeping its own messages). Two ways in:
//!
//! - [`Reader`], a cursor for structures read front to back;
//! - the point reads ([`u32_le_at`] and its kin, [`array_at`]) for fixed
//!   layouts read at known offsets, `None` when the field does not fit.
//!
//! ```
//! use bootaudit_snapshot::bytes::{u32_le_at, Reader};
//!
//! // A TPM2B: a big-endian u16 size, then that many bytes.
//! let data = [0x00, 0x03, b'a', b'b', b'c', 0xff];
//! let mut r = Reader::new(&data);
//! assert_eq!(r.sized_u16_be("TPM2B_DATA.size")?, b"abc");
//! assert_eq!(r.offset(), 5);
//! // One byte is left: a u16 does not fit, and the error says where.
//! let e = r.u16_be("TPMI_ALG_HASH").unwrap_err();
//! assert_eq!((e.field, e.offset, e.need, e.have), ("TPMI_ALG_HASH", 5, 2, 1));
//! assert_eq!(e.to_string(), "TPMI_ALG_HASH at byte 5: 2 bytes needed, 1 left");
//! // The point reads never panic, whatever the offset.
//! assert_eq!(u32_le_at(&data, 2), Some(0xff63_6261));
//! assert_eq!(u32_le_at(&data, usize::MAX), None);
//! # Ok::<(), bootaudit_snapshot::bytes::Short>(())
//! ```

use core::fmt;

/// A read that did not fit: the field, the byte offset it was asked at
/// (counted from the reader's base), the bytes it needed and those left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Short {
    /// The field being read.
    pub field: &'static str,
    /// Where the read started.
    pub offset: usize,
    /// The bytes it needed.
    pub need: usize,
    /// The bytes left at `offset`.
    pub have: usize,
}

impl fmt::Display for Short {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at byte {}: {} bytes needed, {} left",
            self.field, self.offset, self.need, self.have
        )
    }
}

/// A cursor over untrusted bytes. Every read names its field; a failed
/// read leaves the cursor where it was.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `data`; offsets count from its first byte.
    pub const fn new(data: &'a [u8]) -> Self {
        Reader {
            data,
            pos: 0,
            base: 0,
        }
    }

    /// A reader of `data` whose offsets count from `base`: a part cut out
    /// of a larger buffer, whose errors then name the offset in the whole.
    pub const fn with_base(data: &'a [u8], base: usize) -> Self {
        Reader { data, pos: 0, base }
    }

    /// The offset of the next byte, counted from the base.
    pub fn offset(&self) -> usize {
        self.base.saturating_add(self.pos)
    }

    /// The position of the next byte in the reader's own bytes.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    /// True when every byte was read.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The bytes not yet read, without reading them.
    pub fn peek_rest(&self) -> &'a [u8] {
        &self.data[self.pos..]
    }

    /// Reads the bytes not yet read (possibly none).
    pub fn rest(&mut self) -> &'a [u8] {
        let r = &self.data[self.pos..];
        self.pos = self.data.len();
        r
    }

    /// The [`Short`] a read of `need` bytes for `field` would be here.
    pub fn short(&self, field: &'static str, need: usize) -> Short {
        Short {
            field,
            offset: self.offset(),
            need,
            have: self.remaining(),
        }
    }

    /// Reads `n` bytes.
    pub fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], Short> {
        if n > self.remaining() {
            return Err(self.short(field, n));
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Steps over `n` bytes.
    pub fn skip(&mut self, n: usize, field: &'static str) -> Result<(), Short> {
        self.take(n, field).map(|_| ())
    }

    /// Moves to `position` in the reader's own bytes (at most its length).
    pub fn seek(&mut self, position: usize, field: &'static str) -> Result<(), Short> {
        if position > self.data.len() {
            return Err(Short {
                field,
                offset: self.base.saturating_add(position),
                need: 0,
                have: 0,
            });
        }
        self.pos = position;
        Ok(())
    }

    /// Reads `N` bytes as an array.
    pub fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], Short> {
        let s = self.take(N, field)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    /// Reads one byte.
    pub fn u8(&mut self, field: &'static str) -> Result<u8, Short> {
        Ok(self.array::<1>(field)?[0])
    }

    /// Reads a little-endian u16.
    pub fn u16_le(&mut self, field: &'static str) -> Result<u16, Short> {
        self.array(field).map(u16::from_le_bytes)
    }

    /// Reads a little-endian u32.
    pub fn u32_le(&mut self, field: &'static str) -> Result<u32, Short> {
        self.array(field).map(u32::from_le_bytes)
    }

    /// Reads a little-endian u64.
    pub fn u64_le(&mut self, field: &'static str) -> Result<u64, Short> {
        self.array(field).map(u64::from_le_bytes)
    }

    /// Reads a big-endian u16.
    pub fn u16_be(&mut self, field: &'static str) -> Result<u16, Short> {
        self.array(field).map(u16::from_be_bytes)
    }

    /// Reads a big-endian u32.
    pub fn u32_be(&mut self, field: &'static str) -> Result<u32, Short> {
        self.array(field).map(u32::from_be_bytes)
    }

    /// Reads a big-endian u64.
    pub fn u64_be(&mut self, field: &'static str) -> Result<u64, Short> {
        self.array(field).map(u64::from_be_bytes)
    }

    /// Reads a big-endian u16 size, then that many bytes (a TPM2B). On a
    /// short body, the cursor stays before the size.
    pub fn sized_u16_be(&mut self, field: &'static str) -> Result<&'a [u8], Short> {
        let start = self.pos;
        let n = self.u16_be(field)? as usize;
        self.take(n, field).inspect_err(|_| self.pos = start)
    }

    /// Reads a little-endian u32 size, then that many bytes. On a short
    /// body, the cursor stays before the size.
    pub fn sized_u32_le(&mut self, field: &'static str) -> Result<&'a [u8], Short> {
        let start = self.pos;
        let n = self.u32_le(field)? as usize;
        self.take(n, field).inspect_err(|_| self.pos = start)
    }
}

/// The `N` bytes at `at`; `None` when they do not fit (or `at + N`
/// overflows).
pub fn array_at<const N: usize>(d: &[u8], at: usize) -> Option<[u8; N]> {
    let s = d.get(at..at.checked_add(N)?)?;
    let mut a = [0u8; N];
    a.copy_from_slice(s);
    Some(a)
}

/// The little-endian u16 at `at`.
pub fn u16_le_at(d: &[u8], at: usize) -> Option<u16> {
    array_at(d, at).map(u16::from_le_bytes)
}

/// The little-endian u32 at `at`.
pub fn u32_le_at(d: &[u8], at: usize) -> Option<u32> {
    array_at(d, at).map(u32::from_le_bytes)
}

/// The little-endian u64 at `at`.
pub fn u64_le_at(d: &[u8], at: usize) -> Option<u64> {
    array_at(d, at).map(u64::from_le_bytes)
}

/// Where the point reads can come from: a slice, or memory read a field
/// at a time whose extent is not known up front (the collector's walk of
/// what the firmware published, which [`crate::tcglog`] sizes). A parser
/// written against it runs on both, so the host tests what the collector
/// runs.
pub trait Fields {
    /// The `N` bytes at `at`; `None` past the source's end.
    fn array_at<const N: usize>(&self, at: usize) -> Option<[u8; N]>;

    /// The little-endian u16 at `at`.
    fn u16_le_at(&self, at: usize) -> Option<u16> {
        self.array_at(at).map(u16::from_le_bytes)
    }

    /// The little-endian u32 at `at`.
    fn u32_le_at(&self, at: usize) -> Option<u32> {
        self.array_at(at).map(u32::from_le_bytes)
    }

    /// The little-endian u64 at `at`.
    fn u64_le_at(&self, at: usize) -> Option<u64> {
        self.array_at(at).map(u64::from_le_bytes)
    }
}

impl Fields for [u8] {
    fn array_at<const N: usize>(&self, at: usize) -> Option<[u8; N]> {
        array_at(self, at)
    }
}

/// The big-endian u16 at `at`.
pub fn u16_be_at(d: &[u8], at: usize) -> Option<u16> {
    array_at(d, at).map(u16::from_be_bytes)
}

/// The big-endian u32 at `at`.
pub fn u32_be_at(d: &[u8], at: usize) -> Option<u32> {
    array_at(d, at).map(u32::from_be_bytes)
}

/// The big-endian u64 at `at`.
pub fn u64_be_at(d: &[u8], at: usize) -> Option<u64> {
    array_at(d, at).map(u64::from_be_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn point_reads_match_the_standard_library_and_refuse_what_does_not_fit() {
        let b: [u8; 9] = [1, 0, 0, 0, 0, 0, 0, 0, 2];
        let mut reached = 0;
        for at in 0..=b.len() + 1 {
            let fits = |n: usize| at + n <= b.len();
            let want16 = fits(2).then(|| [b[at], b[at + 1]]);
            assert_eq!(u16_le_at(&b, at), want16.map(u16::from_le_bytes));
            assert_eq!(u16_be_at(&b, at), want16.map(u16::from_be_bytes));
            let want32: Option<[u8; 4]> = fits(4).then(|| b[at..at + 4].try_into().unwrap());
            assert_eq!(u32_le_at(&b, at), want32.map(u32::from_le_bytes));
            assert_eq!(u32_be_at(&b, at), want32.map(u32::from_be_bytes));
            let want64: Option<[u8; 8]> = fits(8).then(|| b[at..at + 8].try_into().unwrap());
            assert_eq!(u64_le_at(&b, at), want64.map(u64::from_le_bytes));
            assert_eq!(u64_be_at(&b, at), want64.map(u64::from_be_bytes));
            reached += usize::from(want16.is_some()) + usize::from(want64.is_some());
        }
        // 8 offsets hold a u16 and 2 a u64: both outcomes were reached.
        assert_eq!(reached, 8 + 2);
        assert_eq!(u64_le_at(&b, 1), Some(0x0200_0000_0000_0000));
        for at in [usize::MAX, usize::MAX - 1, usize::MAX - 7] {
            assert_eq!(u64_le_at(&b, at), None);
            assert_eq!(array_at::<2>(&b, at), None);
        }
    }

    #[test]
    fn every_truncation_is_a_short_read_naming_field_offset_and_sizes() {
        // A little structure: u8, u16 LE, u32 BE, a u32-LE-sized body.
        let whole: &[u8] = &[
            7, 0x34, 0x12, 0xde, 0xad, 0xbe, 0xef, 2, 0, 0, 0, b'h', b'i',
        ];
        let read = |d: &[u8]| -> Result<(u8, u16, u32, usize), Short> {
            let mut r = Reader::with_base(d, 0x100);
            let a = r.u8("kind")?;
            let b = r.u16_le("length")?;
            let c = r.u32_be("magic")?;
            let body = r.sized_u32_le("body")?;
            Ok((a, b, c, body.len()))
        };
        assert_eq!(read(whole), Ok((7, 0x1234, 0xdead_beef, 2)));
        let mut errors = 0;
        for cut in 0..whole.len() {
            let e = read(&whole[..cut]).unwrap_err();
            errors += 1;
            let (field, at, need) = match cut {
                0 => ("kind", 0, 1),
                1..=2 => ("length", 1, 2),
                3..=6 => ("magic", 3, 4),
                7..=10 => ("body", 7, 4),
                _ => ("body", 11, 2),
            };
            assert_eq!(e.field, field, "cut at {cut}");
            assert_eq!(e.offset, 0x100 + at, "cut at {cut}");
            assert_eq!(e.need, need, "cut at {cut}");
            assert_eq!(e.have, cut - at, "cut at {cut}");
        }
        assert_eq!(errors, whole.len());
    }

    #[test]
    fn a_failed_read_moves_nothing_and_sizes_cannot_overflow() {
        let d = [0xff, 0xff, 0xff, 0xff, 1];
        let mut r = Reader::new(&d);
        assert!(r.sized_u32_le("body").is_err());
        assert_eq!(r.position(), 0, "the size is not consumed");
        assert!(r.take(usize::MAX, "huge").is_err());
        assert!(r.skip(6, "past").is_err());
        assert_eq!(r.remaining(), 5);
        assert!(r.seek(6, "past").is_err());
        r.seek(4, "last").unwrap();
        assert_eq!(r.peek_rest(), &[1]);
        assert_eq!(r.rest(), &[1]);
        assert!(r.is_empty());
        assert_eq!(r.u8("none").unwrap_err().have, 0);
    }
}
