//! Accounts, settings, entitlements, sanctions and soft delete (spec §2, §6).
//!
//! - [`hooks`]: [`OnUserDeleted`], which later domains register with so a
//!   soft delete reaches them inside the deleting transaction.

pub mod hooks;

pub use hooks::{OnUserDeleted, UserDeletedHooks};
