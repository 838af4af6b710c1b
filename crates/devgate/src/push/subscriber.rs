//! The push subscriber: the gateway's one `SubscribePush` stream to the
//! backend, opened with the last cursor it consumed and opened again, with
//! capped backoff, whenever it ends or fails. One [`Subscriber::step`] is
//! one subscription; [`Subscriber::run`] loops it until shutdown.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tonic::metadata::{AsciiMetadataValue, MetadataMap};
use tonic::transport::Endpoint;

use super::PushStatus;
use super::hub::{Hub, Resume};
use super::pb::GatewaySubscribeRequest;
use super::pb::push_client::PushClient;
use crate::config::Config;

/// The first wait before reconnecting, doubled per failure up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// HTTP/2 pings on the open stream, so a vanished backend is noticed.
const KEEP_ALIVE: Duration = Duration::from_secs(20);

/// Subscribes to the backend's push stream and feeds the [`Hub`].
pub struct Subscriber {
    endpoint: Endpoint,
    client_id: String,
    credential: Option<AsciiMetadataValue>,
    hub: Arc<Hub>,
    status: watch::Sender<PushStatus>,
}

/// How one subscription ([`Subscriber::step`]) ended.
#[derive(Debug)]
pub enum Outcome {
    /// Shutdown.
    Stopped,
    /// The stream was open, then ended or failed (the reason).
    Ended(String),
    /// No stream could be opened (the reason).
    Failed(String),
}

impl Subscriber {
    /// The subscriber for `config`, or `None` when `DEVGATE_PUSH_URL` is unset.
    pub fn new(
        config: &Config,
        hub: Arc<Hub>,
        status: watch::Sender<PushStatus>,
    ) -> anyhow::Result<Option<Self>> {
        let Some(url) = &config.push_url else {
            return Ok(None);
        };
        let endpoint = Endpoint::from_shared(url.clone())
            .map_err(|e| anyhow::anyhow!("DEVGATE_PUSH_URL: {e}"))?
            .connect_timeout(Duration::from_secs(5))
            .http2_keep_alive_interval(KEEP_ALIVE)
            .keep_alive_timeout(Duration::from_secs(10));
        let credential = config
            .gateway_secret
            .as_deref()
            .map(AsciiMetadataValue::try_from)
            .transpose()
            .map_err(|_| anyhow::anyhow!("DEVGATE_GATEWAY_SECRET: not usable as gRPC metadata"))?;
        Ok(Some(Self {
            endpoint,
            client_id: config.client_id.clone(),
            credential,
            hub,
            status,
        }))
    }

    /// One subscription: connects, subscribes with the last consumed
    /// cursor, applies the resume marker and routes events until the
    /// stream ends, fails, or `stop` fires.
    pub async fn step(&self, stop: &CancellationToken) -> Outcome {
        let opened = tokio::select! {
            _ = stop.cancelled() => return Outcome::Stopped,
            opened = self.open() => opened,
        };
        let (resume, mut stream) = match opened {
            Ok(opened) => opened,
            Err(why) => return Outcome::Failed(why),
        };
        self.hub.on_subscribed(&resume);
        tracing::info!(client_id = %self.client_id, ?resume, "push stream open");
        self.status.send_modify(|s| {
            s.connected = true;
            s.subscriptions += 1;
        });
        let outcome = loop {
            let next = tokio::select! {
                _ = stop.cancelled() => break Outcome::Stopped,
                next = stream.message() => next,
            };
            match next {
                Ok(Some(event)) => self.hub.on_event(event),
                Ok(None) => break Outcome::Ended("the backend ended the stream".into()),
                Err(status) => break Outcome::Ended(describe(&status)),
            }
        };
        self.status.send_modify(|s| s.connected = false);
        outcome
    }

    async fn open(&self) -> Result<(Resume, tonic::Streaming<super::pb::PushEvent>), String> {
        let channel = self.endpoint.connect().await.map_err(|e| e.to_string())?;
        let mut request = tonic::Request::new(GatewaySubscribeRequest {
            gateway_client_id: self.client_id.clone(),
            cursor: self.hub.last_cursor(),
        });
        if let Some(credential) = &self.credential {
            request
                .metadata_mut()
                .insert("x-gateway-credential", credential.clone());
        }
        let response = PushClient::new(channel)
            .subscribe_push(request)
            .await
            .map_err(|status| describe(&status))?;
        let resume = resume_of(response.metadata());
        Ok((resume, response.into_inner()))
    }

    /// Runs subscriptions until `stop` fires, waiting 100 ms after a
    /// stream ends and backing off up to 5 s while none can be opened.
    pub async fn run(self, stop: CancellationToken) {
        let mut backoff = MIN_BACKOFF;
        let mut failing = false;
        loop {
            match self.step(&stop).await {
                Outcome::Stopped => break,
                Outcome::Ended(why) => {
                    tracing::warn!(%why, "push stream ended; resubscribing");
                    backoff = MIN_BACKOFF;
                    failing = false;
                }
                Outcome::Failed(why) if !failing => {
                    tracing::warn!(%why, "push stream unavailable; retrying with backoff");
                    failing = true;
                }
                Outcome::Failed(why) => tracing::debug!(%why, "push stream still unavailable"),
            }
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
        tracing::info!("push subscriber stopped");
    }
}

fn describe(status: &tonic::Status) -> String {
    format!("{:?}: {}", status.code(), status.message())
}

/// The `push-resume` / `push-resume-reason` metadata; a missing or unknown
/// marker counts as a reset (`unknown`).
fn resume_of(metadata: &MetadataMap) -> Resume {
    let text = |key: &str| metadata.get(key).and_then(|v| v.to_str().ok());
    match text("push-resume") {
        Some("live") => Resume::Live,
        Some("replay") => Resume::Replay,
        _ => Resume::Reset(text("push-resume-reason").unwrap_or("unknown").to_owned()),
    }
}
