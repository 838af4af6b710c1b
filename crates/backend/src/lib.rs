//! `galaxy-backend`: the Galaxy platform's consolidated business service.
//!
//! One process serves the REST surfaces (`/api/v1/public`, `/api/v1/user`,
//! `/api/v1/admin`, probes), the gRPC push listener, and the background
//! workers. [`app::Application`] wires them together.

pub mod config;
pub mod telemetry;
