//! The SMTP boundary: [`MailTransport`] is what the worker sends through;
//! [`SmtpTransport`] implements it with `lettre` (tokio, rustls with ring),
//! pooling connections to the relay. Tests use the real SMTP server from
//! `galaxy-devstack`; the trait exists so the worker does not depend on
//! lettre's types.
//!
//! Every send runs in an `smtp.send` span and the mail carries a
//! `traceparent` header naming it (spec §15), so the relay's and the
//! receiving side's logs can be joined to the trace that sent it.
//! Recipient domains are IDNA-encoded (`exämple.com` → `xn--exmple-cua.com`)
//! before they reach lettre; a non-ASCII local part needs a relay that
//! offers `SMTPUTF8` ([`MailTransport::offers_smtputf8`]), which lettre
//! then asks for.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::{ClientId, Extension};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use tokio::net::TcpStream;
use tracing::Instrument as _;

use super::email_hash::redact_addresses;
use super::model::DeliveryId;
use crate::config::{SmtpConfig, SmtpTlsMode};

/// One message ready to leave: rendered content plus envelope.
#[derive(Debug, Clone)]
pub struct OutgoingMail {
    pub delivery_id: DeliveryId,
    pub recipients: Vec<String>,
    pub subject: String,
    pub text_body: String,
    pub html_body: Option<String>,
}

/// How a send failed, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Connection error, timeout, TLS failure, 4xx: try again later.
    Transient,
    /// 5xx or a message that can never be sent: do not retry.
    Permanent,
}

/// A failed send: its kind, the SMTP reply code when there was one, and a
/// description safe to store and log (no addresses, no credentials).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    pub kind: FailureKind,
    pub smtp_code: Option<u16>,
    pub message: String,
}

/// Sends one message. Implementations must be safe to call concurrently.
pub trait MailTransport: Send + Sync + 'static {
    fn send<'a>(&'a self, mail: &'a OutgoingMail) -> BoxFuture<'a, Result<(), SendError>>;

    /// Whether the relay takes addresses with a non-ASCII local part
    /// (the `SMTPUTF8` extension): `None` when that is not known (the relay
    /// could not be asked).
    fn offers_smtputf8(&self) -> BoxFuture<'_, Option<bool>> {
        Box::pin(async { None })
    }
}

/// Why the SMTP transport could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SmtpSetupError {
    #[error("BACKEND_SMTP_FROM is not a valid mailbox: {0}")]
    From(String),
    #[error("cannot read BACKEND_SMTP_CA_FILE {path}: {source}")]
    CaFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("BACKEND_SMTP_CA_FILE {path} holds no usable PEM certificate: {reason}")]
    CaCertificate { path: PathBuf, reason: String },
    #[error("cannot set up TLS for {host}: {reason}")]
    Tls { host: String, reason: String },
}

/// The production transport, on lettre's async SMTP client.
///
/// For `none` and `starttls` it keeps its own pool of lettre connections
/// over sockets with `TCP_NODELAY`: lettre writes the message body and the
/// final `.` in two writes, and with Nagle's algorithm the second waits for
/// the relay's (delayed, ~40 ms) ACK of the first — per message, capping a
/// connection at ~25 messages/s. lettre's own pooled transport cannot set
/// the option, so it is used only for implicit TLS (`tls`).
pub struct SmtpTransport {
    mailer: Mailer,
    from: Mailbox,
    /// Right-hand side of every `Message-ID` (the From address's domain).
    message_id_domain: String,
    /// The relay's host, for the `smtp.send` span.
    host: String,
}

