//! The gateway: one fallback handler that authenticates user-group requests
//! and forwards them and public-group requests to the backend, except the
//! event stream, which it answers itself from the push fan-out.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::response::{IntoResponse, Response};
use axum::serve::ListenerExt as _;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::config::Config;
use crate::error::GatewayError;
use crate::push::{Hub, HubSettings, PushStatus, Subscriber, sse};
use crate::session::{Resolved, SessionLookup, Sessions};
use crate::signature::{self, SESSION_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};

/// Request bodies above this are refused (the backend's own limit is lower).
const MAX_BODY: usize = 4 * 1024 * 1024;
const USER_PREFIX: &str = "/api/v1/user/";
const PUBLIC_PREFIX: &str = "/api/v1/public/";
/// The event stream the gateway serves itself.
pub const EVENTS_PATH: &str = "/api/v1/user/events";
/// A comment line on a quiet event stream this often.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Client headers never passed on: the ones the gateway alone sets, the
/// signature headers and the hop-by-hop ones.
const STRIPPED: &[&str] = &[
    "x-user-id",
    "x-gateway-credential",
    "x-forwarded-for",
    SESSION_HEADER,
    TIMESTAMP_HEADER,
    SIGNATURE_HEADER,
    "host",
    "content-length",
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// A bound gateway, ready to run.
pub struct Gateway {
    listener: TcpListener,
    state: Arc<GatewayState>,
    subscriber: Option<Subscriber>,
    status: watch::Receiver<PushStatus>,
}

struct GatewayState {
    config: Config,
    http: reqwest::Client,
    sessions: Arc<Sessions>,
    hub: Arc<Hub>,
}

/// Who sent an authenticated request.
struct Identity {
    user_id: Uuid,
    session: Uuid,
}

impl Gateway {
    /// Binds `config.listen_addr` (port 0 picks one).
    pub async fn bind(config: Config) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.listen_addr).await?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let sessions = Arc::new(Sessions::new(config.freshness, config.lookup_cache));
        let hub = Arc::new(Hub::new(HubSettings::default(), Arc::clone(&sessions)));
        let (status_tx, status) = watch::channel(PushStatus::default());
        let subscriber = Subscriber::new(&config, Arc::clone(&hub), status_tx)?;
        Ok(Self {
            listener,
            state: Arc::new(GatewayState {
                config,
                http,
                sessions,
                hub,
            }),
            subscriber,
            status,
        })
    }

    /// The push subscription's state (never connected with push off).
    pub fn push_status(&self) -> watch::Receiver<PushStatus> {
        self.status.clone()
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("bound listener")
    }

    /// Serves, and subscribes to the push stream, until `shutdown`
    /// completes; then ends every event stream and the subscription.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let stop = CancellationToken::new();
        let subscriber = self
            .subscriber
            .map(|subscriber| tokio::spawn(subscriber.run(stop.clone())));
        let hub = Arc::clone(&self.state.hub);
        let app = Router::new().fallback(handle).with_state(self.state);
        // Small writes (answers, event frames) go out at once, not after Nagle's delay.
        let listener = self.listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "TCP_NODELAY not set");
            }
        });
        let served = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            shutdown.await;
            stop.cancel();
            // Event streams never end by themselves; graceful shutdown waits for them.
            hub.close();
        })
        .await;
        if let Some(subscriber) = subscriber {
            let _ = subscriber.await;
        }
        served
    }
}

async fn handle(
    State(state): State<Arc<GatewayState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    match route(&state, peer, request).await {
        Ok(response) => response,
        Err(e) => {
            tracing::info!(code = e.code(), %peer, "request refused");
            e.into_response()
        }
    }
}

async fn route(
    state: &GatewayState,
    peer: SocketAddr,
    request: Request,
) -> Result<Response, GatewayError> {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path();
    let is_user = path.starts_with(USER_PREFIX);
    if !is_user && !path.starts_with(PUBLIC_PREFIX) {
        return Err(GatewayError::NotFound);
    }
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str().to_owned())
        .unwrap_or_else(|| path.to_owned());
    let body = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| GatewayError::TooLarge)?;
    let identity = if is_user {
        Some(authenticate(state, &parts.method, &path_and_query, &parts.headers, &body).await?)
    } else {
        None
    };
    if let Some(identity) = &identity
        && path == EVENTS_PATH
    {
        if parts.method != http::Method::GET {
            return Err(GatewayError::NotFound);
        }
        return open_events(state, identity, &parts.headers);
    }
    forward(
        state,
        peer,
        parts.method,
        &path_and_query,
        &parts.headers,
        body,
        identity.map(|i| i.user_id),
    )
    .await
}

/// `GET /api/v1/user/events`: the session's event stream (docs/auth.md).
fn open_events(
    state: &GatewayState,
    identity: &Identity,
    headers: &HeaderMap,
) -> Result<Response, GatewayError> {
    if state.config.push_url.is_none() {
        return Err(GatewayError::PushUnavailable);
    }
    let last_event_id = headers.get("last-event-id").and_then(|v| v.to_str().ok());
    let stream = state
        .hub
        .open(identity.user_id, identity.session, last_event_id)
        .ok_or(GatewayError::PushUnavailable)?;
    Ok(sse::response(stream, KEEP_ALIVE))
}

