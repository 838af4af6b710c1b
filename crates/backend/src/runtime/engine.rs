//! [`EngineClient`]: the HTTP client of running engines (spec §8,
//! `docs/engine-api.md`). It owns the calls to the eight engine endpoints
//! (plus reading a race's pending orders), their timeouts
//! (`BACKEND_ENGINE_CALL_TIMEOUT` for writes, `BACKEND_ENGINE_PROBE_TIMEOUT`
//! for reads), the mapping of the engine's error codes into
//! [`EngineError`], and one `engine.<op>` span per call whose
//! `traceparent` goes to the engine.
//!
//! Bodies are the `galaxy-model` types the engine itself uses; nothing is
//! re-declared here. One client (one connection pool) serves every game:
//! each call names the engine's base URL (`http://127.0.0.1:PORT`,
//! `http://galaxy-game-{id}:8080`), as the driver reports it.

use std::time::{Duration, Instant};

use galaxy_model::api::{
    BanishRequest, ErrorBody, ErrorCode, Health, InitRequest, PutCommandRequest,
    PutCommandResponse, PutOrdersRequest, PutOrdersResponse, ReportQuery, RunTurnRequest,
    RunTurnResponse, StatusResponse, paths,
};
use galaxy_model::report::Report;
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument as _;
use tracing::field::Empty;

use crate::config::EngineConfig;
use crate::telemetry::propagation;

/// How much of an unexpected body a [`EngineError::Protocol`] keeps.
const BODY_EXCERPT: usize = 200;

/// Why an engine call failed: the engine's own refusals (one variant per
/// error code it answers, with its message), or the exchange itself.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// `409 turn_mismatch`: the turn named is not the engine's current one.
    #[error("turn mismatch (current turn {current_turn}): {message}")]
    TurnMismatch { current_turn: u32, message: String },
    /// `409 race_not_alive`: orders for a dead or banished race.
    #[error("race not alive: {message}")]
    RaceNotAlive { message: String },
    /// `404 unknown_race`: no race with that key.
    #[error("unknown race: {message}")]
    UnknownRace { message: String },
    /// `422 invalid_settings`: an init setting or the race list is out of
    /// range; `field` names it (`settings.home_planets[0]`, `races`, …).
    #[error("invalid settings ({field}): {message}")]
    InvalidSettings { field: String, message: String },
    /// `422 limit_exceeded`: an order set over a limit; `field` is `orders`
    /// or `text`.
    #[error("limit exceeded ({field}): {message}")]
    LimitExceeded { field: String, message: String },
    /// `413 payload_too_large`: the request body is over the engine's 1 MiB.
    #[error("payload too large: {message}")]
    PayloadTooLarge { message: String },
    /// `409 not_initialised`: a game call before `init`.
    #[error("engine not initialised: {message}")]
    NotInitialised { message: String },
    /// `409 already_initialised`: `init` on an initialised engine.
    #[error("engine already initialised: {message}")]
    AlreadyInitialised { message: String },
    /// `404 order_not_found`: a command deleting a line id that is not there.
    #[error("order not found: {message}")]
    OrderNotFound { message: String },
    /// `404 report_not_found`: no report for that turn (a future one).
    #[error("report not found: {message}")]
    ReportNotFound { message: String },
    /// `400 invalid_request`: the engine refused the body or query as
    /// malformed (unknown fields, duplicate line ids, a text header naming
    /// another race, …).
    #[error("invalid request: {message}")]
    InvalidRequest { message: String },
    /// `500 internal`: the engine could not store its state (nothing changed).
    #[error("engine internal error: {message}")]
    Internal { message: String },
    /// No complete answer within the call's timeout. For a write the
    /// outcome is unknown: retry it (a turn retried by number never runs
    /// twice) or read the status.
    #[error("engine {op} timed out after {after:?}")]
    Timeout { op: &'static str, after: Duration },
    /// The engine could not be reached: connection refused, name not
    /// resolved, or the connection lost mid-exchange (for a write, the
    /// outcome is then unknown, as with a timeout).
    #[error("engine unreachable: {message}")]
    Unreachable { message: String },
    /// The engine answered outside its contract: an unexpected status, a
    /// body that does not decode, or `not_found` / `method_not_allowed`
    /// (a wrong base URL or an engine of another API version).
    #[error("engine protocol error{}: {message}", status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
    Protocol {
        status: Option<u16>,
        message: String,
    },
}

