//! The instruments: one [`Metrics`] handle per application, built from that
//! application's meter provider, grouped by the module that records them.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{
    Counter, Histogram, Meter, MeterProvider as _, NoopMeterProvider, ObservableCounter,
    ObservableGauge,
};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use super::names::{self, label};

/// Instrumentation scope name of every instrument of this service.
pub(crate) const METER_NAME: &str = "galaxy-backend";

/// Every instrument of one application. Cheap to clone (one `Arc`); hand it
/// to whatever records metrics (router state, workers, clients).
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<MetricsInner>,
}

struct MetricsInner {
    meter: Meter,
    http: HttpMetrics,
    db_pool: DbPoolMetrics,
}

impl Metrics {
    /// Creates every instrument on `meter`.
    pub(crate) fn new(meter: Meter) -> Self {
        Self::build(meter, true)
    }

    fn build(meter: Meter, recording: bool) -> Self {
        let http = HttpMetrics::new(&meter, recording);
        let db_pool = DbPoolMetrics::new(&meter);
        Self {
            inner: Arc::new(MetricsInner {
                meter,
                http,
                db_pool,
            }),
        }
    }

    /// Instruments that record nothing: for unit tests of code that takes a
    /// `Metrics`.
    /// Also what the service records into when `BACKEND_OTEL_METRICS_EXPORTER`
    /// is `none`: nothing would ever collect it.
    pub fn noop() -> Self {
        Self::build(NoopMeterProvider::new().meter(METER_NAME), false)
    }

    /// The meter the instruments were created on, for observable instruments
    /// a module registers at startup (see the module docs).
    pub fn meter(&self) -> &Meter {
        &self.inner.meter
    }

    pub fn http(&self) -> &HttpMetrics {
        &self.inner.http
    }

    pub fn db_pool(&self) -> &DbPoolMetrics {
        &self.inner.db_pool
    }
}

/// `http_requests_total` and `http_request_duration_seconds`, both labelled
/// `{group, method, path, status}`. Recorded by the HTTP edge layer
/// ([`super::HttpEdgeLayer`]).
///
/// Per request this costs one lookup in a small map of series (the label
/// values are server-chosen and bounded: route templates, not raw URLs), an
/// atomic increment and one histogram record: the attribute set of a series
/// is built once, and the request counter is an observable counter that
/// reads the series' atomic counts when metrics are collected.
#[derive(Clone)]
pub struct HttpMetrics {
    /// False for [`Metrics::noop`]: `record` returns at once.
    recording: bool,
    /// Tells this application's series apart in the per-thread caches.
    id: u64,
    duration: Histogram<f64>,
    series: Arc<RwLock<HttpSeries>>,
    /// Keeps the observable counter (and its callback) registered.
    _requests: ObservableCounter<u64>,
}

/// `(group, method, status)` → route template → the series.
type HttpSeries = FnvMap<(&'static str, &'static str, u16), FnvMap<Box<str>, Arc<Series>>>;
type FnvMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;
/// Per thread: `(metrics id, group, method, status)` → path → the series.
type LocalSeries = FnvMap<(u64, &'static str, &'static str, u16), FnvMap<Box<str>, Arc<Series>>>;

thread_local! {
    static LOCAL_SERIES: std::cell::RefCell<LocalSeries> = std::cell::RefCell::default();
}

static NEXT_HTTP_METRICS_ID: AtomicU64 = AtomicU64::new(1);

/// Counter shards: threads add to different cache lines; collection sums.
const SHARDS: usize = 8;

#[repr(align(128))]
#[derive(Default)]
struct Shard(AtomicU64);

struct Series {
    attributes: [KeyValue; 4],
    requests: [Shard; SHARDS],
}

impl Series {
    fn count(&self) -> u64 {
        self.requests
            .iter()
            .map(|shard| shard.0.load(Ordering::Relaxed))
            .sum()
    }

    fn add_one(&self) {
        thread_local! {
            static SHARD: usize = {
                static NEXT: AtomicUsize = AtomicUsize::new(0);
                NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS
            };
        }
        SHARD.with(|shard| self.requests[*shard].0.fetch_add(1, Ordering::Relaxed));
    }
}

