//! Geo signals (spec §11): the GeoLite2 Country database read once at
//! startup (`BACKEND_GEOIP_DB_PATH`), [`Geo::lookup`] of an address's ISO
//! country, `accounts.declared_country` at registration (set by `auth`),
//! and per-user country counters of authenticated requests.
//!
//! Counting is fire-and-forget: [`Geo::count_request`] only adds one to an
//! in-memory tally of (user, address) pairs — sharded per thread, so
//! requests on different threads share no lock — and the aggregator step
//! ([`Geo::flush`], run by the `geo_counters` worker loop) takes the
//! tallies, looks the addresses up and upserts the counts in one batched
//! statement. Repeated hits of one pair cost nothing extra in memory; only
//! when a shard already holds `BACKEND_GEO_SHARD_CAPACITY` distinct pairs is
//! a hit of a new pair dropped (and counted in `geo_counter_dropped_total`).
//! A flush whose statement fails keeps its counts for the next one; the
//! application flushes once more at shutdown, after the HTTP drain and
//! before the pool closes, so a graceful stop loses nothing.
//! Lookup and database errors are logged and never reach a request.
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

use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::PgPool;
use tokio::sync::Mutex;

use crate::ids::UserId;

use crate::telemetry::Metrics;
use crate::worker::StepOutcome;

pub mod metrics;
pub mod store;

pub use metrics::{GeoMetrics, LookupOutcome};
pub use store::CountryCounter;

/// Tally shards; a thread always adds to the same one.
pub const SHARDS: usize = 8;

/// Tunables of the counters (`BACKEND_GEO_*`, see `docs/geo.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GeoSettings {
    /// `BACKEND_GEO_SHARD_CAPACITY`: distinct (user, address) pairs one
    /// shard holds between flushes.
    pub shard_capacity: usize,
    /// `BACKEND_GEO_FLUSH_INTERVAL`: pause of the aggregator loop.
    pub flush_interval: Duration,
}

impl GeoSettings {
    pub fn from_config(config: &crate::config::Config) -> Self {
        Self {
            shard_capacity: config.geoip.shard_capacity as usize,
            flush_interval: config.geoip.flush_interval,
        }
    }

    /// Counted rows a failed flush carries over at most: as many as the
    /// shards hold, so a database outage keeps memory bounded.
    fn carry_capacity(&self) -> usize {
        self.shard_capacity.saturating_mul(SHARDS)
    }
}

/// The GeoIP database could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the GeoIP database {path}: {source}")]
pub struct GeoOpenError {
    path: String,
    #[source]
    source: maxminddb::MaxMindDbError,
}

/// foldhash, not SipHash: counted on every user request.
type Tally = foldhash::HashMap<(UserId, IpAddr), i64>;

/// Resolved hits: (user, country) → requests.
type CountryRow = ((UserId, String), i64);

/// One shard of hits not yet flushed, on its own cache line.
#[repr(align(128))]
#[derive(Default)]
struct Shard(std::sync::Mutex<Tally>);

struct Inner {
    reader: maxminddb::Reader<Vec<u8>>,
    metrics: GeoMetrics,
    db: PgPool,
    settings: GeoSettings,
    shards: [Shard; SHARDS],
    /// Serialises flushes, so a flush called by a test waits for one the
    /// loop has in progress. Holds the rows of a failed flush, retried by
    /// the next one.
    flushing: Mutex<Vec<CountryRow>>,
}

impl Inner {
    fn take_all(&self) -> Vec<Tally> {
        self.shards
            .iter()
            .map(|shard| std::mem::take(&mut *lock(shard)))
            .collect()
    }
}

