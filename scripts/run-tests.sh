#!/usr/bin/env bash
# Runs every test of the workspace. Called by `make test` after `make prepare`.
# Uses cargo-nextest when present (each test in its own process, in parallel),
# otherwise cargo test; then the property-based contract run
# (scripts/contract-test.sh). Quiet on success apart from the summary lines.
set -euo pipefail
cd "$(dirname "$0")/.."

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
