//! One client connection: async line I/O and TLS around `mailin`'s SMTP
//! state machine, which does all the protocol parsing and sequencing.
//!
//! `mailin-embedded` drives the same state machine with blocking threads and
//! offers no way to stop, to drop a connection mid-transaction or to speak
//! implicit TLS; this loop is the small async replacement for it.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailin::response::{AUTH_OK, INVALID_CREDENTIALS, OK};
use mailin::{Action, Handler, Response, Session};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::{DataEndOutcome, Shared, TlsMode};

/// Longest command or data line accepted (RFC 5321 allows 1000 octets; be lenient).
const MAX_LINE_BYTES: u64 = 64 * 1024;
/// A client silent for this long is disconnected.
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// Budget for a TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Per-connection flags shared between the I/O loop and the handler.
#[derive(Default)]
struct ConnectionFlags {
    tls: AtomicBool,
    drop_requested: AtomicBool,
    /// Reply to send instead of the one `mailin` produced. `mailin` 0.6
    /// stays in its DATA state when `data_end` returns an error, so every
    /// later command would be swallowed as message text; the handler
    /// therefore always lets `mailin` see success at the end of DATA (the
    /// transaction is over either way, RFC 5321 §4.1.1.4) and puts the
    /// real, failing reply here.
    reply_override: Mutex<Option<Response>>,
}

impl ConnectionFlags {
    fn override_reply(&self, response: Response) -> Response {
        *self
            .reply_override
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(response);
        OK
    }

    fn take_override(&self) -> Option<Response> {
        self.reply_override
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }
}

/// Serves one accepted TCP connection to the end. Errors only end the
/// connection; they are the client's problem, not the server's.
pub(super) async fn serve(shared: Arc<Shared>, stream: TcpStream, peer: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let _ = run(shared, stream, peer).await;
}

async fn run(shared: Arc<Shared>, stream: TcpStream, peer: SocketAddr) -> io::Result<()> {
    let flags = Arc::new(ConnectionFlags::default());
    let handler = TransactionHandler::new(Arc::clone(&shared), Arc::clone(&flags));
    let mut session = shared.session_builder.build(peer.ip(), handler);

    match shared.tls_mode {
        TlsMode::Implicit => {
            let acceptor = shared.tls_acceptor()?;
            let tls = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream))
                .await
                .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
            flags.tls.store(true, Ordering::SeqCst);
            session.tls_active();
            let mut conn = BufReader::new(tls);
            write_response(&mut conn, &session.greeting()).await?;
            drive(&mut session, &mut conn, &flags).await?;
        }
        TlsMode::None | TlsMode::StartTls => {
            let mut conn = BufReader::new(stream);
            write_response(&mut conn, &session.greeting()).await?;
            if let End::UpgradeTls = drive(&mut session, &mut conn, &flags).await? {
                // Anything the client pipelined after STARTTLS is discarded
                // (RFC 3207 §4.2): it was sent in the clear.
                let stream = conn.into_inner();
                let acceptor = shared.tls_acceptor()?;
                let tls = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream))
                    .await
                    .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
                flags.tls.store(true, Ordering::SeqCst);
                session.tls_active();
                let mut conn = BufReader::new(tls);
                drive(&mut session, &mut conn, &flags).await?;
            }
        }
    }
    Ok(())
}

enum End {
    Closed,
    UpgradeTls,
}

/// Feeds client lines to the session and writes its replies until the
/// session ends, asks for a TLS upgrade, or the handler asks to drop.
async fn drive<S, H>(
    session: &mut Session<H>,
    conn: &mut BufReader<S>,
    flags: &ConnectionFlags,
) -> io::Result<End>
where
    S: AsyncRead + AsyncWrite + Unpin,
    H: Handler,
{
    let mut line = Vec::with_capacity(128);
    loop {
        line.clear();
        let mut limited = (&mut *conn).take(MAX_LINE_BYTES);
        let n = tokio::time::timeout(IDLE_TIMEOUT, limited.read_until(b'\n', &mut line))
            .await
            .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
        if n == 0 {
            return Ok(End::Closed);
        }
        if !line.ends_with(b"\n") {
            if n as u64 >= MAX_LINE_BYTES {
                let too_long = Response::custom(500, "5.5.2 Line too long".to_owned());
                write_response(conn, &too_long).await?;
            }
            return Ok(End::Closed);
        }
        // mailin expects CRLF; accept bare LF from hand-typed sessions (nc).
        if !line.ends_with(b"\r\n") {
            line.pop();
            line.extend_from_slice(b"\r\n");
        }
        let response = session.process(&line);
        if flags.drop_requested.load(Ordering::SeqCst) {
            // Steered failure: close the TCP connection without a reply.
            return Ok(End::Closed);
        }
        let response = flags.take_override().unwrap_or(response);
        match response.action {
            Action::Reply => write_response(conn, &response).await?,
            Action::NoReply => {}
            Action::Close => {
                write_response(conn, &response).await?;
                let _ = conn.get_mut().shutdown().await;
                return Ok(End::Closed);
            }
            Action::UpgradeTls => {
                write_response(conn, &response).await?;
                return Ok(End::UpgradeTls);
            }
        }
    }
}

