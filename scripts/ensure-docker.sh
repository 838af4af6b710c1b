#!/usr/bin/env bash
# Makes sure the Docker daemon answers, starting `dockerd` in the
# background (detached, logging to /var/log/galaxy-dockerd.log) when it does
# not, then makes sure the bridge network exists. Quiet on success,
# idempotent.
#
# Usage (as root): scripts/ensure-docker.sh [network]   (default: galaxy-dev)
set -euo pipefail

readonly NETWORK=${1:-galaxy-dev}
readonly LOG=/var/log/galaxy-dockerd.log
readonly WAIT_SECONDS=60

die() { echo "ensure-docker: $*" >&2; exit 1; }

command -v docker >/dev/null 2>&1 || die "docker CLI missing; run scripts/ensure-packages.sh"

up() { docker info >/dev/null 2>&1; }

if ! up; then
  command -v dockerd >/dev/null 2>&1 || die "dockerd missing; run scripts/ensure-packages.sh"
  if ! pgrep -x dockerd >/dev/null 2>&1; then
    # A stale pid file from a killed daemon makes dockerd refuse to start.
    if [[ -f /var/run/docker.pid ]] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
      rm -f /var/run/docker.pid
    fi
    # setsid + nohup: the daemon outlives the calling shell (make, CI step)
    # and gets no terminal signals; stdin from /dev/null so it never waits.
    setsid nohup dockerd >>"$LOG" 2>&1 </dev/null &
  fi
  for ((i = 0; i < WAIT_SECONDS * 2; i++)); do
    up && break
    sleep 0.5
  done
  up || die "dockerd did not answer within ${WAIT_SECONDS}s; see $LOG"
fi

if ! docker network inspect "$NETWORK" >/dev/null 2>&1; then
  out=$(docker network create --driver bridge "$NETWORK" 2>&1) || {
    docker network inspect "$NETWORK" >/dev/null 2>&1 || die "cannot create network $NETWORK: $out"
  }
fi