impl HttpMetrics {
    fn new(meter: &Meter, recording: bool) -> Self {
        let series: Arc<RwLock<HttpSeries>> = Arc::default();
        let observed = series.clone();
        Self {
            recording,
            id: NEXT_HTTP_METRICS_ID.fetch_add(1, Ordering::Relaxed),
            _requests: meter
                .u64_observable_counter(names::HTTP_REQUESTS_TOTAL)
                .with_description(
                    "HTTP requests served, by route group, method, route template and status.",
                )
                .with_callback(move |observer| {
                    let series = observed.read().unwrap_or_else(|e| e.into_inner());
                    for one in series.values().flat_map(HashMap::values) {
                        observer.observe(one.count(), &one.attributes);
                    }
                })
                .build(),
            duration: meter
                .f64_histogram(names::HTTP_REQUEST_DURATION_SECONDS)
                .with_description("Time to produce the HTTP response head, in seconds.")
                .with_unit("s")
                .with_boundaries(names::LATENCY_BUCKETS_SECONDS.to_vec())
                .build(),
            series,
        }
    }

    /// Whether [`Self::record`] records anything (false without an exporter).
    pub fn recording(&self) -> bool {
        self.recording
    }

    /// Counts one served request. `path` must be a route template (or
    /// `unmatched`), never a raw URL, to keep label cardinality bounded.
    pub fn record(
        &self,
        group: &'static str,
        method: &'static str,
        path: &str,
        status: u16,
        elapsed: Duration,
    ) {
        if !self.recording {
            return;
        }
        // The thread's own table: no lock and no reference count shared
        // with other threads on the way to the series.
        LOCAL_SERIES.with(|local| {
            let mut local = local.borrow_mut();
            let paths = local.entry((self.id, group, method, status)).or_default();
            if !paths.contains_key(path) {
                let shared = self.shared_series(group, method, path, status);
                paths.insert(path.into(), shared);
            }
            if let Some(series) = paths.get(path) {
                series.add_one();
                self.duration
                    .record(elapsed.as_secs_f64(), &series.attributes);
            }
        });
    }

    /// The process-wide series (created on first use).
    fn shared_series(
        &self,
        group: &'static str,
        method: &'static str,
        path: &str,
        status: u16,
    ) -> Arc<Series> {
        self.series
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry((group, method, status))
            .or_default()
            .entry(path.into())
            .or_insert_with(|| {
                Arc::new(Series {
                    attributes: [
                        KeyValue::new(label::GROUP, group),
                        KeyValue::new(label::METHOD, method),
                        KeyValue::new(label::PATH, path.to_owned()),
                        KeyValue::new(label::STATUS, i64::from(status)),
                    ],
                    requests: Default::default(),
                })
            })
            .clone()
    }
}

/// FNV-1a: the series map's keys are few, short and server-chosen, so a
/// simple fast hash serves better than SipHash here.
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut hash = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for byte in bytes {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = hash;
    }
}

/// The PostgreSQL pool's instruments, labelled `{pool}`:
///
/// * `db_pool_acquires_total` (counter): connections handed out by the pool;
/// * `db_pool_waits_total` (counter): acquisitions that found no idle
///   connection and had to open a new one;
/// * `db_pool_in_use`, `db_pool_idle`, `db_pool_max` (observable gauges,
///   read from the pool at each collection once [`Self::observe_pool`] ran).
///
/// sqlx has no "acquire started" hook, so the counters come from the two
/// pool callbacks that exist: `before_acquire` runs when an *idle* connection
/// is handed out ([`Self::record_acquire`]), `after_connect` when a *new*
/// connection is opened ([`Self::record_new_connection`], which counts an
/// acquire and a wait). Two approximations follow: connections the pool opens
/// on its own to keep `min_connections` count as waits, and an acquire that
/// queued for another task to release a connection at `max_connections`
/// counts as a plain acquire — compare `db_pool_in_use` with `db_pool_max`
/// to see saturation.
///
/// Wiring (both hooks, when the pool needs no other callbacks):
///
/// ```ignore
/// let pool = metrics.db_pool().instrument(PgPoolOptions::new())
///     .max_connections(config.max_conns)
///     .connect_with(options)
///     .await?;
/// metrics.db_pool().observe_pool(&pool);
/// ```
///
/// or, inside callbacks the pool already has:
///
/// ```ignore
/// let (on_acquire, on_connect) = (metrics.db_pool().clone(), metrics.db_pool().clone());
/// PgPoolOptions::new()
///     .before_acquire(move |_conn, _meta| {
///         on_acquire.record_acquire();
///         Box::pin(async { Ok(true) })
///     })
///     .after_connect(move |conn, _meta| {
///         on_connect.record_new_connection();
///         Box::pin(async move { /* session setup on `conn` */ Ok(()) })
///     })
/// ```
#[derive(Clone)]
pub struct DbPoolMetrics {
    meter: Meter,
    pool: &'static str,
    acquires: Counter<u64>,
    waits: Counter<u64>,
    /// Keeps the observable gauges registered for the provider's lifetime.
    gauges: Arc<Mutex<Vec<ObservableGauge<u64>>>>,
}