async fn write_response<S>(conn: &mut BufReader<S>, response: &Response) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let bytes = response.buffer()?;
    if bytes.is_empty() {
        return Ok(());
    }
    let stream = conn.get_mut();
    stream.write_all(&bytes).await?;
    stream.flush().await
}

/// Collects one transaction at a time and applies the server's behaviour.
struct TransactionHandler {
    shared: Arc<Shared>,
    flags: Arc<ConnectionFlags>,
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
    too_large: bool,
    authenticated_as: Option<String>,
}

impl TransactionHandler {
    fn new(shared: Arc<Shared>, flags: Arc<ConnectionFlags>) -> Self {
        Self {
            shared,
            flags,
            from: String::new(),
            to: Vec::new(),
            data: Vec::new(),
            too_large: false,
            authenticated_as: None,
        }
    }

    fn authenticate(&mut self, username: &str, password: &str) -> Response {
        match &self.shared.credentials {
            Some(c) if c.username == username && c.password == password => {
                self.authenticated_as = Some(username.to_owned());
                AUTH_OK
            }
            _ => INVALID_CREDENTIALS,
        }
    }
}

impl Handler for TransactionHandler {
    fn mail(&mut self, _ip: std::net::IpAddr, _domain: &str, from: &str) -> Response {
        from.clone_into(&mut self.from);
        self.to.clear();
        self.data.clear();
        self.too_large = false;
        OK
    }

    fn rcpt(&mut self, to: &str) -> Response {
        if self.shared.rejects_recipients() {
            return Response::custom(550, "5.1.1 Mailbox unavailable (steered)".to_owned());
        }
        self.to.push(to.to_owned());
        OK
    }

    fn data(&mut self, buf: &[u8]) -> io::Result<()> {
        if self.data.len() + buf.len() > self.shared.max_message_bytes {
            self.too_large = true;
        } else if !self.too_large {
            self.data.extend_from_slice(buf);
        }
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        if self.too_large {
            self.data.clear();
            return self
                .flags
                .override_reply(Response::custom(552, "5.3.4 Message too big".to_owned()));
        }
        match self.shared.outcome_at_data_end() {
            DataEndOutcome::Accept => {
                self.shared.deliver(super::ReceivedMessage {
                    from: std::mem::take(&mut self.from),
                    to: std::mem::take(&mut self.to),
                    data: std::mem::take(&mut self.data),
                    received_at: chrono::Utc::now(),
                    tls: self.flags.tls.load(Ordering::SeqCst),
                    authenticated_as: self.authenticated_as.clone(),
                });
                OK
            }
            DataEndOutcome::TransientReject => self.flags.override_reply(Response::custom(
                451,
                "4.3.0 Temporary failure (steered)".to_owned(),
            )),
            DataEndOutcome::PermanentReject => self.flags.override_reply(Response::custom(
                554,
                "5.6.0 Transaction failed (steered)".to_owned(),
            )),
            DataEndOutcome::Drop => {
                self.flags.drop_requested.store(true, Ordering::SeqCst);
                OK
            }
        }
    }

    fn auth_plain(
        &mut self,
        _authorization_id: &str,
        authentication_id: &str,
        password: &str,
    ) -> Response {
        self.authenticate(authentication_id, password)
    }

    fn auth_login(&mut self, username: &str, password: &str) -> Response {
        self.authenticate(username, password)
    }
}
