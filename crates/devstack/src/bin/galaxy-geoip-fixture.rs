//! `galaxy-geoip-fixture <path>`: writes the synthetic GeoLite2-Country
//! test database (see `galaxy_devstack::geoip`). Idempotent: an identical
//! existing file is left untouched.

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(path), None) = (args.next(), args.next()) else {
        eprintln!("usage: galaxy-geoip-fixture <path/to/GeoLite2-Country-test.mmdb>");
        return ExitCode::from(2);
    };
    if path == "-h" || path == "--help" {
        println!("usage: galaxy-geoip-fixture <path/to/GeoLite2-Country-test.mmdb>");
        return ExitCode::SUCCESS;
    }
    match galaxy_devstack::geoip::write_fixture(&path) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("galaxy-geoip-fixture: cannot write {path}: {e}");
            ExitCode::FAILURE
        }
    }
}
