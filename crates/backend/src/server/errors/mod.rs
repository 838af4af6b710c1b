//! Every domain error's HTTP answer (status, stable code, details), one
//! file per domain: domains know nothing of HTTP.

mod admin;
mod auth;
mod lobby;
mod mail;
mod notification;
mod play;
mod runtime;
mod user;
