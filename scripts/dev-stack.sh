#!/usr/bin/env bash
# The local services `make run` needs besides Postgres and Docker:
#   - galaxy-dev-smtp: catches the backend's mail (SMTP on
#     $BACKEND_SMTP_HOST:$BACKEND_SMTP_PORT, web inbox on $GALAXY_DEV_INBOX_ADDR)
#     and prints every message (login codes included) to .dev/dev-smtp.log;
#   - the synthetic GeoIP database at $BACKEND_GEOIP_DB_PATH;
#   - the engine state directory $BACKEND_GAME_STATE_ROOT.
# Addresses and paths come from scripts/dev-env.sh, so they match the
# backend's. Idempotent: `start` never runs a second copy.
#
# Usage: scripts/dev-stack.sh start|stop|status   (from anywhere)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/dev-env.sh
. scripts/dev-env.sh

readonly DEV_DIR=$ROOT/.dev
readonly PID_FILE=$DEV_DIR/dev-smtp.pid
readonly LOG_FILE=$DEV_DIR/dev-smtp.log
readonly SMTP_ADDR=${BACKEND_SMTP_HOST}:${BACKEND_SMTP_PORT}
readonly INBOX_ADDR=${GALAXY_DEV_INBOX_ADDR:-127.0.0.1:8025}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
[[ $TARGET_DIR = /* ]] || TARGET_DIR=$ROOT/$TARGET_DIR
readonly BIN_DIR=$TARGET_DIR/debug
readonly START_WAIT_SECONDS=15

die() { echo "dev-stack: $*" >&2; exit 1; }

# The pid of our running galaxy-dev-smtp, or nothing.
running_pid() {
  [[ -f $PID_FILE ]] || return 0
  local pid
  pid=$(<"$PID_FILE")
  if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null \
    && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == galaxy-dev-smt* ]]; then
    echo "$pid"
  fi
}

where() {
  echo "dev SMTP (plain, no auth): $SMTP_ADDR  inbox: http://$INBOX_ADDR/  log: ${LOG_FILE#"$ROOT"/}"
}

start() {
  mkdir -p "$DEV_DIR" "$BACKEND_GAME_STATE_ROOT"
  cargo build -q -p galaxy-devstack --bins || die "cargo build -p galaxy-devstack failed"
  "$BIN_DIR/galaxy-geoip-fixture" "$BACKEND_GEOIP_DB_PATH" || die "cannot write the GeoIP fixture"

  if [[ -n $(running_pid) ]]; then
    where
    return 0
  fi
  rm -f "$PID_FILE"
  local offset=0
  [[ -f $LOG_FILE ]] && offset=$(wc -c <"$LOG_FILE")
  # setsid + nohup: it outlives the calling shell (make) and its signals.
  setsid nohup "$BIN_DIR/galaxy-dev-smtp" --smtp-addr "$SMTP_ADDR" --http-addr "$INBOX_ADDR" \
    >>"$LOG_FILE" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$PID_FILE"

  # Ready once it printed its listening line (both listeners are bound then).
  local output
  for ((i = 0; i < START_WAIT_SECONDS * 10; i++)); do
    output=$(tail -c +"$((offset + 1))" "$LOG_FILE")
    if grep -q "^galaxy-dev-smtp: SMTP on .*, inbox on http" <<<"$output"; then
      where
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PID_FILE"
      die "galaxy-dev-smtp exited: $(tail -c +"$((offset + 1))" "$LOG_FILE")"
    fi
    sleep 0.1
  done
  die "galaxy-dev-smtp did not come up within ${START_WAIT_SECONDS}s; see $LOG_FILE"
}

stop() {
  local pid
  pid=$(running_pid)
  if [[ -n $pid ]]; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$PID_FILE"
}

status() {
  local pid
  pid=$(running_pid)
  if [[ -n $pid ]]; then
    echo "galaxy-dev-smtp running (pid $pid)"
    where
  else
    echo "galaxy-dev-smtp not running"
    return 3
  fi
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: scripts/dev-stack.sh start|stop|status" >&2; exit 2 ;;
esac
