//! Geo signals (spec §11): the GeoLite2 Country database read once at
//! startup (`BACKEND_GEOIP_DB_PATH`), [`Geo::lookup`] of an address's ISO
//! country, `accounts.declared_country` at registration (set by `auth`),
//! and per-user country counters of authenticated requests.
//!
//! Counting is fire-and-forget: [`Geo::count_request`] only `try_send`s the
//! (user, address) pair into a bounded channel — a full channel drops the
//! hit and counts it in `geo_counter_dropped_total` — and the aggregator
//! step ([`Geo::flush`], run by the `geo_counters` worker loop) looks the
//! addresses up and upserts the counts in one batched statement. Lookup
//! and database errors are logged and never reach a request.
//!
//! - [`metrics`]: `geo_lookups_total{outcome}`, `geo_counter_dropped_total`;
//! - [`store`]: `user_country_counters` SQL, [`store::country_counters`]
//!   for the admin view.
//!
//! Operator notes: `docs/geo.md`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::{Mutex, mpsc};
use uuid::Uuid;

use crate::telemetry::Metrics;
use crate::worker::StepOutcome;

pub mod metrics;
pub mod store;

pub use metrics::{GeoMetrics, LookupOutcome};
pub use store::CountryCounter;

/// Capacity of the counting channel (hits waiting for the aggregator).
pub const CHANNEL_CAPACITY: usize = 16_384;
/// Most hits one aggregator step takes off the channel.
pub const FLUSH_BATCH: usize = 8_192;
/// Pause of the aggregator loop when the channel was drained.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// The GeoIP database could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the GeoIP database {path}: {source}")]
pub struct GeoOpenError {
    path: String,
    #[source]
    source: maxminddb::MaxMindDbError,
}

struct Hit {
    user_id: Uuid,
    ip: IpAddr,
}

struct Inner {
    reader: maxminddb::Reader<Vec<u8>>,
    metrics: GeoMetrics,
    db: PgPool,
    hits: mpsc::Sender<Hit>,
    /// The aggregator's end; the lock also serialises flushes, so a flush
    /// called by a test waits for one the loop has in progress.
    pending: Mutex<mpsc::Receiver<Hit>>,
}

/// The geo domain. Cheap to clone.
#[derive(Clone)]
pub struct Geo {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Geo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Geo").finish_non_exhaustive()
    }
}

impl Geo {
    /// Reads the database at `path` into memory.
    pub fn open(path: &Path, db: PgPool, metrics: &Metrics) -> Result<Self, GeoOpenError> {
        let reader = maxminddb::Reader::open_readfile(path).map_err(|source| GeoOpenError {
            path: path.display().to_string(),
            source,
        })?;
        let (hits, pending) = mpsc::channel(CHANNEL_CAPACITY);
        Ok(Self {
            inner: Arc::new(Inner {
                reader,
                metrics: GeoMetrics::new(metrics),
                db,
                hits,
                pending: Mutex::new(pending),
            }),
        })
    }

    /// The ISO 3166-1 alpha-2 country of `ip`, if the database knows it.
    /// Errors are logged and read as "unknown".
    pub fn lookup(&self, ip: IpAddr) -> Option<String> {
        let (country, outcome) = match self.try_lookup(ip.to_canonical()) {
            Ok(Some(country)) => (Some(country), LookupOutcome::Found),
            Ok(None) => (None, LookupOutcome::NotFound),
            Err(err) => {
                tracing::warn!(error = %err, "GeoIP lookup failed");
                (None, LookupOutcome::Error)
            }
        };
        self.inner.metrics.record_lookup(outcome);
        country
    }

    fn try_lookup(&self, ip: IpAddr) -> Result<Option<String>, maxminddb::MaxMindDbError> {
        let result = self.inner.reader.lookup(ip)?;
        if !result.has_data() {
            return Ok(None);
        }
        let code: Option<&str> = result.decode_path(&maxminddb::path!["country", "iso_code"])?;
        Ok(code
            .filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()))
            .map(str::to_ascii_uppercase))
    }

    /// Counts one authenticated request of `user_id` from `ip`. Never
    /// blocks and never fails: when the channel is full the hit is dropped
    /// (and counted).
    pub fn count_request(&self, user_id: Uuid, ip: IpAddr) {
        match self.inner.hits.try_send(Hit { user_id, ip }) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => self.inner.metrics.record_dropped(),
            // Only after shutdown: nothing left to count into.
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    /// The aggregator step: takes up to [`FLUSH_BATCH`] hits off the
    /// channel, resolves their countries and adds them to
    /// `user_country_counters` in one statement. Hits whose country is
    /// unknown, or whose user has no account, are not counted.
    #[tracing::instrument(name = "geo.flush", skip_all)]
    pub async fn flush(&self) -> Result<StepOutcome, sqlx::Error> {
        let mut pending = self.inner.pending.lock().await;
        let mut batch = Vec::new();
        while batch.len() < FLUSH_BATCH {
            match pending.try_recv() {
                Ok(hit) => batch.push(hit),
                Err(_) => break,
            }
        }
        if batch.is_empty() {
            return Ok(StepOutcome::Idle);
        }
        let full = batch.len() == FLUSH_BATCH;
        let mut counts: HashMap<(Uuid, String), i64> = HashMap::new();
        for hit in batch {
            if let Some(country) = self.lookup(hit.ip) {
                *counts.entry((hit.user_id, country)).or_default() += 1;
            }
        }
        if !counts.is_empty() {
            let mut rows: Vec<((Uuid, String), i64)> = counts.into_iter().collect();
            // One lock order for every process: concurrent flushes cannot deadlock.
            rows.sort_unstable();
            let mut conn = self.inner.db.acquire().await?;
            store::add_counts(&mut conn, &rows).await?;
        }
        drop(pending);
        Ok(if full {
            StepOutcome::MoreWork
        } else {
            StepOutcome::Idle
        })
    }

    /// Hits waiting for the aggregator.
    pub fn pending(&self) -> usize {
        CHANNEL_CAPACITY - self.inner.hits.capacity()
    }
}
