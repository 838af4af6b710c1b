#!/usr/bin/env bash
# `make demo`: brings up a throw-away local stack (its own database and
# ports, next to `make run`'s) and plays a short real game: two players
# driven by the `galaxy` CLI through the reference gateway, their login
# codes read from the dev SMTP server's inbox API, their orders written by
# the engine's built-in bot (`galaxy-game bot`, run inside the game's engine
# container), three turns, a pause and a resume in the middle, both
# players' live events on screen, reports printed, then a summary.
#
# Needs what `make demo` prepares first (PostgreSQL, Docker, the engine
# image, the dev SMTP server, the build). Leaves nothing running: the
# backend, the gateway and the game's engine container stop on exit; logs
# stay in .dev/demo/.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
readonly DEMO=$ROOT/.dev/demo
readonly BIN=${CARGO_TARGET_DIR:-$ROOT/target}/debug
readonly DB=galaxy_demo
readonly HTTP=127.0.0.1:18080 GRPC=127.0.0.1:18081 GATEWAY=127.0.0.1:18090
readonly INBOX=http://${GALAXY_DEV_INBOX_ADDR:-127.0.0.1:8025}
readonly TURNS=3

# The demo's own backend: a fresh database, its own ports and state root;
# everything else from the development defaults.
export BACKEND_POSTGRES_DSN="postgres://postgres@127.0.0.1:5432/$DB?search_path=backend"
export BACKEND_HTTP_LISTEN_ADDR=$HTTP BACKEND_GRPC_PUSH_LISTEN_ADDR=$GRPC
export BACKEND_OTEL_METRICS_EXPORTER=none BACKEND_LOGGING_LEVEL=warn
export BACKEND_GAME_STATE_ROOT=$DEMO/game-state
# shellcheck source=scripts/dev-env.sh
. scripts/dev-env.sh
export GALAXY_GATEWAY_URL=http://$GATEWAY GALAXY_BACKEND_URL=http://$HTTP
export GALAXY_ADMIN_USER=$BACKEND_ADMIN_BOOTSTRAP_USER
export GALAXY_ADMIN_PASSWORD=$BACKEND_ADMIN_BOOTSTRAP_PASSWORD

started=$(date +%s)
pids=()    # the backend and the gateway
groups=()  # the watchers' process groups
game=""

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }
json() { python3 -c "import json,sys; v=json.load(sys.stdin); print($1)"; }

cleanup() {
  local status=$?
  for group in "${groups[@]}"; do kill -- "-$group" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  [[ -n $game ]] && docker rm -f "galaxy-game-$game" >/dev/null 2>&1 || true
  if [[ $status -ne 0 ]]; then
    echo "demo: failed; the last lines of the logs in ${DEMO#"$ROOT"/}/:" >&2
    tail -n 15 "$DEMO"/backend.log "$DEMO"/gateway.log >&2 2>/dev/null || true
  fi
}
trap cleanup EXIT

# Waits up to $2 seconds for URL $1 to answer 2xx.
wait_http() {
  for _ in $(seq 1 $(($2 * 10))); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  die "$1 did not answer within $2 s"
}

alice() { GALAXY_CONFIG_DIR=$DEMO/alice "$BIN/galaxy" "$@"; }
bob() { GALAXY_CONFIG_DIR=$DEMO/bob "$BIN/galaxy" "$@"; }
admin() { "$BIN/galaxy" admin "$@"; }

