//! A real SMTP server on loopback that tests start in-process and steer.
//!
//! The protocol (command parsing, sequencing, `AUTH PLAIN`/`LOGIN`,
//! `STARTTLS` negotiation) is `mailin`'s state machine; this module adds
//! async I/O on tokio, TLS (rustls/ring with a generated self-signed
//! certificate), a message store and the steering knobs.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use std::time::Duration;
//! use galaxy_devstack::smtp::{Behaviour, SmtpServer, SmtpServerOptions};
//!
//! let server = SmtpServer::start(SmtpServerOptions::default()).await?;
//! // point the mailer at server.addr() …
//! server.set_behaviour(Behaviour::TransientRejectTimes(2)).await?;
//! // … the first two deliveries get 451, the third is accepted:
//! let messages = server.wait_for_messages(1, Duration::from_secs(5)).await.unwrap();
//! assert_eq!(messages[0].subject().as_deref(), Some("Your login code"));
//! # Ok(()) }
//! ```

mod message;
mod session;
mod tls;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::{Notify, broadcast};
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

pub use message::ReceivedMessage;
pub use tls::CERTIFICATE_NAMES;

/// Transport security offered by the server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain SMTP; `STARTTLS` is not offered.
    #[default]
    None,
    /// Plain connection that offers `STARTTLS` (the backend's `starttls`).
    StartTls,
    /// TLS from the first byte, as on port 465 (the backend's `tls`).
    Implicit,
}

/// How the server treats the next transactions. Change it at any time with
/// [`SmtpServer::set_behaviour`]; it applies to transactions that reach the
/// decision point afterwards, on new and open connections alike.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Behaviour {
    /// Accept and store every message (`250` after `DATA`).
    #[default]
    Accept,
    /// Answer the end of `DATA` with `451 4.3.0` (a transient failure).
    TransientReject,
    /// Answer `RCPT TO` with `550 5.1.1` (a permanent failure).
    PermanentReject,
    /// Close the TCP connection after the message data, without a reply.
    DropConnection,
    /// Stop listening (new connections are refused) and close the open
    /// ones. Any other behaviour listens again on the same port.
    Down,
    /// Like [`Behaviour::TransientReject`] for the next `n` messages, then
    /// [`Behaviour::Accept`].
    TransientRejectTimes(u32),
    /// Like [`Behaviour::DropConnection`] for the next `n` messages, then
    /// [`Behaviour::Accept`].
    DropConnectionTimes(u32),
}

/// User name and password the server accepts with `AUTH PLAIN`/`LOGIN`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

/// How to start a server. `Default` is plain SMTP on `127.0.0.1:0`,
/// accepting everything, without AUTH.
#[derive(Clone, Debug)]
pub struct SmtpServerOptions {
    /// Address to listen on; port 0 picks a free port.
    pub addr: SocketAddr,
    pub tls: TlsMode,
    /// When set, AUTH PLAIN and LOGIN are offered and required before
    /// `MAIL FROM`. With [`TlsMode::StartTls`] they are offered only after
    /// `STARTTLS` (as a real relay would); otherwise right away.
    pub credentials: Option<Credentials>,
    /// Behaviour at start.
    pub behaviour: Behaviour,
    /// Name in the greeting.
    pub hostname: String,
    /// Larger messages get `552`.
    pub max_message_bytes: usize,
}

impl Default for SmtpServerOptions {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            tls: TlsMode::None,
            credentials: None,
            behaviour: Behaviour::Accept,
            hostname: "localhost".to_owned(),
            max_message_bytes: 32 * 1024 * 1024,
        }
    }
}

impl SmtpServerOptions {
    /// Listen on `addr` instead of `127.0.0.1:0`.
    pub fn with_addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    pub fn with_tls(mut self, tls: TlsMode) -> Self {
        self.tls = tls;
        self
    }

    /// Require AUTH with these credentials.
    pub fn with_credentials(
        mut self,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        self.credentials = Some(Credentials {
            username: username.into(),
            password: password.into(),
        });
        self
    }

