//! Device-session revocation as an event. Identity emits a
//! [`SessionsRevoked`] **after** the revoking transaction committed and the
//! session cache was updated; listeners (push → `SessionInvalidation`) are
//! called synchronously and must not block (hand the event to a queue).

use std::sync::{Arc, RwLock};

use serde::Serialize;
use uuid::Uuid;

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
}

impl RevocationReason {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::UserRevoked => "user_revoked",
            Self::AdminRevoked => "admin_revoked",
            Self::LoginBan => "login_ban",
            Self::UserDeleted => "user_deleted",
        }
    }
}

/// Device sessions of one user that stopped being valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionsRevoked {
    pub user_id: Uuid,
    /// The sessions revoked by this action (never empty when emitted).
    pub device_session_ids: Vec<Uuid>,
    pub reason: RevocationReason,
}

type Listener = Arc<dyn Fn(&SessionsRevoked) + Send + Sync>;

/// The listener registry. Cheap to clone; clones share listeners.
#[derive(Clone, Default)]
pub struct SessionEvents {
    listeners: Arc<RwLock<Vec<Listener>>>,
}

impl SessionEvents {
    /// Registers `listener` for every later revocation.
    pub fn subscribe(&self, listener: impl Fn(&SessionsRevoked) + Send + Sync + 'static) {
        self.listeners
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(Arc::new(listener));
    }

    /// Calls every listener with `event` (skipped when no session changed).
    pub fn emit(&self, event: &SessionsRevoked) {
        if event.device_session_ids.is_empty() {
            return;
        }
        let listeners = self
            .listeners
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        for listener in listeners {
            listener(event);
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

    use super::*;

    #[test]
    fn every_listener_sees_every_non_empty_event() {
        let events = SessionEvents::default();
        let seen = Arc::new(Mutex::new(Vec::new()));
        for _ in 0..2 {
            let seen = seen.clone();
            events.subscribe(move |e| seen.lock().unwrap().push(e.clone()));
        }
        let event = SessionsRevoked {
            user_id: Uuid::nil(),
            device_session_ids: vec![Uuid::nil()],
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
