//! Fuzz target `engine_api`: the engine's HTTP handlers
//! (`galaxy_game::http::router`, driven in-process with `oneshot`) with
//! arbitrary bytes and hostile JSON — deep nesting, numbers past every
//! range, long strings, wrong types, unknown fields — as request bodies and
//! query strings, on an initialised game and on a fresh engine (`init`).
//! Every answer comes within the guard's bound and is never a 5xx (the only
//! documented one, `internal`, is a storage failure); every refusal has the
//! documented error shape with the status of its code.

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Method, Request};
use galaxy_fuzz::alloc::CountingAlloc;
use galaxy_fuzz::{corpus, fuzz, mutate, replay_corpus};
use galaxy_game::http::{AppState, router};
use galaxy_game::store::Store;
use galaxy_model::api::{ErrorBody, paths};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Value, json};
use tower::ServiceExt as _;

#[global_allocator]
static ALLOCATOR: CountingAlloc = CountingAlloc;

const TARGET: &str = "engine_api";

/// The engine's routes: method, path, and a valid body to start from.
fn routes() -> Vec<(Method, &'static str, Value)> {
    vec![
        (
            Method::POST,
            paths::INIT,
            json!({"game_id": "g", "seed": 7, "races": [{"name": "A"}, {"name": "B"}]}),
        ),
        (Method::PUT, paths::TURN, json!({"turn": 0})),
        (Method::POST, paths::BANISH, json!({"race": "Beta"})),
        (
            Method::PUT,
            paths::ORDER,
            json!({"race": "Alpha", "turn": 0, "orders": [{"id": "1", "order": {"kind": "war", "race": "Beta"}}]}),
        ),
        (
            Method::PUT,
            paths::COMMAND,
            json!({"race": "Alpha", "turn": 0, "id": "1", "order": {"kind": "quit"}}),
        ),
        (Method::GET, paths::STATUS, Value::Null),
        (Method::GET, paths::HEALTHZ, Value::Null),
    ]
}

/// A test request: method, path with query, body.
#[derive(Debug, Clone)]
struct Call {
    method: Method,
    uri: String,
    body: Vec<u8>,
}

/// A game with two races (`Alpha`, `Beta`) in a directory of its own.
struct Game {
    router: Router,
    _dir: tempfile::TempDir,
}

fn engine(initialised: bool) -> Result<Game, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let store = Store::open(dir.path()).map_err(|e| e.to_string())?;
    let state = AppState::open(store).map_err(|e| e.to_string())?;
    let game = Game {
        router: router(state),
        _dir: dir,
    };
    if initialised {
        let init =
            json!({"game_id": "fuzz", "seed": 11, "races": [{"name": "Alpha"}, {"name": "Beta"}]});
        let call = Call {
            method: Method::POST,
            uri: paths::INIT.into(),
            body: init.to_string().into_bytes(),
        };
        let (status, body) = send(&game.router, &call)?;
        if status != 201 {
            return Err(format!(
                "init answered {status}: {}",
                String::from_utf8_lossy(&body)
            ));
        }
    }
    Ok(game)
}

/// Sends `call` on a current-thread runtime (so the guard's thread counts
/// what the handler allocates); the status and the body.
fn send(router: &Router, call: &Call) -> Result<(u16, Vec<u8>), String> {
    let request = Request::builder()
        .method(call.method.clone())
        .uri(&call.uri)
        .header("content-type", "application/json")
        .body(Body::from(call.body.clone()))
        .map_err(|e| format!("request: {e}"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let response = router
            .clone()
            .oneshot(request)
            .await
            .map_err(|e| format!("service: {e}"))?;
        let status = response.status().as_u16();
        let body = to_bytes(response.into_body(), 64 << 20)
            .await
            .map_err(|e| format!("body: {e}"))?;
        Ok((status, body.to_vec()))
    })
}

