#!/usr/bin/env bash
# Runs every test of the workspace. Called by `make test` after `make prepare`.
# Uses cargo-nextest when present (each test in its own process, in parallel),
# otherwise cargo test; then the property-based contract run
# (scripts/contract-test.sh). Quiet on success apart from the summary lines.
set -euo pipefail
cd "$(dirname "$0")/.."

# Engine containers a failed earlier run left behind (the tests' Docker
# network is galaxy-test; `make run`'s engines are on galaxy-dev and stay).
if command -v docker >/dev/null 2>&1; then
  leftovers=$(docker ps -aq --filter label=galaxy.backend=1 --filter network=galaxy-test 2>/dev/null || true)
  if [[ -n "$leftovers" ]]; then
    # shellcheck disable=SC2086
    docker rm -f $leftovers >/dev/null 2>&1 || true
  fi
  # What a killed run of the integration suite (crates/e2e) left: its
  # networks (galaxy-e2e-*, labelled galaxy.e2e=1) with every container
  # on them, the backend's and the engines.
  for network in $(docker network ls -q --filter label=galaxy.e2e=1 2>/dev/null || true); do
    on_it=$(docker ps -aq --filter "network=$network" 2>/dev/null || true)
    # shellcheck disable=SC2086
    [[ -z "$on_it" ]] || docker rm -f $on_it >/dev/null 2>&1 || true
    docker network rm "$network" >/dev/null 2>&1 || true
  done
fi

status=0
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --cargo-quiet --status-level fail --final-status-level fail \
    --test-threads "${GALAXY_TEST_THREADS:-4}" --no-fail-fast || status=$?
else
  cargo test --workspace -q --no-fail-fast || status=$?
fi

# The property-based contract run against the real server (schemathesis).
scripts/contract-test.sh || status=$?
exit "$status"
