# shellcheck shell=sh
# Development defaults for the backend's environment, for `make run`.
#
# Source it from the repository root (the Makefile's `run` target does):
#     . scripts/dev-env.sh && cargo run -p galaxy-backend
# Every variable keeps a value the caller already set (even an empty one);
# only unset ones get the default. POSIX sh, so make's /bin/sh can source it;
# it sets no shell options, since it runs inside the caller's shell.
#
# The services behind these values come from scripts/ensure-postgres.sh,
# scripts/ensure-docker.sh and scripts/dev-stack.sh start.

galaxy_dev_default() {
  # $1 = name, $2 = default; export either way.
  eval "if [ -z \"\${$1+set}\" ]; then $1=\$2; fi; export $1"
}

galaxy_dev_root=${PWD}

# Postgres: the backend requires search_path=backend in the DSN.
galaxy_dev_default BACKEND_POSTGRES_DSN "postgres://postgres@127.0.0.1:5432/galaxy?search_path=backend"

# Mail goes to galaxy-dev-smtp (scripts/dev-stack.sh); inbox on :8025.
galaxy_dev_default BACKEND_SMTP_HOST "127.0.0.1"
galaxy_dev_default BACKEND_SMTP_PORT "2525"
galaxy_dev_default BACKEND_SMTP_TLS_MODE "none"
galaxy_dev_default BACKEND_SMTP_FROM "galaxy@localhost"
galaxy_dev_default BACKEND_NOTIFICATION_ADMIN_EMAIL "admin@localhost"

# Engines: local Docker daemon, network from scripts/ensure-docker.sh,
# reached on published loopback ports since the backend runs on the host.
galaxy_dev_default BACKEND_DOCKER_NETWORK "galaxy-dev"
galaxy_dev_default BACKEND_GAME_STATE_ROOT "${galaxy_dev_root}/.dev/game-state"
galaxy_dev_default BACKEND_RUNTIME_ENGINE_ADDRESSING "loopback"
# The image scripts/engine-image.sh builds, tagged with the game crate's version.
galaxy_dev_default BACKEND_RUNTIME_ENGINE_VERSIONS "0.1.0=galaxy/game:0.1.0"

# Synthetic GeoLite2-Country written by scripts/dev-stack.sh start.
galaxy_dev_default BACKEND_GEOIP_DB_PATH "${galaxy_dev_root}/.dev/geoip/GeoLite2-Country-test.mmdb"

# First admin for the admin surface (HTTP Basic).
galaxy_dev_default BACKEND_ADMIN_BOOTSTRAP_USER "admin"
galaxy_dev_default BACKEND_ADMIN_BOOTSTRAP_PASSWORD "galaxy-dev-admin"

# Telemetry without a collector: no traces, Prometheus scrape endpoint.
galaxy_dev_default BACKEND_OTEL_TRACES_EXPORTER "none"
galaxy_dev_default BACKEND_OTEL_METRICS_EXPORTER "prometheus"

# Listeners on loopback only.
galaxy_dev_default BACKEND_HTTP_LISTEN_ADDR "127.0.0.1:8080"
galaxy_dev_default BACKEND_GRPC_PUSH_LISTEN_ADDR "127.0.0.1:8081"
galaxy_dev_default BACKEND_OTEL_PROMETHEUS_LISTEN_ADDR "127.0.0.1:9100"

unset galaxy_dev_root
unset -f galaxy_dev_default
