//! `galaxy-dev-smtp`: the mail catcher of `make run`.
//!
//! Accepts every message on a loopback SMTP port (plain, no AUTH), prints
//! each one to stdout (envelope, subject, text body — login codes are
//! readable on the console) and serves a web inbox.
//!
//! ```text
//! galaxy-dev-smtp [--smtp-addr 127.0.0.1:2525] [--http-addr 127.0.0.1:8025]
//! ```

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use galaxy_devstack::inbox;
use galaxy_devstack::smtp::{ReceivedMessage, SmtpServer, SmtpServerOptions};
use tokio::sync::broadcast::error::RecvError;

const USAGE: &str = "usage: galaxy-dev-smtp [--smtp-addr ADDR] [--http-addr ADDR]
  --smtp-addr ADDR  SMTP listen address (default 127.0.0.1:2525)
  --http-addr ADDR  web inbox listen address (default 127.0.0.1:8025)";

struct Args {
    smtp_addr: SocketAddr,
    http_addr: SocketAddr,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        smtp_addr: SocketAddr::from(([127, 0, 0, 1], 2525)),
        http_addr: SocketAddr::from(([127, 0, 0, 1], 8025)),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let target = match flag.as_str() {
            "--smtp-addr" => &mut args.smtp_addr,
            "--http-addr" => &mut args.http_addr,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        };
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        *target = value
            .parse()
            .map_err(|e| format!("{flag} {value:?}: {e}"))?;
    }
    Ok(args)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(problem) if problem.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(problem) => {
            eprintln!("galaxy-dev-smtp: {problem}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("galaxy-dev-smtp: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> std::io::Result<()> {
    let server = SmtpServer::start(SmtpServerOptions::default().with_addr(args.smtp_addr))
        .await
        .map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot listen for SMTP on {}: {e}", args.smtp_addr),
            )
        })?;
    let server = Arc::new(server);
    let http = tokio::net::TcpListener::bind(args.http_addr)
        .await
        .map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot listen for the inbox on {}: {e}", args.http_addr),
            )
        })?;
    println!(
        "galaxy-dev-smtp: SMTP on {}, inbox on http://{}/",
        server.addr(),
        http.local_addr()?
    );

    let mut events = server.subscribe();
    let printer = async {
        let mut count = 0usize;
        loop {
            match events.recv().await {
                Ok(message) => {
                    count += 1;
                    print_message(count, &message);
                }
                Err(RecvError::Lagged(missed)) => {
                    count += missed as usize;
                    println!("galaxy-dev-smtp: {missed} message(s) not printed (see the inbox)");
                }
                Err(RecvError::Closed) => break,
            }
        }
    };
    let inbox = axum::serve(http, inbox::router(Arc::clone(&server))).into_future();

    tokio::select! {
        result = inbox => result?,
        () = printer => {}
        () = galaxy_devstack::shutdown_signal() => {}
    }
    Ok(())
}

fn print_message(n: usize, message: &ReceivedMessage) {
    let subject = message
        .subject()
        .unwrap_or_else(|| "(no subject)".to_owned());
    let body = message
        .body_text()
        .unwrap_or_else(|| "(no text body)".to_owned());
    println!(
        "──── message #{n} · {} ────\nFrom:    {}\nTo:      {}\nSubject: {subject}\n\n{}\n",
        message
            .received_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        message.from,
        message.to.join(", "),
        body.trim_end(),
    );
}
