//! `deploy/compose.yaml` (and the host-database override) is a valid
//! compose file that names the images `make images` builds and the
//! topology the scenarios above run: the backend on the engine network
//! with `network` addressing and the Docker socket, the gateway in front.

use std::process::Command;

const DEPLOY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy");

/// `docker-compose -f FILE... config`: the merged, normalised file (YAML).
fn config(files: &[&str]) -> String {
    let mut cmd = Command::new("docker-compose");
    for file in files {
        cmd.args(["-f", &format!("{DEPLOY}/{file}")]);
    }
    let out = cmd.arg("config").output().unwrap_or_else(|e| {
        panic!("docker-compose not found ({e}): run `make prepare` (scripts/ensure-packages.sh installs it)")
    });
    assert!(
        out.status.success(),
        "docker-compose config {files:?}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The block of service `name` in `config`'s output (the lines under
/// `  name:`, indented deeper).
fn service(config: &str, name: &str) -> String {
    let header = format!("  {name}:");
    let mut lines = config.lines().skip_while(|l| *l != header);
    assert!(lines.next().is_some(), "service {name} missing:\n{config}");
    lines
        .take_while(|l| l.starts_with("    "))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_compose_file_is_valid_and_runs_the_suites_topology() {
    let base = config(&["compose.yaml"]);
    let version = env!("CARGO_PKG_VERSION");
    for name in ["postgres", "smtp", "geoip", "backend", "devgate"] {
        service(&base, name);
    }
    let backend = service(&base, "backend");
    for needle in [
        format!("image: galaxy/backend:{version}"),
        "BACKEND_RUNTIME_ENGINE_ADDRESSING: network".to_owned(),
        "BACKEND_DOCKER_NETWORK: galaxy-engines".to_owned(),
        format!("BACKEND_RUNTIME_ENGINE_VERSIONS: {version}=galaxy/game:{version}"),
        "/var/run/docker.sock:/var/run/docker.sock".to_owned(),
    ] {
        assert!(
            backend.contains(&needle),
            "backend lacks {needle:?}:\n{backend}"
        );
    }
    assert!(
        backend
            .lines()
            .any(|l| l.trim_start().starts_with("engines:")),
        "the backend is not on the engine network:\n{backend}"
    );
    assert!(service(&base, "devgate").contains("DEVGATE_BACKEND_URL: http://backend:8080"));
    assert!(base.contains("name: galaxy-engines"), "{base}");

    // On this machine: the host's database through the forwarder.
    let host = config(&["compose.yaml", "compose.host-db.yaml"]);
    let postgres = service(&host, "postgres");
    assert!(postgres.contains("/galaxy-dev-forward"), "{postgres}");
    assert!(postgres.contains("network_mode: host"), "{postgres}");
    assert!(
        service(&host, "backend").contains("@172.30.57.1:5432/"),
        "the backend does not use the forwarder"
    );
}
