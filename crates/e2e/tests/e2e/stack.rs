//! The stack a scenario plays on: a fresh database (reached by containers
//! through a forwarder), the dev SMTP server, the backend — its image in a
//! container on the scenario's Docker network (`network` addressing, the
//! Docker socket mounted) or in-process on the host (`loopback`
//! addressing) — and the dev gateway in front of it.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use galaxy_devstack::forward::Forwarder;
use galaxy_devstack::smtp::{SmtpServer, SmtpServerOptions};
use tokio_util::sync::CancellationToken;

use crate::db::TestDb;
use crate::docker::{Network, docker, must, require_image};
use crate::player::{Answer, Player, admin_call};

pub const ADMIN: (&str, &str) = ("e2e-admin", "e2e-admin-password");
const GATEWAY_SECRET: &str = "an-e2e-gateway-secret-of-at-least-32-chars";
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Where the backend runs, and so how it reaches the engines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `galaxy/backend:<version>` in a container on the scenario's network,
    /// the Docker socket mounted, engines called by container name.
    Container,
    /// In-process on the host, engines called on ports published on 127.0.0.1.
    Host,
}

/// A running stack. Dropped in field order: gateway and backend stop, then
/// the network goes with every container on it (logs printed on failure).
pub struct Stack {
    pub mode: Mode,
    /// The gateway's base URL (players use it).
    pub gateway: String,
    /// The backend's base URL for the admin group.
    pub backend: String,
    pub network: Network,
    smtp: SmtpServer,
    http: reqwest::Client,
    admin: galaxy_cli::client::Client,
    shutdown: CancellationToken,
    _forwarder: Option<Forwarder>,
    _dir: tempfile::TempDir,
    _db: TestDb,
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.shutdown.cancel();
        // The network's own drop removes the backend container and the engines.
    }
}

