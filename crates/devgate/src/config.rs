//! `DEVGATE_*` configuration, read from the environment.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

/// The reference gateway's settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// `DEVGATE_LISTEN_ADDR` (default `127.0.0.1:8090`): where clients connect.
    pub listen_addr: SocketAddr,
    /// `DEVGATE_BACKEND_URL` (required): the backend's base URL, e.g.
    /// `http://127.0.0.1:8080` (its gateway listener when the backend has one).
    pub backend_url: String,
    /// `DEVGATE_GATEWAY_SECRET`: sent as `X-Gateway-Credential` to the
    /// backend's user and internal groups and as `x-gateway-credential`
    /// metadata on `SubscribePush` (the backend's `BACKEND_GATEWAY_SECRET`).
    pub gateway_secret: Option<String>,
    /// `DEVGATE_FRESHNESS` (default 60 seconds): how far a request's
    /// timestamp may be from the gateway's clock, either way. Whole
    /// seconds, optionally suffixed `s`.
    pub freshness: Duration,
    /// `DEVGATE_PUSH_URL`: the backend's gRPC push listener, e.g.
    /// `http://127.0.0.1:8081`. Unset: push is off and the event stream
    /// answers `503 push_unavailable`.
    pub push_url: Option<String>,
    /// `DEVGATE_CLIENT_ID` (default `devgate-<hostname>`, or a random
    /// suffix without a hostname): the `gateway_client_id` of the push
    /// subscription.
    pub client_id: String,
    /// `DEVGATE_LOOKUP_CACHE` (default 1 second, `0` turns it off): how
    /// long a session lookup answer is reused.
    pub lookup_cache: Duration,
}

/// The longest `DEVGATE_CLIENT_ID` accepted.
const MAX_CLIENT_ID: usize = 128;

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_vars(
            std::env::vars()
                .filter(|(k, _)| k.starts_with("DEVGATE_"))
                .collect(),
        )
    }

    /// Reads `vars` (names as in the environment).
    pub fn from_vars(vars: BTreeMap<String, String>) -> anyhow::Result<Self> {
        let get = |name: &str| vars.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
        let listen_addr = get("DEVGATE_LISTEN_ADDR")
            .unwrap_or("127.0.0.1:8090")
            .parse()
            .map_err(|e| anyhow::anyhow!("DEVGATE_LISTEN_ADDR: {e}"))?;
        let backend_url = http_url(
            "DEVGATE_BACKEND_URL",
            get("DEVGATE_BACKEND_URL")
                .ok_or_else(|| anyhow::anyhow!("DEVGATE_BACKEND_URL is required"))?,
        )?;
        let push_url = get("DEVGATE_PUSH_URL")
            .map(|raw| http_url("DEVGATE_PUSH_URL", raw))
            .transpose()?;
        let client_id = match get("DEVGATE_CLIENT_ID") {
            Some(id) => client_id(id)?,
            None => default_client_id(),
        };
        Ok(Self {
            listen_addr,
            backend_url,
            gateway_secret: get("DEVGATE_GATEWAY_SECRET").map(str::to_owned),
            freshness: seconds("DEVGATE_FRESHNESS", get("DEVGATE_FRESHNESS"), 60)?,
            push_url,
            client_id,
            lookup_cache: seconds("DEVGATE_LOOKUP_CACHE", get("DEVGATE_LOOKUP_CACHE"), 1)?,
        })
    }
}

/// An `http://` or `https://` URL without a trailing slash.
fn http_url(name: &str, raw: &str) -> anyhow::Result<String> {
    if !raw.starts_with("http://") && !raw.starts_with("https://") {
        anyhow::bail!("{name}: expected an http:// or https:// URL");
    }
    Ok(raw.trim_end_matches('/').to_owned())
}

