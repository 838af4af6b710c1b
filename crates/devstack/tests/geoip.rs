//! The GeoIP fixture read back by the `maxminddb` crate (the backend's
//! reader) and by MaxMind's reference C reader `mmdblookup`.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use galaxy_devstack::geoip::{self, DATABASE_TYPE, FIXTURE_RANGES, UNKNOWN_SAMPLE_IPS};
use maxminddb::geoip2;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("galaxy-devstack-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn reader() -> maxminddb::Reader<Vec<u8>> {
    maxminddb::Reader::from_source(geoip::fixture_bytes().unwrap()).unwrap()
}

#[test]
fn metadata_looks_like_geolite2_country() {
    let reader = reader();
    let metadata = reader.metadata();
    assert_eq!(metadata.database_type, DATABASE_TYPE);
    assert_eq!(metadata.ip_version, 6);
    assert!(metadata.languages.iter().any(|l| l == "en"));
}

#[test]
fn every_fixture_range_resolves_to_its_country() {
    let reader = reader();
    for range in FIXTURE_RANGES {
        let ip: IpAddr = range.sample_ip.parse().unwrap();
        let record: geoip2::Country = reader
            .lookup(ip)
            .unwrap()
            .decode()
            .unwrap()
            .unwrap_or_else(|| panic!("{} has no record", range.sample_ip));
        assert_eq!(
            record.country.iso_code,
            Some(range.iso_code),
            "{}",
            range.network
        );
        assert_eq!(record.country.names.english, Some(range.name));
        assert_eq!(record.country.geoname_id, Some(range.geoname_id));
        assert_eq!(record.registered_country.iso_code, Some(range.iso_code));
        assert_eq!(record.continent.code, Some(range.continent_code));
    }
}

#[test]
fn whole_ranges_resolve_and_neighbours_do_not() {
    let reader = reader();
    let iso = |ip: &str| -> Option<String> {
        let result = reader.lookup(ip.parse().unwrap()).unwrap();
        let record: Option<geoip2::Country> = result.decode().unwrap();
        record.and_then(|r| r.country.iso_code.map(str::to_owned))
    };
    assert_eq!(iso("192.0.2.0").as_deref(), Some("DE"));
    assert_eq!(iso("192.0.2.255").as_deref(), Some("DE"));
    assert_eq!(iso("192.0.3.0"), None);
    assert_eq!(iso("2001:db8:ffff::1").as_deref(), Some("FR"));
    assert_eq!(iso("2001:db9::1"), None);
    // IPv4 also answers in its IPv4-mapped IPv6 form, as in MaxMind's files.
    assert_eq!(iso("::ffff:203.0.113.7").as_deref(), Some("JP"));
    for ip in UNKNOWN_SAMPLE_IPS {
        assert_eq!(iso(ip), None, "{ip} must not resolve");
    }
}

#[test]
fn write_fixture_is_idempotent_and_creates_parents() {
    let dir = temp_dir("idempotent");
    let path = dir.join("nested/geoip/GeoLite2-Country-test.mmdb");
    geoip::write_fixture(&path).unwrap();
    let first = std::fs::read(&path).unwrap();
    let modified = std::fs::metadata(&path).unwrap().modified().unwrap();

    geoip::write_fixture(&path).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), first);
    assert_eq!(
        std::fs::metadata(&path).unwrap().modified().unwrap(),
        modified,
        "untouched"
    );

    std::fs::write(&path, b"corrupt").unwrap();
    geoip::write_fixture(&path).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), first, "repaired");
    let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temporary files left");
    std::fs::remove_dir_all(dir).unwrap();
}

/// The reference C reader (Debian `mmdb-bin`, installed by
/// `scripts/ensure-packages.sh`).
fn mmdblookup(file: &Path, ip: &str) -> Option<std::process::Output> {
    match Command::new("mmdblookup")
        .args(["--file"])
        .arg(file)
        .args(["--ip", ip, "country", "iso_code"])
        .output()
    {
        Ok(output) => Some(output),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => panic!("mmdblookup: {e}"),
    }
}

#[test]
fn the_reference_c_reader_agrees() {
    let dir = temp_dir("mmdblookup");
    let path = dir.join("GeoLite2-Country-test.mmdb");
    geoip::write_fixture(&path).unwrap();

    if mmdblookup(&path, "192.0.2.10").is_none() {
        eprintln!(
            "SKIPPED: mmdblookup not installed (Debian mmdb-bin; run scripts/ensure-packages.sh)"
        );
        return;
    }
    for range in FIXTURE_RANGES {
        let output = mmdblookup(&path, range.sample_ip).unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{}: {}",
            range.sample_ip,
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            stdout.contains(&format!("\"{}\" <utf8_string>", range.iso_code)),
            "{} → {stdout}",
            range.sample_ip
        );
    }
    let output = mmdblookup(&path, "127.0.0.1").unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        all.contains("Could not find an entry"),
        "loopback must not resolve: {all}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
