//! HTTP edge instrumentation: request ids, one trace span per request, and
//! the `http_*` metrics.
//!
//! All of it is one layer ([`HttpEdgeLayer`]) applied with `Router::layer` on
//! the *complete* router (after every `route`/`nest`/`fallback`), so it runs
//! after routing and sees the matched route template ([`MatchedPath`]);
//! requests no route matched reach it through the fallback and are labelled
//! `unmatched`.

use std::any::Any;
use std::convert::Infallible;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::response::{IntoResponse as _, Response};
use futures::FutureExt as _;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use opentelemetry::propagation::{Extractor, TextMapPropagator as _};
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tower::{Layer, Service};
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use super::Metrics;
use super::context::{self, RequestContext};

/// `X-Request-ID`: accepted from the caller, generated when absent, echoed on
/// every response.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The `path` label of requests no route matched.
pub const UNMATCHED: &str = "unmatched";

/// Longest caller-supplied request id that is kept; longer or non-printable
/// ids are replaced by a fresh one.
const MAX_REQUEST_ID_LEN: usize = 128;

/// The `group` label of probe requests: logged at `debug`, not `info`.
pub const PROBE_GROUP: &str = "probe";

/// Names the route group (metric label) of a request path; the server
/// passes its own table (`server::groups`).
pub type GroupHook = fn(&str) -> &'static str;

fn no_group(_: &str) -> &'static str {
    "other"
}

/// Known methods keep their name; anything else is `OTHER` (bounded labels).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// The route template as a `&'static str`: each template is interned once
/// per process (templates are a fixed, small set), and each thread keeps its
/// own lookup table, so a request shares no reference count or lock with
/// other threads to name its route. The table is keyed by the address of
/// the router's template string (the same for every request of a route) and
/// checked against its text, so a template freed and its address reused by
/// another router is looked up afresh.
fn route_label(route: Option<&MatchedPath>) -> &'static str {
    use std::cell::RefCell;
    use std::collections::HashSet;
    use std::sync::{LazyLock, Mutex};

    static INTERNED: LazyLock<Mutex<HashSet<&'static str>>> = LazyLock::new(Mutex::default);
    thread_local! {
        static LOCAL: RefCell<Vec<(usize, &'static str)>> = const { RefCell::new(Vec::new()) };
    }
    let Some(route) = route else {
        return UNMATCHED;
    };
    let template = route.as_str();
    let address = template.as_ptr() as usize;
    LOCAL.with(|local| {
        let mut local = local.borrow_mut();
        // Sorted by address: a binary search over a few dozen routes.
        let slot = local.binary_search_by_key(&address, |(a, _)| *a);
        if let Ok(at) = slot
            && local[at].1 == template
        {
            return local[at].1;
        }
        let interned = {
            let mut all = INTERNED.lock().unwrap_or_else(|e| e.into_inner());
            match all.get(template) {
                Some(interned) => *interned,
                None => {
                    let leaked: &'static str = Box::leak(template.into());
                    all.insert(leaked);
                    leaked
                }
            }
        };
        match slot {
            Ok(at) => local[at].1 = interned,
            Err(at) => local.insert(at, (address, interned)),
        }
        interned
    })
}

