//! Process assembly: [`Application::build`] validates nothing (config is
//! already validated), prepares PostgreSQL (schema + migrations), binds every
//! listener (port 0 works) and wires the domains; [`Application::run_until_stopped`]
//! serves until the shutdown token fires, then stops in the spec §16 order.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::assembly::Assembly;
use crate::cluster::{InstanceId, Leadership};
use crate::config::Config;
use crate::mail::{Mail, MailSettings};
use crate::notification::{NotificationService, NotificationSettings};
use crate::push::{PushService, PushSettings};
use crate::readiness::{Readiness, Warmup};
use crate::server::{self, AppContext, AppState};
use crate::session::OnSessionsRevoked;
use crate::telemetry::{Metrics, Telemetry};
use crate::user::OnUserDeleted;
use crate::worker::Workers;

/// A built, not yet serving, backend.
pub struct Application {
    state: AppState,
    telemetry: Telemetry,
    listeners: Listeners,
    workers: Workers,
    warmups: Vec<Warmup>,
    shutdown: CancellationToken,
}

/// Every listener, bound before anything serves (port 0 works).
struct Listeners {
    http: TcpListener,
    grpc: TcpListener,
    prometheus: Option<(TcpListener, Router)>,
    /// `BACKEND_GATEWAY_LISTEN_ADDR`: the user and internal groups.
    gateway: Option<TcpListener>,
}

/// Reactions registered at assembly besides the domains' own — how tests
/// observe revocations and soft deletes without reaching into a service.
#[derive(Default)]
pub struct ExtraHooks {
    pub on_sessions_revoked: Vec<Arc<dyn OnSessionsRevoked>>,
    pub on_user_deleted: Vec<Arc<dyn OnUserDeleted>>,
}

