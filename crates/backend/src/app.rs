//! Process assembly: [`Application::build`] validates nothing (config is
//! already validated), prepares PostgreSQL (schema + migrations), binds every
//! listener (port 0 works) and wires the domains; [`Application::run_until_stopped`]
//! serves until the shutdown token fires, then stops in the spec §16 order.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::admin::{AdminService, AdminSettings};
use crate::auth::SessionEvents;
use crate::config::Config;
use crate::mail::{Mail, MailSettings};
use crate::notification::{NotificationService, NotificationSettings, UserDeletedHook};
use crate::push::{PushService, PushSettings};
use crate::readiness::Readiness;
use crate::server::{self, AppContext, AppState};
use crate::telemetry::Telemetry;
use crate::user::{AccountEmails, UserDeletedHooks, UserService};
use crate::worker::Workers;

/// A cache warm-up run once at startup; `/readyz` waits for all of them.
pub struct Warmup {
    pub name: &'static str,
    pub run: Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>,
}

impl Warmup {
    /// The warm-up `name` (as `/readyz` reports it) running `load`.
    pub fn new<E>(
        name: &'static str,
        load: impl Future<Output = Result<(), E>> + Send + 'static,
    ) -> Self
    where
        E: Into<anyhow::Error>,
    {
        Self {
            name,
            run: Box::pin(async move { load.await.map_err(Into::into) }),
        }
    }
}

/// A built, not yet serving, backend.
pub struct Application {
    state: AppState,
    telemetry: Telemetry,
    http: TcpListener,
    grpc: TcpListener,
    prometheus: Option<(TcpListener, Router)>,
    workers: Workers,
    warmups: Vec<Warmup>,
    shutdown: CancellationToken,
}

impl Application {
    /// Prepares the database and binds every listener. Fails — naming the
    /// cause — if PostgreSQL is unreachable, migrations fail or an address
    /// cannot be bound; nothing serves half-configured.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let telemetry = Telemetry::init(&config).context("cannot initialise telemetry")?;
        let metrics = telemetry.metrics();
        let readiness = Readiness::default();

        let db = crate::postgres::connect(&config.postgres, metrics.db_pool()).await?;
        crate::postgres::migrate(&db).await?;
        readiness.mark_migrations_applied();

        let http = bind(config.http.listen_addr, "BACKEND_HTTP_LISTEN_ADDR").await?;
        let grpc = bind(
            config.grpc.push_listen_addr,
            "BACKEND_GRPC_PUSH_LISTEN_ADDR",
        )
        .await?;
        readiness.mark_grpc_bound();
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

        let admin = AdminService::new(db.clone(), &AdminSettings::from_config(&config));
        if let (Some(user), Some(password)) = (
            &config.admin.bootstrap_user,
            &config.admin.bootstrap_password,
        ) {
            let outcome = admin.bootstrap(user, password.expose()).await.context(
                "cannot bootstrap the admin account (BACKEND_ADMIN_BOOTSTRAP_USER / _PASSWORD)",
            )?;
            tracing::info!(outcome = ?outcome, "admin bootstrap");
        }
        let mut warmups = vec![admin.warmup()];
        // Device sessions (auth) are revoked inside user transactions (login
        // ban, soft delete), so the user domain holds the session service.
        let session_events = SessionEvents::default();
        let sessions = crate::auth::SessionService::new(db.clone(), session_events.clone());
        let user_deleted_hooks = UserDeletedHooks::default();
        let users = UserService::new(db.clone(), sessions.clone(), user_deleted_hooks.clone());
        warmups.push(users.warmup());
        warmups.push(sessions.warmup());
        let geo = crate::geo::Geo::open(&config.geoip.db_path, db.clone(), &metrics)
            .context("cannot open the GeoIP database (BACKEND_GEOIP_DB_PATH)")?;
        let auth = crate::auth::AuthService::new(
            db.clone(),
            crate::auth::AuthSettings::from_config(&config),
            sessions.clone(),
            geo.clone(),
            users.clone(),
        );
        let mail = Mail::new(db.clone(), MailSettings::from_config(&config), &metrics)
            .context("cannot set up the SMTP client (BACKEND_SMTP_*)")?;

        let push = PushService::start(&db, PushSettings::from_config(&config), &metrics).await?;
        {
            // Every revocation reaches the gateway as a SessionInvalidation
            // (publishing never blocks the revoking request).
            let push = push.clone();
            session_events.subscribe(move |revoked| {
                push.publish_session_invalidation(revoked);
            });
        }

        let notification = NotificationService::new(
            db.clone(),
            NotificationSettings::from_config(&config),
            push.clone(),
            &metrics,
        );
        user_deleted_hooks.register(Arc::new(UserDeletedHook));
        notification.set_user_emails(Arc::new(AccountEmails));

