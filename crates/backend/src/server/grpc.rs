//! The gRPC listener (`BACKEND_GRPC_PUSH_LISTEN_ADDR`): the push stream
//! (`galaxy.push.v1.Push`, spec §7), the standard `grpc.health.v1` service
//! and server reflection (`v1` and `v1alpha`), so `grpcurl` and other
//! clients can talk to it without local proto files.
//!
//! `SubscribePush` is a thin handler: it parses the request, opens a
//! [`Subscription`] and streams its frames. The resume point goes out as
//! response metadata (`push-resume`, `push-resume-reason`; see
//! `proto/push/v1/push.proto`). A replaced stream ends with `ABORTED`, a
//! subscription during shutdown gets `UNAVAILABLE`. With
//! `BACKEND_GATEWAY_SECRET` set, a call without that secret as
//! `x-gateway-credential` metadata gets `UNAUTHENTICATED` (so nobody else
//! can take over a gateway's stream by reusing its `gateway_client_id`).

use std::pin::Pin;

use futures::Stream;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::metadata::MetadataValue;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

use crate::config::Secret;
use crate::push::wire::EncodedPushEvent;
use crate::push::{Cursor, Delivery, Push, PushServer, PushService, SubscribeError, Subscription};
use crate::server::edge::gateway::{GATEWAY_CREDENTIAL_METADATA, credential_ok};

/// Response metadata naming where the stream starts: `live`, `replay`, `reset`.
pub const RESUME_METADATA: &str = "push-resume";
/// With `push-resume: reset`: `aged_out` or `unknown`.
pub const RESUME_REASON_METADATA: &str = "push-resume-reason";

/// Serves gRPC on `listener`. When `stop_accepting` fires it stops taking
/// new connections and calls (health turns `NOT_SERVING`) but keeps the open
/// push streams: the application drains them later in the spec §16 order
/// ([`PushService::close`] after the workers stopped, so events their last
/// step published still reach the gateways), bounding the wait with the
/// gRPC shutdown budget. Returns once every call has ended.
pub async fn serve(
    listener: TcpListener,
    push: PushService,
    gateway_secret: Option<Secret>,
    stop_accepting: CancellationToken,
) -> anyhow::Result<()> {
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    // The empty service name reports the server as a whole.
    health_reporter
        .set_service_status("", tonic_health::ServingStatus::Serving)
        .await;
    // Both reflection versions: grpcurl speaks v1, older clients
    // (grpcio-reflection among them) only v1alpha.
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(crate::push::FILE_DESCRIPTOR_SET)
    };
    let reflection_v1 = reflection().build_v1()?;
    let reflection_v1alpha = reflection().build_v1alpha()?;

    tonic::transport::Server::builder()
        .add_service(PushServer::new(PushGrpc {
            push,
            gateway_secret,
        }))
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .serve_with_incoming_shutdown(TcpIncoming::from(listener), async move {
            stop_accepting.cancelled().await;
            health_reporter
                .set_service_status("", tonic_health::ServingStatus::NotServing)
                .await;
        })
        .await?;
    Ok(())
}

struct PushGrpc {
    push: PushService,
    /// `BACKEND_GATEWAY_SECRET`: required as `x-gateway-credential` metadata.
    gateway_secret: Option<Secret>,
}

type EventStream = Pin<Box<dyn Stream<Item = Result<EncodedPushEvent, Status>> + Send>>;

#[tonic::async_trait]
impl Push for PushGrpc {
    type SubscribePushStream = EventStream;

    async fn subscribe_push(
        &self,
        request: Request<crate::push::server_pb::GatewaySubscribeRequest>,
    ) -> Result<Response<EventStream>, Status> {
        let presented = request
            .metadata()
            .get(GATEWAY_CREDENTIAL_METADATA)
            .map(|v| v.as_bytes());
        if !credential_ok(self.gateway_secret.as_ref(), presented) {
            return Err(Status::unauthenticated(
                "the push stream answers the gateway only: x-gateway-credential is missing or wrong",
            ));
        }
        let request = request.into_inner();
        let cursor = match request.cursor.as_str() {
            "" => None,
            text => Some(text.parse::<Cursor>().map_err(|_| {
                Status::invalid_argument("cursor must be empty or a decimal uint64")
            })?),
        };
        let subscription = self
            .push
            .subscribe(&request.gateway_client_id, cursor)
            .await
            .map_err(|err| match err {
                SubscribeError::MissingClientId => Status::invalid_argument(err.to_string()),
                SubscribeError::ShuttingDown => Status::unavailable(err.to_string()),
            })?;
        let resume = subscription.resume();
        let mut response = Response::new(Box::pin(events(subscription)) as EventStream);
        let metadata = response.metadata_mut();
        metadata.insert(RESUME_METADATA, MetadataValue::from_static(resume.as_str()));
        if let Some(reason) = resume.reason() {
            metadata.insert(RESUME_REASON_METADATA, MetadataValue::from_static(reason));
        }
        Ok(response)
    }
}

fn events(subscription: Subscription) -> impl Stream<Item = Result<EncodedPushEvent, Status>> {
    futures::stream::unfold(subscription, |mut subscription| async move {
        match subscription.next().await {
            Delivery::Event(bytes) => Some((Ok(EncodedPushEvent(bytes)), subscription)),
            Delivery::Replaced => Some((
                Err(Status::aborted(
                    "replaced by a newer stream with the same gateway_client_id",
                )),
                subscription,
            )),
            Delivery::Ended => None,
        }
    })
}