impl Application {
    /// Prepares the database and binds every listener. Fails — naming the
    /// cause — if PostgreSQL is unreachable, migrations fail or an address
    /// cannot be bound; nothing serves half-configured.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with(config, ExtraHooks::default()).await
    }

    /// [`build`](Self::build) with extra hooks (tests).
    pub async fn build_with(config: Config, extra: ExtraHooks) -> anyhow::Result<Self> {
        let telemetry = Telemetry::init(&config).context("cannot initialise telemetry")?;
        let metrics = telemetry.metrics();
        let readiness = Readiness::default();

        let instance = InstanceId::generate();
        tracing::info!(instance = %instance, "galaxy-backend instance starting");
        let db = connect_and_migrate(&config, &instance, &metrics, &readiness).await?;
        let listeners = Listeners::bind(&config, &telemetry).await?;
        readiness.mark_grpc_bound();
        let leadership = Leadership::new(instance, &metrics);
        let mut asm = Assembly::new(db, &leadership, metrics);
        // Every instance campaigns; the singleton loops run on the leader,
        // which gives the lock back only after they have stopped.
        let lock_options = crate::postgres::connect_options(&config.postgres)?
            .application_name(&leadership.instance().application_name());
        let (campaign, interval) = (leadership.clone(), config.postgres.leader_interval);
        asm.workers
            .spawn_last(move |stop| campaign.campaign(lock_options, interval, stop));
        let context = install_domains(&mut asm, config, readiness, leadership, extra).await?;
        let Assembly {
            workers, warmups, ..
        } = asm;
        for warmup in &warmups {
            context.readiness.register_cache(warmup.name);
        }
        Ok(Self {
            state: AppState::new(context),
            telemetry,
            listeners,
            workers,
            warmups,
            shutdown: CancellationToken::new(),
        })
    }

    pub fn http_addr(&self) -> SocketAddr {
        self.listeners
            .http
            .local_addr()
            .expect("bound listener has an address")
    }

    pub fn grpc_addr(&self) -> SocketAddr {
        self.listeners
            .grpc
            .local_addr()
            .expect("bound listener has an address")
    }

    /// The gateway listener's address (`BACKEND_GATEWAY_LISTEN_ADDR`), if any.
    pub fn gateway_addr(&self) -> Option<SocketAddr> {
        self.listeners
            .gateway
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    pub fn prometheus_addr(&self) -> Option<SocketAddr> {
        self.listeners
            .prometheus
            .as_ref()
            .and_then(|(l, _)| l.local_addr().ok())
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Cancelling this token starts the graceful shutdown.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Serves HTTP, gRPC and metrics, runs the warm-ups and workers, and on
    /// shutdown: stop accepting HTTP and gRPC → drain in-flight HTTP requests
    /// → stop workers (started mail sends finish) → close the container
    /// runtime → flush the geo tallies
    /// → drain push events to the
    /// gateways → close the pool → flush telemetry. Each step is capped
    /// by `BACKEND_SHUTDOWN_TIMEOUT`.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let Self {
            state,
            telemetry,
            listeners:
                Listeners {
                    http,
                    grpc,
                    prometheus,
                    gateway,
                },
            mut workers,
            warmups,
            shutdown,
        } = self;
        let config = state.config.clone();
        let cap = config.shutdown_timeout;

        tracing::info!(
            http = %http.local_addr()?, grpc = %grpc.local_addr()?,
            gateway = %gateway
                .as_ref()
                .and_then(|l| l.local_addr().ok())
                .map_or_else(|| "same as http".to_owned(), |a| a.to_string()),
            prometheus = %prometheus
                .as_ref()
                .and_then(|(l, _)| l.local_addr().ok())
                .map_or_else(|| "disabled".to_owned(), |a| a.to_string()),
            "galaxy-backend listening"
        );

        workers.start();
        start_warmups(warmups, &state.readiness);

        let servers = HttpServers::spawn(&state, http, gateway, prometheus, &shutdown);
        let grpc_task = tokio::spawn(server::grpc::serve(
            grpc,
            state.push.clone(),
            config.security.gateway_secret.clone(),
            shutdown.clone(),
        ));

        shutdown.cancelled().await;
        // Both listeners react to the token: no new connections or calls.
        tracing::info!("shutdown: stopping HTTP and gRPC intake");
        servers.drained().await;

        // A step in progress finishes (mail sends already started complete;
        // a notification step publishes what it claimed).
        tracing::info!("shutdown: stopping workers");
        if !workers.shutdown(cap).await {
            tracing::warn!("shutdown: workers did not stop within the budget");
        }
        // No runtime operation runs any more: the Docker client closes (a
        // later call would reconnect); the process driver's engines get
        // SIGTERM (their state is kept; the next backend starts them again).
        tracing::info!("shutdown: closing the container runtime");
        state
            .runtime
            .driver()
            .close(config.runtime.stop_grace_period.min(cap))
            .await;
        // No request counts any more: what the geo tallies still hold goes
        // out while the pool is open.
        state.geo.flush_at_shutdown(cap).await;

        // Only now do the push streams end: what this instance queued is
        // written to PostgreSQL and read back, then sent to the gateways.
        tracing::info!("shutdown: draining push events to the gateways");
        let budget = config.grpc.push_shutdown_timeout.min(cap);
        let started = std::time::Instant::now();
        state.push.close(budget).await;
        drain_grpc(grpc_task, budget.saturating_sub(started.elapsed())).await;

        tracing::info!("shutdown: closing the database pool");
        if tokio::time::timeout(cap, state.db.close()).await.is_err() {
            tracing::warn!("shutdown: database pool did not close within the budget");
        }
        tracing::info!("shutdown complete");
        telemetry.shutdown(cap).await;
        Ok(())
    }
}

/// The HTTP servers — the REST listener, the gateway's own listener when
/// configured, the Prometheus listener — serving until the shutdown token.
struct HttpServers {
    http: tokio::task::JoinHandle<bool>,
    gateway: Option<tokio::task::JoinHandle<bool>>,
    metrics: Option<tokio::task::JoinHandle<bool>>,
}

impl HttpServers {
    fn spawn(
        state: &AppState,
        http: TcpListener,
        gateway: Option<TcpListener>,
        prometheus: Option<(TcpListener, Router)>,
        shutdown: &CancellationToken,
    ) -> Self {
        let config = &state.config;
        let read_timeout = config.http.read_timeout;
        let drain = config.http.shutdown_timeout.min(config.shutdown_timeout);
        let serve = |name, listener, router| {
            tokio::spawn(server::serve::serve(
                name,
                listener,
                router,
                read_timeout,
                shutdown.clone(),
                drain,
            ))
        };
        Self {
            http: serve("HTTP", http, server::router(state.clone())),
            gateway: gateway
                .map(|l| serve("gateway HTTP", l, server::gateway_router(state.clone()))),
            metrics: prometheus.map(|(listener, router)| {
                tokio::spawn(server::serve::serve(
                    "metrics",
                    listener,
                    router,
                    read_timeout,
                    shutdown.clone(),
                    Duration::from_secs(1),
                ))
            }),
        }
    }