impl Stack {
    pub async fn start(mode: Mode) -> Stack {
        require_image(&format!("galaxy/game:{VERSION}"));
        if mode == Mode::Container {
            require_image(&format!("galaxy/backend:{VERSION}"));
        }
        let network = Network::create(match mode {
            Mode::Container => "net",
            Mode::Host => "host",
        });
        let db = TestDb::create().await;
        let dir = tempfile::tempdir().expect("temp dir");
        let geoip = dir.path().join("GeoLite2-Country-test.mmdb");
        galaxy_devstack::geoip::write_fixture(&geoip).expect("GeoIP fixture");
        // What containers reach the host on: the network's gateway; the
        // host-side backend stays on loopback.
        let host_ip: IpAddr = match mode {
            Mode::Container => network.gateway,
            Mode::Host => [127, 0, 0, 1].into(),
        };
        let smtp = SmtpServer::start(SmtpServerOptions::default().with_addr((host_ip, 0).into()))
            .await
            .expect("SMTP server");
        let forwarder = match mode {
            Mode::Container => Some(
                Forwarder::start((host_ip, 0).into(), postgres_addr().await)
                    .await
                    .expect("PostgreSQL forwarder"),
            ),
            Mode::Host => None,
        };
        let dsn = match &forwarder {
            Some(f) => rehost(&db.url(), f.addr()),
            None => db.url(),
        };

        let mut vars = common_vars();
        vars.extend(
            [
                ("BACKEND_POSTGRES_DSN", dsn),
                ("BACKEND_SMTP_HOST", host_ip.to_string()),
                ("BACKEND_SMTP_PORT", smtp.port().to_string()),
                ("BACKEND_DOCKER_NETWORK", network.name.clone()),
                (
                    "BACKEND_GAME_STATE_ROOT",
                    dir.path().join("game-state").display().to_string(),
                ),
                ("BACKEND_GEOIP_DB_PATH", geoip.display().to_string()),
            ]
            .map(|(k, v)| (k.to_owned(), v)),
        );
        let shutdown = CancellationToken::new();
        let (backend, grpc) = match mode {
            Mode::Container => run_container(&network, dir.path(), vars),
            Mode::Host => run_in_process(vars, shutdown.clone()).await,
        };

        let gateway = galaxy_devgate::Gateway::bind(
            galaxy_devgate::Config::from_vars(
                [
                    ("DEVGATE_LISTEN_ADDR", "127.0.0.1:0".to_owned()),
                    ("DEVGATE_BACKEND_URL", format!("http://{backend}")),
                    ("DEVGATE_PUSH_URL", format!("http://{grpc}")),
                    ("DEVGATE_GATEWAY_SECRET", GATEWAY_SECRET.to_owned()),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
            )
            .expect("gateway config"),
        )
        .await
        .expect("the gateway binds");
        let gateway_url = format!("http://{}", gateway.local_addr());
        let stop = shutdown.clone();
        tokio::spawn(gateway.run_until(async move { stop.cancelled().await }));

        let stack = Stack {
            mode,
            gateway: gateway_url,
            backend: format!("http://{backend}"),
            network,
            smtp,
            http: reqwest::Client::new(),
            admin: crate::player::admin(&format!("http://{backend}"), ADMIN),
            shutdown,
            _forwarder: forwarder,
            _dir: dir,
            _db: db,
        };
        stack.wait_until_ready().await;
        stack
    }

    async fn wait_until_ready(&self) {
        let url = format!("{}/readyz", self.backend);
        for _ in 0..600 {
            if let Ok(r) = self.http.get(&url).send().await
                && r.status() == 200
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "the backend ({:?}) did not become ready within 60 s",
            self.mode
        );
    }

    /// Logs `email` in through the gateway, reading the code from the
    /// mail the backend sent to the dev SMTP server.
    pub async fn login(&self, email: &str) -> Player {
        let seen = self.smtp.messages().len();
        Player::login(&self.gateway, email, |email| async move {
            let messages = self
                .smtp
                .wait_for_messages(seen + 1, Duration::from_secs(30))
                .await
                .expect("the login mail arrives");
            let body = messages
                .iter()
                .rev()
                .find(|m| m.to.contains(&email))
                .expect("a mail to the player")
                .body_text()
                .expect("a text body");
            let at = body.find("login code is ").expect("the code line") + "login code is ".len();
            body[at..at + 6].to_owned()
        })
        .await
    }

    /// An admin request straight to the backend (HTTP Basic).
    pub async fn admin(&self, method: reqwest::Method, path: &str) -> Answer {
        admin_call(&self.admin, method, path).await
    }
}

/// The variables both modes share: fast workers, the engine image, the
/// admin, the gateway credential, no reconciler pass during a scenario
/// (the test kills an engine and resumes it itself).
fn common_vars() -> BTreeMap<String, String> {
    [
        ("BACKEND_OTEL_TRACES_EXPORTER", "none"),
        ("BACKEND_OTEL_METRICS_EXPORTER", "none"),
        ("BACKEND_LOGGING_LEVEL", "info"),
        ("BACKEND_POSTGRES_MAX_CONNS", "6"),
        ("BACKEND_POSTGRES_MIN_CONNS", "1"),
        ("BACKEND_SMTP_FROM", "galaxy@e2e.invalid"),
        ("BACKEND_SMTP_TLS_MODE", "none"),
        ("BACKEND_MAIL_WORKER_INTERVAL", "200ms"),
        ("BACKEND_NOTIFICATION_WORKER_INTERVAL", "200ms"),
        ("BACKEND_ADMIN_BOOTSTRAP_USER", ADMIN.0),
        ("BACKEND_ADMIN_BOOTSTRAP_PASSWORD", ADMIN.1),
        ("BACKEND_GATEWAY_SECRET", GATEWAY_SECRET),
        ("BACKEND_RUNTIME_DRIVER", "docker"),
        ("BACKEND_RUNTIME_IMAGE_PULL_POLICY", "never"),
        ("BACKEND_RUNTIME_RECONCILE_INTERVAL", "1h"),
        ("BACKEND_RUNTIME_STOP_GRACE_PERIOD", "2s"),
        ("BACKEND_HTTP_SHUTDOWN_TIMEOUT", "2s"),
        ("BACKEND_SHUTDOWN_TIMEOUT", "5s"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .chain([(
        "BACKEND_RUNTIME_ENGINE_VERSIONS".to_owned(),
        format!("{VERSION}=galaxy/game:{VERSION}"),
    )])
    .collect()
}

/// Starts the backend image on `network`: the Docker socket mounted, the
/// scenario's directory (game state, GeoIP) mounted at the same path (the
/// daemon resolves the engines' bind mounts on the host), HTTP and gRPC
/// published on 127.0.0.1. Returns those two addresses.
fn run_container(
    network: &Network,
    dir: &std::path::Path,
    mut vars: BTreeMap<String, String>,
) -> (SocketAddr, SocketAddr) {
    vars.insert("BACKEND_HTTP_LISTEN_ADDR".into(), ":8080".into());
    vars.insert("BACKEND_GRPC_PUSH_LISTEN_ADDR".into(), ":8081".into());
    vars.insert("BACKEND_RUNTIME_ENGINE_ADDRESSING".into(), "network".into());
    let name = format!("{}-backend", network.name);
    let mount = format!("{0}:{0}", dir.display());
    let image = format!("galaxy/backend:{VERSION}");
    let env: Vec<String> = vars.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut args = vec![
        "run",
        "-d",
        "--name",
        &name,
        "--label",
        "galaxy.e2e=1",
        "--network",
        &network.name,
        "-v",
        "/var/run/docker.sock:/var/run/docker.sock",
        "-v",
        &mount,
        "-p",
        "127.0.0.1::8080",
        "-p",
        "127.0.0.1::8081",
    ];
    for e in &env {
        args.extend(["-e", e.as_str()]);
    }
    args.push(&image);
    must(&args);
    let port = |p: &str| -> SocketAddr {
        let out = must(&["port", &name, p]);
        out.lines()
            .find_map(|l| l.parse().ok())
            .unwrap_or_else(|| panic!("{p} of {name} not published: {out}"))
    };
    (port("8080/tcp"), port("8081/tcp"))
}

/// Builds and runs the backend in this process (engines on loopback ports).
async fn run_in_process(
    mut vars: BTreeMap<String, String>,
    shutdown: CancellationToken,
) -> (SocketAddr, SocketAddr) {
    vars.insert("BACKEND_HTTP_LISTEN_ADDR".into(), "127.0.0.1:0".into());
    vars.insert("BACKEND_GRPC_PUSH_LISTEN_ADDR".into(), "127.0.0.1:0".into());
    vars.insert(
        "BACKEND_RUNTIME_ENGINE_ADDRESSING".into(),
        "loopback".into(),
    );
    let config = galaxy_backend::config::Config::from_vars(vars)
        .unwrap_or_else(|e| panic!("backend config:\n{e}"));
    let app = galaxy_backend::app::Application::build(config)
        .await
        .unwrap_or_else(|e| panic!("backend: {e:#}"));
    let addrs = (app.http_addr(), app.grpc_addr());
    let token = app.shutdown_token();
    tokio::spawn(async move {
        shutdown.cancelled().await;
        token.cancel();
    });
    tokio::spawn(app.run_until_stopped());
    addrs
}

/// Where the test database's server listens (from its URL; 127.0.0.1:5432).
async fn postgres_addr() -> SocketAddr {
    let url = crate::db::maintenance_url();
    let authority = authority(&url);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host_port = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:5432")
    };
    tokio::net::lookup_host(&host_port)
        .await
        .ok()
        .and_then(|mut addrs| addrs.next())
        .unwrap_or_else(|| panic!("cannot resolve PostgreSQL at {host_port}"))
}

/// The `user@host:port` part of a URL.
fn authority(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split(['/', '?']).next().unwrap_or(rest)
}

/// `url` with its host and port replaced by `addr` (credentials kept).
fn rehost(url: &str, addr: SocketAddr) -> String {
    let authority = authority(url);
    let replaced = match authority.rsplit_once('@') {
        Some((user, _)) => format!("{user}@{addr}"),
        None => addr.to_string(),
    };
    url.replacen(authority, &replaced, 1)
}

/// The engine container of `game` (the runtime names it so).
pub fn engine_container(game: &str) -> String {
    format!("galaxy-game-{game}")
}

/// Whether `container` is attached to `network` (the engine on the
/// scenario's network, where the backend reaches it by name).
pub fn attached(container: &str, network: &str) -> bool {
    docker(&[
        "inspect",
        "--format",
        "{{range $name, $_ := .NetworkSettings.Networks}}{{$name}} {{end}}",
        container,
    ])
    .is_ok_and(|nets| nets.split_whitespace().any(|n| n == network))
}