impl EngineError {
    /// The engine's error code, for the errors the engine answered with.
    pub fn code(&self) -> Option<ErrorCode> {
        Some(match self {
            EngineError::TurnMismatch { .. } => ErrorCode::TurnMismatch,
            EngineError::RaceNotAlive { .. } => ErrorCode::RaceNotAlive,
            EngineError::UnknownRace { .. } => ErrorCode::UnknownRace,
            EngineError::InvalidSettings { .. } => ErrorCode::InvalidSettings,
            EngineError::LimitExceeded { .. } => ErrorCode::LimitExceeded,
            EngineError::PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            EngineError::NotInitialised { .. } => ErrorCode::NotInitialised,
            EngineError::AlreadyInitialised { .. } => ErrorCode::AlreadyInitialised,
            EngineError::OrderNotFound { .. } => ErrorCode::OrderNotFound,
            EngineError::ReportNotFound { .. } => ErrorCode::ReportNotFound,
            EngineError::InvalidRequest { .. } => ErrorCode::InvalidRequest,
            EngineError::Internal { .. } => ErrorCode::Internal,
            EngineError::Timeout { .. }
            | EngineError::Unreachable { .. }
            | EngineError::Protocol { .. } => return None,
        })
    }

    /// Whether the engine could not be reached or did not answer in time
    /// (the runtime's `engine_unreachable` signal), as opposed to an answer.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            EngineError::Timeout { .. } | EngineError::Unreachable { .. }
        )
    }

    /// A short stable label: the engine's code, or `timeout`,
    /// `unreachable`, `protocol` (the span's `outcome`).
    pub fn outcome(&self) -> &'static str {
        match self {
            EngineError::TurnMismatch { .. } => "turn_mismatch",
            EngineError::RaceNotAlive { .. } => "race_not_alive",
            EngineError::UnknownRace { .. } => "unknown_race",
            EngineError::InvalidSettings { .. } => "invalid_settings",
            EngineError::LimitExceeded { .. } => "limit_exceeded",
            EngineError::PayloadTooLarge { .. } => "payload_too_large",
            EngineError::NotInitialised { .. } => "not_initialised",
            EngineError::AlreadyInitialised { .. } => "already_initialised",
            EngineError::OrderNotFound { .. } => "order_not_found",
            EngineError::ReportNotFound { .. } => "report_not_found",
            EngineError::InvalidRequest { .. } => "invalid_request",
            EngineError::Internal { .. } => "internal",
            EngineError::Timeout { .. } => "timeout",
            EngineError::Unreachable { .. } => "unreachable",
            EngineError::Protocol { .. } => "protocol",
        }
    }

    /// Maps an error answer (`status`, raw body) to its variant.
    fn from_answer(status: StatusCode, body: &[u8]) -> EngineError {
        let Ok(ErrorBody { error }) = serde_json::from_slice::<ErrorBody>(body) else {
            return protocol(status, format!("unexpected answer: {}", excerpt(body)));
        };
        let message = error.message;
        match error.code {
            ErrorCode::TurnMismatch => match error.current_turn {
                Some(current_turn) => EngineError::TurnMismatch {
                    current_turn,
                    message,
                },
                None => protocol(
                    status,
                    format!("turn_mismatch without current_turn: {message}"),
                ),
            },
            ErrorCode::InvalidSettings | ErrorCode::LimitExceeded => {
                let Some(field) = error.field else {
                    return protocol(status, format!("{:?} without field: {message}", error.code));
                };
                if error.code == ErrorCode::InvalidSettings {
                    EngineError::InvalidSettings { field, message }
                } else {
                    EngineError::LimitExceeded { field, message }
                }
            }
            ErrorCode::RaceNotAlive => EngineError::RaceNotAlive { message },
            ErrorCode::UnknownRace => EngineError::UnknownRace { message },
            ErrorCode::PayloadTooLarge => EngineError::PayloadTooLarge { message },
            ErrorCode::NotInitialised => EngineError::NotInitialised { message },
            ErrorCode::AlreadyInitialised => EngineError::AlreadyInitialised { message },
            ErrorCode::OrderNotFound => EngineError::OrderNotFound { message },
            ErrorCode::ReportNotFound => EngineError::ReportNotFound { message },
            ErrorCode::InvalidRequest => EngineError::InvalidRequest { message },
            ErrorCode::Internal => EngineError::Internal { message },
            ErrorCode::NotFound | ErrorCode::MethodNotAllowed => {
                protocol(status, format!("{:?}: {message}", error.code))
            }
        }
    }
}