impl SmtpTransport {
    /// Builds the client for the relay `settings` (`BACKEND_SMTP_*`), keeping
    /// up to `max_connections` pooled connections. No connection is opened
    /// until the first send. Needs a tokio runtime: the pool starts its
    /// idle-connection reaper.
    pub fn new(settings: &SmtpConfig, max_connections: u32) -> Result<Self, SmtpSetupError> {
        let from: Mailbox = settings
            .from
            .parse()
            .map_err(|e| SmtpSetupError::From(format!("{e}")))?;
        let message_id_domain = from.email.domain().to_owned();
        let tls = match settings.tls_mode {
            SmtpTlsMode::None => Tls::None,
            SmtpTlsMode::StartTls => Tls::Required(tls_parameters(settings)?),
            SmtpTlsMode::Tls => Tls::Wrapper(tls_parameters(settings)?),
        };
        let credentials = match (&settings.username, &settings.password) {
            (Some(username), Some(password)) => Some(Credentials::new(
                username.clone(),
                password.expose().to_owned(),
            )),
            _ => None,
        };
        let mailer = match tls {
            Tls::Wrapper(_) => {
                let mut builder =
                    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(settings.host.as_str())
                        .port(settings.port)
                        .tls(tls)
                        .timeout(Some(settings.timeout))
                        .pool_config(PoolConfig::new().max_size(max_connections.max(1)));
                if let Some(credentials) = credentials {
                    builder = builder.credentials(credentials);
                }
                Mailer::Lettre(builder.build())
            }
            Tls::Required(params) => Mailer::Direct(DirectPool::new(
                settings,
                max_connections,
                Some(params),
                credentials,
            )),
            _ => Mailer::Direct(DirectPool::new(
                settings,
                max_connections,
                None,
                credentials,
            )),
        };
        Ok(Self {
            mailer,
            from,
            message_id_domain,
            host: settings.host.clone(),
        })
    }

    /// The `Message-ID` of every attempt of `delivery_id`.
    pub fn message_id(&self, delivery_id: DeliveryId) -> String {
        message_id(delivery_id, &self.message_id_domain)
    }

    fn build(&self, mail: &OutgoingMail) -> Result<Message, SendError> {
        let permanent = |message: String| SendError {
            kind: FailureKind::Permanent,
            smtp_code: None,
            message,
        };
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(mail.subject.clone())
            .message_id(Some(self.message_id(mail.delivery_id)))
            .date_now();
        if let Some(traceparent) = crate::telemetry::current_traceparent() {
            builder = builder.header(Traceparent(traceparent));
        }
        for (position, recipient) in mail.recipients.iter().enumerate() {
            // The address itself stays out of the error (it is stored and logged).
            let mailbox: Mailbox = ascii_domain(recipient)
                .and_then(|address| address.parse().ok())
                .ok_or_else(|| {
                    permanent(format!(
                        "recipient #{} is not a valid address",
                        position + 1
                    ))
                })?;
            builder = builder.to(mailbox);
        }
        let message = match &mail.html_body {
            None => builder
                .header(ContentType::TEXT_PLAIN)
                .body(mail.text_body.clone()),
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                mail.text_body.clone(),
                html.clone(),
            )),
        };
        message.map_err(|e| permanent(format!("cannot build the message: {e}")))
    }
}

impl MailTransport for SmtpTransport {
    fn send<'a>(&'a self, mail: &'a OutgoingMail) -> BoxFuture<'a, Result<(), SendError>> {
        let span = tracing::info_span!(
            "smtp.send",
            otel.kind = "client",
            server.address = %self.host,
            delivery_id = %mail.delivery_id.0,
        );
        Box::pin(
            async move {
                // Built inside the span: its traceparent names this call.
                let message = self.build(mail)?;
                match &self.mailer {
                    Mailer::Lettre(mailer) => {
                        mailer.send(message).await.map(drop).map_err(classify_send)
                    }
                    Mailer::Direct(pool) => pool.send(&message).await,
                }
            }
            .instrument(span),
        )
    }

    fn offers_smtputf8(&self) -> BoxFuture<'_, Option<bool>> {
        Box::pin(async move {
            match &self.mailer {
                Mailer::Direct(pool) => pool.offers_smtputf8().await,
                // lettre's own pool does not show a connection's EHLO answer.
                Mailer::Lettre(_) => None,
            }
        })
    }
}

