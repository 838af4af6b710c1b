#!/usr/bin/env bash
# Makes sure PostgreSQL answers on 127.0.0.1:5432 and database `galaxy`
# exists. Starts the machine's Debian cluster when it is down. Quiet on
# success, idempotent.
#
# Usage (as root): scripts/ensure-postgres.sh
set -euo pipefail

readonly HOST=127.0.0.1 PORT=5432 PGUSER_NAME=postgres DATABASE=galaxy
readonly WAIT_SECONDS=30

die() { echo "ensure-postgres: $*" >&2; exit 1; }

command -v pg_isready >/dev/null 2>&1 || die "pg_isready missing; run scripts/ensure-packages.sh"

ready() { pg_isready -q -h "$HOST" -p "$PORT" -U "$PGUSER_NAME" -t 2; }

if ! ready; then
  # Debian layout: /etc/postgresql/<version>/main. Pick the newest version.
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1 || true)
  [[ -n $version ]] || die "PostgreSQL is not running on $HOST:$PORT and no cluster exists under /etc/postgresql"
  command -v pg_ctlcluster >/dev/null 2>&1 || die "pg_ctlcluster missing (package postgresql-common)"
  out=$(pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>&1) || {
    # "already running" is fine: it may still be starting up.
    grep -qi "already running" <<<"$out" || die "cannot start cluster $version/main: $out"
  }
  for ((i = 0; i < WAIT_SECONDS * 2; i++)); do
    ready && break
    sleep 0.5
  done
  ready || die "PostgreSQL $version/main did not answer on $HOST:$PORT within ${WAIT_SECONDS}s"
fi

psql_() { psql -X -q -v ON_ERROR_STOP=1 -h "$HOST" -p "$PORT" -U "$PGUSER_NAME" -d postgres "$@"; }
exists=$(psql_ -tA -c "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'") \
  || die "cannot query $HOST:$PORT as $PGUSER_NAME"
if [[ $exists != 1 ]]; then
  out=$(psql_ -c "CREATE DATABASE $DATABASE" 2>&1) || {
    # Lost a race with a concurrent run: fine if it exists now.
    grep -q "already exists" <<<"$out" || die "cannot create database $DATABASE: $out"
  }
fi