fn protocol(status: StatusCode, message: String) -> EngineError {
    EngineError::Protocol {
        status: Some(status.as_u16()),
        message,
    }
}

/// The start of a body, for an error message.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    match text.char_indices().nth(BODY_EXCERPT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.into_owned(),
    }
}

/// One engine endpoint: its span name, method, path, expected success
/// status and whether it is a write (the call timeout) or a read (the
/// probe timeout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Health,
    Init,
    Status,
    Turn,
    Banish,
    Order,
    Command,
    Report,
    Orders,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Health => "healthz",
            Op::Init => "init",
            Op::Status => "status",
            Op::Turn => "turn",
            Op::Banish => "banish",
            Op::Order => "order",
            Op::Command => "command",
            Op::Report => "report",
            Op::Orders => "orders",
        }
    }

    fn method(self) -> Method {
        match self {
            Op::Health | Op::Status | Op::Report | Op::Orders => Method::GET,
            Op::Init | Op::Banish => Method::POST,
            Op::Turn | Op::Order | Op::Command => Method::PUT,
        }
    }

    fn path(self) -> &'static str {
        match self {
            Op::Health => paths::HEALTHZ,
            Op::Init => paths::INIT,
            Op::Status => paths::STATUS,
            Op::Turn => paths::TURN,
            Op::Banish => paths::BANISH,
            Op::Order | Op::Orders => paths::ORDER,
            Op::Command => paths::COMMAND,
            Op::Report => paths::REPORT,
        }
    }

    fn success(self) -> StatusCode {
        match self {
            Op::Init => StatusCode::CREATED,
            _ => StatusCode::OK,
        }
    }

    fn is_write(self) -> bool {
        self.method() != Method::GET
    }

    /// The call's span: `tracing` needs the name as a literal.
    fn span(self, base_url: &str) -> tracing::Span {
        macro_rules! span {
            ($name:literal) => {
                tracing::info_span!(
                    $name,
                    otel.kind = "client",
                    engine.url = %base_url,
                    game_id = Empty,
                    http.status = Empty,
                    outcome = Empty,
                )
            };
        }
        match self {
            Op::Health => span!("engine.healthz"),
            Op::Init => span!("engine.init"),
            Op::Status => span!("engine.status"),
            Op::Turn => span!("engine.turn"),
            Op::Banish => span!("engine.banish"),
            Op::Order => span!("engine.order"),
            Op::Command => span!("engine.command"),
            Op::Report => span!("engine.report"),
            Op::Orders => span!("engine.orders"),
        }
    }
}