/// Rewrites a response on its way out (the server passes its error-shape
/// normaliser); sees the request's method and route template (`unmatched`
/// when no route matched).
pub type ResponseHook = fn(&Method, &'static str, Response) -> Response;

/// Turns a panic of the inner service into a response (a 500).
pub type PanicHook = fn(Box<dyn Any + Send + 'static>) -> Response;

fn keep_response(_: &Method, _: &'static str, response: Response) -> Response {
    response
}

fn plain_500(_: Box<dyn Any + Send + 'static>) -> Response {
    http::StatusCode::INTERNAL_SERVER_ERROR.into_response()
}

/// How the server shapes what leaves the edge: `finish` rewrites every
/// response, `panic` answers for a handler that panicked.
#[derive(Clone, Copy)]
pub struct EdgeHooks {
    pub finish: ResponseHook,
    pub panic: PanicHook,
    /// The `group` label of a request path.
    pub group: GroupHook,
}

impl Default for EdgeHooks {
    fn default() -> Self {
        Self {
            finish: keep_response,
            panic: plain_500,
            group: no_group,
        }
    }
}

/// The HTTP edge: one hand-written layer (one boxed future per request, no
/// boxed inner service), the outermost layer of the `ServiceBuilder` stack
/// given to one `Router::layer` call on the complete router, that
///
/// * takes `X-Request-ID` from the request, or generates a UUID v4 when it is
///   absent (or longer than 128 bytes / not printable ASCII), and echoes it
///   on the response (inside the request it is in the span's / request
///   context's `request_id`);
/// * opens one `http.request` span (fields `method`, `route`, `request_id`,
///   and `status` once known) around the rest of the stack, continuing an
///   incoming W3C `traceparent` when there is one, so every log line written
///   while serving carries `request_id`, `otel_trace_id` and `otel_span_id`;
/// * catches a panic of the rest of the stack (answered by `hooks.panic`)
///   and passes every response through `hooks.finish` (the server's
///   error-shape normaliser);
/// * records `http_requests_total` and `http_request_duration_seconds` with
///   `{group, method, path, status}`: `path` is the matched route template
///   (e.g. `/api/v1/user/games/{id}`) or `unmatched`, never the raw URL; the
///   duration runs until the response head is ready;
/// * logs one `request served` line (`debug` for probes, `info` otherwise).
///
/// `Router::layer` wraps every route (and the fallback) after routing, so
/// the layer sees the matched route template ([`MatchedPath`]).
#[derive(Clone)]
pub struct HttpEdgeLayer {
    metrics: &'static Metrics,
    hooks: EdgeHooks,
    spans: RequestSpans,
}

/// Whether the edge opens an `http.request` span per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestSpans {
    /// Traces are exported: every request gets its span.
    Open,
    /// Traces are not exported: a task-local [`RequestContext`] gives log
    /// lines the same fields and ids at a fraction of the cost.
    LogContextOnly,
}

impl HttpEdgeLayer {
    /// `metrics` lives as long as the process (the application context is
    /// never freed): the layer is cloned with every request, and a shared
    /// reference count would be written by every worker thread.
    pub fn new(metrics: &'static Metrics, hooks: EdgeHooks, spans: RequestSpans) -> Self {
        Self {
            metrics,
            hooks,
            spans,
        }
    }
}

impl<S> Layer<S> for HttpEdgeLayer {
    type Service = HttpEdge<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpEdge {
            inner,
            metrics: self.metrics,
            hooks: self.hooks,
            spans: self.spans,
        }
    }
}

/// The service of [`HttpEdgeLayer`].
#[derive(Clone)]
pub struct HttpEdge<S> {
    inner: S,
    metrics: &'static Metrics,
    hooks: EdgeHooks,
    spans: RequestSpans,
}

impl<S, B> Service<Request> for HttpEdge<S>
where
    S: Service<Request, Response = http::Response<B>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        // The clone that was polled ready serves this request.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let metrics = self.metrics;
        let hooks = self.hooks;
        let spans = self.spans;

        let group = (hooks.group)(req.uri().path());
        // The clock is read only when the duration is recorded or logged.
        let timed = metrics.http().recording()
            || if group == PROBE_GROUP {
                tracing::enabled!(tracing::Level::DEBUG)
            } else {
                tracing::enabled!(tracing::Level::INFO)
            };
        let started = timed.then(Instant::now);
        let header = request_id_header(req.headers());
        let method = req.method().clone();
        let route = route_label(req.extensions().get::<MatchedPath>());
        let parent = req
            .headers()
            .contains_key(TRACEPARENT)
            .then(|| TraceContextPropagator::new().extract(&HeaderExtractor(req.headers())))
            .filter(|parent| parent.span().span_context().is_valid());
        let method_for_span = method.clone();
        let request_id_for_span = header.clone();

        let exchange = async move {
            let response = match catch_unwind(AssertUnwindSafe(|| inner.call(req))) {
                Ok(future) => match AssertUnwindSafe(future).catch_unwind().await {
                    Ok(Ok(response)) => response.map(axum::body::Body::new),
                    Err(panic) => (hooks.panic)(panic),
                },
                Err(panic) => (hooks.panic)(panic),
            };
            let mut response = (hooks.finish)(&method, route, response);
            let status = response.status().as_u16();
            let elapsed = started.map(|started| started.elapsed()).unwrap_or_default();
            metrics
                .http()
                .record(group, method_label(&method), route, status, elapsed);
            if spans == RequestSpans::Open {
                tracing::Span::current().record("status", status);
            }
            let duration_ms = elapsed.as_secs_f64() * 1000.0;
            if group == PROBE_GROUP {
                tracing::debug!(status, duration_ms, "request served");
            } else {
                tracing::info!(status, duration_ms, "request served");
            }
            response.headers_mut().insert(REQUEST_ID_HEADER, header);
            Ok(response)
        };

        match spans {
            RequestSpans::Open => {
                let span = tracing::info_span!(
                    "http.request",
                    otel.name = %format_args!("{method_for_span} {route}"),
                    otel.kind = "server",
                    method = method_for_span.as_str(),
                    route = route,
                    request_id = request_id_for_span.to_str().unwrap_or_default(),
                    status = tracing::field::Empty,
                );
                if let Some(parent) = parent {
                    // Only fails once the span has started, which it has not yet.
                    let _ = span.set_parent(parent);
                }
                Box::pin(exchange.instrument(span))
            }
            RequestSpans::LogContextOnly => {
                let (trace_id, span_id) = match parent {
                    Some(parent) => {
                        let ids = parent.span().span_context().clone();
                        (ids.trace_id(), context::random_ids().1)
                    }
                    None => context::random_ids(),
                };
                let request = RequestContext {
                    request_id: request_id_for_span,
                    method: method_label(&method_for_span),
                    route,
                    trace_id,
                    span_id,
                };
                Box::pin(context::scope(request, exchange))
            }
        }
    }
}

