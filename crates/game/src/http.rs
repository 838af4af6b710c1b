//! The engine's HTTP API (`/api/v1/...`, `/healthz`): thin handlers that
//! parse the request, call the [`Engine`] under one lock, persist through
//! the [`Store`] and map errors to the single JSON error shape.

use crate::engine::{Engine, EngineError};
use crate::store::{Store, StoreError};
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use galaxy_model::api::*;
use galaxy_model::limits::MAX_BODY_BYTES;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// TEST ONLY knobs of the engine, all off by default: they exist so the
/// backend's tests can hold a real engine in a state that is otherwise too
/// brief to observe, instead of faking an engine. The binary reads them from
/// the environment ([`TestKnobs::from_env`]) in every build and logs a
/// warning at startup when one is set; nothing in production sets them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TestKnobs {
    /// `GALAXY_GAME_TEST_TURN_DELAY_MS`: how long `PUT /api/v1/admin/turn`
    /// waits after accepting the turn and before running and storing it.
    /// Meanwhile the status reads `generation: in_progress`, the turn holds
    /// the engine (order writes wait), and a kill leaves the turn un-run.
    pub turn_delay: Option<Duration>,
}

impl TestKnobs {
    /// The variable of [`TestKnobs::turn_delay`] (whole milliseconds; unset,
    /// empty or `0` is off).
    pub const TURN_DELAY_VAR: &'static str = "GALAXY_GAME_TEST_TURN_DELAY_MS";

    /// The knobs set in the process environment.
    pub fn from_env() -> Result<TestKnobs, String> {
        TestKnobs::from_lookup(|name| std::env::var(name).ok())
    }

    /// The knobs `lookup` (a variable's value by name) sets. A value that is
    /// not a whole number of milliseconds is an error, not a silent "off".
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<TestKnobs, String> {
        let turn_delay = match lookup(Self::TURN_DELAY_VAR) {
            None => None,
            Some(v) if v.trim().is_empty() => None,
            Some(v) => {
                let ms: u64 = v.trim().parse().map_err(|_| {
                    format!(
                        "{}={v:?}: expected a whole number of milliseconds",
                        Self::TURN_DELAY_VAR
                    )
                })?;
                (ms > 0).then(|| Duration::from_millis(ms))
            }
        };
        Ok(TestKnobs { turn_delay })
    }
}

/// Shared server state: the engine (once initialised) and its store.
pub struct AppState {
    engine: Mutex<Option<Engine>>,
    store: Store,
    generating: AtomicBool,
    /// The last published status, readable while a turn holds the engine.
    status: RwLock<Option<StatusResponse>>,
    knobs: TestKnobs,
}

impl AppState {
    /// Opens the state directory and resumes a stored game if there is one.
    pub fn open(store: Store) -> Result<Arc<AppState>, StoreError> {
        AppState::open_with(store, TestKnobs::default())
    }

    /// [`AppState::open`] with test knobs set (see [`TestKnobs`]).
    pub fn open_with(store: Store, knobs: TestKnobs) -> Result<Arc<AppState>, StoreError> {
        let engine = store.load()?;
        if let Some(e) = &engine {
            tracing::info!(game_id = %e.game.game_id, turn = e.game.turn, "resumed game");
        }
        let status = engine.as_ref().map(|e| e.status(GenerationState::Idle));
        Ok(Arc::new(AppState {
            engine: Mutex::new(engine),
            store,
            generating: AtomicBool::new(false),
            status: RwLock::new(status),
            knobs,
        }))
    }

    /// Publishes the engine's status for readers that must not wait for a turn.
    fn publish(&self, e: &Engine) {
        let st = e.status(GenerationState::Idle);
        match self.status.write() {
            Ok(mut g) => *g = Some(st),
            Err(poisoned) => *poisoned.into_inner() = Some(st),
        }
    }

    fn cached_status(&self) -> Option<StatusResponse> {
        let guard = match self.status.read() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        guard.clone().map(|mut st| {
            st.generation = self.generation();
            st
        })
    }

    fn generation(&self) -> GenerationState {
        if self.generating.load(Ordering::SeqCst) {
            GenerationState::InProgress
        } else {
            GenerationState::Idle
        }
    }
}

/// An API error: a code, a message and (for turn mismatches) the current turn.
#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    message: String,
    current_turn: Option<u32>,
    field: Option<String>,
}

