//! The gRPC listener (`BACKEND_GRPC_PUSH_LISTEN_ADDR`): the standard
//! `grpc.health.v1` service and server reflection, so `grpcurl` can talk to
//! it without local proto files.

use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::server::TcpIncoming;

/// Serves gRPC on `listener` until `shutdown` fires; in-flight calls get up
/// to `drain` to finish. Returns `false` if the budget ran out.
pub async fn serve(
    listener: TcpListener,
    shutdown: CancellationToken,
    drain: Duration,
) -> anyhow::Result<bool> {
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    // The empty service name reports the server as a whole.
    health_reporter
        .set_service_status("", tonic_health::ServingStatus::Serving)
        .await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;

    let stop_accepting = shutdown.clone();
    let server = tonic::transport::Server::builder()
        .add_service(health_service)
        .add_service(reflection)
        .serve_with_incoming_shutdown(TcpIncoming::from(listener), async move {
            stop_accepting.cancelled().await;
            health_reporter
                .set_service_status("", tonic_health::ServingStatus::NotServing)
                .await;
        });
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => { result?; return Ok(true); }
        () = shutdown.cancelled() => {}
    }
    Ok(tokio::time::timeout(drain, server).await.is_ok())
}
