//! The allocator: mimalloc for `fleet`, the C library's for every other
//! command.
//!
//! - `fleet` parses thousands of snapshots, mostly allocating and freeing
//!   small strings on several threads, where glibc's malloc took a fifth of
//!   its time and mimalloc much less.
//! - Every other command is a short run, often of a few milliseconds, where
//!   start-up is most of the time: mimalloc's first allocations (its arena's
//!   bitmaps, a fresh page per size class) cost about 0.3 ms and 130 page
//!   faults of `eventlog` on a 34 KB log, against nothing for glibc's.
//!
//! The choice is made once, before `main` and before any allocation: glibc
//! passes the command line to the functions of `.init_array` (as it does to
//! std's own, which reads `std::env::args` from it). Any argument that is
//! exactly `fleet` chooses mimalloc; a file that happens to be called so
//! only changes the allocator. Every allocation, reallocation and free then
//! goes to the chosen one, so a block is always freed by the allocator that
//! made it. Where the command line cannot be read that early (other C
//! libraries), mimalloc serves every command.
//!
//! There (musl: the static binary), three of mimalloc's options are changed
//! before its first allocation; each one's variable, when set, still
//! decides:
//! - its arenas reserve 32 MiB of address space instead of 1 GiB (its
//!   statistics then show 66 MiB reserved in all): a smaller arena is
//!   quicker to set up, 0.08 ms of `eventlog` on a 34 KB log, and `fleet`
//!   gets another arena when it needs one (`MIMALLOC_ARENA_RESERVE`);
//! - it does not ask the kernel for transparent huge pages on its arenas
//!   (`madvise(MADV_HUGEPAGE)`), as glibc's malloc does not either
//!   (`MIMALLOC_ALLOW_THP`). With them, the first allocation of a short
//!   run zeroes a whole 2 MiB page where the run touches about 0.5 MiB in
//!   4 KiB pages: `eventlog` on a 34 KB log spent a sixth of its time in
//!   that zeroing, and the event-log bench's ratio rose from 4.55x to 4.9x
//!   without it. A kernel whose policy is `always` still gives huge pages;
//! - it never returns freed memory to the kernel (`MIMALLOC_PURGE_DELAY`):
//!   a short run's last act was a forced purge, `madvise` calls that free
//!   pages the process's exit frees a moment later anyway (3 to 6% of
//!   `eventlog` on a 34 KB log). `fleet`, a long run, gets mimalloc's
//!   one-second delay back ([`long_run`]).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

/// The process's allocator (see the module's documentation).
pub struct Allocator;

/// Whether mimalloc serves this process: set before `main`, never after
/// the first allocation.
static MIMALLOC: AtomicBool = AtomicBool::new(!READS_ARGS_EARLY);

/// Whether anything has been allocated yet: the choice is refused after,
/// since a block must be freed by the allocator that made it.
static STARTED: AtomicBool = AtomicBool::new(false);

/// glibc calls `.init_array` functions with argc, argv and envp.
const READS_ARGS_EARLY: bool = cfg!(all(target_os = "linux", target_env = "gnu"));

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[used]
#[link_section = ".init_array"]
static CHOOSE: extern "C" fn(
    std::ffi::c_int,
    *const *const std::ffi::c_char,
    *const *const std::ffi::c_char,
) = choose;

/// Chooses mimalloc when an argument is exactly `fleet`.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
extern "C" fn choose(
    argc: std::ffi::c_int,
    argv: *const *const std::ffi::c_char,
    _envp: *const *const std::ffi::c_char,
) {
    if STARTED.load(Relaxed) || argv.is_null() {
        return;
    }
    for i in 1..usize::try_from(argc).unwrap_or(0) {
        // SAFETY: glibc passes the process's argc and argv, whose first
        // argc entries are NUL-terminated strings.
        let arg = unsafe { *argv.add(i) };
        if !arg.is_null() && unsafe { std::ffi::CStr::from_ptr(arg) }.to_bytes() == b"fleet" {
            MIMALLOC.store(true, Relaxed);
            return;
        }
    }
}

/// mimalloc's `mi_option_arena_reserve` (`mimalloc.h` of v3, which the
/// mimalloc crate builds): the address space an arena reserves, in KiB.
/// libmimalloc-sys names no constant for it.
#[cfg(any(test, all(target_os = "linux", not(target_env = "gnu"))))]
const MI_OPTION_ARENA_RESERVE: std::ffi::c_int = 23;

/// mimalloc's `mi_option_allow_thp`: whether it advises the kernel to back
/// its arenas with transparent huge pages (default 1).
#[cfg(all(target_os = "linux", not(target_env = "gnu")))]
const MI_OPTION_ALLOW_THP: std::ffi::c_int = 43;

