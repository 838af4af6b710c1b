//! The HTTP edge, below every handler: serving connections (per-connection
//! header timer, graceful drain), request limits (handler deadline, body
//! size and read timeout), the source address, the error shape and its
//! normalisation, extractors, path-prefix guards and paging.

pub mod conn_timer;
pub mod error;
pub mod extract;
pub mod gateway;
pub mod guard;
pub mod limits;
pub mod normalize;
pub mod paging;
pub mod serve;
pub mod source_ip;
