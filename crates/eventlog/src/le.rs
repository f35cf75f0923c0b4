//! Little-endian integers read out of untrusted byte slices at fixed
//! offsets: `None` when the field does not fit, never a panic. These are
//! the point reads of the one byte reader, `bootaudit_snapshot::bytes`,
//! under the names the engine's modules use.

pub use bootaudit_snapshot::bytes::{
    u16_le_at as u16_at, u32_le_at as u32_at, u64_le_at as u64_at,
};
