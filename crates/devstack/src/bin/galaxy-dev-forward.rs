//! `galaxy-dev-forward`: pipes every TCP connection accepted on one address
//! to another (see `galaxy_devstack::forward`), until SIGINT or SIGTERM.
//!
//! ```text
//! galaxy-dev-forward --listen 172.30.0.1:5432 --to 127.0.0.1:5432
//! galaxy-dev-forward --check 172.30.0.1:5432   # exit 0 when ADDR accepts a connection
//! ```

use std::net::SocketAddr;
use std::process::ExitCode;

use galaxy_devstack::forward::Forwarder;

const USAGE: &str = "usage: galaxy-dev-forward --listen ADDR --to ADDR | --check ADDR
  --listen ADDR  where to accept connections (e.g. a Docker network's gateway, 172.30.0.1:5432)
  --to ADDR      where to forward them (e.g. 127.0.0.1:5432)
  --check ADDR   exit 0 when ADDR accepts a TCP connection within 2 s, else 1 (a health check)";

enum Args {
    Forward(SocketAddr, SocketAddr),
    Check(SocketAddr),
}

fn parse_args() -> Result<Args, String> {
    let (mut listen, mut to, mut check) = (None, None, None);
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let target = match flag.as_str() {
            "--listen" => &mut listen,
            "--to" => &mut to,
            "--check" => &mut check,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        };
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        *target = Some(
            value
                .parse()
                .map_err(|e| format!("{flag} {value:?}: {e}"))?,
        );
    }
    match (listen, to, check) {
        (Some(listen), Some(to), None) => Ok(Args::Forward(listen, to)),
        (None, None, Some(addr)) => Ok(Args::Check(addr)),
        _ => Err("give --listen and --to, or --check alone".to_owned()),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let (listen, to) = match parse_args() {
        Ok(Args::Forward(listen, to)) => (listen, to),
        Ok(Args::Check(addr)) => {
            let connect = tokio::net::TcpStream::connect(addr);
            return match tokio::time::timeout(std::time::Duration::from_secs(2), connect).await {
                Ok(Ok(_)) => ExitCode::SUCCESS,
                _ => ExitCode::FAILURE,
            };
        }
        Err(problem) if problem.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(problem) => {
            eprintln!("galaxy-dev-forward: {problem}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let forwarder = match Forwarder::start(listen, to).await {
        Ok(forwarder) => forwarder,
        Err(e) => {
            eprintln!("galaxy-dev-forward: cannot listen on {listen}: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("galaxy-dev-forward: {} → {to}", forwarder.addr());
    galaxy_devstack::shutdown_signal().await;
    ExitCode::SUCCESS
}