/// No 5xx; a refusal has the error shape and its code's status.
fn check_answer(call: &Call, status: u16, body: &[u8]) -> Result<(), String> {
    let what = || format!("{} {} answered {status}", call.method, call.uri);
    if status >= 500 {
        return Err(format!("{}: {}", what(), String::from_utf8_lossy(body)));
    }
    if status >= 400 {
        let error: ErrorBody = serde_json::from_slice(body)
            .map_err(|e| format!("{}: not the error shape ({e})", what()))?;
        if error.error.code.http_status() != status {
            return Err(format!("{}: code {:?}", what(), error.error.code));
        }
    }
    Ok(())
}

fn check_call(router: &Router, call: &Call) -> Result<(), String> {
    if http::Uri::try_from(call.uri.as_str()).is_err() {
        return Ok(());
    }
    let (status, body) = send(router, call)?;
    check_answer(call, status, &body)
}

/// One engine per property, shared by its cases (orders and turns pile up).
fn shared(cell: &'static OnceLock<Arc<Game>>) -> Arc<Game> {
    Arc::clone(cell.get_or_init(|| Arc::new(engine(true).expect("an initialised engine"))))
}

/// JSON values of every type, with the extremes.
fn hostile_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|x| serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)),
        "\\PC{0,24}".prop_map(Value::String),
        select(&["Alpha", "Beta", "max", "#1", "-1", "", "war", "quit"][..]).prop_map(Value::from),
        (1usize..300_000).prop_map(|n| Value::String("x".repeat(n))),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// JSON text no `Value` holds: numbers past every range, deep nesting.
fn hostile_raw() -> impl Strategy<Value = String> {
    prop_oneof![
        select(
            &[
                "1e999999",
                "-1e999999",
                "-0",
                "18446744073709551616",
                "4294967296",
                "-1",
                "123456789012345678901234567890.5",
                "NaN",
                "Infinity",
                "\"\\ud800\"",
                "\"\\u0000\"",
                "nul",
            ][..]
        )
        .prop_map(str::to_string),
        (1usize..200_000).prop_map(|n| "[".repeat(n) + &"]".repeat(n)),
        (1usize..50_000).prop_map(|n| "{\"a\":".repeat(n) + "1" + &"}".repeat(n)),
    ]
}

/// A hole in a body, replaced by raw JSON text after serialising.
const HOLE: &str = "\u{1}hole\u{1}";

