//! Device-session revocation as an event. Identity emits a
//! [`SessionsRevoked`] **after** the revoking transaction committed and the
//! session cache was updated; the [`OnSessionsRevoked`] hooks registered
//! at assembly (push → `SessionInvalidation`) are called synchronously and
//! must not block (hand the event to a queue).

use std::sync::Arc;

use serde::Serialize;

use crate::ids::{DeviceSessionId, UserId};

/// Why sessions were revoked; sent to the gateway as a stable string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationReason {
    /// The user revoked one or all of their own sessions.
    UserRevoked,
    /// An admin revoked the user's sessions.
    AdminRevoked,
    /// A login ban was applied.
    LoginBan,
    /// The account was soft-deleted.
    UserDeleted,
    /// The session reached its idle timeout or its absolute lifetime.
    Expired,
}

impl RevocationReason {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::UserRevoked => "user_revoked",
            Self::AdminRevoked => "admin_revoked",
            Self::LoginBan => "login_ban",
            Self::UserDeleted => "user_deleted",
            Self::Expired => "expired",
        }
    }
}

/// Device sessions of one user that stopped being valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionsRevoked {
    pub user_id: UserId,
    /// The sessions revoked by this action (never empty when emitted).
    pub device_session_ids: Vec<DeviceSessionId>,
    pub reason: RevocationReason,
}

/// A domain's reaction to revoked sessions (push turns them into a
/// `SessionInvalidation`). Called synchronously after the revoking commit:
/// it must not block (hand the event to a queue).
pub trait OnSessionsRevoked: Send + Sync {
    fn on_sessions_revoked(&self, event: &SessionsRevoked);
}

/// Any `Fn(&SessionsRevoked)` reacts (tests record events this way).
impl<F: Fn(&SessionsRevoked) + Send + Sync> OnSessionsRevoked for F {
    fn on_sessions_revoked(&self, event: &SessionsRevoked) {
        self(event);
    }
}

/// The reactions to revocations, fixed when the process is assembled.
/// Cheap to clone.
#[derive(Clone, Default)]
pub struct SessionEvents {
    listeners: Arc<[Arc<dyn OnSessionsRevoked>]>,
}

impl SessionEvents {
    pub fn new(listeners: Vec<Arc<dyn OnSessionsRevoked>>) -> Self {
        Self {
            listeners: listeners.into(),
        }
    }

    /// Calls every listener with `event` (skipped when no session changed).
    pub fn emit(&self, event: &SessionsRevoked) {
        if event.device_session_ids.is_empty() {
            return;
        }
        for listener in self.listeners.iter() {
            listener.on_sessions_revoked(event);
        }
    }
}

impl std::fmt::Debug for SessionEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionEvents").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use uuid::Uuid;

    use super::*;

    #[test]
    fn every_listener_sees_every_non_empty_event() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let listeners = (0..2)
            .map(|_| {
                let seen = seen.clone();
                let listener = move |e: &SessionsRevoked| seen.lock().unwrap().push(e.clone());
                Arc::new(listener) as Arc<dyn OnSessionsRevoked>
            })
            .collect();
        let events = SessionEvents::new(listeners);
        let event = SessionsRevoked {
            user_id: UserId(Uuid::nil()),
            device_session_ids: vec![DeviceSessionId(Uuid::nil())],
            reason: RevocationReason::LoginBan,
        };
        events.emit(&event);
        events.emit(&SessionsRevoked {
            device_session_ids: vec![],
            ..event.clone()
        });
        assert_eq!(*seen.lock().unwrap(), vec![event.clone(), event]);
    }
}
