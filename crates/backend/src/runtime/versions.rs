//! The engine version registry (`engine_versions`): which image runs each
//! semver engine label, whether new games may use it, and the one default.
//!
//! [`EngineVersions`] keeps every row in memory: warmed once at startup
//! (after the labels of `BACKEND_RUNTIME_ENGINE_VERSIONS` are upserted;
//! `/readyz` waits for it) and written through only after a transaction
//! commits, in commit order; other instances' writes reach it through
//! [`EngineVersions::refresh`] (`crate::cluster::caches`). Admin changes are audited as `runtime.*`
//! inside their transaction. The lobby asks it whether a game's label may
//! be used through [`crate::lobby::EngineVersionCheck`], which it
//! implements (the lobby never imports the runtime).
//!
//! Operator notes: `docs/runtime.md` ("Engine versions").

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use tokio::sync::Mutex;

use crate::audit;
use crate::lobby::{EngineVersionCheck, VersionRefused};

/// The name `/readyz` reports while the registry warms.
pub const CACHE_NAME: &str = "engine_versions";

/// The longest accepted image reference, in bytes.
pub const IMAGE_REF_MAX: usize = 512;

/// The longest accepted notes, in characters.
pub const NOTES_MAX: usize = 2000;

/// Audit actions of the registry (`domain.verb`).
pub mod action {
    pub const CREATE: &str = "runtime.create_engine_version";
    pub const UPDATE: &str = "runtime.update_engine_version";
    pub const SET_DEFAULT: &str = "runtime.set_default_engine_version";
}

/// One registered engine version (a row of `engine_versions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct EngineVersion {
    pub label: String,
    pub image_ref: String,
    pub enabled: bool,
    pub is_default: bool,
    pub notes: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A semver engine label (`1.2.0`, `0.1.0-rc.1`), checked once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineLabel(String);

