//! x86_64: the time-stamp counter, whose rate the firmware does not give
//! (it is calibrated against a Stall).

/// The architecture's name, as the snapshot records it.
pub const NAME: &str = "x86_64";

/// The counter's current value.
pub fn counter() -> u64 {
    // SAFETY: RDTSC has no side effects and exists on every x86_64 CPU.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// The counter's rate, where the architecture states it: never on x86
/// (the TSC's rate is the CPU's business).
pub fn counter_hz() -> Option<u64> {
    None
}

/// Why the flash is not read on this architecture: never on x86, where
/// the BIOS window ends at 4 GiB ([`crate::firmware::flash`]).
pub const NO_FLASH_WINDOW: Option<&str> = None;
