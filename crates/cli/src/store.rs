//! What the CLI keeps on disk, in its config dir (`GALAXY_CONFIG_DIR`, else
//! the platform config dir + `/galaxy`): the device key (`device.key`,
//! base64 of the 32-byte Ed25519 seed), the device session
//! (`session.json`) and a login code request awaiting its code
//! (`pending-login.json`). The dir is created 0700 and every file written
//! 0600; a key file that others can read is refused.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

use crate::client::Device;

const KEY_FILE: &str = "device.key";
const SESSION_FILE: &str = "session.json";
const PENDING_FILE: &str = "pending-login.json";

/// A problem with the local files, in one line.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No config dir could be determined.
    #[error("no config directory: set GALAXY_CONFIG_DIR")]
    NoConfigDir,
    /// The key file is readable or writable by others.
    #[error(
        "the key file {path} is accessible by other users (mode {mode:o}); run `chmod 600 {path}` or log in again after deleting it"
    )]
    KeyTooOpen {
        /// The key file.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
    /// The key file is not a key.
    #[error("the key file {0} is damaged; delete it and log in again")]
    BadKey(String),
    /// Not logged in on this config dir.
    #[error("not logged in; run `galaxy login EMAIL` first")]
    NotLoggedIn,
    /// A file could not be read or written.
    #[error("{path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        reason: String,
    },
}

/// The logged-in session, as kept in `session.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    /// The device session id.
    pub device_session_id: String,
    /// The account.
    pub user_id: String,
}

/// A requested login code, awaiting `galaxy login EMAIL --code CODE`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingLogin {
    /// The address the code was mailed to (lower-cased, trimmed).
    pub email: String,
    /// The challenge to confirm.
    pub challenge_id: String,
    /// When it expires (RFC 3339).
    pub expires_at: String,
}

/// The config dir and what is in it.
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// The store in `dir`, or in the platform config dir + `/galaxy`.
    pub fn open(dir: Option<PathBuf>) -> Result<Self, StoreError> {
        let dir = match dir {
            Some(dir) => dir,
            None => dirs::config_dir()
                .ok_or(StoreError::NoConfigDir)?
                .join("galaxy"),
        };
        Ok(Self { dir })
    }

    /// The config dir.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The key file's path.
    pub fn key_path(&self) -> PathBuf {
        self.dir.join(KEY_FILE)
    }

    /// The device key, created (0600, in a 0700 dir) when there is none.
    pub fn load_or_create_key(&self) -> Result<SigningKey, StoreError> {
        if let Some(key) = self.load_key()? {
            return Ok(key);
        }
        let key = SigningKey::from_bytes(&rand::random::<[u8; 32]>());
        let text = base64::engine::general_purpose::STANDARD.encode(key.to_bytes());
        self.write_private(KEY_FILE, format!("{text}\n").as_bytes())?;
        Ok(key)
    }

    /// The device key, if there is one; refuses a key file others can access.
    pub fn load_key(&self) -> Result<Option<SigningKey>, StoreError> {
        let path = self.key_path();
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(&path, e)),
        };
        check_private(&path)?;
        let seed: [u8; 32] = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| StoreError::BadKey(path.display().to_string()))?;
        Ok(Some(SigningKey::from_bytes(&seed)))
    }

    /// The logged-in session, if any.
    pub fn session(&self) -> Result<Option<Session>, StoreError> {
        self.read_json(SESSION_FILE)
    }

    /// The device to sign with: the key and the session; an error when not
    /// logged in.
    pub fn device(&self) -> Result<Device, StoreError> {
        let session = self.session()?.ok_or(StoreError::NotLoggedIn)?;
        let key = self.load_key()?.ok_or(StoreError::NotLoggedIn)?;
        Ok(Device {
            key,
            session_id: session.device_session_id,
        })
    }

    /// Keeps the session of a successful login.
    pub fn save_session(&self, session: &Session) -> Result<(), StoreError> {
        self.write_json(SESSION_FILE, session)
    }

    /// Forgets the session (the key stays).
    pub fn delete_session(&self) -> Result<(), StoreError> {
        self.remove(SESSION_FILE)
    }

    /// The pending login code request, if any.
    pub fn pending_login(&self) -> Result<Option<PendingLogin>, StoreError> {
        self.read_json(PENDING_FILE)
    }

    /// Keeps a login code request until its code is given.
    pub fn save_pending_login(&self, pending: &PendingLogin) -> Result<(), StoreError> {
        self.write_json(PENDING_FILE, pending)
    }

    /// Forgets the pending login code request.
    pub fn delete_pending_login(&self) -> Result<(), StoreError> {
        self.remove(PENDING_FILE)
    }

    fn read_json<T: for<'de> Deserialize<'de>>(&self, name: &str) -> Result<Option<T>, StoreError> {
        let path = self.dir.join(name);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| io_error(&path, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(&path, e)),
        }
    }

    fn write_json<T: Serialize>(&self, name: &str, value: &T) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec_pretty(value).expect("serialisable");
        self.write_private(name, &bytes)
    }

    fn remove(&self, name: &str) -> Result<(), StoreError> {
        let path = self.dir.join(name);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_error(&path, e)),
        }
    }

    /// Writes `name` with mode 0600 (through a temporary file renamed into
    /// place), creating the dir with mode 0700.
    fn write_private(&self, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
        create_private_dir(&self.dir)?;
        let path = self.dir.join(name);
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp).map_err(|e| io_error(&tmp, e))?;
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .map_err(|e| io_error(&tmp, e))?;
        set_mode(&tmp, 0o600)?;
        fs::rename(&tmp, &path).map_err(|e| io_error(&path, e))
    }
}

fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    if !dir.exists() {
        fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
        set_mode(dir, 0o700)?;
    }
    Ok(())
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt as _;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(|e| io_error(path, e))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> Result<(), StoreError> {
    Ok(())
}

/// Refuses a file that the group or others may read or write.
#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = fs::metadata(path)
        .map_err(|e| io_error(path, e))?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(StoreError::KeyTooOpen {
            path: path.display().to_string(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<(), StoreError> {
    Ok(())
}

fn io_error(path: &Path, e: impl std::fmt::Display) -> StoreError {
    StoreError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn the_key_is_created_once_with_mode_0600_in_a_0700_dir() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(Some(tmp.path().join("cfg"))).unwrap();
        let key = store.load_or_create_key().unwrap();
        assert_eq!(mode(&store.key_path()), 0o600);
        assert_eq!(mode(store.dir()), 0o700);
        let again = store.load_or_create_key().unwrap();
        assert_eq!(key.to_bytes(), again.to_bytes());
    }

    #[test]
    fn a_key_file_others_can_read_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(Some(tmp.path().to_path_buf())).unwrap();
        store.load_or_create_key().unwrap();
        fs::set_permissions(store.key_path(), fs::Permissions::from_mode(0o644)).unwrap();
        let err = store.load_key().unwrap_err();
        assert!(
            matches!(err, StoreError::KeyTooOpen { mode: 0o644, .. }),
            "{err}"
        );
    }

    #[test]
    fn without_a_session_the_device_is_not_logged_in() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(Some(tmp.path().to_path_buf())).unwrap();
        assert!(matches!(store.device(), Err(StoreError::NotLoggedIn)));
        store
            .save_session(&Session {
                device_session_id: "s".into(),
                user_id: "u".into(),
            })
            .unwrap();
        store.load_or_create_key().unwrap();
        assert_eq!(store.device().unwrap().session_id, "s");
        store.delete_session().unwrap();
        assert!(store.session().unwrap().is_none());
    }
}
