//! [`OrderError`]: why an order (or a text order line) was refused. Each
//! variant carries a stable [`MistakeCode`] that reports and the engine's
//! HTTP answers carry in `Mistake::code`; the message is for people.

use galaxy_model::api::MistakeCode;
use thiserror::Error;

/// Why an order was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OrderError {
    /// A text line that does not parse.
    #[error("{0}")]
    Syntax(String),
    /// No race with that name.
    #[error("unknown race {0}")]
    UnknownRace(String),
    /// No planet with that name or number.
    #[error("unknown planet {0}")]
    UnknownPlanet(String),
    /// The race has no group with that number.
    #[error("no group {}", galaxy_model::order::group_text(*.0))]
    UnknownGroup(u32),
    /// The race has no ship type or fleet of that name.
    #[error("{0}")]
    UnknownName(String),
    /// An option the engine does not know.
    #[error("unknown option {0}")]
    UnknownOption(String),
    /// The planet is not the race's.
    #[error("planet {0} is not the race's")]
    NotOwner(String),
    /// A name that may not be used.
    #[error("{0}")]
    InvalidName(String),
    /// The name is taken.
    #[error("{0}")]
    NameTaken(String),
    /// The unit is not where the order needs it.
    #[error("{0}")]
    WrongLocation(String),
    /// A ship count the group cannot give.
    #[error("{0}")]
    ShipCount(String),
    /// Loading or unloading is impossible as ordered.
    #[error("{0}")]
    Cargo(String),
    /// A number out of range.
    #[error("{0}")]
    InvalidValue(String),
    /// The order conflicts with the game state.
    #[error("{0}")]
    NotAllowed(String),
    /// A per-race limit would be exceeded.
    #[error("too many {what} (limit {limit})")]
    LimitExceeded {
        /// What is limited.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
}

impl OrderError {
    /// The stable code reported with the mistake.
    pub fn code(&self) -> MistakeCode {
        match self {
            OrderError::Syntax(_) => MistakeCode::Syntax,
            OrderError::UnknownRace(_) => MistakeCode::UnknownRace,
            OrderError::UnknownPlanet(_) => MistakeCode::UnknownPlanet,
            OrderError::UnknownGroup(_) => MistakeCode::UnknownGroup,
            OrderError::UnknownName(_) => MistakeCode::UnknownName,
            OrderError::UnknownOption(_) => MistakeCode::UnknownOption,
            OrderError::NotOwner(_) => MistakeCode::NotOwner,
            OrderError::InvalidName(_) => MistakeCode::InvalidName,
            OrderError::NameTaken(_) => MistakeCode::NameTaken,
            OrderError::WrongLocation(_) => MistakeCode::WrongLocation,
            OrderError::ShipCount(_) => MistakeCode::ShipCount,
            OrderError::Cargo(_) => MistakeCode::Cargo,
            OrderError::InvalidValue(_) => MistakeCode::InvalidValue,
            OrderError::NotAllowed(_) => MistakeCode::NotAllowed,
            OrderError::LimitExceeded { .. } => MistakeCode::LimitExceeded,
        }
    }

    /// Shorthand for a [`OrderError::WrongLocation`].
    pub fn location(msg: impl Into<String>) -> OrderError {
        OrderError::WrongLocation(msg.into())
    }

    /// Shorthand for a [`OrderError::NotAllowed`].
    pub fn not_allowed(msg: impl Into<String>) -> OrderError {
        OrderError::NotAllowed(msg.into())
    }
}