/// The `pool` label of the service's single pool.
pub const DEFAULT_POOL: &str = "backend";

impl DbPoolMetrics {
    fn new(meter: &Meter) -> Self {
        Self {
            meter: meter.clone(),
            pool: DEFAULT_POOL,
            acquires: meter
                .u64_counter(names::DB_POOL_ACQUIRES_TOTAL)
                .with_description("Connections handed out by the PostgreSQL pool.")
                .build(),
            waits: meter
                .u64_counter(names::DB_POOL_WAITS_TOTAL)
                .with_description(
                    "Pool acquisitions that found no idle connection and opened a new one.",
                )
                .build(),
            gauges: Arc::default(),
        }
    }

    /// The same instruments with another `pool` label, for a second pool.
    pub fn for_pool(&self, pool: &'static str) -> Self {
        Self {
            pool,
            ..self.clone()
        }
    }

    fn attributes(&self) -> [KeyValue; 1] {
        [KeyValue::new(label::POOL, self.pool)]
    }

    /// An idle connection was handed out: call from `before_acquire`.
    pub fn record_acquire(&self) {
        self.acquires.add(1, &self.attributes());
    }

    /// A new connection was opened because none was idle: call from
    /// `after_connect`. Counts one acquire and one wait.
    pub fn record_new_connection(&self) {
        let attributes = self.attributes();
        self.acquires.add(1, &attributes);
        self.waits.add(1, &attributes);
    }

    /// Installs `before_acquire` and `after_connect` callbacks that only
    /// count (replacing callbacks already set on `options`).
    pub fn instrument(&self, options: PgPoolOptions) -> PgPoolOptions {
        let (on_acquire, on_connect) = (self.clone(), self.clone());
        options
            .before_acquire(move |_conn, _meta| {
                on_acquire.record_acquire();
                Box::pin(async { Ok(true) })
            })
            .after_connect(move |_conn, _meta| {
                on_connect.record_new_connection();
                Box::pin(async { Ok(()) })
            })
    }

    /// Registers the gauge callbacks for `pool`: in use (size − idle), idle
    /// and max connections. Call once, after the pool is built.
    pub fn observe_pool(&self, pool: &PgPool) {
        let attributes = self.attributes();
        let gauge = |name: &'static str, description: &'static str, read: fn(&PgPool) -> u64| {
            let (pool, attributes) = (pool.clone(), attributes.clone());
            self.meter
                .u64_observable_gauge(name)
                .with_description(description)
                .with_callback(move |observer| observer.observe(read(&pool), &attributes))
                .build()
        };
        let gauges = [
            gauge(
                names::DB_POOL_IN_USE,
                "Pool connections currently checked out.",
                |pool| u64::from(pool.size()).saturating_sub(pool.num_idle() as u64),
            ),
            gauge(names::DB_POOL_IDLE, "Idle pool connections.", |pool| {
                pool.num_idle() as u64
            }),
            gauge(names::DB_POOL_MAX, "Maximum pool connections.", |pool| {
                u64::from(pool.options().get_max_connections())
            }),
        ];
        self.gauges
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(gauges);
    }
}
