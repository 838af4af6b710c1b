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
    /// backend's user and internal groups (the backend's `BACKEND_GATEWAY_SECRET`).
    pub gateway_secret: Option<String>,
    /// `DEVGATE_FRESHNESS` (default 60 seconds): how far a request's
    /// timestamp may be from the gateway's clock, either way. Whole
    /// seconds, optionally suffixed `s`.
    pub freshness: Duration,
}

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
        let backend_url = get("DEVGATE_BACKEND_URL")
            .ok_or_else(|| anyhow::anyhow!("DEVGATE_BACKEND_URL is required"))?
            .trim_end_matches('/')
            .to_owned();
        if !backend_url.starts_with("http://") && !backend_url.starts_with("https://") {
            anyhow::bail!("DEVGATE_BACKEND_URL: expected an http:// or https:// URL");
        }
        let gateway_secret = get("DEVGATE_GATEWAY_SECRET").map(str::to_owned);
        let freshness = match get("DEVGATE_FRESHNESS") {
            None => Duration::from_secs(60),
            Some(raw) => {
                let secs: u64 = raw.strip_suffix('s').unwrap_or(raw).parse().map_err(|_| {
                    anyhow::anyhow!("DEVGATE_FRESHNESS: expected whole seconds, e.g. 60s")
                })?;
                Duration::from_secs(secs)
            }
        };
        Ok(Self {
            listen_addr,
            backend_url,
            gateway_secret,
            freshness,
        })
    }
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
        assert!(c.gateway_secret.is_none());
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
}