/// A call's input: a JSON body, a query, or nothing.
enum Input<'a, B: Serialize, Q: Serialize> {
    None,
    Json(&'a B),
    Query(&'a Q),
}

/// Bodies that name their game, so the span can record it.
trait GameIdOf {
    fn game_id(&self) -> Option<&str> {
        None
    }
}

impl GameIdOf for StatusResponse {
    fn game_id(&self) -> Option<&str> {
        Some(&self.game_id)
    }
}

impl GameIdOf for RunTurnResponse {
    fn game_id(&self) -> Option<&str> {
        Some(&self.status.game_id)
    }
}

impl GameIdOf for Report {
    fn game_id(&self) -> Option<&str> {
        Some(&self.game_id)
    }
}

impl GameIdOf for Health {}
impl GameIdOf for PutOrdersResponse {}
impl GameIdOf for PutCommandResponse {}

/// The engine client: one connection pool, every game's engine.
#[derive(Debug, Clone)]
pub struct EngineClient {
    http: reqwest::Client,
    call_timeout: Duration,
    probe_timeout: Duration,
}

impl EngineClient {
    /// A client with the configured timeouts (`config.engine`). System
    /// proxy variables are ignored: engines are on a private network or
    /// the loopback.
    pub fn new(config: &EngineConfig) -> Result<EngineClient, reqwest::Error> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .tcp_nodelay(true)
            .user_agent(concat!("galaxy-backend/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(EngineClient {
            http,
            call_timeout: config.call_timeout,
            probe_timeout: config.probe_timeout,
        })
    }

    /// `GET /healthz`: liveness, version and whether a game is initialised.
    pub async fn health(&self, base_url: &str) -> Result<Health, EngineError> {
        self.json(base_url, Op::Health, Input::<(), ()>::None).await
    }

    /// `POST /api/v1/admin/init` → `201` with turn 0's status.
    pub async fn init(
        &self,
        base_url: &str,
        request: &InitRequest,
    ) -> Result<StatusResponse, EngineError> {
        self.json(base_url, Op::Init, Input::<_, ()>::Json(request))
            .await
    }

    /// `GET /api/v1/admin/status`.
    pub async fn status(&self, base_url: &str) -> Result<StatusResponse, EngineError> {
        self.json(base_url, Op::Status, Input::<(), ()>::None).await
    }

    /// `PUT /api/v1/admin/turn`: runs `turn`, which must be the current
    /// turn; naming the turn just run is a retry (`ran: false`).
    pub async fn run_turn(
        &self,
        base_url: &str,
        turn: u32,
    ) -> Result<RunTurnResponse, EngineError> {
        let request = RunTurnRequest { turn };
        self.json(base_url, Op::Turn, Input::<_, ()>::Json(&request))
            .await
    }

    /// `POST /api/v1/admin/race/banish` (idempotent).
    pub async fn banish(&self, base_url: &str, race: &str) -> Result<StatusResponse, EngineError> {
        let request = BanishRequest {
            race: race.to_owned(),
        };
        self.json(base_url, Op::Banish, Input::<_, ()>::Json(&request))
            .await
    }

    /// `PUT /api/v1/order`: replaces a race's whole order set.
    pub async fn put_orders(
        &self,
        base_url: &str,
        request: &PutOrdersRequest,
    ) -> Result<PutOrdersResponse, EngineError> {
        self.json(base_url, Op::Order, Input::<_, ()>::Json(request))
            .await
    }

    /// `PUT /api/v1/command`: adds, replaces or deletes one line by id.
    pub async fn put_command(
        &self,
        base_url: &str,
        request: &PutCommandRequest,
    ) -> Result<PutCommandResponse, EngineError> {
        self.json(base_url, Op::Command, Input::<_, ()>::Json(request))
            .await
    }

    /// `GET /api/v1/order?race=`: the race's pending set (a read).
    pub async fn orders(
        &self,
        base_url: &str,
        race: &str,
    ) -> Result<PutOrdersResponse, EngineError> {
        let query = [("race", race)];
        self.json(base_url, Op::Orders, Input::<(), _>::Query(&query))
            .await
    }

    /// `GET /api/v1/report`: the race's report for `turn` (default: the
    /// current one).
    pub async fn report(
        &self,
        base_url: &str,
        race: &str,
        turn: Option<u32>,
    ) -> Result<Report, EngineError> {
        let query = report_query(race, turn, None);
        self.json(base_url, Op::Report, Input::<(), _>::Query(&query))
            .await
    }

    /// `GET /api/v1/report?format=text`: the classic plain-text report.
    pub async fn report_text(
        &self,
        base_url: &str,
        race: &str,
        turn: Option<u32>,
    ) -> Result<String, EngineError> {
        let query = report_query(race, turn, Some("text"));
        let span = Op::Report.span(base_url);
        let body = self
            .exchange(base_url, Op::Report, Input::<(), _>::Query(&query))
            .instrument(span.clone())
            .await;
        let text = body.and_then(|body| {
            String::from_utf8(body).map_err(|e| EngineError::Protocol {
                status: Some(StatusCode::OK.as_u16()),
                message: format!("the text report is not UTF-8: {e}"),
            })
        });
        finish(&span, Op::Report, text.as_ref().err());
        text
    }

    /// A call whose answer is JSON of type `T`.
    async fn json<T, B, Q>(
        &self,
        base_url: &str,
        op: Op,
        input: Input<'_, B, Q>,
    ) -> Result<T, EngineError>
    where
        T: DeserializeOwned + GameIdOf,
        B: Serialize,
        Q: Serialize,
    {
        let span = op.span(base_url);
        let body = self
            .exchange(base_url, op, input)
            .instrument(span.clone())
            .await;
        let value = body.and_then(|body| {
            serde_json::from_slice::<T>(&body).map_err(|e| EngineError::Protocol {
                status: Some(op.success().as_u16()),
                message: format!("the answer does not decode: {e}: {}", excerpt(&body)),
            })
        });
        if let Ok(value) = &value
            && let Some(game_id) = value.game_id()
        {
            span.record("game_id", game_id);
        }
        finish(&span, op, value.as_ref().err());
        value
    }

    /// Sends the request (inside the call's span, so `traceparent` names
    /// it) and returns the body of the expected success status.
    async fn exchange<B: Serialize, Q: Serialize>(
        &self,
        base_url: &str,
        op: Op,
        input: Input<'_, B, Q>,
    ) -> Result<Vec<u8>, EngineError> {
        let timeout = if op.is_write() {
            self.call_timeout
        } else {
            self.probe_timeout
        };
        let url = format!("{}{}", base_url.trim_end_matches('/'), op.path());
        let mut headers = reqwest::header::HeaderMap::new();
        propagation::inject_http(&mut headers);
        let mut request = self
            .http
            .request(op.method(), url)
            .timeout(timeout)
            .headers(headers);
        request = match input {
            Input::None => request,
            Input::Json(body) => request.json(body),
            Input::Query(query) => request.query(query),
        };
        let started = Instant::now();
        let transport = |e: reqwest::Error| transport_error(op, timeout, e);
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        tracing::Span::current().record("http.status", status.as_u16());
        let body = response.bytes().await.map_err(transport)?;
        tracing::debug!(
            op = op.name(),
            status = status.as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "engine call answered"
        );
        if status == op.success() {
            Ok(body.to_vec())
        } else {
            Err(EngineError::from_answer(status, &body))
        }
    }
}

