//! The lobby (spec §3 `lobby/`): games, applications, invites, memberships
//! and the Race Name Directory.

pub mod race_name;
pub mod schedule;

pub use race_name::{RaceKey, RaceName, RaceNameError, canonical_key};
pub use schedule::{ScheduleError, TurnSchedule};
