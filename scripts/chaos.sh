#!/usr/bin/env bash
# `make chaos`: the chaos suite (crates/chaos: the real backend binary,
# PostgreSQL, an SMTP server, faults injected; one line of figures per
# scenario), then a short fuzz run of every input parser with a fresh seed
# (scripts/fuzz.sh). Nothing here asserts a timing. It restarts the
# machine's PostgreSQL (scenario pg-restart): do not run it next to other
# work on the same server. Scenario engine-faults restarts the Docker daemon
# (every container on it dies) and needs the engine image, built here first.
#
# Usage: scripts/chaos.sh [SCENARIO ...]   (GALAXY_CHAOS_SEED replays fault
# moments; CHAOS_FUZZ_SECONDS, default 10, is the fuzz budget per property)
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build -q --release -p galaxy-backend -p galaxy-chaos
if [[ $# -eq 0 || " $* " == *" engine-faults "* ]]; then
  scripts/ensure-docker.sh galaxy-chaos
  scripts/engine-image.sh >/dev/null
fi
status=0
GALAXY_CHAOS_BACKEND_BIN=target/release/galaxy-backend target/release/galaxy-chaos "$@" || status=$?
if [[ $# -eq 0 ]]; then
  scripts/fuzz.sh "${CHAOS_FUZZ_SECONDS:-10}" || status=$?
fi
exit "$status"