fn lock(shard: &Shard) -> std::sync::MutexGuard<'_, Tally> {
    shard
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
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
    pub fn open(
        path: &Path,
        db: PgPool,
        settings: GeoSettings,
        metrics: &Metrics,
    ) -> Result<Self, GeoOpenError> {
        let reader = maxminddb::Reader::open_readfile(path).map_err(|source| GeoOpenError {
            path: path.display().to_string(),
            source,
        })?;
        Ok(Self {
            inner: Arc::new(Inner {
                reader,
                metrics: GeoMetrics::new(metrics),
                db,
                settings,
                shards: Default::default(),
                flushing: Mutex::new(Vec::new()),
            }),
        })
    }

    /// A user's per-country request counters, most requests first (the
    /// admin user detail).
    pub async fn country_counters(
        &self,
        user_id: UserId,
    ) -> Result<Vec<CountryCounter>, sqlx::Error> {
        store::country_counters(&self.inner.db, user_id).await
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
    /// blocks on anything shared and never fails: a hit of a new pair when
    /// the shard is full is dropped (and counted).
    pub fn count_request(&self, user_id: UserId, ip: IpAddr) {
        thread_local! {
            static SHARD: usize = {
                static NEXT: AtomicUsize = AtomicUsize::new(0);
                NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS
            };
        }
        let shard = &self.inner.shards[SHARD.with(|s| *s)];
        let mut tally = lock(shard);
        let key = (user_id, ip.to_canonical());
        if let Some(count) = tally.get_mut(&key) {
            *count += 1;
        } else if tally.len() < self.inner.settings.shard_capacity {
            tally.insert(key, 1);
        } else {
            drop(tally);
            self.inner.metrics.record_dropped(1);
        }
    }

    /// The aggregator step: takes every tally, resolves the addresses'
    /// countries and adds the counts to `user_country_counters` in one
    /// statement. Hits whose country is unknown, or whose user has no
    /// account, are not counted. When the statement (or getting a
    /// connection) fails, the counts are kept and added by the next flush;
    /// the error is returned (the loop logs it).
    #[tracing::instrument(name = "geo.flush", skip_all)]
    pub async fn flush(&self) -> Result<StepOutcome, sqlx::Error> {
        let mut carried = self.inner.flushing.lock().await;
        let mut counts: HashMap<(UserId, String), i64> = carried.drain(..).collect();
        for tally in self.inner.take_all() {
            for ((user_id, ip), hits) in tally {
                if let Some(country) = self.lookup(ip) {
                    *counts.entry((user_id, country)).or_default() += hits;
                }
            }
        }
        if counts.is_empty() {
            return Ok(StepOutcome::Idle);
        }
        let mut rows: Vec<CountryRow> = counts.into_iter().collect();
        // One lock order for every process: concurrent flushes cannot deadlock.
        rows.sort_unstable();
        let written = async {
            let mut conn = self.inner.db.acquire().await?;
            store::add_counts(&mut conn, &rows).await
        }
        .await;
        if let Err(err) = written {
            self.carry_over(&mut carried, rows);
            return Err(err);
        }
        Ok(StepOutcome::Idle)
    }

    /// Keeps the rows of a failed flush for the next one, up to the carry
    /// capacity; hits beyond it are dropped and counted.
    fn carry_over(&self, carried: &mut Vec<CountryRow>, mut rows: Vec<CountryRow>) {
        let capacity = self.inner.settings.carry_capacity();
        if rows.len() > capacity {
            let dropped: i64 = rows[capacity..].iter().map(|(_, hits)| hits).sum();
            rows.truncate(capacity);
            self.inner.metrics.record_dropped(dropped.unsigned_abs());
        }
        tracing::debug!(rows = rows.len(), "geo counts kept for the next flush");
        *carried = rows;
    }

    /// The last flush, once nothing counts any more (shutdown, after the
    /// HTTP drain and the workers, before the pool closes): failures are
    /// retried within `budget`, then what is left is logged as lost.
    pub async fn flush_at_shutdown(&self, budget: Duration) {
        tracing::info!("shutdown: flushing geo counters");
        let flushed = tokio::time::timeout(budget, async {
            let mut attempt = 0u32;
            loop {
                match self.flush().await {
                    Ok(_) => return,
                    Err(err) if attempt < 2 => {
                        tracing::warn!(error = %err, attempt, "shutdown: geo flush failed, retrying");
                        tokio::time::sleep(Duration::from_millis(200) * 2u32.pow(attempt)).await;
                        attempt += 1;
                    }
                    Err(err) => {
                        tracing::error!(error = %err, "shutdown: geo counters lost");
                        return;
                    }
                }
            }
        })
        .await;
        if flushed.is_err() {
            tracing::warn!("shutdown: geo flush did not finish within the budget");
        }
    }

    /// The counter settings in force.
    pub fn settings(&self) -> &GeoSettings {
        &self.inner.settings
    }

    /// Counted (user, country) rows a failed flush left for the next one.
    pub async fn carried_over(&self) -> usize {
        self.inner.flushing.lock().await.len()
    }

    /// Distinct (user, address) pairs waiting for the aggregator.
    pub fn pending(&self) -> usize {
        self.inner
            .shards
            .iter()
            .map(|shard| lock(shard).len())
            .sum()
    }
}

/// The geo domain's install step: the country database and the loop that
/// flushes the per-country counters (spec §11).
pub fn install(
    asm: &mut crate::assembly::Assembly,
    config: &crate::config::Config,
) -> anyhow::Result<Geo> {
    use anyhow::Context as _;
    let settings = GeoSettings::from_config(config);
    let geo = Geo::open(
        &config.geoip.db_path,
        asm.db.clone(),
        settings,
        &asm.metrics,
    )
    .context("cannot open the GeoIP database (BACKEND_GEOIP_DB_PATH)")?;
    let flusher = geo.clone();
    asm.workers
        .spawn_loop("geo_counters", settings.flush_interval, move || {
            let geo = flusher.clone();
            async move { geo.flush().await }
        });
    Ok(geo)
}
