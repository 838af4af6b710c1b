//! GeoIP and the per-country request counters: `BACKEND_GEOIP_DB_PATH`,
//! `BACKEND_GEO_*`.

use crate::config::GeoIpConfig;
use crate::config::load::Loader;
use crate::config::values::{positive_duration, readable_file, u32_in};

impl Loader {
    pub(in crate::config) fn geoip(&mut self) -> Option<GeoIpConfig> {
        let db_path = self.value("BACKEND_GEOIP_DB_PATH", readable_file);
        let shard_capacity = self.value("BACKEND_GEO_SHARD_CAPACITY", |s| u32_in(s, 1, 1_000_000));
        let flush_interval = self.value("BACKEND_GEO_FLUSH_INTERVAL", positive_duration);
        Some(GeoIpConfig {
            db_path: db_path?,
            shard_capacity: shard_capacity?,
            flush_interval: flush_interval?,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::config::testing::*;

    #[test]
    fn geoip_path_must_be_a_readable_regular_file() {
        let text = refused_for(
            "BACKEND_GEOIP_DB_PATH",
            &[("BACKEND_GEOIP_DB_PATH", env!("CARGO_MANIFEST_DIR"))],
        );
        assert!(text.contains("not a regular file"), "{text}");
    }

    #[test]
    fn counter_settings_have_defaults_and_are_checked() {
        let c = load(&[]);
        assert_eq!(c.geoip.shard_capacity, 16_384);
        assert_eq!(c.geoip.flush_interval, std::time::Duration::from_secs(1));
        let c = load(&[
            ("BACKEND_GEO_SHARD_CAPACITY", "10"),
            ("BACKEND_GEO_FLUSH_INTERVAL", "250ms"),
        ]);
        assert_eq!(c.geoip.shard_capacity, 10);
        assert_eq!(
            c.geoip.flush_interval,
            std::time::Duration::from_millis(250)
        );
        refused_for(
            "BACKEND_GEO_SHARD_CAPACITY",
            &[("BACKEND_GEO_SHARD_CAPACITY", "0")],
        );
        refused_for(
            "BACKEND_GEO_FLUSH_INTERVAL",
            &[("BACKEND_GEO_FLUSH_INTERVAL", "0s")],
        );
    }
}
