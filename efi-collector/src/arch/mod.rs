//! What differs between the architectures the collector runs on, and
//! nothing else: a free-running counter for the collection time, and the
//! PE machine type of the collector's own image. Everything else the
//! collector does goes through UEFI's services and tables, the same on
//! both.

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "aarch64")]
pub use aarch64::*;

#[cfg(target_arch = "x86_64")]
mod x86_64;
#[cfg(target_arch = "x86_64")]
pub use x86_64::*;
