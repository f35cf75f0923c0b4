//! Little-endian integers read out of untrusted byte slices: `None` when the
//! field does not fit, never a panic (offsets are checked for overflow too).

/// The u16 at `at`.
pub fn u16_at(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        d.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

/// The u32 at `at`.
pub fn u32_at(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        d.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

/// The u64 at `at`.
pub fn u64_at(d: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        d.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_refuses() {
        let b = [1, 0, 0, 0, 0, 0, 0, 0, 2];
        assert_eq!(u16_at(&b, 0), Some(1));
        assert_eq!(u32_at(&b, 5), Some(0x0200_0000));
        assert_eq!(u64_at(&b, 1), Some(0x0200_0000_0000_0000));
        assert_eq!(u64_at(&b, 2), None);
        assert_eq!(u32_at(&b, usize::MAX), None);
    }
}