fn report_query(race: &str, turn: Option<u32>, format: Option<&str>) -> ReportQuery {
    ReportQuery {
        race: race.to_owned(),
        turn,
        format: format.map(str::to_owned),
    }
}

/// Classifies a failure of the exchange itself.
fn transport_error(op: Op, timeout: Duration, e: reqwest::Error) -> EngineError {
    if e.is_timeout() {
        EngineError::Timeout {
            op: op.name(),
            after: timeout,
        }
    } else if e.is_builder() {
        EngineError::Protocol {
            status: None,
            message: format!("cannot build the request: {}", error_chain(&e)),
        }
    } else {
        // Bodies are decoded here, not by reqwest: its body errors are
        // transport failures (the engine went away mid-answer).
        EngineError::Unreachable {
            message: error_chain(&e),
        }
    }
}

/// `e` and its sources (reqwest's own message alone rarely says why).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// Records the call's outcome on its span.
fn finish(span: &tracing::Span, op: Op, error: Option<&EngineError>) {
    let outcome = error.map_or("ok", EngineError::outcome);
    span.record("outcome", outcome);
    if let Some(error) = error.filter(|e| e.code().is_none()) {
        // Not an answer from the engine: worth a line of its own.
        span.in_scope(|| tracing::debug!(op = op.name(), error = %error, "engine call failed"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::tests::otel_only_subscriber;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    fn client() -> EngineClient {
        EngineClient::new(&EngineConfig {
            call_timeout: Duration::from_secs(5),
            probe_timeout: Duration::from_secs(5),
        })
        .unwrap()
    }

    /// Answers one request with `status` and a JSON `body`; hands back the request head.
    async fn one_shot(status: &str, body: &str) -> (String, tokio::task::JoinHandle<String>) {
        let answer = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = socket.read(&mut buf).await.unwrap();
                head.extend_from_slice(&buf[..n]);
            }
            socket.write_all(answer.as_bytes()).await.unwrap();
            String::from_utf8_lossy(&head).into_owned()
        });
        (base, task)
    }

    const HEALTHY: &str = r#"{"status":"ok","version":"0.1.0","initialised":true}"#;

    #[tokio::test]
    async fn the_call_sends_the_traceparent_of_its_own_span() {
        let _guard = tracing::subscriber::set_default(otel_only_subscriber());
        let (base, task) = one_shot("200 OK", HEALTHY).await;
        let outer = tracing::info_span!("runtime.probe");
        let health = client().health(&base).instrument(outer.clone()).await;
        assert!(health.unwrap().initialised);
        let head = task.await.unwrap().to_ascii_lowercase();
        let line = head
            .lines()
            .find(|l| l.starts_with("traceparent:"))
            .unwrap_or_else(|| panic!("no traceparent in {head}"));
        let value = line["traceparent:".len()..].trim();
        let parts: Vec<&str> = value.split('-').collect();
        assert_eq!(parts.len(), 4, "{value}");
        use opentelemetry::trace::TraceContextExt as _;
        use tracing_opentelemetry::OpenTelemetrySpanExt as _;
        let outer_cx = outer.context();
        let outer_ids = outer_cx.span().span_context().clone();
        assert_eq!(parts[1], outer_ids.trace_id().to_string(), "same trace");
        assert_ne!(
            parts[2],
            outer_ids.span_id().to_string(),
            "the engine call's own span is the parent"
        );
    }

    /// A span seen by [`Spans`]: its id, name and fields as recorded so far.
    type SeenSpan = (u64, String, Vec<(String, String)>);

    /// A layer keeping every span it sees.
    #[derive(Clone, Default)]
    struct Spans(std::sync::Arc<std::sync::Mutex<Vec<SeenSpan>>>);

    struct Fields<'a>(&'a mut Vec<(String, String)>);

    impl tracing::field::Visit for Fields<'_> {
        fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
            self.0.push((field.name().to_owned(), format!("{value:?}")));
        }
        fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
            self.0.push((field.name().to_owned(), value.to_owned()));
        }
    }

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Spans {
        fn on_new_span(
            &self,
            attrs: &tracing::span::Attributes<'_>,
            id: &tracing::span::Id,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            let mut fields = Vec::new();
            attrs.record(&mut Fields(&mut fields));
            let name = attrs.metadata().name().to_owned();
            self.0.lock().unwrap().push((id.into_u64(), name, fields));
        }

        fn on_record(
            &self,
            id: &tracing::span::Id,
            values: &tracing::span::Record<'_>,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            let mut spans = self.0.lock().unwrap();
            if let Some((_, _, fields)) = spans.iter_mut().rev().find(|s| s.0 == id.into_u64()) {
                values.record(&mut Fields(fields));
            }
        }
    }

    impl Spans {
        fn field(&self, span: &str, field: &str) -> Option<String> {
            let spans = self.0.lock().unwrap();
            let (_, _, fields) = spans.iter().rev().find(|s| s.1 == span)?;
            fields
                .iter()
                .rev()
                .find(|f| f.0 == field)
                .map(|f| f.1.clone())
        }
    }

    #[tokio::test]
    async fn each_call_has_an_engine_span_with_its_url_status_game_and_outcome() {
        use tracing_subscriber::layer::SubscriberExt as _;
        let spans = Spans::default();
        let _guard =
            tracing::subscriber::set_default(tracing_subscriber::registry().with(spans.clone()));
        const STATUS: &str = r#"{"game_id":"g-7","turn":2,"generation":"idle","races":[]}"#;
        let (base, task) = one_shot("200 OK", STATUS).await;
        let status = client().status(&base).await.unwrap();
        task.await.unwrap();
        assert_eq!(status.turn, 2);
        assert_eq!(
            spans.field("engine.status", "engine.url"),
            Some(base.clone())
        );
        assert_eq!(
            spans.field("engine.status", "http.status").as_deref(),
            Some("200")
        );
        assert_eq!(
            spans.field("engine.status", "game_id").as_deref(),
            Some("g-7")
        );
        assert_eq!(
            spans.field("engine.status", "outcome").as_deref(),
            Some("ok")
        );

        const REFUSED: &str =
            r#"{"error":{"code":"turn_mismatch","message":"turn 5 is not 2","current_turn":2}}"#;
        let (base, task) = one_shot("409 Conflict", REFUSED).await;
        let err = client().run_turn(&base, 5).await.unwrap_err();
        task.await.unwrap();
        assert!(
            matches!(
                err,
                EngineError::TurnMismatch {
                    current_turn: 2,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(
            spans.field("engine.turn", "http.status").as_deref(),
            Some("409")
        );
        assert_eq!(
            spans.field("engine.turn", "outcome").as_deref(),
            Some("turn_mismatch")
        );
    }

    #[test]
    fn an_error_body_maps_to_its_variant_with_the_engine_message() {
        let body = br#"{"error":{"code":"invalid_settings","message":"settings.size: within 20..=10000","field":"settings.size"}}"#;
        let e = EngineError::from_answer(StatusCode::UNPROCESSABLE_ENTITY, body);
        assert!(matches!(
            &e,
            EngineError::InvalidSettings { field, message }
                if field == "settings.size" && message == "settings.size: within 20..=10000"
        ));
        assert_eq!(e.code(), Some(ErrorCode::InvalidSettings));
        let body = br#"{"error":{"code":"turn_mismatch","message":"turn 3 is not the current turn 4","current_turn":4}}"#;
        let e = EngineError::from_answer(StatusCode::CONFLICT, body);
        assert!(matches!(
            e,
            EngineError::TurnMismatch {
                current_turn: 4,
                ..
            }
        ));
    }

    #[test]
    fn an_error_body_outside_the_contract_is_a_protocol_error() {
        for body in [
            &b"<html>bad gateway</html>"[..],
            br#"{"error":{"code":"turn_mismatch","message":"no turn"}}"#,
            br#"{"error":{"code":"limit_exceeded","message":"no field"}}"#,
            br#"{"error":{"code":"not_found","message":"no such route"}}"#,
            br#"{"error":{"code":"a_future_code","message":"?"}}"#,
        ] {
            let e = EngineError::from_answer(StatusCode::BAD_GATEWAY, body);
            assert!(
                matches!(
                    e,
                    EngineError::Protocol {
                        status: Some(502),
                        ..
                    }
                ),
                "{e:?}"
            );
            assert_eq!(e.outcome(), "protocol");
        }
    }

    #[test]
    fn a_long_unexpected_body_is_cut_in_the_message() {
        let body = "é".repeat(1000);
        let e = EngineError::from_answer(StatusCode::OK, body.as_bytes());
        assert!(e.to_string().len() < 600, "{e}");
        assert!(e.to_string().ends_with('…'));
    }
}
