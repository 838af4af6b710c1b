//! `galaxy-model`: the engine API's data types, shared by the `galaxy-game`
//! engine and the backend's engine client.
//!
//! - [`api`]: request and response bodies of every engine endpoint and the
//!   single JSON error shape with its stable codes.
//! - [`limits`]: the documented bounds of every input.
//! - [`order`]: the typed orders (one variant per classic order letter) and
//!   their rendering in the classic text form.
//! - [`report`]: a race's turn report as structured data.
//!
//! Everything here is plain `serde` data: no behaviour beyond rendering.

pub mod api;
pub mod limits;
pub mod order;
pub mod report;

pub use api::*;
pub use order::{Cargo, Order, OrderLine, Product, RouteCargo, Unit};
pub use report::Report;
