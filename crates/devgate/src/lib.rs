//! `galaxy-devgate`: a development and reference implementation of the
//! gateway contract in `docs/auth.md` — not a production gateway. It checks
//! each user-group request's device-session signature, resolves the session
//! through the backend's internal lookup, injects `X-User-ID` and
//! `X-Forwarded-For`, and forwards; public routes pass through unsigned.
//! With push on it subscribes to the backend's push stream and serves each
//! session its events as server-sent events (`GET /api/v1/user/events`).

pub mod config;
pub mod error;
pub mod gateway;
pub mod push;
pub mod session;

/// The request signature (shared with clients through galaxy-wire).
pub use galaxy_wire::signature;

pub use config::Config;
pub use gateway::Gateway;