/// mimalloc's `mi_option_purge_delay`: how long freed memory waits before
/// it is returned to the kernel, in milliseconds (-1: never).
#[cfg(any(test, all(target_os = "linux", not(target_env = "gnu"))))]
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

/// mimalloc's default purge delay, 1 s.
#[cfg(any(test, all(target_os = "linux", not(target_env = "gnu"))))]
const PURGE_DELAY: std::ffi::c_long = 1000;

#[cfg(all(target_os = "linux", not(target_env = "gnu")))]
#[used]
#[link_section = ".init_array"]
static SHORT_RUNS: extern "C" fn() = short_runs;

/// Sets mimalloc's options for short runs (the module's documentation):
/// 32 MiB arenas, no huge-page advice, no purge. mimalloc has read its
/// options by now (its constructor runs first), so its defaults can no
/// longer be changed, only its values.
#[cfg(all(target_os = "linux", not(target_env = "gnu")))]
extern "C" fn short_runs() {
    set_unless_told(
        c"MIMALLOC_ARENA_RESERVE",
        MI_OPTION_ARENA_RESERVE,
        32 * 1024,
    );
    set_unless_told(c"MIMALLOC_ALLOW_THP", MI_OPTION_ALLOW_THP, 0);
    set_unless_told(c"MIMALLOC_PURGE_DELAY", MI_OPTION_PURGE_DELAY, -1);
}

/// Sets mimalloc's `option` to `value` unless the variable `name` (which
/// mimalloc reads for that option) is set: the user's word wins. Allocates
/// nothing, so it may run before the first allocation.
#[cfg(all(target_os = "linux", not(target_env = "gnu")))]
fn set_unless_told(name: &std::ffi::CStr, option: std::ffi::c_int, value: std::ffi::c_long) {
    extern "C" {
        fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
    }
    // SAFETY: a NUL-terminated name; getenv allocates nothing.
    if unsafe { libc::getenv(name.as_ptr()) }.is_null() {
        // SAFETY: a valid option of this mimalloc; each is read when it is
        // used (an arena reserved, a purge scheduled).
        unsafe { mi_option_set(option, value) };
    }
}

/// Readies the allocator for a long run (`fleet`): where mimalloc serves
/// every command (the static binary), freed memory goes back to the kernel
/// after mimalloc's usual delay again, unless `MIMALLOC_PURGE_DELAY` says
/// otherwise. Elsewhere a long run's mimalloc has its defaults already.
pub fn long_run() {
    #[cfg(all(target_os = "linux", not(target_env = "gnu")))]
    set_unless_told(c"MIMALLOC_PURGE_DELAY", MI_OPTION_PURGE_DELAY, PURGE_DELAY);
}

impl Allocator {
    /// Whether mimalloc serves this allocation, and the choice is now fixed.
    #[inline]
    fn mimalloc() -> bool {
        if !STARTED.load(Relaxed) {
            STARTED.store(true, Relaxed);
        }
        MIMALLOC.load(Relaxed)
    }
}

// SAFETY: every call goes, unchanged, to the one allocator chosen before
// the first allocation, so each block is freed or resized by the allocator
// that made it.
unsafe impl GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if Self::mimalloc() {
            unsafe { mimalloc::MiMalloc.alloc(layout) }
        } else {
            unsafe { System.alloc(layout) }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if Self::mimalloc() {
            unsafe { mimalloc::MiMalloc.alloc_zeroed(layout) }
        } else {
            unsafe { System.alloc_zeroed(layout) }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if MIMALLOC.load(Relaxed) {
            unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
        } else {
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if MIMALLOC.load(Relaxed) {
            unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) }
        } else {
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }
}

#[cfg(test)]
mod tests {
    extern "C" {
        fn mi_option_get(option: std::ffi::c_int) -> std::ffi::c_long;
    }

    /// An option of the linked mimalloc.
    fn option(index: std::ffi::c_int) -> std::ffi::c_long {
        // SAFETY: reads an option of the linked mimalloc.
        unsafe { mi_option_get(index) }
    }

    /// The option index the static binary sets is the one mimalloc calls
    /// `arena_reserve`: its default, 1 GiB in KiB, is no other option's.
    #[test]
    fn the_arena_option_is_mimalloc_s_arena_reserve() {
        assert_eq!(
            option(super::MI_OPTION_ARENA_RESERVE),
            1024 * 1024,
            "mimalloc's arena_reserve default, in KiB"
        );
    }

    /// The purge delay `long_run` restores is mimalloc's default, at the
    /// index of its `purge_delay` (1000 ms is no other option's default).
    #[test]
    fn the_purge_delay_option_and_its_default_are_mimalloc_s() {
        assert_eq!(
            option(super::MI_OPTION_PURGE_DELAY),
            super::PURGE_DELAY,
            "mimalloc's purge_delay default, in ms"
        );
    }
}
