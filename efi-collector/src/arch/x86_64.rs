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

/// Where the code flash is found: the BIOS window that ends at 4 GiB,
/// where the reset vector is ([`crate::firmware::flash`]).
pub const FLASH: crate::firmware::FlashFrom = crate::firmware::FlashFrom::BelowFourGiB;

/// The 8 bytes at physical address `a` (identity-mapped), read with one
/// load instruction: address 0 included, which a Rust pointer read may
/// never be.
///
/// # Safety
/// `a` must be 8-byte aligned and mapped.
pub unsafe fn read_u64(a: usize) -> u64 {
    let v: u64;
    // SAFETY: the caller's promise; the load has no other effect.
    unsafe {
        core::arch::asm!("mov {v}, qword ptr [{a}]", v = out(reg) v, a = in(reg) a, options(nostack, readonly, preserves_flags))
    };
    v
}
