//! One file per concern, each an `impl Loader` block reading the variables
//! of one section of [`crate::config::Config`] (and the tests of its rules).
//! [`crate::config::load`] calls them in table order and assembles the result.

mod admin;
mod auth;
mod geo;
mod lobby;
mod mail;
mod notification;
mod postgres;
mod runtime;
mod security;
mod server;
mod telemetry;
