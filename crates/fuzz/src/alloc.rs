//! A counting global allocator: the system allocator, plus the live bytes
//! each thread allocated and their peak, so the guard can fail an input that
//! holds more than its cap.
//!
//! A test binary opts in with
//! `#[global_allocator] static A: CountingAlloc = CountingAlloc;`. Binaries
//! that link `galaxy-backend` cannot: its library declares mimalloc as the
//! process's allocator (`docs/decisions/0007-allocator.md`), and a program
//! has one. Counts are per thread (the guard runs each input on a fresh
//! thread), so tests running in parallel do not see each other's memory;
//! memory freed on another thread than the one that allocated it is counted
//! against the allocating thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};

/// The system allocator with per-thread live and peak byte counts.
pub struct CountingAlloc;

thread_local! {
    /// Bytes allocated minus bytes freed on this thread (may go negative).
    static LIVE: Cell<isize> = const { Cell::new(0) };
    /// The highest `LIVE` since the last [`reset_peak`].
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

/// Whether a [`CountingAlloc`] is the global allocator (set on its first use).
static INSTALLED: AtomicBool = AtomicBool::new(false);

fn record(delta: isize) {
    // `try_with`: a thread being torn down has no locals left; skip it.
    let _ = LIVE.try_with(|live| {
        let now = live.get().saturating_add(delta);
        live.set(now);
        let _ = PEAK.try_with(|peak| {
            if now > peak.get() {
                peak.set(now);
            }
        });
    });
}

// SAFETY: every call is forwarded unchanged to `System`; the bookkeeping
// touches only const-initialised thread-locals without destructors, which
// never allocate.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        INSTALLED.store(true, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's layout.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            record(layout.size() as isize);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        INSTALLED.store(true, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's layout.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            record(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` with this layout.
        unsafe { System.dealloc(ptr, layout) };
        record(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from `System` with this layout.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            record(new_size as isize - layout.size() as isize);
        }
        p
    }
}

/// Whether the running binary counts allocations (a [`CountingAlloc`] is
/// its global allocator and has served at least one allocation).
pub fn installed() -> bool {
    INSTALLED.load(Ordering::Relaxed)
}

/// Starts a new peak on this thread: the peak becomes the current live count.
pub fn reset_peak() {
    let live = LIVE.with(Cell::get);
    PEAK.with(|peak| peak.set(live));
}

/// This thread's live bytes now and their peak since [`reset_peak`].
pub fn live_and_peak() -> (isize, isize) {
    (LIVE.with(Cell::get), PEAK.with(Cell::get))
}
