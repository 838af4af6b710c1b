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
  if ! command -v python3 >/dev/null || ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    # Debian splits venv support out of python3.
    [[ $(id -u) -eq 0 ]] || die "python3 with venv support is required (apt-get install python3-venv)"
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -qq && apt-get install -y -qq python3 python3-venv; } >/dev/null 2>&1 \
      || die "apt-get install python3-venv failed"
  fi
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