# The login code of the newest mail to $1 in the dev inbox (waits for it).
code_for() {
  for _ in $(seq 1 100); do
    code=$(curl -fsS "$INBOX/api/messages" | python3 -c "
import json, re, sys
for m in json.load(sys.stdin):
    if '$1' in m['envelope_to']:
        found = re.search(r'login code is (\d{6})', m.get('text') or '')
        if found:
            print(found.group(1))
        break
")
    [[ -n $code ]] && { echo "$code"; return 0; }
    sleep 0.1
  done
  die "no login code for $1 in the dev inbox ($INBOX)"
}

# Logs player $1 (alice|bob) in as $2.
login() {
  "$1" login "$2" >/dev/null
  "$1" login "$2" --code "$(code_for "$2")" | sed "s/^/  $1: /"
}

# The current turn of the game.
turn() { alice --json status "$game" | json "v['turn']"; }

# Waits until the game's turn is $1 and takes orders (the engine's turn
# moves first; the runtime is `running` again a moment later).
open_turn() {
  alice --json status "$game" \
    | json "v['turn'] if v['runtime_status'] == 'running' else -1"
}
wait_turn() {
  for _ in $(seq 1 600); do
    [[ $(open_turn) -ge $1 ]] && return 0
    sleep 0.1
  done
  die "turn $1 did not come within 60 s"
}

# Player $1 submits the bot's orders for race $2.
bot_orders() {
  local orders
  orders=$(docker exec "galaxy-game-$game" /galaxy-game bot --race "$2")
  echo "  $1 sends $(wc -l <<<"$orders") orders for $2: $(head -n 3 <<<"$orders" | paste -sd ';' -) …"
  "$1" orders submit "$game" - <<<"$orders" >/dev/null
}

say "Local stack: PostgreSQL database $DB, backend on $HTTP, gateway on $GATEWAY"
for addr in $HTTP $GRPC $GATEWAY; do
  if (exec 3<>"/dev/tcp/${addr%:*}/${addr#*:}") 2>/dev/null; then
    die "$addr is in use (another demo still running?)"
  fi
done
rm -rf "$DEMO"
mkdir -p "$DEMO" "$BACKEND_GAME_STATE_ROOT"
psql -X -q -v ON_ERROR_STOP=1 "postgres://postgres@127.0.0.1:5432/postgres" \
  -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null
"$BIN/galaxy-backend" >"$DEMO/backend.log" 2>&1 &
pids+=($!)
wait_http "http://$HTTP/readyz" 60
DEVGATE_BACKEND_URL=http://$HTTP DEVGATE_PUSH_URL=http://$GRPC DEVGATE_LISTEN_ADDR=$GATEWAY \
  DEVGATE_LOG=warn "$BIN/galaxy-devgate" >"$DEMO/gateway.log" 2>&1 &
pids+=($!)
sleep 0.5
echo "  backend ready; gateway started (logs in ${DEMO#"$ROOT"/}/)"

run=$(date +%s)
say "Two players log in with codes from the dev inbox"
login alice "alice.$run@demo.galaxy"
login bob "bob.$run@demo.galaxy"

say "Alice creates a private game, invites Bob; Bob accepts"
game=$(alice --json game create "Demo $run" --race-name Aldebarans --every 1h --early-turn \
  --min-races 2 --max-races 2 | json "v['game_id']")
echo "  game $game"
bob_name=$(bob --json whoami | json "v['user_name']")
alice game invite "$game" "$bob_name" >/dev/null
invite=$(bob --json game invites | json "[i for i in v['items'] if i['game_id'] == '$game'][0]['invite_id']")
bob game accept "$invite" --race-name Betelgeusians >/dev/null
echo "  Bob joined as Betelgeusians"

say "Live events (each player's 'galaxy watch', in the background)"
# Each watcher in its own process group, so the cleanup ends the whole pipe.
for player in alice bob; do
  GALAXY_CONFIG_DIR=$DEMO/$player setsid bash -c \
    "'$BIN/galaxy' watch --game '$game' 2>/dev/null | sed -u 's/^/  [$player sees] /'" &
  groups+=($!)
done
sleep 1

say "Alice starts the game: the backend starts its engine container"
alice game start "$game" --wait >/dev/null
wait_turn 0
echo "  engine running: container galaxy-game-$game"

for t in $(seq 1 "$TURNS"); do
  say "Turn $((t - 1)): both players send the bot's orders; the turn runs once both are in"
  bot_orders alice Aldebarans
  bot_orders bob Betelgeusians
  wait_turn "$t"
  sleep 0.3
  if [[ $t -eq 1 ]]; then
    say "An operator stops the engine: the game pauses"
    admin stop "$game" >/dev/null
    sleep 1
    echo "  Alice tries to send orders while paused:"
    echo "#GALAXY Aldebarans" | alice orders submit "$game" - 2>&1 | sed 's/^/    /' || true
    say "The operator starts it again: the game resumes at the same turn"
    admin start "$game" >/dev/null
    for _ in $(seq 1 300); do
      [[ $(alice --json status "$game" | json "v['game_status']") == running ]] && break
      sleep 0.1
    done
    sleep 0.5
  fi
done

say "Alice's report of turn $TURNS (the classic text, first lines)"
alice report "$game" --text | head -n 25 | sed 's/^/  /'
say "Bob's report summary"
bob report "$game" | sed 's/^/  /'

say "Summary"
echo "  game $game: turn $(turn) reached in $(($(date +%s) - started)) s — two players through the gateway,"
echo "  bot orders, one pause and resume, live events above"
echo "  logs: ${DEMO#"$ROOT"/}/backend.log, gateway.log; inbox: $INBOX"
