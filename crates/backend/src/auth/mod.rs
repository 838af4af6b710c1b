//! Login by email code (spec §2): request a code by email, confirm it with
//! a device key, get a device session.
//!
//! - [`model`]: validated values — [`EmailAddress`], the 6-digit
//!   [`LoginCode`] and its stored HMAC, the placeholder user-name generator.
//! - [`service`]: [`AuthService`] — request a code, confirm it, prune.
//! - [`error`]: [`AuthError`]; [`store`]: the SQL of the challenges (and
//!   the account row a first login creates).
//!
//! Uses: [`crate::session`] (creates the session), [`crate::user`] (login
//! bans, the account cache), [`crate::mail`] (the login-code mail),
//! [`crate::geo`] (the declared country of a new account).
//!
//! Operator notes and the gateway-facing contract: `docs/auth.md`.

pub mod error;
pub mod model;
pub mod service;
mod store;

pub use error::AuthError;
pub use model::{EmailAddress, LoginCode};
pub use service::{AuthService, AuthSettings, ChallengeIssued, ConfirmRequest, LoggedIn};

/// The identity domain's install step: the service, the loop that prunes
/// old challenges and failed confirmations and ends expired sessions, and
/// the loop that redacts login mails (`docs/auth.md`).
pub fn install(
    asm: &mut crate::assembly::Assembly,
    config: &crate::config::Config,
    sessions: crate::session::SessionService,
    geo: crate::geo::Geo,
    users: crate::user::UserService,
) -> AuthService {
    let auth = AuthService::new(
        asm.db.clone(),
        AuthSettings::from_config(config),
        sessions,
        geo,
        users,
    );
    let pruner = auth.clone();
    let interval = auth.settings().prune_interval;
    // Idempotent deletes: one instance does them (the leader).
    asm.workers.spawn_singleton_loop(
        "auth_prune",
        interval,
        std::sync::Arc::default(),
        move || {
            let auth = pruner.clone();
            async move { auth.prune().await }
        },
    );
    // Every instance writes back the session last uses it saw (the
    // leader's prune step expires by what PostgreSQL holds).
    let sessions = auth.sessions().clone();
    // The first step reads back nothing (the warm-up loaded the stored
    // last uses); each later one reads back what was written since the
    // previous one began (a minute of overlap for clock skew).
    let since = std::sync::Arc::new(std::sync::Mutex::new(chrono::Utc::now()));
    asm.workers
        .spawn_loop("session_last_seen", interval, move || {
            let (sessions, since) = (sessions.clone(), since.clone());
            async move {
                let started = chrono::Utc::now() - chrono::Duration::minutes(1);
                let from = *since
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let outcome = sessions.flush_last_seen(from).await;
                if outcome.is_ok() {
                    *since
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = started;
                }
                outcome.map(|_| crate::worker::StepOutcome::Idle)
            }
        });
    let redactor = auth.clone();
    asm.workers.spawn_singleton_loop(
        "auth_redact",
        service::REDACT_INTERVAL,
        std::sync::Arc::default(),
        move || {
            let auth = redactor.clone();
            async move { auth.redact_mail().await }
        },
    );
    auth
}