    /// Waits until every server has closed its listener and drained its
    /// in-flight requests (each within its budget).
    async fn drained(self) {
        if !self.http.await.unwrap_or(false) {
            tracing::warn!("shutdown: HTTP drain budget ran out with requests in flight");
        }
        if let Some(task) = self.gateway
            && !task.await.unwrap_or(false)
        {
            tracing::warn!("shutdown: gateway HTTP drain budget ran out with requests in flight");
        }
        if let Some(task) = self.metrics {
            let _ = task.await;
        }
    }
}

/// Runs every cache warm-up in the background; `/readyz` turns 200 once
/// all have finished (a failed one keeps the process unready, and says why).
fn start_warmups(warmups: Vec<Warmup>, readiness: &Readiness) {
    for Warmup { name, run } in warmups {
        let readiness = readiness.clone();
        tokio::spawn(async move {
            match run.await {
                Ok(()) => {
                    readiness.mark_cache_warm(name);
                    tracing::info!(cache = name, "cache warmed");
                }
                Err(err) => tracing::error!(cache = name, error = %err, "cache warm-up failed"),
            }
        });
    }
}

/// Waits for the gRPC server to send what its streams have queued, within
/// `budget`; then it is stopped.
async fn drain_grpc(mut task: tokio::task::JoinHandle<anyhow::Result<()>>, budget: Duration) {
    match tokio::time::timeout(budget, &mut task).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(err))) => tracing::error!(error = %err, "gRPC server failed"),
        Ok(Err(err)) => tracing::error!(error = %err, "gRPC task failed"),
        Err(_) => {
            tracing::warn!("shutdown: gRPC drain budget ran out");
            task.abort();
        }
    }
}

/// Phase 1: PostgreSQL reachable (every connection named after this
/// instance), schema and migrations applied.
async fn connect_and_migrate(
    config: &Config,
    instance: &InstanceId,
    metrics: &Metrics,
    readiness: &Readiness,
) -> anyhow::Result<PgPool> {
    let db = crate::postgres::connect(
        &config.postgres,
        metrics.db_pool(),
        &instance.application_name(),
    )
    .await?;
    crate::postgres::migrate(&db).await?;
    readiness.mark_migrations_applied();
    Ok(db)
}

impl Listeners {
    /// Phase 2: every address bound, or the variable naming it reported.
    async fn bind(config: &Config, telemetry: &Telemetry) -> anyhow::Result<Self> {
        let http = bind(config.http.listen_addr, "BACKEND_HTTP_LISTEN_ADDR").await?;
        let grpc = bind(
            config.grpc.push_listen_addr,
            "BACKEND_GRPC_PUSH_LISTEN_ADDR",
        )
        .await?;
        let prometheus = match telemetry.prometheus_router() {
            Some(router) => Some((
                bind(
                    config.otel.prometheus_listen_addr,
                    "BACKEND_OTEL_PROMETHEUS_LISTEN_ADDR",
                )
                .await?,
                router,
            )),
            None => None,
        };
        let gateway = match config.security.gateway_listen_addr {
            Some(addr) => Some(bind(addr, "BACKEND_GATEWAY_LISTEN_ADDR").await?),
            None => None,
        };
        Ok(Self {
            http,
            grpc,
            prometheus,
            gateway,
        })
    }
}

