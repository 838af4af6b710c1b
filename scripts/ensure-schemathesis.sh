#!/usr/bin/env bash
# Installs schemathesis (the property-based contract tester behind
# scripts/contract-test.sh) from PyPI into a project-local virtual
# environment, .tools/schemathesis (git-ignored). Idempotent and quiet:
# does nothing when the pinned version is already there. Prints the path of
# the `st` executable.
#
# Usage: scripts/ensure-schemathesis.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly VERSION=4.32.5
readonly VENV=$ROOT/.tools/schemathesis
readonly STAMP=$VENV/.installed-$VERSION

die() { echo "ensure-schemathesis: $*" >&2; exit 1; }

if [[ ! -f $STAMP ]]; then
  command -v python3 >/dev/null || die "python3 is required (make prepare installs it)"
  rm -rf "$VENV"
  mkdir -p "$(dirname "$VENV")"
  python3 -m venv "$VENV" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
  log=$(mktemp)
  if ! "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    die "pip install schemathesis==$VERSION failed"
  fi
  rm -f "$log"
  touch "$STAMP"
fi
echo "$VENV/bin/st"
