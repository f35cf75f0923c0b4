//! The sizes of a TCG event log's records, read from their headers alone.
//!
//! The collector needs them before any log is in hand: EFI_TCG2_PROTOCOL's
//! GetEventLog gives the address of the log and of its last record, not the
//! log's length, and the final-events table gives a count of records, not
//! a size. Each function reads only the fields it needs, through
//! [`Fields`]: the collector reads firmware memory a field at a time, the
//! host runs the same code on files (tests, fuzzing).
//!
//! What the firmware wrote is hostile like any input: every offset is
//! checked, a record over [`MAX_RECORD`] is refused, and a digest of an
//! algorithm the Spec ID event did not declare ends the walk.
//!
//! ```
//! use bootaudit_snapshot::tcglog::{event1_size, event2_size, spec_algorithms};
//!
//! let log = std::fs::read(concat!(
//!     env!("CARGO_MANIFEST_DIR"),
//!     "/../../fixtures/ovmf-swtpm/binary_bios_measurements"
//! ))?;
//! // The Spec ID event (SHA-1 format) opens a crypto-agile log; this one
//! // has two banks (tpm2_eventlog lists sha1 and sha256 digests)...
//! let algs = spec_algorithms(log.as_slice()).expect("a crypto-agile log");
//! assert_eq!(algs, [(0x0004, 20), (0x000b, 32)]);
//! // ...and every record after it is a TCG_PCR_EVENT2, sized by its digests.
//! let mut at = event1_size(log.as_slice(), 0).unwrap();
//! let mut records = 1;
//! while at < log.len() {
//!     at += event2_size(log.as_slice(), at, &algs).unwrap();
//!     records += 1;
//! }
//! // ...and the walk ends exactly at the end of the file, after the 25
//! // records tpm2_eventlog numbers (the Spec ID event is its EventNum 0).
//! assert_eq!((at, records), (log.len(), 25));
//! # Ok::<(), std::io::Error>(())
//! ```

use crate::bytes::Fields;
use alloc::vec::Vec;

/// The largest record sized; one claiming more is refused.
pub const MAX_RECORD: usize = 16 << 20;

/// Most algorithms a Spec ID event may declare (the banks a TPM can have
/// are far fewer).
pub const MAX_ALGORITHMS: usize = 16;

/// The size of the TCG_PCR_EVENT at `at` (the SHA-1 format, and the Spec ID
/// event that opens a crypto-agile log): a 32-byte header whose EventSize,
/// at byte 28, counts the data that follows.
pub fn event1_size<F: Fields + ?Sized>(src: &F, at: usize) -> Option<usize> {
    let data = src.u32_le_at(at.checked_add(28)?)? as usize;
    let total = data.checked_add(32)?;
    (total <= MAX_RECORD).then_some(total)
}

/// The (TPM_ALG_ID, digest size) pairs of the Spec ID event at the start
/// of `log`: TCG_EfiSpecIDEvent's numberOfAlgorithms, 24 bytes into the
/// event's data, then that many 4-byte entries. `None` for no algorithm,
/// more than [`MAX_ALGORITHMS`], or a short read.
pub fn spec_algorithms<F: Fields + ?Sized>(log: &F) -> Option<Vec<(u16, usize)>> {
    const DATA: usize = 32;
    let n = log.u32_le_at(DATA + 24)? as usize;
    if n == 0 || n > MAX_ALGORITHMS {
        return None;
    }
    (0..n)
        .map(|i| {
            let entry = DATA + 28 + 4 * i;
            Some((log.u16_le_at(entry)?, log.u16_le_at(entry + 2)? as usize))
        })
        .collect()
}

/// The size of the TCG_PCR_EVENT2 at `at`: PCRIndex, EventType, the
/// digest count, each digest as long as `algs` says its algorithm's are,
/// EventSize, then the data. `None` for more digests than `algs` has, an
/// algorithm not in it, a short read, or a record over [`MAX_RECORD`].
pub fn event2_size<F: Fields + ?Sized>(src: &F, at: usize, algs: &[(u16, usize)]) -> Option<usize> {
    let count = src.u32_le_at(at.checked_add(8)?)? as usize;
    if count > algs.len() {
        return None;
    }
    let mut off = 12usize;
    for _ in 0..count {
        let alg = src.u16_le_at(at.checked_add(off)?)?;
        let size = algs.iter().find(|a| a.0 == alg)?.1;
        off = off.checked_add(2 + size)?;
    }
    let data = src.u32_le_at(at.checked_add(off)?)? as usize;
    let total = off.checked_add(4)?.checked_add(data)?;
    (total <= MAX_RECORD).then_some(total)
}
