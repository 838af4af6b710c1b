//! bcrypt hashing and verification. Both cost ~0.2 s of CPU at cost 12, so
//! the async wrappers run them on the blocking pool, and verification takes
//! a slot from a small semaphore so a flood of logins cannot occupy every
//! core (the throttle in front of it bounds how many floods get this far).

use std::sync::{Arc, LazyLock};

use tokio::sync::Semaphore;

use super::model::{Password, PasswordHash};

/// The bcrypt cost of every stored hash (spec §12).
pub const BCRYPT_COST: u32 = 12;

/// Hashes `password` at [`BCRYPT_COST`]. Blocking: call from the blocking pool.
pub fn hash_password(password: &Password) -> Result<PasswordHash, bcrypt::BcryptError> {
    bcrypt::hash(password.expose(), BCRYPT_COST).map(PasswordHash::new)
}

/// True when `password` matches `hash`. Blocking (~0.2 s at cost 12): call
/// from the blocking pool. This is the full, uncached check.
pub fn verify_password(password: &str, hash: &PasswordHash) -> Result<bool, bcrypt::BcryptError> {
    bcrypt::verify(password, hash.as_str())
}

/// A hash of a throw-away password at the same cost, verified against when
/// the username is unknown so that "no such user" takes as long as "wrong
/// password" and the two answers cannot be told apart by timing.
pub(crate) fn dummy_hash() -> &'static PasswordHash {
    static DUMMY: LazyLock<PasswordHash> = LazyLock::new(|| {
        let filler = Password::parse("galaxy-dummy-password").expect("the filler meets the policy");
        hash_password(&filler).expect("bcrypt can hash a constant")
    });
    &DUMMY
}

/// Runs bcrypt work off the async runtime, at most `slots` at a time.
#[derive(Clone)]
pub(crate) struct Hasher {
    slots: Arc<Semaphore>,
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("bcrypt failed: {0}")]
    Bcrypt(#[from] bcrypt::BcryptError),
    #[error("the bcrypt task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

impl Hasher {
    /// Half the cores (at least one): admin logins can never starve the rest
    /// of the service of CPU.
    pub(crate) fn new() -> Self {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        Self {
            slots: Arc::new(Semaphore::new((cores / 2).max(1))),
        }
    }

    pub(crate) async fn hash(&self, password: Password) -> Result<PasswordHash, HashError> {
        let _slot = self
            .slots
            .acquire()
            .await
            .expect("the semaphore is never closed");
        Ok(tokio::task::spawn_blocking(move || hash_password(&password)).await??)
    }

    /// Verifies against `hash`, or against the dummy hash when `None` (the
    /// result is then always `false`).
    pub(crate) async fn verify(
        &self,
        password: String,
        hash: Option<PasswordHash>,
    ) -> Result<bool, HashError> {
        let _slot = self
            .slots
            .acquire()
            .await
            .expect("the semaphore is never closed");
        Ok(tokio::task::spawn_blocking(move || match hash {
            Some(hash) => verify_password(&password, &hash),
            None => verify_password(&password, dummy_hash()).map(|_| false),
        })
        .await??)
    }
}
