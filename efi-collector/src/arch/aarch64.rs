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

/// Why the flash is not read on this architecture. An Arm machine has no
/// BIOS window ending at 4 GiB: its code flash sits where the platform
/// puts it (on QEMU's `virt`, the pflash at address 0), and on most boards
/// Trusted Firmware loads the firmware from SPI flash into DRAM, where no
/// window shows it. The firmware volumes are still inventoried and hashed.
pub const NO_FLASH_WINDOW: Option<&str> = Some(
    "not read on aarch64: there is no BIOS window ending at 4 GiB, and the collector does not yet locate an Arm platform's code flash (the firmware volumes are inventoried and hashed)",
);
