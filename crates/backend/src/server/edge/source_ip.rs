//! The caller's source address (runbook "Geo"): the leftmost
//! `X-Forwarded-For` entry when it parses as an address (with or without a
//! port), else the TCP peer of the connection serving the request. The
//! gateway is the trust boundary, so the header is believed as sent.
//!
//! The peer is a task-local of the connection ([`with_peer`]), not a
//! request extension: requests would each pay an extension insertion (an
//! allocation, and the growth of their extension map) for an address most
//! of them never read.

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName};

/// A `HeaderName`, not a `&str`: a lookup by string parses the name first.
pub const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The source address of a request, if any can be determined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for SourceIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(source_ip(&parts.headers, peer())))
    }
}

tokio::task_local! {
    static PEER: SocketAddr;
}

/// Runs `future` — a connection, or a task it spawns (HTTP/2 streams) —
/// with `peer` as the peer address of every request it serves.
pub fn with_peer<F: Future>(peer: SocketAddr, future: F) -> impl Future<Output = F::Output> {
    PEER.scope(peer, future)
}

/// The peer address of the connection serving the current request (`None`
/// outside one, e.g. in a test calling the router directly).
pub fn peer() -> Option<SocketAddr> {
    PEER.try_with(|peer| *peer).ok()
}

/// Leftmost `X-Forwarded-For` address, else `peer`.
pub fn source_ip(headers: &HeaderMap, peer: Option<SocketAddr>) -> Option<IpAddr> {
    headers
        .get(&X_FORWARDED_FOR)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .and_then(parse_forwarded)
        .or(peer.map(|p| p.ip()))
        .map(|ip| ip.to_canonical())
}

/// `203.0.113.7`, `203.0.113.7:4711`, `2001:db8::1` or `[2001:db8::1]:4711`.
fn parse_forwarded(raw: &str) -> Option<IpAddr> {
    let raw = raw.trim();
    raw.parse::<IpAddr>()
        .ok()
        .or_else(|| raw.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[tokio::test]
    async fn the_peer_is_the_connections_inside_its_scope_only() {
        let addr: SocketAddr = "192.0.2.44:5151".parse().unwrap();
        assert_eq!(with_peer(addr, async { peer() }).await, Some(addr));
        assert_eq!(peer(), None);
    }

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(X_FORWARDED_FOR, HeaderValue::from_str(xff).unwrap());
        h
    }

    #[test]
    fn the_leftmost_forwarded_address_wins_over_the_peer() {
        let peer: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        assert_eq!(
            source_ip(&headers("192.0.2.1, 10.0.0.1"), Some(peer)),
            ip("192.0.2.1")
        );
        assert_eq!(
            source_ip(&headers(" 192.0.2.9:443 "), Some(peer)),
            ip("192.0.2.9")
        );
        assert_eq!(
            source_ip(&headers("[2001:db8::1]:443"), None),
            ip("2001:db8::1")
        );
        assert_eq!(source_ip(&headers("2001:db8::2"), None), ip("2001:db8::2"));
        assert_eq!(source_ip(&headers("unknown"), Some(peer)), ip("127.0.0.1"));
        assert_eq!(source_ip(&HeaderMap::new(), Some(peer)), ip("127.0.0.1"));
        assert_eq!(source_ip(&HeaderMap::new(), None), None);
        assert_eq!(
            source_ip(&headers("::ffff:198.51.100.4"), None),
            ip("198.51.100.4")
        );
    }
}
