//! `galaxy-backend`: the Galaxy platform's consolidated business service.
//!
//! One process serves the REST surfaces (`/api/v1/public`, `/api/v1/user`,
//! `/api/v1/admin`, probes), the gRPC listener, and the background workers.
//! [`app::Application`] wires them together; each domain owns its folder,
//! its SQL and its rules, and `server` keeps the HTTP edge thin.

pub mod admin;
pub mod app;
pub mod auth;
pub mod config;
pub mod geo;
pub mod mail;
pub mod notification;
pub mod postgres;
pub mod push;
pub mod readiness;
pub mod server;
pub mod telemetry;
pub mod user;
pub mod worker;
