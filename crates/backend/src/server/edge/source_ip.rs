//! The caller's source address (runbook "Geo").
//!
//! - [`client_ip`] (the gateway's groups: geo, login throttles): with
//!   `BACKEND_TRUSTED_PROXIES` unset, the leftmost `X-Forwarded-For` entry
//!   when it parses as an address (with or without a port), else the TCP
//!   peer — the spec's trusted-network model, where the gateway sets the
//!   header. With it set, [`trusted_chain`].
//! - [`admin_source_ip`] (the admin throttle and its log lines): admins
//!   call the backend directly, so the header is believed only from a
//!   configured proxy ([`trusted_chain`]); unset, it is the TCP peer.
//! - [`trusted_chain`]: the TCP peer unless it is a trusted proxy; then the
//!   `X-Forwarded-For` entries from the right, the first one that is not a
//!   trusted proxy (a forged leftmost entry is never reached).
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

use crate::config::TrustedProxies;
use crate::server::AppState;

/// A `HeaderName`, not a `&str`: a lookup by string parses the name first.
pub const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The client address of a request on a gateway group ([`client_ip`]), if
/// any can be determined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceIp(pub Option<IpAddr>);

impl FromRequestParts<AppState> for SourceIp {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let proxies = &state.config.security.trusted_proxies;
        Ok(Self(client_ip(&parts.headers, peer(), proxies)))
    }
}

/// The client of a gateway group's request: [`source_ip`] (the spec) while
/// no proxy is configured, else [`trusted_chain`].
pub fn client_ip(
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
    proxies: &TrustedProxies,
) -> Option<IpAddr> {
    if proxies.is_empty() {
        source_ip(headers, peer)
    } else {
        trusted_chain(headers, peer, proxies)
    }
}

/// The source of an admin request: the TCP peer while no proxy is
/// configured (the header is the caller's to forge), else [`trusted_chain`].
pub fn admin_source_ip(
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
    proxies: &TrustedProxies,
) -> Option<IpAddr> {
    if proxies.is_empty() {
        peer.map(|p| p.ip().to_canonical())
    } else {
        trusted_chain(headers, peer, proxies)
    }
}

/// The peer unless it is a trusted proxy; else the rightmost
/// `X-Forwarded-For` entry (over every such header) that is not a trusted
/// proxy — or the leftmost trusted one when all are, or the last one
/// before an unreadable entry.
pub fn trusted_chain(
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
    proxies: &TrustedProxies,
) -> Option<IpAddr> {
    let mut client = peer?.ip().to_canonical();
    if !proxies.contains(client) {
        return Some(client);
    }
    let entries: Vec<&str> = headers
        .get_all(&X_FORWARDED_FOR)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    for entry in entries.into_iter().rev() {
        let Some(ip) = parse_forwarded(entry) else {
            break;
        };
        client = ip.to_canonical();
        if !proxies.contains(client) {
            break;
        }
    }
    Some(client)
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
    fn forwarded_addresses_are_believed_from_trusted_proxies_only() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let gateway: SocketAddr = "10.0.0.2:5000".parse().unwrap();
        let stranger: SocketAddr = "192.0.2.50:5000".parse().unwrap();
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        // A forged leftmost entry is skipped: the gateway appended the client.
        let xff = headers("203.0.113.66, 198.51.100.7, 10.0.0.9");
        assert_eq!(
            trusted_chain(&xff, Some(gateway), &proxies),
            ip("198.51.100.7")
        );
        assert_eq!(
            trusted_chain(&xff, Some(stranger), &proxies),
            ip("192.0.2.50")
        );
        assert_eq!(
            admin_source_ip(&xff, Some(stranger), &TrustedProxies::default()),
            ip("192.0.2.50")
        );
        assert_eq!(
            client_ip(&xff, Some(stranger), &TrustedProxies::default()),
            ip("203.0.113.66"),
            "unset: the spec's leftmost entry"
        );
        assert_eq!(
            trusted_chain(&headers("garbage, 10.0.0.3"), Some(gateway), &proxies),
            ip("10.0.0.3")
        );
        assert_eq!(trusted_chain(&HeaderMap::new(), None, &proxies), None);
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
