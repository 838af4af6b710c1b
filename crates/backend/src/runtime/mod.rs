//! The game runtime (spec §3 `runtime/`, `dockerclient/`, `engineclient/`):
//! engine versions, one engine per game behind a driver, the engine client,
//! durable runtime jobs and the reconciler. It calls the lobby (never the
//! other way round). Being built (issue #17); the pieces so far:
//!
//! - `driver` — [`driver::ContainerRuntime`], the one small trait every way
//!   of running an engine implements; `docker` (bollard) and `process`
//!   (a child `galaxy-game` on a loopback port) implement it;
//! - `engine` — the HTTP client of a running engine (`galaxy-model` types);
//! - `versions` — the engine version registry.

pub mod docker;
pub mod driver;
pub mod engine;
pub mod process;
pub mod versions;