impl ApiError {
    fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            current_turn: None,
            field: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
                current_turn: self.current_turn,
                field: self.field,
            },
        };
        (status, Json(body)).into_response()
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> ApiError {
        let current_turn = match &e {
            EngineError::TurnMismatch { current, .. } => Some(*current),
            _ => None,
        };
        ApiError {
            code: e.code(),
            message: e.to_string(),
            current_turn,
            field: e.field(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        tracing::error!(error = %e, "state storage failed");
        ApiError::new(ErrorCode::Internal, "state storage failed")
    }
}

impl From<JsonRejection> for ApiError {
    fn from(e: JsonRejection) -> ApiError {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("the body is larger than {MAX_BODY_BYTES} bytes"),
            );
        }
        ApiError::new(ErrorCode::InvalidRequest, e.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> ApiError {
        ApiError::new(ErrorCode::InvalidRequest, e.body_text())
    }
}

type ApiResult<T> = Result<T, ApiError>;

fn not_initialised() -> ApiError {
    ApiError::new(ErrorCode::NotInitialised, "no game has been initialised")
}

/// The API router.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route(paths::HEALTHZ, get(get_health))
        .route(paths::INIT, post(post_init))
        .route(paths::STATUS, get(get_status))
        .route(paths::TURN, put(put_turn))
        .route(paths::BANISH, post(post_banish))
        .route(paths::ORDER, put(put_order).get(get_order))
        .route(paths::COMMAND, put(put_command))
        .route(paths::REPORT, get(get_report))
        .fallback(|| async { ApiError::new(ErrorCode::NotFound, "no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(ErrorCode::MethodNotAllowed, "method not allowed")
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

async fn get_health(State(s): State<Arc<AppState>>) -> Json<Health> {
    let initialised = s.cached_status().is_some();
    Json(Health {
        status: "ok".into(),
        version: crate::VERSION.into(),
        initialised,
    })
}

async fn post_init(
    State(s): State<Arc<AppState>>,
    body: Result<Json<InitRequest>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<StatusResponse>)> {
    let Json(req) = body?;
    let mut guard = s.engine.lock().await;
    if guard.is_some() {
        return Err(ApiError::new(
            ErrorCode::AlreadyInitialised,
            "a game is already initialised",
        ));
    }
    let engine = Engine::init(&req)?;
    s.store.save_turn(&engine)?;
    tracing::info!(game_id = %req.game_id, races = req.races.len(), planets = engine.game.planets.len(), "game initialised");
    let status = engine.status(GenerationState::Idle);
    s.publish(&engine);
    *guard = Some(engine);
    Ok((StatusCode::CREATED, Json(status)))
}

async fn get_status(State(s): State<Arc<AppState>>) -> ApiResult<Json<StatusResponse>> {
    s.cached_status().map(Json).ok_or_else(not_initialised)
}

async fn put_turn(
    State(s): State<Arc<AppState>>,
    body: Result<Json<RunTurnRequest>, JsonRejection>,
) -> ApiResult<Json<RunTurnResponse>> {
    let Json(req) = body?;
    // Run in its own task: a client that disconnects mid-turn must not leave
    // the stored turn and the engine in memory apart.
    match tokio::spawn(run_turn(s, req)).await {
        Ok(r) => r,
        Err(join) => {
            tracing::error!(error = %join, "turn task failed");
            Err(ApiError::new(ErrorCode::Internal, "turn generation failed"))
        }
    }
}

async fn run_turn(s: Arc<AppState>, req: RunTurnRequest) -> ApiResult<Json<RunTurnResponse>> {
    let mut guard = s.engine.lock().await;
    let e = guard.as_mut().ok_or_else(not_initialised)?;
    let current = e.game.turn;
    if req.turn + 1 == current {
        // A retry of the turn just run.
        return Ok(Json(RunTurnResponse {
            ran: false,
            elapsed_ms: 0,
            status: e.status(GenerationState::Idle),
        }));
    }
    if req.turn != current {
        return Err(EngineError::TurnMismatch {
            requested: req.turn,
            current,
        }
        .into());
    }
    s.generating.store(true, Ordering::SeqCst);
    let started = Instant::now();
    if let Some(delay) = s.knobs.turn_delay {
        // TEST ONLY (TestKnobs): accepted, reported in progress, not yet run
        // nor stored. Counted in `elapsed_ms`, as a slow turn would be.
        tracing::warn!(
            turn = current,
            delay_ms = delay.as_millis() as u64,
            knob = TestKnobs::TURN_DELAY_VAR,
            "TEST KNOB: holding the turn before it runs"
        );
        tokio::time::sleep(delay).await;
    }
    let mut next = e.working_copy();
    let store = s.store.clone();
    // The turn is CPU work: run it off the async workers.
    let done = tokio::task::spawn_blocking(move || {
        next.advance();
        store.save_turn(&next).map(|()| next)
    })
    .await;
    s.generating.store(false, Ordering::SeqCst);
    let next = match done {
        Ok(r) => r?,
        Err(join) => {
            tracing::error!(error = %join, "turn generation panicked");
            return Err(ApiError::new(ErrorCode::Internal, "turn generation failed"));
        }
    };
    let elapsed_ms = started.elapsed().as_millis() as u64;
    *e = next;
    s.publish(e);
    tracing::info!(game_id = %e.game.game_id, turn = e.game.turn, elapsed_ms, "turn generated");
    Ok(Json(RunTurnResponse {
        ran: true,
        elapsed_ms,
        status: e.status(GenerationState::Idle),
    }))
}

async fn post_banish(
    State(s): State<Arc<AppState>>,
    body: Result<Json<BanishRequest>, JsonRejection>,
) -> ApiResult<Json<StatusResponse>> {
    let Json(req) = body?;
    let mut guard = s.engine.lock().await;
    let e = guard.as_mut().ok_or_else(not_initialised)?;
    let mut next = e.working_copy();
    next.banish(&req.race)?;
    next.reports.clear();
    s.store.save_turn(&next)?;
    *e = next;
    s.publish(e);
    tracing::info!(game_id = %e.game.game_id, race = %req.race, "race banished");
    Ok(Json(e.status(GenerationState::Idle)))
}

async fn put_order(
    State(s): State<Arc<AppState>>,
    body: Result<Json<PutOrdersRequest>, JsonRejection>,
) -> ApiResult<Json<PutOrdersResponse>> {
    let Json(req) = body?;
    let mut guard = s.engine.lock().await;
    let e = guard.as_mut().ok_or_else(not_initialised)?;
    let before = e.pending.clone();
    let resp = e.put_orders(&req)?;
    if let Err(err) = s.store.save_orders(e) {
        e.pending = before;
        return Err(err.into());
    }
    s.publish(e);
    Ok(Json(resp))
}

/// `GET /api/v1/order?race=…`: the race's pending set (a convenience for clients).
async fn get_order(
    State(s): State<Arc<AppState>>,
    q: Result<Query<RaceQuery>, QueryRejection>,
) -> ApiResult<Json<PutOrdersResponse>> {
    let Query(q) = q?;
    let guard = s.engine.lock().await;
    let e = guard.as_ref().ok_or_else(not_initialised)?;
    if !e.game.races.iter().any(|r| r.key == q.race) {
        return Err(EngineError::UnknownRace(q.race).into());
    }
    let set = e.pending.get(&q.race).cloned().unwrap_or_default();
    Ok(Json(PutOrdersResponse {
        race: q.race,
        turn: e.game.turn,
        orders: set.lines,
        mistakes: set.mistakes,
    }))
}

/// Query of `GET /api/v1/order`.
#[derive(Debug, serde::Deserialize)]
struct RaceQuery {
    race: String,
}

async fn put_command(
    State(s): State<Arc<AppState>>,
    body: Result<Json<PutCommandRequest>, JsonRejection>,
) -> ApiResult<Json<PutCommandResponse>> {
    let Json(req) = body?;
    let mut guard = s.engine.lock().await;
    let e = guard.as_mut().ok_or_else(not_initialised)?;
    let before = e.pending.clone();
    let resp = match e.put_command(&req) {
        Ok(r) => r,
        Err(err) => {
            e.pending = before;
            return Err(err.into());
        }
    };
    if let Err(err) = s.store.save_orders(e) {
        e.pending = before;
        return Err(err.into());
    }
    s.publish(e);
    Ok(Json(resp))
}

async fn get_report(
    State(s): State<Arc<AppState>>,
    q: Result<Query<ReportQuery>, QueryRejection>,
) -> ApiResult<Response> {
    let Query(q) = q?;
    let mut guard = s.engine.lock().await;
    let e = guard.as_mut().ok_or_else(not_initialised)?;
    if !e.game.races.iter().any(|r| r.key == q.race) {
        return Err(EngineError::UnknownRace(q.race).into());
    }
    let turn = q.turn.unwrap_or(e.game.turn);
    let report = if turn == e.game.turn {
        e.report(&q.race).cloned()
    } else if turn < e.game.turn {
        s.store.read_report(turn, &q.race)?
    } else {
        None
    };
    let report = report.ok_or_else(|| {
        ApiError::new(
            ErrorCode::ReportNotFound,
            format!("no report for turn {turn}"),
        )
    })?;
    match q.format.as_deref() {
        None | Some("json") => Ok(Json(report).into_response()),
        Some("text") => Ok((
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            crate::text_report::render(&report),
        )
            .into_response()),
        Some(other) => Err(ApiError::new(
            ErrorCode::InvalidRequest,
            format!("unknown format {other}"),
        )),
    }
}

/// Serves the API on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