/// The `traceparent` mail header (W3C trace context, as in HTTP).
#[derive(Debug, Clone)]
struct Traceparent(String);

impl Header for Traceparent {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str(crate::telemetry::propagation::TRACEPARENT)
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.to_owned()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// `address` with its domain in IDNA ASCII form (UTS #46: `exämple.com` →
/// `xn--exmple-cua.com`), so only a non-ASCII local part needs `SMTPUTF8`.
/// `None` when the domain is not a valid IDNA name.
pub fn ascii_domain(address: &str) -> Option<String> {
    let (local, domain) = address.rsplit_once('@')?;
    if domain.is_ascii() {
        return Some(address.to_owned());
    }
    let domain = idna::domain_to_ascii(domain).ok()?;
    Some(format!("{local}@{domain}"))
}

enum Mailer {
    Lettre(AsyncSmtpTransport<Tokio1Executor>),
    Direct(DirectPool),
}

/// Pooled lettre connections over `TCP_NODELAY` sockets (plain or STARTTLS).
struct DirectPool {
    host: String,
    port: u16,
    timeout: Duration,
    starttls: Option<TlsParameters>,
    credentials: Option<Credentials>,
    hello: ClientId,
    idle: Mutex<Vec<AsyncSmtpConnection>>,
    max_idle: usize,
    /// What the relay's last EHLO answer said about `SMTPUTF8`.
    smtputf8: Mutex<Option<bool>>,
}

impl DirectPool {
    fn new(
        settings: &SmtpConfig,
        max_connections: u32,
        starttls: Option<TlsParameters>,
        credentials: Option<Credentials>,
    ) -> Self {
        Self {
            host: settings.host.clone(),
            port: settings.port,
            timeout: settings.timeout,
            starttls,
            credentials,
            hello: ClientId::default(),
            idle: Mutex::new(Vec::new()),
            max_idle: max_connections.max(1) as usize,
            smtputf8: Mutex::new(None),
        }
    }

    /// The relay's `SMTPUTF8` support as its last EHLO answer said; asks it
    /// (a pooled connection, kept for the next send) when no connection was
    /// made yet. `None` when the relay cannot be reached.
    async fn offers_smtputf8(&self) -> Option<bool> {
        if let Some(known) = *self.smtputf8.lock().unwrap_or_else(|e| e.into_inner()) {
            return Some(known);
        }
        let conn = self.checkout().await.ok()?;
        self.check_in(conn);
        *self.smtputf8.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn check_in(&self, conn: AsyncSmtpConnection) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < self.max_idle {
            idle.push(conn);
        }
    }

    async fn send(&self, message: &Message) -> Result<(), SendError> {
        let mut conn = self.checkout().await?;
        let data = message.formatted();
        // MAIL, RCPT, DATA, the message: a few replies, each bounded.
        match tokio::time::timeout(self.timeout * 4, conn.send(message.envelope(), &data)).await {
            Ok(Ok(_)) => {
                self.check_in(conn);
                Ok(())
            }
            // lettre has already closed the connection.
            Ok(Err(err)) => Err(classify_send(err)),
            Err(_) => Err(transient("SMTP timed out waiting for the relay")),
        }
    }

