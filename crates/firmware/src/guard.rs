//! Third-party readers of hostile formats (goblin's PE reader) can panic on
//! input their authors did not foresee. Calls into them go through
//! [`quietly`]: a panic becomes `None`, reported by the caller as a
//! malformed input naming the file, and prints nothing on the responder's
//! terminal.
//!
//! The panic hook is installed once, for the whole process, and stays
//! silent only on a thread that is inside [`quietly`]: swapping the
//! process-wide hook around each call raced as soon as two threads (the
//! fleet's workers) used it. Every caught panic is counted
//! ([`fallbacks`]), so that a test can require that none happened.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
    static LAST: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}
static INSTALL: Once = Once::new();
static FALLBACKS: AtomicUsize = AtomicUsize::new(0);

/// Runs `f`; `None` when it panicked.
pub fn quietly<T>(f: impl FnOnce() -> T) -> Option<T> {
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if QUIET.with(Cell::get) {
                let at = info
                    .location()
                    .map(|l| format!("{}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                LAST.with(|l| *l.borrow_mut() = Some(at));
            } else {
                previous(info);
            }
        }));
    });
    let was = QUIET.with(|q| q.replace(true));
    let r = catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|q| q.set(was));
    if r.is_err() {
        FALLBACKS.fetch_add(1, Ordering::Relaxed);
    }
    r.ok()
}

/// Where the last panic that [`quietly`] caught on this thread happened
/// (file and line of the reader's code), for diagnostics.
pub fn last_panic() -> Option<String> {
    LAST.with(|l| l.borrow().clone())
}

/// How many panics [`quietly`] has caught in this process.
pub fn fallbacks() -> usize {
    FALLBACKS.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_panic_is_caught_and_counted_on_any_thread() {
        let before = super::fallbacks();
        let hs: Vec<_> = (0..4)
            .map(|i| {
                std::thread::spawn(move || {
                    let r = super::quietly(|| {
                        if i % 2 == 0 {
                            panic!("hostile input");
                        }
                        i
                    });
                    assert_eq!(r, (i % 2 == 1).then_some(i));
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        assert!(super::fallbacks() >= before + 2);
    }
}
