//! Test kit: fresh databases, the app on port 0, a contract-validating client.

pub mod app;
pub mod client;
pub mod contract;
pub mod db;
pub mod push;

pub use app::TestApp;
pub use db::TestDb;
