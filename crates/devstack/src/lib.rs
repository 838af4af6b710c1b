//! The local development stack of the Galaxy backend.
//!
//! - [`smtp`]: a real SMTP server on loopback that tests start in-process and
//!   steer (accept, 4xx, 5xx, dropped connection, down; plain, STARTTLS or
//!   implicit TLS; optional AUTH). The `galaxy-dev-smtp` binary runs the same
//!   server for `make run` and shows every message on the console and in a
//!   small web inbox ([`inbox`]).
//! - [`geoip`]: a small synthetic GeoLite2-Country database for tests and
//!   `make run` (binary `galaxy-geoip-fixture`).
//!
//! Decisions and the reasons behind them: `docs/decisions/0004-local-stack.md`.

pub mod geoip;
pub mod inbox;
pub mod smtp;
