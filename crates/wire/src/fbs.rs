//! The Rust code `flatc --rust` generates from `schema/fbs/notification.fbs`
//! (checked in; `make fbs` regenerates it, `make test` fails when stale).
//! Included rather than declared as a module so `cargo fmt` leaves the
//! generated text byte-for-byte as flatc wrote it.
#![allow(
    warnings,
    unsafe_op_in_unsafe_fn,
    clippy::all,
    clippy::pedantic,
    clippy::nursery,
    missing_docs
)]

include!("fbs/notification_generated.rs");

/// The tables, one per catalog kind.
pub use self::galaxy::notification as schema;
