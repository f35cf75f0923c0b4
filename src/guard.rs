//! Third-party readers of hostile formats (the FAT driver, goblin's PE
//! reader) can panic on input their authors did not foresee. Calls into
//! them go through [`quietly`]: a panic becomes `None`, reported by the
//! caller as a malformed input naming the file, and prints nothing on the
//! responder's terminal.

use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `f`; `None` when it panicked.
pub fn quietly<T>(f: impl FnOnce() -> T) -> Option<T> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = catch_unwind(AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    r.ok()
}
