#!/usr/bin/env bash
# Compiles the workspace the way `make test` does — `cargo test --no-run`
# over the whole workspace, which is also what cargo-nextest runs first —
# so `make run` and `make test` share one build: the backend binary the
# tests start (target/debug/galaxy-backend) is the one `make run` starts.
# (`cargo build -p galaxy-backend` would resolve the dependencies' features
# without the other members and without dev-dependencies, and recompile
# most of them a second time.)
#
# Shows cargo's progress (one line per crate compiled) so a first build,
# which takes several minutes, visibly works; an up-to-date tree prints
# nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir="${CARGO_TARGET_DIR:-target}"
if [[ ! -x "$target_dir/debug/galaxy-backend" ]]; then
  echo "build: compiling the workspace (first build: several minutes on a small machine)…" >&2
fi

log=$(mktemp -t galaxy-build.XXXXXX)
trap 'rm -f "$log"' EXIT
# cargo prints progress on stderr; keep the compile lines, drop the list of
# test executables and the closing "Finished" line when nothing was built.
set +e
cargo test --workspace --no-run --color "${CARGO_TERM_COLOR:-auto}" 2>&1 \
  | tee "$log" \
  | grep --line-buffered -v -E '^\s*(Executable|Finished)' >&2
status=${PIPESTATUS[0]}
set -e
if [[ $status -ne 0 ]]; then
  echo "build: cargo failed (exit $status)" >&2
  exit "$status"
fi
if grep -q -E '^\s*Compiling' "$log"; then
  grep -E '^\s*Finished' "$log" >&2 || true
fi
