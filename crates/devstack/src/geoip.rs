//! A small synthetic GeoLite2-Country database for tests and `make run`.
//!
//! The file has the shape of MaxMind's GeoLite2-Country (database type
//! `GeoLite2-Country`, IPv6 tree with IPv4 reachable through the usual
//! aliases, records with `continent`, `country` and `registered_country`),
//! but only the documentation ranges of [`FIXTURE_RANGES`] resolve.
//! Everything else — loopback and private ranges included — is "not
//! found", so tests can exercise the unknown-country path with `127.0.0.1`.
//!
//! The output is deterministic (fixed build epoch): writing it twice gives
//! the same bytes, and [`write_fixture`] does not touch an identical file.

use std::io;
use std::path::Path;
use std::time::{Duration, SystemTime};

use mmdb_writer::ipnet::IpNet;
use mmdb_writer::{Value, Writer};

/// Database type recorded in the metadata, as in MaxMind's file.
pub const DATABASE_TYPE: &str = "GeoLite2-Country";

/// One network of the fixture and the country it resolves to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixtureRange {
    /// CIDR network.
    pub network: &'static str,
    /// An address inside `network`, for tests and docs.
    pub sample_ip: &'static str,
    /// ISO 3166-1 alpha-2 code (`country.iso_code`).
    pub iso_code: &'static str,
    /// English name (`country.names.en`).
    pub name: &'static str,
    /// GeoNames id, as MaxMind uses it.
    pub geoname_id: u32,
    pub continent_code: &'static str,
    pub continent_name: &'static str,
    pub continent_geoname_id: u32,
}

/// The networks in the fixture: RFC 5737 IPv4 documentation ranges and the
/// RFC 3849 IPv6 documentation prefix. Nothing else resolves.
pub const FIXTURE_RANGES: &[FixtureRange] = &[
    FixtureRange {
        network: "192.0.2.0/24",
        sample_ip: "192.0.2.10",
        iso_code: "DE",
        name: "Germany",
        geoname_id: 2_921_044,
        continent_code: "EU",
        continent_name: "Europe",
        continent_geoname_id: 6_255_148,
    },
    FixtureRange {
        network: "198.51.100.0/24",
        sample_ip: "198.51.100.10",
        iso_code: "US",
        name: "United States",
        geoname_id: 6_252_001,
        continent_code: "NA",
        continent_name: "North America",
        continent_geoname_id: 6_255_149,
    },
    FixtureRange {
        network: "203.0.113.0/24",
        sample_ip: "203.0.113.10",
        iso_code: "JP",
        name: "Japan",
        geoname_id: 1_861_060,
        continent_code: "AS",
        continent_name: "Asia",
        continent_geoname_id: 6_255_147,
    },
    FixtureRange {
        network: "2001:db8::/32",
        sample_ip: "2001:db8::10",
        iso_code: "FR",
        name: "France",
        geoname_id: 3_017_382,
        continent_code: "EU",
        continent_name: "Europe",
        continent_geoname_id: 6_255_148,
    },
];

/// Addresses the fixture deliberately does not resolve.
pub const UNKNOWN_SAMPLE_IPS: &[&str] = &["127.0.0.1", "10.1.2.3", "8.8.8.8", "::1"];

/// Build time written to the metadata: fixed, so the bytes never change.
const BUILD_EPOCH_SECS: u64 = 1_767_225_600; // 2026-01-01T00:00:00Z

/// The fixture database as bytes.
pub fn fixture_bytes() -> io::Result<Vec<u8>> {
    let mut writer = Writer::builder(DATABASE_TYPE)
        .languages(["en"])
        .description(&[("en", "Galaxy synthetic GeoLite2-Country test fixture")])
        .build_epoch(SystemTime::UNIX_EPOCH + Duration::from_secs(BUILD_EPOCH_SECS))
        .build();
    for range in FIXTURE_RANGES {
        let network: IpNet = range
            .network
            .parse()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        writer
            .insert_value(network, record(range))
            .map_err(io::Error::other)?;
    }
    writer.to_bytes().map_err(io::Error::other)
}

/// Writes the fixture to `path`, creating parent directories. Leaves an
/// identical existing file alone; otherwise replaces it atomically.
pub fn write_fixture(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref();
    let bytes = fixture_bytes()?;
    if std::fs::read(path).is_ok_and(|existing| existing == bytes) {
        return Ok(());
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp-{}", std::process::id()));
    std::fs::write(&tmp, &bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

fn record(range: &FixtureRange) -> Value {
    let country = || {
        Value::map([
            ("geoname_id", Value::from(range.geoname_id)),
            ("iso_code", Value::from(range.iso_code)),
            ("names", Value::map([("en", Value::from(range.name))])),
        ])
    };
    Value::map([
        (
            "continent",
            Value::map([
                ("code", Value::from(range.continent_code)),
                ("geoname_id", Value::from(range.continent_geoname_id)),
                (
                    "names",
                    Value::map([("en", Value::from(range.continent_name))]),
                ),
            ]),
        ),
        ("country", country()),
        ("registered_country", country()),
    ])
}
