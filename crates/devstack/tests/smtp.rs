//! The steerable SMTP server driven by a real client: lettre on tokio with
//! rustls (ring), the same stack the backend's mail worker uses.

use std::time::Duration;

use galaxy_devstack::smtp::{Behaviour, SmtpServer, SmtpServerOptions, TlsMode};
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::transport::smtp::{Error as SmtpError, PoolConfig};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

const WAIT: Duration = Duration::from_secs(10);

type Mailer = AsyncSmtpTransport<Tokio1Executor>;

/// A mailer for `server` without connection reuse, so each send is one
/// fresh connection (and one transaction) — as steering tests expect.
fn mailer_builder(server: &SmtpServer) -> lettre::transport::smtp::AsyncSmtpTransportBuilder {
    let tls = match server.tls_mode() {
        TlsMode::None => Tls::None,
        TlsMode::StartTls => Tls::Required(trusting(server)),
        TlsMode::Implicit => Tls::Wrapper(trusting(server)),
    };
    Mailer::builder_dangerous("127.0.0.1")
        .port(server.port())
        .tls(tls)
        .timeout(Some(Duration::from_secs(5)))
        .pool_config(PoolConfig::new().max_size(1).idle_timeout(Duration::ZERO))
}

fn mailer(server: &SmtpServer) -> Mailer {
    mailer_builder(server).build()
}

/// TLS parameters that trust only the server's generated certificate.
fn trusting(server: &SmtpServer) -> TlsParameters {
    let pem = server
        .certificate_pem()
        .expect("TLS server has a certificate");
    TlsParameters::builder("localhost".to_owned())
        .certificate_store(CertificateStore::None)
        .add_root_certificate(Certificate::from_pem(pem.as_bytes()).expect("valid PEM"))
        .build()
        .expect("TLS parameters")
}

fn login_code_email(to: &str) -> Message {
    Message::builder()
        .from("Galaxy <galaxy@localhost>".parse::<Mailbox>().unwrap())
        .to(to.parse::<Mailbox>().unwrap())
        .subject("Your login code")
        .header(ContentType::TEXT_PLAIN)
        .body("Your Galaxy login code is 424242.\r\nIt expires in 10 minutes.\r\n".to_owned())
        .unwrap()
}

async fn plain_server() -> SmtpServer {
    SmtpServer::start(SmtpServerOptions::default())
        .await
        .expect("server starts")
}

#[tokio::test]
async fn accepted_message_keeps_envelope_headers_and_body() {
    let server = plain_server().await;
    let email = Message::builder()
        .from("Galaxy <galaxy@localhost>".parse::<Mailbox>().unwrap())
        .to("pilot@example.com".parse::<Mailbox>().unwrap())
        .cc("copilot@example.com".parse::<Mailbox>().unwrap())
        .subject("Ваш код входа ☄")
        .multipart(MultiPart::alternative_plain_html(
            "Code: 123456".to_owned(),
            "<p>Code: <b>123456</b></p>".to_owned(),
        ))
        .unwrap();

    mailer(&server).send(email).await.expect("accepted");

    let messages = server
        .wait_for_messages(1, WAIT)
        .await
        .expect("one message");
    let m = &messages[0];
    assert_eq!(m.from, "galaxy@localhost");
    assert_eq!(m.to, vec!["pilot@example.com", "copilot@example.com"]);
    assert_eq!(m.subject().as_deref(), Some("Ваш код входа ☄"));
    assert_eq!(
        m.header("from").as_deref(),
        Some("Galaxy <galaxy@localhost>")
    );
    assert_eq!(
        m.body_text().as_deref().map(str::trim_end),
        Some("Code: 123456")
    );
    assert!(m.body_html().unwrap().contains("<b>123456</b>"));
    assert!(m.raw_text().contains("\r\n\r\n"), "raw RFC 5322 with CRLF");
    assert!(!m.tls);
    assert_eq!(m.authenticated_as, None);
}

