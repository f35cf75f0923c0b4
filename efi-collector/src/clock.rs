//! Elapsed time for the snapshot's `collection_us`: the architecture's
//! free-running counter ([`crate::arch::counter`]), at the rate the
//! architecture states, else calibrated once against a 10 ms Stall.
//! Approximate (a virtual machine's counter runs at whatever rate its host
//! gives it), which is all a "how much does the collector add to the boot"
//! figure needs.

use crate::arch;
use core::time::Duration;
use uefi::boot;

/// A started measurement.
pub struct Clock {
    start: u64,
    ticks_per_us: u64,
}

impl Clock {
    /// Starts the clock (spends 10 ms calibrating it where the counter's
    /// rate is not stated).
    pub fn start() -> Clock {
        let start = arch::counter();
        let ticks_per_us = match arch::counter_hz() {
            Some(hz) => (hz / 1_000_000).max(1),
            None => {
                boot::stall(Duration::from_millis(10));
                (arch::counter().wrapping_sub(start) / 10_000).max(1)
            }
        };
        Clock {
            start,
            ticks_per_us,
        }
    }

    /// Microseconds since `start`.
    pub fn elapsed_us(&self) -> u64 {
        arch::counter().wrapping_sub(self.start) / self.ticks_per_us
    }
}