/// Phase 3: every domain installed, lower domains first; each registers
/// its workers, warm-ups and hooks with `asm`.
async fn install_domains(
    asm: &mut Assembly,
    config: Config,
    readiness: Readiness,
    leadership: Leadership,
    extra: ExtraHooks,
) -> anyhow::Result<AppContext> {
    let admin = crate::admin::install(asm, &config).await?;
    let push_settings = PushSettings::from_config(&config);
    let push = PushService::start(&asm.db, push_settings.clone(), &asm.metrics).await?;
    push.spawn_pruner(&mut asm.workers, &push_settings);
    // Every revocation reaches the gateway as a SessionInvalidation.
    let mut on_revoked: Vec<Arc<dyn OnSessionsRevoked>> = vec![Arc::new(push.clone())];
    on_revoked.extend(extra.on_sessions_revoked);
    let limits = crate::session::SessionLimits::from_config(&config);
    let sessions = crate::session::install(asm, limits, on_revoked);
    let lobby_on_deleted = crate::lobby::UserDeletedHook::default();
    let mut on_deleted: Vec<Arc<dyn OnUserDeleted>> = vec![
        Arc::new(crate::notification::UserDeletedHook),
        Arc::new(lobby_on_deleted.clone()),
    ];
    on_deleted.extend(extra.on_user_deleted);
    let users = crate::user::install(asm, sessions.clone(), on_deleted);
    let geo = crate::geo::install(asm, &config)?;
    let auth = crate::auth::install(asm, &config, sessions.clone(), geo.clone(), users.clone());
    let mail = install_mail(asm, &config)?;
    let notification = install_notification(asm, &config, push.clone());
    // The runtime sits above the lobby, but its registry needs only the
    // pool: the lobby checks game engine versions against it.
    let engine_versions = crate::runtime::versions::install(asm, &config);
    let lobby = crate::lobby::install(
        asm,
        &config,
        users.clone(),
        notification.clone(),
        &lobby_on_deleted,
        Arc::new(engine_versions.clone()),
    );
    let jobs = install_jobs(asm, &config, &lobby);
    let runtime = crate::runtime::install(
        asm,
        &config,
        engine_versions.clone(),
        lobby.clone(),
        notification.clone(),
    )?;
    Ok(AppContext {
        config: Arc::new(config),
        db: asm.db.clone(),
        instance: asm.instance.clone(),
        leadership,
        metrics: asm.metrics.clone(),
        readiness,
        admin,
        mail,
        users,
        sessions,
        auth,
        geo,
        push,
        notification,
        lobby,
        engine_versions,
        jobs,
        runtime,
    })
}

/// The shared job queue's runner with every domain's job kinds (today the
/// lobby's); a committed enqueue wakes it at once.
fn install_jobs(
    asm: &mut Assembly,
    config: &Config,
    lobby: &crate::lobby::LobbyService,
) -> crate::jobs::Runner {
    let builder = crate::jobs::Runner::builder(
        asm.db.clone(),
        crate::jobs::RunnerSettings::default(),
        &asm.metrics,
    );
    let runner = crate::lobby::sweeper::register_jobs(builder, lobby).build();
    if config.lobby.jobs_worker_enabled {
        let worker = runner.clone();
        crate::jobs::Runner::wake().spawn_worker(
            &mut asm.workers,
            "jobs",
            &asm.db,
            runner.settings().interval,
            move || {
                let worker = worker.clone();
                async move { worker.tick().await }
            },
        );
    }
    runner
}

/// The mail outbox and its worker. The first step runs at once: startup
/// drains every due `pending` / `retrying` delivery (spec §9, no separate
/// recovery); on shutdown the step in progress finishes its sends (§16).
/// A committed enqueue wakes the worker at once (PostgreSQL LISTEN/NOTIFY).
fn install_mail(asm: &mut Assembly, config: &Config) -> anyhow::Result<Mail> {
    let mail = Mail::new(
        asm.db.clone(),
        MailSettings::from_config(config),
        &asm.metrics,
    )
    .context("cannot set up the SMTP client (BACKEND_SMTP_*)")?;
    if mail.settings().worker_enabled {
        let worker = mail.worker();
        Mail::wake().spawn_worker(
            &mut asm.workers,
            "mail",
            &asm.db,
            mail.settings().worker_interval,
            move || {
                let worker = worker.clone();
                async move { worker.tick().await }
            },
        );
    }
    Ok(mail)
}

/// The notification pipeline and its route worker. Routes wait for the
/// interval at most: a committed submit wakes the worker at once
/// (PostgreSQL LISTEN/NOTIFY).
fn install_notification(
    asm: &mut Assembly,
    config: &Config,
    push: PushService,
) -> NotificationService {
    let notification = NotificationService::new(
        asm.db.clone(),
        NotificationSettings::from_config(config),
        push,
        &asm.metrics,
    );
    if config.notification.worker_enabled {
        let worker = notification.worker();
        notification.wake().spawn_worker(
            &mut asm.workers,
            "notification",
            &asm.db,
            notification.settings().worker_interval,
            move || {
                let worker = worker.clone();
                async move { worker.tick().await }
            },
        );
    }
    notification
}

async fn bind(addr: SocketAddr, variable: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} ({variable})"))
}

/// Cancels `token` on the first SIGTERM or SIGINT.
pub fn cancel_on_signals(token: CancellationToken) {
    tokio::spawn(async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(err) => {
                    tracing::error!(error = %err, "cannot install the SIGTERM handler");
                    return;
                }
            };
        tokio::select! {
            _ = term.recv() => tracing::info!(signal = "SIGTERM", "shutdown requested"),
            _ = tokio::signal::ctrl_c() => tracing::info!(signal = "SIGINT", "shutdown requested"),
        }
        token.cancel();
    });
}