impl EngineLabel {
    pub fn parse(raw: &str) -> Result<Self, EngineVersionError> {
        if crate::semver::is_semver(raw) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(EngineVersionError::invalid(
                "label",
                "must be a semantic version (e.g. 1.2.0)",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A container image reference (`galaxy/game:0.1.0`, `registry/x@sha256:…`):
/// non-empty, at most [`IMAGE_REF_MAX`] bytes, no whitespace or control
/// characters. Docker checks the rest when it pulls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef(String);

impl ImageRef {
    pub fn parse(raw: &str) -> Result<Self, EngineVersionError> {
        if raw.is_empty()
            || raw.len() > IMAGE_REF_MAX
            || raw.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(EngineVersionError::invalid(
                "image_ref",
                "must be 1-512 bytes without whitespace or control characters",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn check_notes(notes: &str) -> Result<(), EngineVersionError> {
    if notes.chars().count() > NOTES_MAX {
        return Err(EngineVersionError::invalid(
            "notes",
            "must be at most 2000 characters",
        ));
    }
    Ok(())
}

/// A new version as the admin API receives it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateEngineVersion {
    pub label: String,
    pub image_ref: String,
    /// Default `true`.
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub notes: Option<String>,
}

/// An admin's change; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateEngineVersion {
    #[serde(default)]
    pub image_ref: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub notes: Option<String>,
}

/// Why a registry operation failed (HTTP answers: `server/errors/runtime.rs`).
#[derive(Debug, thiserror::Error)]
pub enum EngineVersionError {
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: &'static str,
    },
    #[error("engine version {0} is already registered")]
    Exists(String),
    #[error("engine version {0} not found")]
    NotFound(String),
    #[error("engine version {0} is disabled and cannot be the default")]
    Disabled(String),
    #[error("engine version {0} is the default; make another version the default first")]
    IsDefault(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl EngineVersionError {
    fn invalid(field: &'static str, message: &'static str) -> Self {
        Self::Invalid { field, message }
    }
}

/// The registry. Cheap to clone.
#[derive(Clone)]
pub struct EngineVersions {
    inner: Arc<Inner>,
}

struct Inner {
    db: PgPool,
    /// `BACKEND_RUNTIME_ENGINE_VERSIONS`, upserted by the warm-up.
    configured: Vec<(String, String)>,
    cache: RwLock<Cache>,
    /// Serialises writes (and the warm-up) so the cache follows commit order.
    writes: Mutex<()>,
}

#[derive(Default)]
struct Cache {
    warm: bool,
    by_label: BTreeMap<String, EngineVersion>,
}

/// The registry's install step: the service and its warm-up, which first
/// registers the configured labels.
pub fn install(
    asm: &mut crate::assembly::Assembly,
    config: &crate::config::Config,
) -> EngineVersions {
    let versions = EngineVersions::new(asm.db.clone(), config.runtime.engine_versions.clone());
    asm.warm(versions.warmup());
    asm.caches.register(Arc::new(versions.clone()));
    versions
}

impl EngineVersions {
    /// A registry with a cold cache; `configured` are `(label, image_ref)`
    /// pairs registered by the warm-up.
    pub fn new(db: PgPool, configured: Vec<(String, String)>) -> Self {
        Self {
            inner: Arc::new(Inner {
                db,
                configured,
                cache: RwLock::new(Cache::default()),
                writes: Mutex::new(()),
            }),
        }
    }

    /// The startup warm-up, for `/readyz` to wait on.
    pub fn warmup(&self) -> crate::readiness::Warmup {
        let service = self.clone();
        crate::readiness::Warmup::new(CACHE_NAME, async move { service.warm_up().await })
    }

    /// Upserts the configured labels (the first becomes the default when
    /// there is none), then loads every row into the cache.
    #[tracing::instrument(name = "runtime.versions.warm_up", skip_all)]
    pub async fn warm_up(&self) -> anyhow::Result<()> {
        let _writes = self.inner.writes.lock().await;
        let mut tx = self.inner.db.begin().await?;
        for (label, image) in &self.inner.configured {
            let label = EngineLabel::parse(label)
                .map_err(|e| anyhow::anyhow!("BACKEND_RUNTIME_ENGINE_VERSIONS {label}: {e}"))?;
            let image = ImageRef::parse(image)
                .map_err(|e| anyhow::anyhow!("BACKEND_RUNTIME_ENGINE_VERSIONS {image}: {e}"))?;
            upsert_configured(&mut tx, &label, &image).await?;
        }
        if let Some((first, _)) = self.inner.configured.first() {
            sqlx::query(
                "UPDATE engine_versions SET is_default = true, updated_at = now()
                 WHERE label = $1 AND NOT EXISTS (SELECT 1 FROM engine_versions WHERE is_default)",
            )
            .bind(first)
            .execute(&mut *tx)
            .await?;
        }
        let rows = load_all(&mut tx).await?;
        tx.commit().await?;
        let count = rows.len();
        let mut cache = self.write_cache();
        cache.by_label = rows.into_iter().map(|v| (v.label.clone(), v)).collect();
        cache.warm = true;
        tracing::info!(
            versions = count,
            configured = self.inner.configured.len(),
            "engine versions cached"
        );
        Ok(())
    }

    fn read_cache(&self) -> std::sync::RwLockReadGuard<'_, Cache> {
        self.inner.cache.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_cache(&self) -> std::sync::RwLockWriteGuard<'_, Cache> {
        self.inner.cache.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Every version, ordered by label.
    pub async fn list(&self) -> Result<Vec<EngineVersion>, EngineVersionError> {
        {
            let cache = self.read_cache();
            if cache.warm {
                return Ok(cache.by_label.values().cloned().collect());
            }
        }
        let mut conn = self.inner.db.acquire().await?;
        Ok(load_all(&mut conn).await?)
    }

    /// One version, or `NotFound`.
    pub async fn get(&self, label: &str) -> Result<EngineVersion, EngineVersionError> {
        {
            let cache = self.read_cache();
            if cache.warm {
                return cache
                    .by_label
                    .get(label)
                    .cloned()
                    .ok_or_else(|| EngineVersionError::NotFound(label.to_owned()));
            }
        }
        let mut conn = self.inner.db.acquire().await?;
        load_one(&mut conn, label)
            .await?
            .ok_or_else(|| EngineVersionError::NotFound(label.to_owned()))
    }

    /// Registers a new version (`Exists` when the label is taken).
    #[tracing::instrument(name = "runtime.versions.create", skip_all)]
    pub async fn create(
        &self,
        admin: &str,
        raw: CreateEngineVersion,
    ) -> Result<EngineVersion, EngineVersionError> {
        let label = EngineLabel::parse(&raw.label)?;
        let image = ImageRef::parse(&raw.image_ref)?;
        let notes = raw.notes.unwrap_or_default();
        check_notes(&notes)?;
        let enabled = raw.enabled.unwrap_or(true);
        let _writes = self.inner.writes.lock().await;
        let mut tx = self.inner.db.begin().await?;
        let created = sqlx::query_as::<_, EngineVersion>(
            "INSERT INTO engine_versions (label, image_ref, enabled, notes)
             VALUES ($1, $2, $3, $4) ON CONFLICT (label) DO NOTHING
             RETURNING label, image_ref, enabled, is_default, notes, created_at, updated_at",
        )
        .bind(label.as_str())
        .bind(image.as_str())
        .bind(enabled)
        .bind(&notes)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| EngineVersionError::Exists(label.as_str().to_owned()))?;
        audit::record(
            &mut tx,
            admin,
            action::CREATE,
            label.as_str(),
            json!({ "image_ref": created.image_ref, "enabled": created.enabled }),
        )
        .await?;
        tx.commit().await?;
        self.put(std::slice::from_ref(&created));
        tracing::info!(label = %created.label, image_ref = %created.image_ref, "engine version registered");
        Ok(created)
    }

    /// Changes a version's image, enabled flag or notes. The default
    /// cannot be disabled (`IsDefault`).
    #[tracing::instrument(name = "runtime.versions.update", skip_all)]
    pub async fn update(
        &self,
        admin: &str,
        label: &str,
        change: UpdateEngineVersion,
    ) -> Result<EngineVersion, EngineVersionError> {
        let image = change
            .image_ref
            .as_deref()
            .map(ImageRef::parse)
            .transpose()?;
        if let Some(notes) = &change.notes {
            check_notes(notes)?;
        }
        let _writes = self.inner.writes.lock().await;
        let mut tx = self.inner.db.begin().await?;
        let current = lock_one(&mut tx, label)
            .await?
            .ok_or_else(|| EngineVersionError::NotFound(label.to_owned()))?;
        if change.enabled == Some(false) && current.is_default {
            return Err(EngineVersionError::IsDefault(current.label));
        }
        let updated = sqlx::query_as::<_, EngineVersion>(
            "UPDATE engine_versions SET image_ref = COALESCE($2, image_ref),
                 enabled = COALESCE($3, enabled), notes = COALESCE($4, notes), updated_at = now()
             WHERE label = $1
             RETURNING label, image_ref, enabled, is_default, notes, created_at, updated_at",
        )
        .bind(label)
        .bind(image.as_ref().map(ImageRef::as_str))
        .bind(change.enabled)
        .bind(change.notes.as_deref())
        .fetch_one(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            admin,
            action::UPDATE,
            label,
            json!({
                "image_ref": change.image_ref,
                "enabled": change.enabled,
                "notes_changed": change.notes.is_some(),
                "previous_image_ref": current.image_ref,
                "previous_enabled": current.enabled,
            }),
        )
        .await?;
        tx.commit().await?;
        self.put(std::slice::from_ref(&updated));
        tracing::info!(label, enabled = updated.enabled, image_ref = %updated.image_ref, "engine version updated");
        Ok(updated)
    }

    /// Makes `label` the default (clearing the previous one); a disabled
    /// version is refused (`Disabled`).
    #[tracing::instrument(name = "runtime.versions.set_default", skip_all)]
    pub async fn set_default(
        &self,
        admin: &str,
        label: &str,
    ) -> Result<EngineVersion, EngineVersionError> {
        let _writes = self.inner.writes.lock().await;
        let mut tx = self.inner.db.begin().await?;
        let current = lock_one(&mut tx, label)
            .await?
            .ok_or_else(|| EngineVersionError::NotFound(label.to_owned()))?;
        if !current.enabled {
            return Err(EngineVersionError::Disabled(current.label));
        }
        let previous: Vec<EngineVersion> = sqlx::query_as(
            "UPDATE engine_versions SET is_default = false, updated_at = now()
             WHERE is_default AND label <> $1
             RETURNING label, image_ref, enabled, is_default, notes, created_at, updated_at",
        )
        .bind(label)
        .fetch_all(&mut *tx)
        .await?;
        let updated = sqlx::query_as::<_, EngineVersion>(
            "UPDATE engine_versions SET is_default = true,
                 updated_at = CASE WHEN is_default THEN updated_at ELSE now() END
             WHERE label = $1
             RETURNING label, image_ref, enabled, is_default, notes, created_at, updated_at",
        )
        .bind(label)
        .fetch_one(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            admin,
            action::SET_DEFAULT,
            label,
            json!({ "previous_default": previous.first().map(|v| v.label.as_str()) }),
        )
        .await?;
        tx.commit().await?;
        let mut changed = previous;
        changed.push(updated.clone());
        self.put(&changed);
        tracing::info!(label, "default engine version set");
        Ok(updated)
    }

    /// Re-reads one label after another instance wrote it (a cold cache is
    /// left to the warm-up).
    pub async fn refresh(&self, label: &str) -> Result<(), sqlx::Error> {
        let _writes = self.inner.writes.lock().await;
        let mut conn = self.inner.db.acquire().await?;
        let row = load_one(&mut conn, label).await?;
        drop(conn);
        let mut cache = self.write_cache();
        if cache.warm {
            match row {
                Some(row) => cache.by_label.insert(label.to_owned(), row),
                None => cache.by_label.remove(label),
            };
        }
        Ok(())
    }

    /// Re-reads every row (after notifications of other instances' writes
    /// may have been missed); the configured labels are not upserted again.
    pub async fn reload(&self) -> Result<(), sqlx::Error> {
        let _writes = self.inner.writes.lock().await;
        let mut conn = self.inner.db.acquire().await?;
        let rows = load_all(&mut conn).await?;
        drop(conn);
        let mut cache = self.write_cache();
        if cache.warm {
            cache.by_label = rows.into_iter().map(|v| (v.label.clone(), v)).collect();
        }
        Ok(())
    }

    /// Writes committed rows through to a warm cache (a cold one is filled
    /// whole by the warm-up, which holds the write lock).
    fn put(&self, rows: &[EngineVersion]) {
        let mut cache = self.write_cache();
        if cache.warm {
            for row in rows {
                cache.by_label.insert(row.label.clone(), row.clone());
            }
        }
    }
}

impl EngineVersionCheck for EngineVersions {
    fn check<'a>(&'a self, label: &'a str) -> BoxFuture<'a, Result<(), VersionRefused>> {
        Box::pin(async move {
            match self.get(label).await {
                Ok(v) if v.enabled => Ok(()),
                Ok(_) => Err(VersionRefused::Disabled(label.to_owned())),
                Err(EngineVersionError::NotFound(_)) => {
                    Err(VersionRefused::Unknown(label.to_owned()))
                }
                Err(err) => Err(VersionRefused::Unavailable(err.into())),
            }
        })
    }
}

/// Other instances' writes reach the cache: keys are labels.
impl crate::cluster::CoherentCache for EngineVersions {
    fn name(&self) -> &'static str {
        CACHE_NAME
    }

    fn refresh<'a>(&'a self, key: &'a str) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move { Ok(EngineVersions::refresh(self, key).await?) })
    }

    fn reload_all(&self) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move { Ok(self.reload().await?) })
    }
}

// ---- SQL ---------------------------------------------------------------------

macro_rules! columns {
    () => {
        "label, image_ref, enabled, is_default, notes, created_at, updated_at"
    };
}

async fn load_all(conn: &mut PgConnection) -> Result<Vec<EngineVersion>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM engine_versions ORDER BY label"
    ))
    .fetch_all(conn)
    .await
}