        let state = AppState::new(AppContext {
            config: Arc::new(config),
            db,
            metrics,
            readiness,
            admin,
            mail: mail.clone(),
            users,
            user_deleted_hooks,
            sessions,
            auth,
            geo: geo.clone(),
            session_events,
            push,
            notification: notification.clone(),
        });
        let mut workers = Workers::new();
        if mail.settings().worker_enabled {
            // The first step runs at once: startup drains every due
            // `pending` / `retrying` delivery (spec §9, no separate recovery).
            // On shutdown the step in progress finishes its sends (§16).
            // A committed enqueue wakes it at once (LISTEN/NOTIFY).
            let worker = mail.worker();
            Mail::wake().spawn_worker(
                &mut workers,
                "mail",
                &state.db,
                mail.settings().worker_interval,
                move || {
                    let worker = worker.clone();
                    async move { worker.tick().await }
                },
            );
        }
        {
            // Per-country counters of authenticated requests (spec §11).
            let geo = geo.clone();
            workers.spawn_loop("geo_counters", crate::geo::FLUSH_INTERVAL, move || {
                let geo = geo.clone();
                async move { geo.flush().await }
            });
        }
        {
            // Old login challenges and failed confirmations (docs/auth.md).
            let auth = state.auth.clone();
            workers.spawn_loop(
                "auth_prune",
                crate::auth::service::PRUNE_INTERVAL,
                move || {
                    let auth = auth.clone();
                    async move { auth.prune().await }
                },
            );
        }
        if state.config.notification.worker_enabled {
            // Routes wait for the interval at most: a committed submit wakes
            // the worker at once (PostgreSQL LISTEN/NOTIFY).
            let worker = notification.worker();
            NotificationService::wake().spawn_worker(
                &mut workers,
                "notification",
                &state.db,
                notification.settings().worker_interval,
                move || {
                    let worker = worker.clone();
                    async move { worker.tick().await }
                },
            );
        }
        for warmup in &warmups {
            state.readiness.register_cache(warmup.name);
        }
        Ok(Self {
            state,
            telemetry,
            http,
            grpc,
            prometheus,
            workers,
            warmups,
            shutdown: CancellationToken::new(),
        })
    }

    pub fn http_addr(&self) -> SocketAddr {
        self.http
            .local_addr()
            .expect("bound listener has an address")
    }

    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc
            .local_addr()
            .expect("bound listener has an address")
    }

    pub fn prometheus_addr(&self) -> Option<SocketAddr> {
        self.prometheus
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
    /// → stop workers (started mail sends finish) → drain push events to the
    /// gateways → close the pool → flush telemetry. Each step is capped
    /// by `BACKEND_SHUTDOWN_TIMEOUT`.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let Self {
            state,
            telemetry,
            http,
            grpc,
            prometheus,
            mut workers,
            warmups,
            shutdown,
        } = self;
        let config = state.config.clone();
        let cap = config.shutdown_timeout;

        tracing::info!(
            http = %http.local_addr()?, grpc = %grpc.local_addr()?,
            prometheus = %prometheus
                .as_ref()
                .and_then(|(l, _)| l.local_addr().ok())
                .map_or_else(|| "disabled".to_owned(), |a| a.to_string()),
            "galaxy-backend listening"
        );

        workers.start();
        for Warmup { name, run } in warmups {
            let readiness = state.readiness.clone();
            tokio::spawn(async move {
                match run.await {
                    Ok(()) => {
                        readiness.mark_cache_warm(name);
                        tracing::info!(cache = name, "cache warmed");
                    }
                    // The process stays unready; an operator sees why.
                    Err(err) => tracing::error!(cache = name, error = %err, "cache warm-up failed"),
                }
            });
        }

        let metrics_task = prometheus.map(|(listener, router)| {
            let stop = shutdown.clone();
            tokio::spawn(server::serve::serve(
                listener,
                router,
                config.http.read_timeout,
                stop,
                Duration::from_secs(1),
            ))
        });
        let http_task = tokio::spawn(server::serve::serve(
            http,
            server::router(state.clone()),
            config.http.read_timeout,
            shutdown.clone(),
            config.http.shutdown_timeout.min(cap),
        ));
        let mut grpc_task = tokio::spawn(server::grpc::serve(
            grpc,
            state.push.clone(),
            shutdown.clone(),
        ));

        shutdown.cancelled().await;
        // Both listeners react to the token: no new connections or calls.
        tracing::info!("shutdown: stopping HTTP and gRPC intake");
        if !http_task.await.unwrap_or(false) {
            tracing::warn!("shutdown: HTTP drain budget ran out with requests in flight");
        }
        if let Some(task) = metrics_task {
            let _ = task.await;
        }

        // A step in progress finishes (mail sends already started complete;
        // a notification step publishes what it claimed).
        tracing::info!("shutdown: stopping workers");
        if !workers.shutdown(cap).await {
            tracing::warn!("shutdown: workers did not stop within the budget");
        }

        // Only now do the push streams end, after sending what is queued.
        tracing::info!("shutdown: draining push events to the gateways");
        state.push.close();
        match tokio::time::timeout(config.grpc.push_shutdown_timeout.min(cap), &mut grpc_task).await
        {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(err))) => tracing::error!(error = %err, "gRPC server failed"),
            Ok(Err(err)) => tracing::error!(error = %err, "gRPC task failed"),
            Err(_) => {
                tracing::warn!("shutdown: gRPC drain budget ran out");
                grpc_task.abort();
            }
        }

        tracing::info!("shutdown: closing the database pool");
        if tokio::time::timeout(cap, state.db.close()).await.is_err() {
            tracing::warn!("shutdown: database pool did not close within the budget");
        }
        tracing::info!("shutdown complete");
        telemetry.shutdown(cap).await;
        Ok(())
    }
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