#[tokio::test]
async fn several_messages_are_stored_in_arrival_order() {
    let server = plain_server().await;
    let mailer = mailer(&server);
    for to in ["a@example.com", "b@example.com", "c@example.com"] {
        mailer.send(login_code_email(to)).await.expect("accepted");
    }
    let messages = server.wait_for_messages(3, WAIT).await.expect("three");
    let to: Vec<_> = messages.iter().map(|m| m.to[0].as_str()).collect();
    assert_eq!(to, ["a@example.com", "b@example.com", "c@example.com"]);

    server.clear_messages();
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn transient_reject_is_a_4xx_and_stores_nothing() {
    let server =
        SmtpServer::start(SmtpServerOptions::default().with_behaviour(Behaviour::TransientReject))
            .await
            .unwrap();
    let err = mailer(&server)
        .send(login_code_email("p@example.com"))
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert_eq!(err.status().map(u16::from), Some(451));
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn permanent_reject_is_a_5xx_and_stores_nothing() {
    let server = plain_server().await;
    server
        .set_behaviour(Behaviour::PermanentReject)
        .await
        .unwrap();
    let err = mailer(&server)
        .send(login_code_email("p@example.com"))
        .await
        .unwrap_err();
    assert!(err.is_permanent(), "{err}");
    assert_eq!(err.status().map(u16::from), Some(550));
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn dropped_connection_fails_the_send_without_a_reply_code() {
    let server = plain_server().await;
    server
        .set_behaviour(Behaviour::DropConnection)
        .await
        .unwrap();
    let err = mailer(&server)
        .send(login_code_email("p@example.com"))
        .await
        .unwrap_err();
    assert_no_reply(&err);
    assert!(server.messages().is_empty());
}

fn assert_no_reply(err: &SmtpError) {
    assert!(
        !err.is_transient() && !err.is_permanent(),
        "expected an I/O failure, got {err}"
    );
    assert_eq!(err.status(), None);
}

#[tokio::test]
async fn transient_reject_times_fails_n_sends_then_accepts() {
    let server = plain_server().await;
    server
        .set_behaviour(Behaviour::TransientRejectTimes(2))
        .await
        .unwrap();
    let mailer = mailer(&server);

    for attempt in 1..=2 {
        let err = mailer
            .send(login_code_email("p@example.com"))
            .await
            .unwrap_err();
        assert!(err.is_transient(), "attempt {attempt}: {err}");
    }
    mailer
        .send(login_code_email("p@example.com"))
        .await
        .expect("third attempt accepted");

    assert_eq!(server.wait_for_messages(1, WAIT).await.unwrap().len(), 1);
    assert_eq!(server.behaviour(), Behaviour::Accept);
}

#[tokio::test]
async fn drop_connection_times_fails_n_sends_then_accepts() {
    let server = plain_server().await;
    server
        .set_behaviour(Behaviour::DropConnectionTimes(1))
        .await
        .unwrap();
    let mailer = mailer(&server);

    let err = mailer
        .send(login_code_email("p@example.com"))
        .await
        .unwrap_err();
    assert_no_reply(&err);
    mailer
        .send(login_code_email("p@example.com"))
        .await
        .expect("accepted after the drop");
    assert_eq!(server.messages().len(), 1);
}

#[tokio::test]
async fn down_refuses_connections_and_up_listens_again_on_the_same_port() {
    let server = plain_server().await;
    let addr = server.addr();

    server.set_behaviour(Behaviour::Down).await.unwrap();
    let refused = tokio::net::TcpStream::connect(addr).await.unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    let err = mailer(&server)
        .send(login_code_email("p@example.com"))
        .await
        .unwrap_err();
    assert_no_reply(&err);

    server.set_behaviour(Behaviour::Accept).await.unwrap();
    assert_eq!(server.addr(), addr);
    mailer(&server)
        .send(login_code_email("p@example.com"))
        .await
        .expect("accepted when up");
    assert_eq!(server.messages().len(), 1);
}

#[tokio::test]
async fn a_server_started_down_listens_once_told_to() {
    let server = SmtpServer::start(SmtpServerOptions::default().with_behaviour(Behaviour::Down))
        .await
        .unwrap();
    assert!(tokio::net::TcpStream::connect(server.addr()).await.is_err());
    server.set_behaviour(Behaviour::Accept).await.unwrap();
    mailer(&server)
        .send(login_code_email("p@example.com"))
        .await
        .expect("accepted");
}

#[tokio::test]
async fn stop_and_drop_close_the_listener() {
    let server = plain_server().await;
    let addr = server.addr();
    server.stop().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());

    let server = plain_server().await;
    let addr = server.addr();
    drop(server);
    tokio::task::yield_now().await;
    // The accept task is aborted on drop; give the runtime a moment to run it down.
    let mut refused = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(refused, "listener still open after drop");
}

#[tokio::test]
async fn starttls_with_the_generated_certificate() {
    let server = SmtpServer::start(SmtpServerOptions::default().with_tls(TlsMode::StartTls))
        .await
        .unwrap();
    assert!(
        server
            .certificate_pem()
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );

    mailer(&server)
        .send(login_code_email("p@example.com"))
        .await
        .expect("accepted over STARTTLS");
    let m = &server.wait_for_messages(1, WAIT).await.unwrap()[0];
    assert!(m.tls);
    assert_eq!(m.subject().as_deref(), Some("Your login code"));
}

#[tokio::test]
async fn starttls_fails_when_the_client_does_not_trust_the_certificate() {
    let server = SmtpServer::start(SmtpServerOptions::default().with_tls(TlsMode::StartTls))
        .await
        .unwrap();
    let untrusting = TlsParameters::builder("localhost".to_owned())
        .certificate_store(CertificateStore::None)
        .build()
        .unwrap();
    let err = mailer_builder(&server)
        .tls(Tls::Required(untrusting))
        .build()
        .send(login_code_email("p@example.com"))
        .await
        .unwrap_err();
    assert!(
        err.is_tls() || err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn implicit_tls_with_the_generated_certificate() {
    let server = SmtpServer::start(SmtpServerOptions::default().with_tls(TlsMode::Implicit))
        .await
        .unwrap();
    mailer(&server)
        .send(login_code_email("p@example.com"))
        .await
        .expect("accepted over TLS");
    let m = &server.wait_for_messages(1, WAIT).await.unwrap()[0];
    assert!(m.tls);
}

#[tokio::test]
async fn auth_plain_and_login_accept_the_configured_credentials() {
    let server =
        SmtpServer::start(SmtpServerOptions::default().with_credentials("galaxy", "s3cret"))
            .await
            .unwrap();
    for mechanism in [Mechanism::Plain, Mechanism::Login] {
        mailer_builder(&server)
            .credentials(Credentials::new("galaxy".into(), "s3cret".into()))
            .authentication(vec![mechanism])
            .build()
            .send(login_code_email("p@example.com"))
            .await
            .unwrap_or_else(|e| panic!("{mechanism:?}: {e}"));
    }
    let messages = server.wait_for_messages(2, WAIT).await.unwrap();
    assert!(
        messages
            .iter()
            .all(|m| m.authenticated_as.as_deref() == Some("galaxy"))
    );
}

#[tokio::test]
async fn auth_rejects_a_wrong_password_and_a_missing_login() {
    let server =
        SmtpServer::start(SmtpServerOptions::default().with_credentials("galaxy", "s3cret"))
            .await
            .unwrap();
    let err = mailer_builder(&server)
        .credentials(Credentials::new("galaxy".into(), "wrong".into()))
        .build()
        .send(login_code_email("p@example.com"))
        .await
        .unwrap_err();
    assert!(err.is_permanent(), "{err}");
    assert_eq!(err.status().map(u16::from), Some(535));

    let err = mailer(&server)
        .send(login_code_email("p@example.com"))
        .await
        .unwrap_err();
    // mailin answers MAIL FROM before AUTH with 503 (bad sequence), some relays with 530.
    assert!(
        matches!(err.status().map(u16::from), Some(503 | 530)),
        "{err}"
    );
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn auth_over_starttls() {
    let server = SmtpServer::start(
        SmtpServerOptions::default()
            .with_tls(TlsMode::StartTls)
            .with_credentials("galaxy", "s3cret"),
    )
    .await
    .unwrap();
    mailer_builder(&server)
        .credentials(Credentials::new("galaxy".into(), "s3cret".into()))
        .build()
        .send(login_code_email("p@example.com"))
        .await
        .expect("accepted");
    let m = &server.wait_for_messages(1, WAIT).await.unwrap()[0];
    assert!(m.tls);
    assert_eq!(m.authenticated_as.as_deref(), Some("galaxy"));
}

#[tokio::test]
async fn wait_for_messages_gives_up_with_what_arrived() {
    let server = plain_server().await;
    mailer(&server)
        .send(login_code_email("p@example.com"))
        .await
        .unwrap();
    let timeout = server
        .wait_for_messages(2, Duration::from_millis(100))
        .await
        .unwrap_err();
    assert_eq!(timeout.expected, 2);
    assert_eq!(timeout.received.len(), 1);
}

#[tokio::test]
async fn wait_for_messages_wakes_on_a_later_delivery() {
    let server = std::sync::Arc::new(plain_server().await);
    let waiter = {
        let server = std::sync::Arc::clone(&server);
        tokio::spawn(async move { server.wait_for_messages(1, WAIT).await })
    };
    tokio::task::yield_now().await;
    mailer(&server)
        .send(login_code_email("p@example.com"))
        .await
        .unwrap();
    assert_eq!(waiter.await.unwrap().unwrap().len(), 1);
}

#[tokio::test]
async fn subscribers_see_each_accepted_message() {
    let server = plain_server().await;
    let mut events = server.subscribe();
    mailer(&server)
        .send(login_code_email("p@example.com"))
        .await
        .unwrap();
    let m = tokio::time::timeout(WAIT, events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.to, vec!["p@example.com"]);
}

#[tokio::test]
async fn bare_lf_sessions_from_hand_typed_clients_work() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let server = plain_server().await;
    let stream = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let mut expect = async |prefix: &str| {
        let line = lines.next_line().await.unwrap().unwrap();
        assert!(line.starts_with(prefix), "expected {prefix}, got {line}");
    };
    expect("220").await;
    for (cmd, reply) in [
        ("HELO nc\n", "250"),
        ("MAIL FROM:<a@example.com>\n", "250"),
        ("RCPT TO:<b@example.com>\n", "250"),
        ("DATA\n", "354"),
        ("Subject: hi\n\n..dot\n.\n", "250"),
        ("QUIT\n", "221"),
    ] {
        write.write_all(cmd.as_bytes()).await.unwrap();
        expect(reply).await;
    }
    let m = &server.messages()[0];
    assert_eq!(m.subject().as_deref(), Some("hi"));
    assert_eq!(m.body_text().unwrap().trim_end(), ".dot");
}

#[tokio::test]
async fn a_rejected_message_leaves_the_session_usable() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let server = plain_server().await;
    server
        .set_behaviour(Behaviour::TransientRejectTimes(1))
        .await
        .unwrap();
    let stream = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let mut expect = async |prefix: &str| {
        let line = lines.next_line().await.unwrap().unwrap();
        assert!(line.starts_with(prefix), "expected {prefix}, got {line}");
    };
    expect("220").await;
    write.write_all(b"HELO client\r\n").await.unwrap();
    expect("250").await;
    for final_reply in ["451", "250"] {
        for (cmd, reply) in [
            ("MAIL FROM:<a@example.com>\r\n", "250"),
            ("RCPT TO:<b@example.com>\r\n", "250"),
            ("DATA\r\n", "354"),
            ("Subject: retry\r\n\r\nbody\r\n.\r\n", final_reply),
        ] {
            write.write_all(cmd.as_bytes()).await.unwrap();
            expect(reply).await;
        }
    }
    write.write_all(b"QUIT\r\n").await.unwrap();
    expect("221").await;
    assert_eq!(server.messages().len(), 1);
}
