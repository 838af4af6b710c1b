#!/usr/bin/env bash
# Prints every benchmark figure (`make bench`). Benchmarks run in release mode
# against the real service on loopback; nothing here asserts a timing.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build -q --release -p galaxy-bench -p galaxy-backend -p galaxy-game --bins

# title | command
readonly BENCHES=(
  "galaxy-backend: HTTP stack|target/release/galaxy-bench-http"
  "galaxy-backend: admin Basic Auth|target/release/galaxy-bench-admin"
  "galaxy-backend: mail outbox|target/release/galaxy-bench-mail"
  "galaxy-backend: job queue (20,000 no-op jobs: bulk enqueue, drain)|target/release/galaxy-bench-jobs"
  "galaxy-backend: push fan-out (100 gateways over gRPC)|target/release/galaxy-bench-push"
  "galaxy-devgate: reference gateway (signed GET through the gateway vs straight to the backend; push backend -> gateway -> SSE client at 1k events/s)|target/release/galaxy-bench-gateway"
  "galaxy-backend: identity (100k accounts, 200k sessions: startup, gateway lookup, own account)|target/release/galaxy-bench-identity"
  "galaxy-backend: lobby (10k accounts, 1k public games: cached browse vs bare, apply + approve vs pgbench INSERT)|target/release/galaxy-bench-lobby"
  "galaxy-backend: runtime (100 games started with the process driver: time to all running, RSS, engine status probe)|target/release/galaxy-bench-runtime"
  "galaxy-backend: turns (cut-off -> game.turn.ready over gRPC, order submit via the backend vs the engine, 100 games due at the same minute)|target/release/galaxy-bench-turns"
  "galaxy-game: Big30, GalaxyNG's own workload (30 races, 510 planets, 40 turns), next to GalaxyNG's figures|target/release/galaxy-game-bench big30 40 1"
  "galaxy-game: turn time (30-race default galaxy, bot orders, 100 turns)|target/release/galaxy-game-bench bot 30 100 1"
)
for bench in "${BENCHES[@]}"; do
  echo
  echo "== ${bench%%|*} =="
  ${bench#*|}
done