/// One of `routes` with its valid body, one field (or a field of its order) replaced.
fn hostile_call(routes: Vec<(Method, &'static str, Value)>) -> impl Strategy<Value = Call> {
    let replacement = prop_oneof![hostile_value().prop_map(|v| v.to_string()), hostile_raw(),];
    (
        select(routes),
        any::<prop::sample::Index>(),
        replacement,
        any::<bool>(),
    )
        .prop_map(|((method, path, mut body), field, raw, nested)| {
            if let Value::Object(map) = &mut body {
                let target = match map.get_mut("order") {
                    Some(Value::Object(order)) if nested => order,
                    _ => map,
                };
                let keys: Vec<String> = target.keys().cloned().chain(["unknown".into()]).collect();
                let key = keys[field.index(keys.len())].clone();
                target.insert(key, Value::from(HOLE));
            }
            let text = body
                .to_string()
                .replace(&Value::from(HOLE).to_string(), &raw);
            Call {
                method,
                uri: path.to_string(),
                body: if text == "null" {
                    Vec::new()
                } else {
                    text.into_bytes()
                },
            }
        })
}

fn query_part() -> impl Strategy<Value = String> {
    prop_oneof![
        select(
            &[
                "Alpha",
                "Beta",
                "Nobody",
                "",
                "json",
                "text",
                "xml",
                "0",
                "1",
                "4294967296",
                "-1"
            ][..]
        )
        .prop_map(str::to_string),
        "\\PC{0,16}",
    ]
    .prop_map(|s| s.bytes().map(|b| format!("%{b:02X}")).collect())
}

/// The two GET routes with a query, from plausible to hostile.
fn query_call() -> impl Strategy<Value = Call> {
    (
        select(&[paths::ORDER, paths::REPORT][..]),
        query_part(),
        query_part(),
        query_part(),
        any::<bool>(),
    )
        .prop_map(|(path, race, turn, format, raw)| Call {
            method: Method::GET,
            uri: if raw {
                format!("{path}?{race}={turn}&{format}")
            } else {
                format!("{path}?race={race}&turn={turn}&format={format}")
            },
            body: Vec::new(),
        })
}

/// Arbitrary bytes to any route with any method.
fn byte_call() -> impl Strategy<Value = Call> {
    let method = select(vec![
        Method::GET,
        Method::PUT,
        Method::POST,
        Method::DELETE,
        Method::PATCH,
    ]);
    let path = prop_oneof![
        4 => select(routes()).prop_map(|(_, path, _)| path.to_string()),
        1 => "/[a-z/]{0,20}",
    ];
    (method, path, prop::collection::vec(any::<u8>(), 0..2048))
        .prop_map(|(method, uri, body)| Call { method, uri, body })
}

/// A corpus file: the request line, a newline, the body.
fn corpus_call(bytes: &[u8]) -> Result<Call, String> {
    let split = bytes
        .iter()
        .position(|b| *b == b'\n')
        .unwrap_or(bytes.len());
    let line = String::from_utf8_lossy(&bytes[..split]);
    let (method, uri) = line.split_once(' ').ok_or("no request line")?;
    Ok(Call {
        method: method.parse().map_err(|_| "bad method")?,
        uri: uri.to_string(),
        body: bytes.get(split + 1..).unwrap_or_default().to_vec(),
    })
}

#[test]
fn the_corpus_is_answered_within_the_rules() {
    replay_corpus(TARGET, |bytes| {
        let call = corpus_call(&bytes)?;
        let game = engine(call.uri != paths::INIT)?;
        check_call(&game.router, &call)
    });
}

#[test]
fn hostile_json_bodies_are_answered_within_the_rules() {
    static GAME: OnceLock<Arc<Game>> = OnceLock::new();
    let game = shared(&GAME);
    fuzz(
        "engine_api/hostile_json",
        200,
        hostile_call(routes()),
        move |call| check_call(&game.router, &call),
    );
}

#[test]
fn hostile_init_bodies_are_answered_within_the_rules() {
    let init = routes()
        .into_iter()
        .filter(|(_, path, _)| *path == paths::INIT);
    let strategy = hostile_call(init.collect());
    fuzz("engine_api/init", 100, strategy, |call| {
        check_call(&engine(false)?.router, &call)
    });
}

#[test]
fn arbitrary_bytes_are_answered_within_the_rules() {
    static GAME: OnceLock<Arc<Game>> = OnceLock::new();
    let game = shared(&GAME);
    fuzz("engine_api/bytes", 300, byte_call(), move |call| {
        check_call(&game.router, &call)
    });
}

#[test]
fn hostile_queries_are_answered_within_the_rules() {
    static GAME: OnceLock<Arc<Game>> = OnceLock::new();
    let game = shared(&GAME);
    fuzz("engine_api/query", 300, query_call(), move |call| {
        check_call(&game.router, &call)
    });
}

#[test]
fn mutated_requests_are_answered_within_the_rules() {
    static GAME: OnceLock<Arc<Game>> = OnceLock::new();
    let game = shared(&GAME);
    let tokens: &'static [&'static str] = &[
        "{",
        "}",
        "[",
        "]",
        "\"",
        ",",
        ":",
        "null",
        "1e999",
        "-",
        "\\u0000",
        "\"kind\":",
        "\"max\"",
    ];
    let seeds: Vec<Vec<u8>> = corpus::seeds(TARGET)
        .into_iter()
        .filter(|s| !s.starts_with(b"POST /api/v1/admin/init"))
        .collect();
    fuzz(
        "engine_api/mutated",
        200,
        mutate::mutated(seeds, tokens),
        move |bytes| match corpus_call(&bytes) {
            Ok(call) => check_call(&game.router, &call),
            Err(_) => Ok(()),
        },
    );
}
