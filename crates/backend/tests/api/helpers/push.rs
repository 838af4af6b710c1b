//! A real tonic client for `SubscribePush` (and server reflection), and
//! publishing helpers.

use std::time::Duration;

use galaxy_backend::push::pb::push_client::PushClient;
use galaxy_backend::push::pb::{GatewaySubscribeRequest, PushEvent, push_event};
use galaxy_backend::push::{ClientTarget, Correlation, Cursor, JsonEvent};
use tonic::transport::{Channel, Endpoint};
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use uuid::Uuid;

use super::TestApp;

/// How long a test waits for one frame before failing.
const FRAME_TIMEOUT: Duration = Duration::from_secs(10);

pub async fn channel(app: &TestApp) -> Channel {
    endpoint(app)
        .connect()
        .await
        .expect("connect to the gRPC listener")
}

pub fn endpoint(app: &TestApp) -> Endpoint {
    Endpoint::from_shared(format!("http://{}", app.grpc_addr)).expect("endpoint")
}

/// One server-reflection request; its answer (fails the test without one).
pub async fn reflect(app: &TestApp, request: MessageRequest) -> Option<MessageResponse> {
    let mut client = ServerReflectionClient::new(channel(app).await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(request),
    };
    let mut stream = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("reflection call")
        .into_inner();
    let response = stream
        .message()
        .await
        .expect("stream")
        .expect("one response");
    response.message_response
}

/// An open stream with the resume metadata it started with.
pub struct PushStream {
    pub resume: String,
    pub reason: Option<String>,
    stream: tonic::Streaming<PushEvent>,
}

impl PushStream {
    /// The next frame; fails the test on an error, the end, or a timeout.
    pub async fn next(&mut self) -> PushEvent {
        match self.next_result().await {
            Ok(Some(event)) => event,
            other => panic!("expected a push event, got {other:?}"),
        }
    }

    pub async fn next_result(&mut self) -> Result<Option<PushEvent>, tonic::Status> {
        tokio::time::timeout(FRAME_TIMEOUT, self.stream.message())
            .await
            .expect("a push frame within the timeout")
    }

    /// The cursors of the next `n` frames.
    pub async fn cursors(&mut self, n: usize) -> Vec<Cursor> {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(cursor_of(&self.next().await));
        }
        out
    }
}

pub fn cursor_of(event: &PushEvent) -> Cursor {
    assert_eq!(event.cursor.len(), 20, "zero-padded: {:?}", event.cursor);
    event.cursor.parse().expect("a decimal cursor")
}

pub async fn subscribe(
    app: &TestApp,
    gateway_client_id: &str,
    cursor: Option<Cursor>,
) -> PushStream {
    subscribe_on(channel(app).await, gateway_client_id, cursor)
        .await
        .expect("SubscribePush")
}

pub async fn subscribe_on(
    channel: Channel,
    gateway_client_id: &str,
    cursor: Option<Cursor>,
) -> Result<PushStream, tonic::Status> {
    let response = PushClient::new(channel)
        .max_decoding_message_size(16 << 20)
        .subscribe_push(GatewaySubscribeRequest {
            gateway_client_id: gateway_client_id.to_owned(),
            cursor: cursor.map(|c| c.to_string()).unwrap_or_default(),
        })
        .await?;
    let text = |key: &str| {
        response
            .metadata()
            .get(key)
            .map(|v| v.to_str().expect("ascii").to_owned())
    };
    Ok(PushStream {
        resume: text("push-resume").expect("push-resume metadata"),
        reason: text("push-resume-reason"),
        stream: response.into_inner(),
    })
}

/// Publishes `n` JSON client events of `kind` (payload `{"i": i}`) and
/// waits until they are written and delivered to this instance's
/// gateways; their cursors (consecutive while no other instance publishes
/// at the same time).
pub async fn publish(app: &TestApp, kind: &str, n: usize) -> Vec<Cursor> {
    for i in 0..n {
        publish_only(app, kind, serde_json::json!({ "i": i }));
    }
    let last = app.state.push.flush().await.expect("written").0;
    (last + 1 - n as u64..=last).map(Cursor).collect()
}

/// Publishes one event and waits for it as [`publish`] does; its cursor.
pub async fn publish_payload(app: &TestApp, kind: &str, payload: serde_json::Value) -> Cursor {
    publish_only(app, kind, payload);
    app.state.push.flush().await.expect("written")
}

/// Publishes one event without waiting for it to be written.
pub fn publish_only(app: &TestApp, kind: &str, payload: serde_json::Value) {
    app.state
        .push
        .publish_client_event(
            ClientTarget {
                user_id: Uuid::nil().into(),
                device_session_id: None,
            },
            Correlation::default(),
            &JsonEvent {
                kind: kind.to_owned(),
                payload,
            },
        )
        .expect("publish");
}

pub fn client_event(event: &PushEvent) -> &galaxy_backend::push::pb::ClientEvent {
    match &event.kind {
        Some(push_event::Kind::ClientEvent(e)) => e,
        other => panic!("expected a ClientEvent, got {other:?}"),
    }
}