/// The caller's usable `X-Request-ID`, or a fresh UUID v4.
fn request_id_header(headers: &HeaderMap) -> HeaderValue {
    headers
        .get(&REQUEST_ID_HEADER)
        .filter(|value| {
            let id = value.as_bytes();
            !id.is_empty() && id.len() <= MAX_REQUEST_ID_LEN && id.iter().all(u8::is_ascii_graphic)
        })
        .cloned()
        .unwrap_or_else(|| {
            let mut buf = [0; uuid::fmt::Hyphenated::LENGTH];
            uuid::Uuid::new_v4().hyphenated().encode_lower(&mut buf);
            // An owned buffer: the value is cloned (request context,
            // response header) by a reference count, not copied.
            HeaderValue::from_maybe_shared(axum::body::Bytes::from_owner(buf))
                .expect("a UUID is printable ASCII")
        })
}

const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

/// Reads W3C trace-context headers from an `http::HeaderMap`.
struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt as _;

    use super::*;

    fn http_layers(
        router: Router,
        metrics: Metrics,
        hooks: EdgeHooks,
        spans: RequestSpans,
    ) -> Router {
        let metrics: &'static Metrics = Box::leak(Box::new(metrics));
        router.layer(HttpEdgeLayer::new(metrics, hooks, spans))
    }
    use crate::telemetry::Telemetry;
    use crate::telemetry::logging::tests::Buffer;
    use crate::telemetry::tests::{prometheus_settings, scrape};

    fn app(metrics: Metrics) -> Router {
        let user = Router::new().route("/games/{id}", get(|| async { "game" }));
        let router = Router::new()
            .route("/healthz", get(|| async { "ok" }))
            .nest("/api/v1/user", user);
        let hooks = EdgeHooks {
            group: test_group,
            ..EdgeHooks::default()
        };
        http_layers(router, metrics, hooks, RequestSpans::Open)
    }

    /// The server's table in small (`server::groups` has the real one).
    fn test_group(path: &str) -> &'static str {
        if path.starts_with("/api/v1/user") {
            "user"
        } else if path == "/healthz" {
            PROBE_GROUP
        } else {
            "other"
        }
    }

    async fn call(router: &Router, uri: &str, request_id: Option<&str>) -> Response {
        let mut request = Request::builder().uri(uri);
        if let Some(id) = request_id {
            request = request.header("x-request-id", id);
        }
        router
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn metrics_are_labelled_with_the_route_template_and_group() {
        let (logging, otel) = prometheus_settings();
        let telemetry = Telemetry::init_with(&logging, &otel).unwrap();
        let router = app(telemetry.metrics());

        for id in ["1", "2", "3"] {
            assert_eq!(
                call(&router, &format!("/api/v1/user/games/{id}"), None)
                    .await
                    .status(),
                200
            );
        }
        assert_eq!(call(&router, "/healthz", None).await.status(), 200);
        assert_eq!(
            call(&router, "/api/v1/user/nowhere/42", None)
                .await
                .status(),
            404
        );

        let text = scrape(&telemetry).await;
        let series = |labels: &[&str]| {
            text.lines()
                .find(|l| {
                    l.starts_with("http_requests_total{")
                        && labels.iter().all(|label| l.contains(label))
                })
                .unwrap_or_else(|| {
                    panic!("no http_requests_total series with {labels:?} in\n{text}")
                })
        };
        let games = series(&[
            "path=\"/api/v1/user/games/{id}\"",
            "group=\"user\"",
            "method=\"GET\"",
            "status=\"200\"",
        ]);
        assert!(games.ends_with(" 3"), "{games}");
        series(&["path=\"unmatched\"", "group=\"user\"", "status=\"404\""]);
        series(&["path=\"/healthz\"", "group=\"probe\""]);
        assert!(
            !text.contains("/games/1"),
            "raw URL leaked into labels:\n{text}"
        );
        assert!(
            text.contains("http_request_duration_seconds_bucket{"),
            "{text}"
        );
        assert!(text.contains("le=\"0.005\""), "{text}");
        telemetry.shutdown(std::time::Duration::from_secs(1)).await;
    }

    #[tokio::test]
    async fn log_lines_written_while_serving_carry_the_request_id_and_trace_ids() {
        for spans in [RequestSpans::Open, RequestSpans::LogContextOnly] {
            let buffer = Buffer::default();
            let subscriber =
                crate::telemetry::subscriber("galaxy-test", "info", buffer.clone()).unwrap();
            let _guard = tracing::subscriber::set_default(subscriber);
            let router = http_layers(
                Router::new().route(
                    "/api/v1/user/games/{id}",
                    get(|| async {
                        tracing::warn!(reason = "test", "inside handler");
                        "ok"
                    }),
                ),
                Metrics::noop(),
                EdgeHooks::default(),
                spans,
            );

            let response = call(&router, "/api/v1/user/games/5", Some("rid-77")).await;
            assert_eq!(response.status(), 200);

            let lines = buffer.lines();
            let find = |msg: &str| {
                lines
                    .iter()
                    .find(|l| l["msg"] == msg)
                    .unwrap_or_else(|| panic!("{spans:?}: no {msg:?} in {}", buffer.raw()))
            };
            let inside = find("inside handler");
            assert_eq!(inside["request_id"], "rid-77", "{spans:?}");
            assert_eq!(inside["route"], "/api/v1/user/games/{id}", "{spans:?}");
            assert_eq!(inside["method"], "GET", "{spans:?}");
            assert_eq!(inside["reason"], "test", "{spans:?}");
            assert_eq!(inside["otel_trace_id"].as_str().map(str::len), Some(32));
            assert_eq!(inside["otel_span_id"].as_str().map(str::len), Some(16));
            let served = find("request served");
            assert_eq!(served["status"], 200, "{spans:?}");
            assert_eq!(served["request_id"], "rid-77", "{spans:?}");
            assert_eq!(served["otel_trace_id"], inside["otel_trace_id"]);
            assert_eq!(served["otel_span_id"], inside["otel_span_id"]);
        }
    }

    #[tokio::test]
    async fn without_request_spans_an_incoming_traceparent_is_continued_in_the_logs() {
        let buffer = Buffer::default();
        let subscriber =
            crate::telemetry::subscriber("galaxy-test", "info", buffer.clone()).unwrap();
        let _guard = tracing::subscriber::set_default(subscriber);
        let router = http_layers(
            Router::new().route("/echo", get(|| async { "ok" })),
            Metrics::noop(),
            EdgeHooks::default(),
            RequestSpans::LogContextOnly,
        );
        let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
        let request = Request::builder()
            .uri("/echo")
            .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
            .body(Body::empty())
            .unwrap();
        assert_eq!(router.oneshot(request).await.unwrap().status(), 200);
        let lines = buffer.lines();
        let served = lines
            .iter()
            .find(|l| l["msg"] == "request served")
            .unwrap_or_else(|| panic!("{}", buffer.raw()));
        assert_eq!(served["otel_trace_id"], trace_id);
        assert_ne!(served["otel_span_id"], "00f067aa0ba902b7");
    }

    #[tokio::test]
    async fn a_request_id_is_generated_when_absent() {
        let router = app(Metrics::noop());
        let response = call(&router, "/healthz", None).await;
        let id = response.headers()["x-request-id"].to_str().unwrap();
        let parsed = uuid::Uuid::parse_str(id).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
    }

    #[tokio::test]
    async fn a_request_id_is_echoed_when_present_and_replaced_when_unusable() {
        let router = app(Metrics::noop());
        let response = call(&router, "/api/v1/user/games/9", Some("client-abc-123")).await;
        assert_eq!(response.headers()["x-request-id"], "client-abc-123");

        let too_long = "x".repeat(MAX_REQUEST_ID_LEN + 1);
        let response = call(&router, "/healthz", Some(&too_long)).await;
        let id = response.headers()["x-request-id"].to_str().unwrap();
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    }

    #[tokio::test]
    async fn an_incoming_traceparent_is_continued_by_the_request_span() {
        let router = http_layers(
            Router::new().route(
                "/echo",
                get(|| async {
                    let cx = tracing::Span::current().context();
                    cx.span().span_context().trace_id().to_string()
                }),
            ),
            Metrics::noop(),
            EdgeHooks::default(),
            RequestSpans::Open,
        );
        let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
        let request = Request::builder()
            .uri("/echo")
            .header("x-request-id", "rid-1")
            .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
            .body(Body::empty())
            .unwrap();
        // Spans need a subscriber with the OpenTelemetry layer.
        let _guard =
            tracing::subscriber::set_default(crate::telemetry::tests::otel_only_subscriber());
        let response = router.oneshot(request).await.unwrap();
        assert_eq!(response.headers()["x-request-id"], "rid-1");
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        assert_eq!(std::str::from_utf8(&body).unwrap(), trace_id);
    }
}
