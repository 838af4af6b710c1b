//! The audit trail (`admin_audit_log`): who did what to which target, and
//! when. Every admin action writes one row inside the transaction of the
//! change it records, so the trail never claims a change that did not commit
//! (nor misses one). Any domain records its admin actions with [`record`],
//! passing its own transaction; action names are `domain.verb` and live in
//! the domain that performs them.
//!
//! Uses: nothing but PostgreSQL.

mod model;
mod store;

pub use model::{AuditEntry, SYSTEM_ACTOR};
pub use store::{list, list_for_target, record};
