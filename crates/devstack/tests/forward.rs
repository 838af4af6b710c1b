//! The TCP forwarder pipes bytes both ways, serves several connections at
//! once, and stops when dropped.

use std::net::SocketAddr;

use galaxy_devstack::forward::Forwarder;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// An echo server on loopback that upper-cases what it reads.
async fn echo() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 64];
                while let Ok(n) = stream.read(&mut buf).await {
                    if n == 0
                        || stream
                            .write_all(&buf[..n].to_ascii_uppercase())
                            .await
                            .is_err()
                    {
                        break;
                    }
                }
            });
        }
    });
    addr
}

async fn round_trip(addr: SocketAddr, text: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(text.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; text.len()];
    stream.read_exact(&mut buf).await.unwrap();
    String::from_utf8(buf).unwrap()
}

#[tokio::test]
async fn connections_are_piped_both_ways_until_the_forwarder_is_dropped() {
    let target = echo().await;
    let forwarder = Forwarder::start("127.0.0.1:0".parse().unwrap(), target)
        .await
        .unwrap();
    let addr = forwarder.addr();
    assert_ne!(addr.port(), 0);
    let (a, b) = tokio::join!(round_trip(addr, "hello"), round_trip(addr, "galaxy"));
    assert_eq!((a.as_str(), b.as_str()), ("HELLO", "GALAXY"));

    drop(forwarder);
    tokio::task::yield_now().await;
    let refused = async {
        for _ in 0..100 {
            if TcpStream::connect(addr).await.is_err() {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        false
    };
    assert!(refused.await, "still listening after drop");
}
