#!/usr/bin/env bash
# The property-based contract run: schemathesis generates requests from the
# served openapi.yaml (examples, coverage, fuzzing and stateful phases
# through the document's links) and sends them to the real backend, on a
# fresh PostgreSQL database with its own dev SMTP server (crates/devstack,
# on free ports, so a running `make run` stack is left alone). It fails on any
# mismatch: a status code or response the contract does not describe, a
# server error, a schema-invalid request accepted, a schema-valid request
# rejected. Called by scripts/run-tests.sh after the cargo tests.
#
# Environment (all optional):
#   GALAXY_CONTRACT_SEED          Hypothesis seed (default: pinned below;
#                                 `random` picks one and prints it)
#   GALAXY_CONTRACT_MAX_EXAMPLES  examples per operation and phase (default 50)
#   GALAXY_CONTRACT_REPORT_DIR    where reports go (default .dev/contract)
#   GALAXY_CONTRACT_BIN_DIR       use these binaries instead of building them
#   GALAXY_CONTRACT_SCHEMA        test against this document instead of the
#                                 served one (a file path)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

readonly DEFAULT_SEED=160420261206
SEED=${GALAXY_CONTRACT_SEED:-$DEFAULT_SEED}
[[ $SEED == random ]] && SEED=$((RANDOM * 32768 + RANDOM))
readonly MAX_EXAMPLES=${GALAXY_CONTRACT_MAX_EXAMPLES:-50}
readonly REPORT_DIR=${GALAXY_CONTRACT_REPORT_DIR:-$ROOT/.dev/contract}
readonly ADMIN_USER=contract.root
readonly ADMIN_PASSWORD=contract-run-password
readonly MAINTENANCE_URL=${GALAXY_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}

die() { echo "contract-test: $*" >&2; exit 1; }