async fn load_one(
    conn: &mut PgConnection,
    label: &str,
) -> Result<Option<EngineVersion>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM engine_versions WHERE label = $1"
    ))
    .bind(label)
    .fetch_optional(conn)
    .await
}

async fn lock_one(
    conn: &mut PgConnection,
    label: &str,
) -> Result<Option<EngineVersion>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM engine_versions WHERE label = $1 FOR UPDATE"
    ))
    .bind(label)
    .fetch_optional(conn)
    .await
}

/// The configuration names the image of its labels: a new label is
/// inserted enabled, a known one gets the configured image (its enabled
/// flag, notes and default stay as the admins left them).
async fn upsert_configured(
    conn: &mut PgConnection,
    label: &EngineLabel,
    image: &ImageRef,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO engine_versions (label, image_ref, notes)
         VALUES ($1, $2, 'registered by BACKEND_RUNTIME_ENGINE_VERSIONS')
         ON CONFLICT (label) DO UPDATE SET image_ref = EXCLUDED.image_ref, updated_at = now()
         WHERE engine_versions.image_ref <> EXCLUDED.image_ref",
    )
    .bind(label.as_str())
    .bind(image.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_must_be_semantic_versions() {
        assert!(EngineLabel::parse("0.1.0").is_ok());
        assert!(EngineLabel::parse("1.2.3-rc.1").is_ok());
        for bad in ["", "1.2", "v1.2.3", "01.2.3", "latest"] {
            assert!(EngineLabel::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn image_refs_are_non_empty_without_whitespace() {
        assert!(ImageRef::parse("galaxy/game:0.1.0").is_ok());
        assert!(ImageRef::parse("").is_err());
        assert!(ImageRef::parse("galaxy/game 0.1.0").is_err());
        assert!(ImageRef::parse(&"a".repeat(IMAGE_REF_MAX + 1)).is_err());
    }
}