/// Checks the signature headers, the freshness and the session (refusing
/// one the push stream invalidated before any lookup); returns who sent it.
async fn authenticate(
    state: &GatewayState,
    method: &http::Method,
    path_and_query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Identity, GatewayError> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let (Some(session), Some(timestamp), Some(sig)) = (
        header(SESSION_HEADER),
        header(TIMESTAMP_HEADER),
        header(SIGNATURE_HEADER),
    ) else {
        return Err(GatewayError::MissingSignature);
    };
    let session: Uuid = session.parse().map_err(|_| GatewayError::BadSession)?;
    let timestamp: i64 = timestamp.parse().map_err(|_| GatewayError::BadTimestamp)?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    if now.abs_diff(timestamp) > state.config.freshness.as_secs() {
        return Err(GatewayError::StaleTimestamp);
    }
    if state.sessions.is_revoked(session) {
        return Err(GatewayError::SessionRevoked);
    }
    let found = lookup(state, session).await?;
    signature::verify_with_key(
        &found.key,
        sig,
        method.as_str(),
        path_and_query,
        body,
        timestamp,
    )
    .map_err(|_| GatewayError::BadSignature)?;
    Ok(Identity {
        user_id: found.user_id,
        session,
    })
}

/// Resolves a session, from the short lookup cache or the backend. A key
/// that is not a valid Ed25519 key can verify nothing: `bad_signature`.
async fn lookup(state: &GatewayState, session: Uuid) -> Result<Resolved, GatewayError> {
    if let Some(found) = state.sessions.cached(session) {
        return Ok(found);
    }
    let SessionLookup {
        user_id,
        public_key,
    } = fetch_session(state, session).await?;
    let found = Resolved {
        user_id,
        key: signature::parse_public_key(&public_key).map_err(|_| GatewayError::BadSignature)?,
    };
    state.sessions.remember(session, &found);
    Ok(found)
}

/// Resolves a session through `GET /api/v1/internal/device-sessions/{id}`.
async fn fetch_session(state: &GatewayState, session: Uuid) -> Result<SessionLookup, GatewayError> {
    let url = format!(
        "{}/api/v1/internal/device-sessions/{session}",
        state.config.backend_url
    );
    let mut call = state.http.get(url);
    if let Some(secret) = &state.config.gateway_secret {
        call = call.header("x-gateway-credential", secret);
    }
    let response = call.send().await.map_err(|e| {
        tracing::warn!(error = %e, "session lookup failed");
        GatewayError::BackendUnavailable
    })?;
    match response.status() {
        StatusCode::OK => response.json().await.map_err(|e| {
            tracing::warn!(error = %e, "session lookup answer unreadable");
            GatewayError::BackendUnavailable
        }),
        StatusCode::NOT_FOUND | StatusCode::BAD_REQUEST => Err(GatewayError::UnknownSession),
        status => {
            tracing::warn!(%status, "session lookup refused");
            Err(GatewayError::BackendUnavailable)
        }
    }
}

async fn forward(
    state: &GatewayState,
    peer: SocketAddr,
    method: http::Method,
    path_and_query: &str,
    headers: &HeaderMap,
    body: Bytes,
    user_id: Option<Uuid>,
) -> Result<Response, GatewayError> {
    let url = format!("{}{path_and_query}", state.config.backend_url);
    let mut outgoing = HeaderMap::new();
    for (name, value) in headers {
        if !STRIPPED.contains(&name.as_str()) {
            outgoing.append(name.clone(), value.clone());
        }
    }
    outgoing.insert(
        HeaderName::from_static("x-forwarded-for"),
        HeaderValue::from_str(&peer.ip().to_string()).expect("an IP is a header value"),
    );
    if let Some(user_id) = user_id {
        outgoing.insert(
            HeaderName::from_static("x-user-id"),
            HeaderValue::from_str(&user_id.to_string()).expect("a UUID is a header value"),
        );
        if let Some(secret) = &state.config.gateway_secret
            && let Ok(value) = HeaderValue::from_str(secret)
        {
            outgoing.insert(HeaderName::from_static("x-gateway-credential"), value);
        }
    }
    let response = state
        .http
        .request(method, url)
        .headers(outgoing)
        .body(body)
        .send()
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "forwarding failed");
            GatewayError::BackendUnavailable
        })?;
    let status = response.status();
    let mut reply_headers = HeaderMap::new();
    for (name, value) in response.headers() {
        if !STRIPPED.contains(&name.as_str()) {
            reply_headers.append(name.clone(), value.clone());
        }
    }
    let bytes = response.bytes().await.map_err(|e| {
        tracing::warn!(error = %e, "reading the backend's answer failed");
        GatewayError::BackendUnavailable
    })?;
    let mut reply = Response::new(Body::from(bytes));
    *reply.status_mut() = status;
    *reply.headers_mut() = reply_headers;
    Ok(reply)
}
