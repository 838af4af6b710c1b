//! `galaxy-fuzz`: fuzzing of the inputs Galaxy reads from outside, with
//! proptest on the stable toolchain (`cargo fuzz` needs nightly; see
//! `docs/reliability.md`, "Fuzzed inputs").
//!
//! One test file per target (`tests/<target>.rs`); this library is what they
//! share: the seeded runner with its case count or time budget ([`run`]), the
//! per-input hang and allocation guard ([`guard`]) with the counting
//! allocator it reads ([`alloc`]), the committed seed inputs ([`corpus`]) and
//! byte-level mutations of them ([`mutate`]).

pub mod alloc;
pub mod corpus;
pub mod guard;
pub mod mutate;
pub mod run;

pub use guard::Limits;
pub use run::{fuzz, replay_corpus};