/// Whole seconds, optionally suffixed `s`; `default` when unset.
fn seconds(name: &str, raw: Option<&str>, default: u64) -> anyhow::Result<Duration> {
    let Some(raw) = raw else {
        return Ok(Duration::from_secs(default));
    };
    raw.strip_suffix('s')
        .unwrap_or(raw)
        .parse()
        .map(Duration::from_secs)
        .map_err(|_| anyhow::anyhow!("{name}: expected whole seconds, e.g. {default}s"))
}

/// A `gateway_client_id`: printable ASCII without spaces, at most
/// [`MAX_CLIENT_ID`] characters.
fn client_id(raw: &str) -> anyhow::Result<String> {
    if raw.len() > MAX_CLIENT_ID || !raw.bytes().all(|b| b.is_ascii_graphic()) {
        anyhow::bail!(
            "DEVGATE_CLIENT_ID: expected at most {MAX_CLIENT_ID} printable ASCII characters without spaces"
        );
    }
    Ok(raw.to_owned())
}

/// `devgate-<hostname>`, or `devgate-<random>` when the hostname is not
/// readable or not a valid id.
fn default_client_id() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| format!("devgate-{}", h.trim()))
        .filter(|id| id.len() > "devgate-".len())
        .and_then(|id| client_id(&id).ok())
        .unwrap_or_else(|| format!("devgate-{}", uuid::Uuid::new_v4().simple()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_apply_and_the_backend_url_is_required() {
        let c =
            Config::from_vars(vars(&[("DEVGATE_BACKEND_URL", "http://127.0.0.1:8080/")])).unwrap();
        assert_eq!(c.listen_addr.to_string(), "127.0.0.1:8090");
        assert_eq!(c.backend_url, "http://127.0.0.1:8080");
        assert_eq!(c.freshness, Duration::from_secs(60));
        assert_eq!(c.lookup_cache, Duration::from_secs(1));
        assert!(c.gateway_secret.is_none());
        assert!(c.push_url.is_none());
        assert!(c.client_id.starts_with("devgate-"), "{}", c.client_id);
        assert!(Config::from_vars(vars(&[])).is_err());
        assert!(Config::from_vars(vars(&[("DEVGATE_BACKEND_URL", "127.0.0.1:8080")])).is_err());
    }

    #[test]
    fn freshness_takes_seconds_with_or_without_a_suffix() {
        for raw in ["30", "30s"] {
            let c = Config::from_vars(vars(&[
                ("DEVGATE_BACKEND_URL", "http://b"),
                ("DEVGATE_FRESHNESS", raw),
            ]))
            .unwrap();
            assert_eq!(c.freshness, Duration::from_secs(30));
        }
        assert!(
            Config::from_vars(vars(&[
                ("DEVGATE_BACKEND_URL", "http://b"),
                ("DEVGATE_FRESHNESS", "1m")
            ]))
            .is_err()
        );
    }

    #[test]
    fn push_settings_are_validated_and_named_in_errors() {
        let c = Config::from_vars(vars(&[
            ("DEVGATE_BACKEND_URL", "http://b"),
            ("DEVGATE_PUSH_URL", "http://127.0.0.1:8081/"),
            ("DEVGATE_CLIENT_ID", "gw-1"),
            ("DEVGATE_LOOKUP_CACHE", "0"),
        ]))
        .unwrap();
        assert_eq!(c.push_url.as_deref(), Some("http://127.0.0.1:8081"));
        assert_eq!(c.client_id, "gw-1");
        assert_eq!(c.lookup_cache, Duration::ZERO);
        for (name, bad) in [
            ("DEVGATE_PUSH_URL", "127.0.0.1:8081"),
            ("DEVGATE_CLIENT_ID", "has space"),
            ("DEVGATE_LOOKUP_CACHE", "soon"),
        ] {
            let e = Config::from_vars(vars(&[("DEVGATE_BACKEND_URL", "http://b"), (name, bad)]))
                .unwrap_err();
            assert!(e.to_string().contains(name), "{e}");
        }
    }
}
