//! Operation counting, for the tests that prove a turn's cost is linear in
//! the orders given (counted, never timed). Every loop whose length depends
//! on the game's state (collection scans, index builds, element moves)
//! calls [`add`] with the elements it visits. Without the `testkit` feature
//! the counter compiles away.

#[cfg(feature = "testkit")]
thread_local! {
    static OPS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Counts `n` elementary operations on this thread.
#[inline]
pub fn add(n: usize) {
    #[cfg(feature = "testkit")]
    OPS.with(|c| c.set(c.get().saturating_add(n as u64)));
    #[cfg(not(feature = "testkit"))]
    let _ = n;
}

/// The operations counted on this thread since the last call (0 without
/// the `testkit` feature).
pub fn take() -> u64 {
    #[cfg(feature = "testkit")]
    return OPS.with(|c| c.replace(0));
    #[cfg(not(feature = "testkit"))]
    0
}
