//! `galaxy-backend`: the Galaxy platform's consolidated business service.
//!
//! One process serves the REST surfaces (`/api/v1/public`, `/api/v1/user`,
//! `/api/v1/admin`, probes), the gRPC listener, and the background workers.
//! [`app::Application`] wires them together; each domain owns its folder,
//! its SQL and its rules, and `server` keeps the HTTP edge thin.

/// The process's memory allocator: mimalloc. The HTTP hot path allocates
/// a few dozen small blocks per request, many freed on another worker
/// thread than the one that allocated them; glibc's allocator spent a
/// measurable share of each request in its slow paths (`_int_free`,
/// `malloc_consolidate`). Declared here, in the service's own library, so
/// the binary, its tests and its benchmarks all run what ships
/// (`docs/decisions/0007-allocator.md`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod admin;
pub mod app;
pub mod assembly;
pub mod audit;
pub mod auth;
pub mod cluster;
pub mod config;
pub mod geo;
pub mod ids;
pub mod jobs;
pub mod json_fields;
pub mod lobby;
pub mod mail;
pub mod notification;
pub mod postgres;
pub mod push;
pub mod readiness;
pub mod runtime;
pub mod semver;
pub mod server;
pub mod session;
pub mod telemetry;
pub mod text_enum;
pub mod user;
pub mod worker;
