//! aarch64: the generic timer's virtual count (CNTVCT_EL0), whose rate
//! the architecture states in CNTFRQ_EL0 (set by the firmware at reset).

/// The architecture's name, as the snapshot records it.
pub const NAME: &str = "aarch64";

/// The counter's current value.
pub fn counter() -> u64 {
    let v: u64;
    // SAFETY: reading CNTVCT_EL0 has no side effects; UEFI runs at EL1 or
    // EL2, where it is readable. The ISB orders it after earlier reads.
    unsafe {
        core::arch::asm!("isb", "mrs {v}, cntvct_el0", v = out(reg) v, options(nomem, nostack))
    };
    v
}

/// The counter's rate in Hz (CNTFRQ_EL0), when the firmware set it.
pub fn counter_hz() -> Option<u64> {
    let f: u64;
    // SAFETY: reading CNTFRQ_EL0 has no side effects.
    unsafe { core::arch::asm!("mrs {f}, cntfrq_el0", f = out(reg) f, options(nomem, nostack)) };
    (f != 0).then_some(f)
}

/// Where the code flash is found. An Arm machine has no BIOS window
/// ending at 4 GiB: its code flash sits where the platform puts it (on
/// QEMU's `virt`, the pflash at address 0), and the platform's Device Tree
/// names it (`cfi-flash`). Where no Device Tree names it (most boards,
/// where Trusted Firmware loads the firmware from SPI flash into DRAM),
/// the snapshot says so; the firmware volumes are inventoried and hashed
/// either way.
pub const FLASH: crate::firmware::FlashFrom = crate::firmware::FlashFrom::DeviceTree;

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
        core::arch::asm!("ldr {v}, [{a}]", v = out(reg) v, a = in(reg) a, options(nostack, readonly, preserves_flags))
    };
    v
}