    pub fn with_behaviour(mut self, behaviour: Behaviour) -> Self {
        self.behaviour = behaviour;
        self
    }
}

/// [`SmtpServer::wait_for_messages`] gave up before enough messages arrived.
#[derive(Debug, thiserror::Error)]
#[error("expected {expected} message(s) within the timeout, received {}", received.len())]
pub struct WaitTimeout {
    pub expected: usize,
    /// What had arrived by then.
    pub received: Vec<ReceivedMessage>,
}

/// A running server. Dropping it stops it (listener and connections).
pub struct SmtpServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    certificate_pem: Option<String>,
    acceptor: tokio::sync::Mutex<Option<JoinHandle<()>>>,
}

impl SmtpServer {
    /// Binds the listener and starts serving on the current tokio runtime.
    /// With TLS, a fresh self-signed certificate is generated
    /// ([`SmtpServer::certificate_pem`]).
    pub async fn start(options: SmtpServerOptions) -> io::Result<Self> {
        let identity = match options.tls {
            TlsMode::None => None,
            TlsMode::StartTls | TlsMode::Implicit => Some(tls::generate()?),
        };
        let mut session_builder = mailin::SessionBuilder::new(options.hostname.clone());
        if options.tls == TlsMode::StartTls {
            session_builder.enable_start_tls();
        }
        if options.credentials.is_some() {
            session_builder
                .enable_auth(mailin::AuthMechanism::Plain)
                .enable_auth(mailin::AuthMechanism::Login);
            if options.tls == TlsMode::None {
                session_builder.insecure_enable_plaintext_auth();
            }
        }
        let (events, _) = broadcast::channel(256);
        let shared = Arc::new(Shared {
            session_builder,
            tls_mode: options.tls,
            tls_acceptor: identity.as_ref().map(|i| i.acceptor.clone()),
            credentials: options.credentials,
            max_message_bytes: options.max_message_bytes,
            state: Mutex::new(State {
                behaviour: options.behaviour,
                messages: Vec::new(),
            }),
            delivered: Notify::new(),
            events,
        });

        let listener = bind(options.addr)?;
        let addr = listener.local_addr()?;
        let server = Self {
            shared,
            addr,
            certificate_pem: identity.map(|i| i.certificate_pem),
            acceptor: tokio::sync::Mutex::new(None),
        };
        if options.behaviour == Behaviour::Down {
            drop(listener);
        } else {
            *server.acceptor.lock().await = Some(tokio::spawn(accept_loop(
                Arc::clone(&server.shared),
                listener,
            )));
        }
        Ok(server)
    }

    /// The bound address (with the real port when started on port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn tls_mode(&self) -> TlsMode {
        self.shared.tls_mode
    }

    /// The PEM of the self-signed certificate (valid for
    /// [`CERTIFICATE_NAMES`]) when TLS is enabled; clients add it as their
    /// only trusted root.
    pub fn certificate_pem(&self) -> Option<&str> {
        self.certificate_pem.as_deref()
    }

    /// Every accepted message so far, oldest first.
    pub fn messages(&self) -> Vec<ReceivedMessage> {
        self.shared.state().messages.clone()
    }

    /// Forgets the stored messages.
    pub fn clear_messages(&self) {
        self.shared.state().messages.clear();
    }

    /// Waits until at least `n` messages are stored, then returns all of
    /// them. Wakes on each delivery; never polls.
    pub async fn wait_for_messages(
        &self,
        n: usize,
        timeout: Duration,
    ) -> Result<Vec<ReceivedMessage>, WaitTimeout> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.delivered.notified();
            tokio::pin!(notified);
            // Register before looking, so a delivery in between is not missed.
            notified.as_mut().enable();
            let messages = self.messages();
            if messages.len() >= n {
                return Ok(messages);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(WaitTimeout {
                    expected: n,
                    received: self.messages(),
                });
            }
        }
    }

    /// A stream of messages as they are accepted (for the dev console and
    /// inbox). Slow receivers lose the oldest events, never the store.
    pub fn subscribe(&self) -> broadcast::Receiver<ReceivedMessage> {
        self.shared.events.subscribe()
    }

    pub fn behaviour(&self) -> Behaviour {
        self.shared.state().behaviour
    }

    /// Changes the behaviour. Switching to [`Behaviour::Down`] returns once
    /// the listener is closed (a connect is then refused); switching back
    /// returns once it listens again on the same port.
    pub async fn set_behaviour(&self, behaviour: Behaviour) -> io::Result<()> {
        let mut acceptor = self.acceptor.lock().await;
        self.shared.state().behaviour = behaviour;
        match (behaviour, acceptor.is_some()) {
            (Behaviour::Down, true) => {
                if let Some(task) = acceptor.take() {
                    task.abort();
                    let _ = task.await;
                }
            }
            (Behaviour::Down, false) | (_, true) => {}
            (_, false) => {
                let listener = bind(self.addr)?;
                *acceptor = Some(tokio::spawn(accept_loop(
                    Arc::clone(&self.shared),
                    listener,
                )));
            }
        }
        Ok(())
    }

    /// Stops listening and closes every connection. The stored messages
    /// stay readable.
    pub async fn stop(&self) {
        if let Some(task) = self.acceptor.lock().await.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        if let Some(task) = self.acceptor.get_mut().take() {
            task.abort();
        }
    }
}

fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // Lets "down then up" re-listen on the port while old connections linger.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(128)
}

/// Accepts connections until aborted; aborting it drops the listener and,
/// through the `JoinSet`, every connection task.
async fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(session::serve(Arc::clone(&shared), stream, peer));
                }
                // Resource exhaustion (EMFILE …): back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// What the end of `DATA` turns into under the current behaviour.
pub(crate) enum DataEndOutcome {
    Accept,
    TransientReject,
    PermanentReject,
    Drop,
}

/// State shared by the server handle and all connections.
pub(crate) struct Shared {
    session_builder: mailin::SessionBuilder,
    tls_mode: TlsMode,
    tls_acceptor: Option<TlsAcceptor>,
    credentials: Option<Credentials>,
    max_message_bytes: usize,
    state: Mutex<State>,
    delivered: Notify,
    events: broadcast::Sender<ReceivedMessage>,
}

struct State {
    behaviour: Behaviour,
    messages: Vec<ReceivedMessage>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave State half-updated.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn tls_acceptor(&self) -> io::Result<TlsAcceptor> {
        self.tls_acceptor
            .clone()
            .ok_or_else(|| io::Error::other("TLS requested but not configured"))
    }

    fn rejects_recipients(&self) -> bool {
        self.state().behaviour == Behaviour::PermanentReject
    }

    /// Decides the fate of a complete message and counts down the `…Times`
    /// behaviours.
    fn outcome_at_data_end(&self) -> DataEndOutcome {
        let mut state = self.state();
        match state.behaviour {
            Behaviour::Accept => DataEndOutcome::Accept,
            Behaviour::TransientReject => DataEndOutcome::TransientReject,
            Behaviour::PermanentReject => DataEndOutcome::PermanentReject,
            Behaviour::DropConnection | Behaviour::Down => DataEndOutcome::Drop,
            Behaviour::TransientRejectTimes(0) | Behaviour::DropConnectionTimes(0) => {
                state.behaviour = Behaviour::Accept;
                DataEndOutcome::Accept
            }
            Behaviour::TransientRejectTimes(n) => {
                state.behaviour = countdown(n, Behaviour::TransientRejectTimes);
                DataEndOutcome::TransientReject
            }
            Behaviour::DropConnectionTimes(n) => {
                state.behaviour = countdown(n, Behaviour::DropConnectionTimes);
                DataEndOutcome::Drop
            }
        }
    }

    fn deliver(&self, message: ReceivedMessage) {
        self.state().messages.push(message.clone());
        self.delivered.notify_waiters();
        let _ = self.events.send(message);
    }
}

fn countdown(n: u32, same: fn(u32) -> Behaviour) -> Behaviour {
    if n <= 1 {
        Behaviour::Accept
    } else {
        same(n - 1)
    }
}
