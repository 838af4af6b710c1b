//! The guard with the counting allocator installed: an input that holds more
//! than the cap fails, one that stays under it passes.

use galaxy_fuzz::Limits;
use galaxy_fuzz::alloc::{CountingAlloc, installed};
use galaxy_fuzz::guard::bounded;

#[global_allocator]
static ALLOCATOR: CountingAlloc = CountingAlloc;

#[test]
fn an_input_holding_more_than_the_cap_fails() {
    let limits = Limits {
        live_bytes: 1 << 20,
        ..Limits::default()
    };
    let err = bounded(limits, || vec![1u8; 4 << 20].len()).unwrap_err();
    assert!(installed());
    assert!(err.contains("more than the cap of 1024 KiB"), "{err}");
}

#[test]
fn an_input_that_frees_as_it_goes_stays_under_the_cap() {
    let limits = Limits {
        live_bytes: 1 << 20,
        ..Limits::default()
    };
    let total = bounded(limits, || {
        (0..64).map(|_| vec![1u8; 256 << 10].len()).sum::<usize>()
    });
    assert_eq!(total, Ok(64 * (256 << 10)));
}
