//! Elapsed time for the snapshot's `collection_us`: the CPU's time-stamp
//! counter, calibrated once against a 10 ms Stall. Approximate (the TSC of
//! a virtual machine runs at whatever rate its host gives it), which is all
//! a "how much does the collector add to the boot" figure needs.

use core::time::Duration;
use uefi::boot;

/// A started measurement.
pub struct Clock {
    start: u64,
    ticks_per_us: u64,
}

fn tsc() -> u64 {
    // SAFETY: RDTSC has no side effects and exists on every x86_64 CPU.
    unsafe { core::arch::x86_64::_rdtsc() }
}

impl Clock {
    /// Starts the clock (spends 10 ms calibrating it).
    pub fn start() -> Clock {
        let start = tsc();
        boot::stall(Duration::from_millis(10));
        let ticks_per_us = (tsc().wrapping_sub(start) / 10_000).max(1);
        Clock {
            start,
            ticks_per_us,
        }
    }

    /// Microseconds since `start`.
    pub fn elapsed_us(&self) -> u64 {
        tsc().wrapping_sub(self.start) / self.ticks_per_us
    }
}
