#!/usr/bin/env bash
# Regenerates the FlatBuffers Rust code of schema/fbs/*.fbs (`make fbs`) or,
# with --check, fails when the checked-in code differs from a fresh
# generation (run by `make test`). Needs `flatc` (Debian flatbuffers-compiler,
# installed by scripts/ensure-packages.sh); the `flatbuffers` crate version in
# crates/wire/Cargo.toml must match it (see docs/notifications.md).
set -euo pipefail
cd "$(dirname "$0")/.."

readonly SCHEMA=schema/fbs/notification.fbs
readonly OUT=crates/wire/src/fbs

command -v flatc >/dev/null 2>&1 || { echo "check-fbs: flatc is missing (make prepare installs it)" >&2; exit 1; }

if [[ "${1:-}" != "--check" ]]; then
  flatc --rust -o "$OUT" "$SCHEMA"
  echo "fbs: regenerated $OUT from $SCHEMA ($(flatc --version))"
  exit 0
fi

fresh=$(mktemp -d -t check-fbs.XXXXXX)
trap 'rm -rf "$fresh"' EXIT
flatc --rust -o "$fresh" "$SCHEMA"
if ! diff -ru "$fresh" "$OUT" >"$fresh.diff" 2>&1; then
  head -40 "$fresh.diff" >&2
  rm -f "$fresh.diff"
  echo "check-fbs: $OUT differs from what $(flatc --version) generates from $SCHEMA;" \
    "run \`make fbs\` and commit the result (a different flatc version also shows up here:" \
    "the flatbuffers crate must move with it, see docs/notifications.md)" >&2
  exit 1
fi
rm -f "$fresh.diff"
