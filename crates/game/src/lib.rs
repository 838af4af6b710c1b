//! `galaxy-game`: the Galaxy (GalaxyNG) rules as a library, and the HTTP
//! engine that runs one game on top of it.
//!
//! The rules live in small modules ([`map`], [`planet`], [`production`],
//! [`ship`], [`group`], [`cargo`], [`fleet`], [`combat`], [`bombing`],
//! [`order`], [`turn`]); [`parser`] reads classic text orders, [`report`]
//! and [`text_report`] build a race's report, [`engine`] ties a game to its
//! pending orders and [`store`], [`http`] serves the API, [`replay`] runs a
//! stored turn again to check a new build (the shadow check), [`bot`] plays.

pub mod bombing;
pub mod bot;
pub mod cargo;
pub mod combat;
pub mod cost;
pub mod engine;
pub mod error;
pub mod fleet;
pub mod game;
pub mod group;
pub mod http;
pub mod map;
pub mod names;
pub mod order;
pub mod parser;
pub mod planet;
pub mod production;
pub mod replay;
pub mod report;
pub mod report_cli;
pub mod rng;
pub mod ship;
pub mod shorthand;
pub mod sort;
pub mod store;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod text_report;
pub mod turn;

/// The engine's version (the crate version).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