ST=$(scripts/ensure-schemathesis.sh)
PYTHON=$(dirname "$ST")/python
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
[[ $TARGET_DIR = /* ]] || TARGET_DIR=$ROOT/$TARGET_DIR
BIN_DIR=${GALAXY_CONTRACT_BIN_DIR:-$TARGET_DIR/debug}
if [[ -z ${GALAXY_CONTRACT_BIN_DIR:-} ]]; then
  cargo build -q -p galaxy-backend -p galaxy-devstack --bins || die "cargo build failed"
fi

WORK=$(mktemp -d)
DB=galaxy_contract_$$_$RANDOM
BACKEND_PID=
SMTP_PID=
stop() {
  if [[ -n $1 ]] && kill -0 "$1" 2>/dev/null; then
    kill -TERM "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
  fi
}
cleanup() {
  stop "$BACKEND_PID"
  stop "$SMTP_PID"
  psql -q "$MAINTENANCE_URL" -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

psql -q "$MAINTENANCE_URL" -c "CREATE DATABASE \"$DB\"" >/dev/null || die "cannot create database $DB"
DB_URL="${MAINTENANCE_URL%/*}/$DB?search_path=backend"

# Free loopback ports: HTTP, gRPC, metrics, SMTP, inbox.
read -r HTTP_PORT GRPC_PORT METRICS_PORT SMTP_PORT INBOX_PORT < <("$PYTHON" - <<'PY'
import socket
socks = [socket.socket() for _ in range(5)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
)
BASE=http://127.0.0.1:$HTTP_PORT
INBOX=http://127.0.0.1:$INBOX_PORT

"$BIN_DIR/galaxy-geoip-fixture" "$WORK/GeoLite2-Country-test.mmdb" || die "cannot write the GeoIP fixture"
"$BIN_DIR/galaxy-dev-smtp" --smtp-addr "127.0.0.1:$SMTP_PORT" --http-addr "127.0.0.1:$INBOX_PORT" \
  >"$WORK/smtp.log" 2>&1 </dev/null &
SMTP_PID=$!

(
  export BACKEND_POSTGRES_DSN=$DB_URL
  export BACKEND_HTTP_LISTEN_ADDR=127.0.0.1:$HTTP_PORT
  export BACKEND_GRPC_PUSH_LISTEN_ADDR=127.0.0.1:$GRPC_PORT
  export BACKEND_OTEL_PROMETHEUS_LISTEN_ADDR=127.0.0.1:$METRICS_PORT
  export BACKEND_ADMIN_BOOTSTRAP_USER=$ADMIN_USER
  export BACKEND_ADMIN_BOOTSTRAP_PASSWORD=$ADMIN_PASSWORD
  # Negative tests send wrong credentials on purpose; the throttle has its
  # own tests and would otherwise lock the run out after 10 of them.
  export BACKEND_ADMIN_AUTH_FAILURE_LIMIT=0
  export BACKEND_LOGGING_LEVEL=${BACKEND_LOGGING_LEVEL:-warn}
  export BACKEND_GAME_STATE_ROOT=$WORK/game-state
  export BACKEND_GEOIP_DB_PATH=$WORK/GeoLite2-Country-test.mmdb
  export BACKEND_SMTP_HOST=127.0.0.1 BACKEND_SMTP_PORT=$SMTP_PORT
  # shellcheck source=scripts/dev-env.sh
  . scripts/dev-env.sh
  exec "$BIN_DIR/galaxy-backend"
) >"$WORK/backend.log" 2>&1 &
BACKEND_PID=$!

for ((i = 0; i < 600; i++)); do
  curl -fs "$BASE/readyz" >/dev/null 2>&1 && break
  kill -0 "$BACKEND_PID" 2>/dev/null || { cat "$WORK/backend.log" >&2; die "the backend exited"; }
  sleep 0.1
done
curl -fs "$BASE/readyz" >/dev/null || { cat "$WORK/backend.log" >&2; die "the backend did not become ready"; }

SEEDED=$("$PYTHON" scripts/contract/seed.py "$BASE" "$INBOX" "$$-$RANDOM") || die "seeding failed"
USER_ID=$("$PYTHON" -c 'import json,sys; print(json.loads(sys.argv[1])["user_id"])' "$SEEDED")
VICTIM_ID=$("$PYTHON" -c 'import json,sys; print(json.loads(sys.argv[1])["victim_user_id"])' "$SEEDED")

sed -e "s/@USER_ID@/$USER_ID/g" -e "s/@VICTIM_ID@/$VICTIM_ID/g" \
  scripts/contract/schemathesis.toml >"$WORK/schemathesis.toml"

mkdir -p "$REPORT_DIR"
echo "contract: schemathesis, seed $SEED, $MAX_EXAMPLES examples per operation (GALAXY_CONTRACT_SEED=$SEED to replay)"
status=0
# From the scratch directory: schemathesis and Hypothesis leave caches in
# the working directory.
cd "$WORK"
PYTHONPATH=$ROOT/scripts/contract SCHEMATHESIS_HOOKS=contract_hooks \
  "$ST" --config-file "$WORK/schemathesis.toml" run "${GALAXY_CONTRACT_SCHEMA:-$BASE/openapi.yaml}" \
  --url "$BASE" \
  --seed "$SEED" \
  --max-examples "$MAX_EXAMPLES" \
  --phases examples,coverage,fuzzing,stateful \
  --checks all \
  --auth "$ADMIN_USER:$ADMIN_PASSWORD" \
  --workers 2 \
  --generation-database none \
  --no-color \
  --report junit,ndjson --report-dir "$REPORT_DIR" \
  >"$REPORT_DIR/output.txt" 2>&1 || status=$?
# "Test cases:" is followed by "N generated, N passed, …" or
# "N generated, M found K unique failures, …".
cases=$(grep -A1 '^Test cases:' "$REPORT_DIR/output.txt" | tail -n 1)
passed=$(sed -nE 's/.* ([0-9]+) passed.*/\1/p' <<<"$cases")
failed=$(sed -nE 's/.* ([0-9]+) unique failures?.*/\1/p' <<<"$cases")
if [[ $status -ne 0 ]]; then
  cat "$REPORT_DIR/output.txt"
  echo "--- backend log (last 50 lines) ---"
  tail -n 50 "$WORK/backend.log"
  echo "contract: ${passed:-0} passed, ${failed:-1} failed"
  die "the contract run failed (seed $SEED); reports in ${REPORT_DIR#"$ROOT"/}"
fi
echo "contract: ${passed:-0} passed, 0 failed"