    /// An idle connection that still answers `NOOP`, or a new one.
    async fn checkout(&self) -> Result<AsyncSmtpConnection, SendError> {
        loop {
            let parked = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let Some(mut conn) = parked else {
                return self.connect().await;
            };
            if tokio::time::timeout(self.timeout, conn.test_connected())
                .await
                .unwrap_or(false)
            {
                return Ok(conn);
            }
            conn.abort().await;
        }
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        let timed_out = || transient("SMTP timed out connecting to the relay");
        let stream = tokio::time::timeout(
            self.timeout,
            TcpStream::connect((self.host.as_str(), self.port)),
        )
        .await
        .map_err(|_| timed_out())?
        .map_err(|e| transient(format!("SMTP connection failed: {e}")))?;
        stream
            .set_nodelay(true)
            .map_err(|e| transient(format!("SMTP connection failed: {e}")))?;
        let mut conn = tokio::time::timeout(
            self.timeout,
            AsyncSmtpConnection::connect_with_transport(Box::new(stream), &self.hello),
        )
        .await
        .map_err(|_| timed_out())?
        .map_err(classify)?;
        if let Some(tls) = &self.starttls {
            if !conn.can_starttls() {
                conn.abort().await;
                return Err(transient(
                    "SMTP TLS failure: the relay does not offer STARTTLS",
                ));
            }
            tokio::time::timeout(self.timeout, conn.starttls(tls.clone(), &self.hello))
                .await
                .map_err(|_| timed_out())?
                .map_err(classify)?;
        }
        // After STARTTLS the relay has answered EHLO again: that list counts.
        let smtputf8 = conn.server_info().supports_feature(Extension::SmtpUtfEight);
        *self.smtputf8.lock().unwrap_or_else(|e| e.into_inner()) = Some(smtputf8);
        if let Some(credentials) = &self.credentials {
            tokio::time::timeout(
                self.timeout,
                conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials),
            )
            .await
            .map_err(|_| timed_out())?
            .map_err(classify)?;
        }
        Ok(conn)
    }
}

fn transient(message: impl Into<String>) -> SendError {
    SendError {
        kind: FailureKind::Transient,
        smtp_code: None,
        message: message.into(),
    }
}

/// `<{delivery_id}@{domain}>`: stable across attempts and resends, so a
/// receiver can discard a copy sent again after a crash.
pub fn message_id(delivery_id: DeliveryId, domain: &str) -> String {
    format!("<{}@{domain}>", delivery_id.0)
}

/// A failed transaction: like [`classify`], and a refusal by the client
/// library itself is permanent — lettre refuses a message it can never
/// send, e.g. a non-ASCII address to a relay without `SMTPUTF8`.
fn classify_send(err: lettre::transport::smtp::Error) -> SendError {
    let permanent = err.is_client();
    let mut error = classify(err);
    if permanent {
        error.kind = FailureKind::Permanent;
    }
    error
}

/// 5xx replies are permanent; everything else (4xx, connection refused or
/// dropped, timeouts, TLS, unparsable replies, the client library's
/// refusals while connecting) is worth another attempt.
fn classify(err: lettre::transport::smtp::Error) -> SendError {
    let code = err.status().map(u16::from);
    let kind = if err.is_permanent() {
        FailureKind::Permanent
    } else {
        FailureKind::Transient
    };
    let what = if err.is_permanent() || err.is_transient() {
        "rejected"
    } else if err.is_client() {
        "refused by the client"
    } else if err.is_timeout() {
        "timed out"
    } else if err.is_tls() {
        "TLS failure"
    } else {
        "failed"
    };
    // Relays often echo the recipient in their reply: keep addresses out of
    // what is stored and logged.
    let message = redact_addresses(&format!("SMTP {what}: {}", describe(&err)));
    SendError {
        kind,
        smtp_code: code,
        message,
    }
}

/// The error and its sources on one line.
fn describe(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

fn tls_parameters(settings: &SmtpConfig) -> Result<TlsParameters, SmtpSetupError> {
    let mut builder = TlsParameters::builder(settings.host.clone());
    if let Some(path) = &settings.ca_file {
        let pem = std::fs::read(path).map_err(|source| SmtpSetupError::CaFile {
            path: path.clone(),
            source,
        })?;
        if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
            return Err(SmtpSetupError::CaCertificate {
                path: path.clone(),
                reason: "no CERTIFICATE block".into(),
            });
        }
        let certificate =
            Certificate::from_pem(&pem).map_err(|e| SmtpSetupError::CaCertificate {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        builder = builder.add_root_certificate(certificate);
    }
    builder.build().map_err(|e| SmtpSetupError::Tls {
        host: settings.host.clone(),
        reason: describe(&e),
    })
}

/// A shared transport handle.
pub type SharedTransport = Arc<dyn MailTransport>;
