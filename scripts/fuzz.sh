#!/usr/bin/env bash
# Fuzzes every target of crates/fuzz (`make fuzz`): each property of each
# target runs rounds of fresh inputs for SECONDS (default 30), the
# properties of one target side by side, from one random seed printed first.
# A failure prints the shrunk input and the settings that replay it
# (GALAXY_FUZZ_SEED, GALAXY_FUZZ_ROUND, GALAXY_FUZZ_CASES); see
# docs/reliability.md, "Fuzzed inputs". `make test` runs the same tests as a
# short smoke with a pinned seed.
#
# usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-30}"
if [[ ! "$seconds" =~ ^[0-9]+([.][0-9]+)?$ ]]; then
  echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]" >&2
  exit 2
fi
shift || true
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  targets=(order_text config_values engine_api push_cursor race_name)
fi
seed="${GALAXY_FUZZ_SEED:-$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')}"

echo "fuzz: seed $seed, ${seconds}s per property, targets: ${targets[*]}"
echo "fuzz: replay with GALAXY_FUZZ_SEED=$seed scripts/fuzz.sh $seconds"
cargo test -q -p galaxy-fuzz --tests --no-run

failed=()
for target in "${targets[@]}"; do
  echo "fuzz: $target"
  if ! GALAXY_FUZZ_SEED="$seed" GALAXY_FUZZ_SECONDS="$seconds" \
    cargo test -q -p galaxy-fuzz --test "$target" -- --test-threads 16; then
    failed+=("$target")
  fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz: FAILED: ${failed[*]} (seed $seed)" >&2
  exit 1
fi
echo "fuzz: every target passed (seed $seed)"
