//! `BACKEND_TRUSTED_PROXIES` (added): the addresses whose `X-Forwarded-For`
//! is believed — single addresses or CIDR blocks, comma-separated.

use std::net::IpAddr;

/// A list of trusted proxy networks; empty when unset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<(IpAddr, u8)>);

impl TrustedProxies {
    /// `10.0.0.5, 10.1.0.0/16, 2001:db8::/32` (at least one entry).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (addr, prefix) = match entry.split_once('/') {
                Some((addr, prefix)) => (addr, Some(prefix)),
                None => (entry, None),
            };
            let addr: IpAddr = addr
                .parse()
                .map_err(|_| format!("{entry:?} is not an IP address or CIDR block"))?;
            let addr = addr.to_canonical();
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let prefix = match prefix {
                None => max,
                Some(p) => p
                    .parse::<u8>()
                    .ok()
                    .filter(|p| *p <= max)
                    .ok_or_else(|| format!("{entry:?} has an invalid prefix length"))?,
            };
            nets.push((addr, prefix));
        }
        if nets.is_empty() {
            return Err("must list at least one address".into());
        }
        Ok(Self(nets))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` (canonicalised: `::ffff:a.b.c.d` is `a.b.c.d`) is in
    /// one of the networks.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|(net, prefix)| match (net, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(*prefix)).unwrap_or(0);
                u32::from(*net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(*prefix)).unwrap_or(0);
                u128::from(*net) & mask == u128::from(ip) & mask
            }
            _ => false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_blocks_are_matched() {
        let p = TrustedProxies::parse("10.0.0.5, 172.16.0.0/12,2001:db8::/32").unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(p.contains(ip("10.0.0.5")));
        assert!(!p.contains(ip("10.0.0.6")));
        assert!(p.contains(ip("172.31.255.1")));
        assert!(!p.contains(ip("172.32.0.1")));
        assert!(p.contains(ip("2001:db8::1")));
        assert!(p.contains(ip("::ffff:10.0.0.5")));
        assert!(
            TrustedProxies::parse("0.0.0.0/0")
                .unwrap()
                .contains(ip("1.2.3.4"))
        );
        for bad in ["", "10.0.0.300", "10.0.0.0/33", "::/129", "x/8"] {
            assert!(TrustedProxies::parse(bad).is_err(), "{bad:?}");
        }
    }
}
