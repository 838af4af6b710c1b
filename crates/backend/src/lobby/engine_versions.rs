//! [`EngineVersionCheck`]: how the lobby asks whether a game may use an
//! engine version label. The runtime's registry implements it (the runtime
//! is above the lobby); `app.rs` passes it to [`super::install`].

use futures::future::BoxFuture;

/// Decides whether new games may name an engine version.
pub trait EngineVersionCheck: Send + Sync {
    /// `Ok` when `label` is registered and enabled.
    fn check<'a>(&'a self, label: &'a str) -> BoxFuture<'a, Result<(), VersionRefused>>;
}

/// Why a label was refused.
#[derive(Debug, thiserror::Error)]
pub enum VersionRefused {
    #[error("engine version {0} is not registered")]
    Unknown(String),
    #[error("engine version {0} is disabled")]
    Disabled(String),
    /// The registry could not answer (its database).
    #[error("engine versions unavailable: {0:#}")]
    Unavailable(#[source] anyhow::Error),
}
