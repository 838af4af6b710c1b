#!/usr/bin/env bash
# Installs the Debian packages the Galaxy stack needs, each only when its
# command is missing. Runs `apt-get update` once, and only if something is
# missing. Unattended (no prompts), quiet on success, idempotent.
#
# Usage (as root): scripts/ensure-packages.sh
set -euo pipefail

# package:command pairs — the command proves the package is installed.
readonly REQUIRED=(
  "docker.io:dockerd"
  "docker-compose:docker-compose"
  "protobuf-compiler:protoc"
  "flatbuffers-compiler:flatc"
  "mmdb-bin:mmdblookup"
  "wrk:wrk"
  "postgresql-client:pgbench"
  "chromium:chromium"
)

die() { echo "ensure-packages: $*" >&2; exit 1; }

missing=()
for pair in "${REQUIRED[@]}"; do
  package=${pair%%:*}
  command=${pair#*:}
  command -v "$command" >/dev/null 2>&1 || missing+=("$package")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=(sudo -n env DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=l); else die "missing ${missing[*]}; run as root"; fi
else
  SUDO=()
fi

# Recommends stay on: protobuf-compiler's libprotobuf-dev ships the
# well-known .proto files (google/protobuf/*.proto) that protoc imports.
export DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=l
log=$(mktemp -t ensure-packages.XXXXXX)
trap 'rm -f "$log"' EXIT
"${SUDO[@]}" apt-get update -qq >"$log" 2>&1 \
  || { cat "$log" >&2; die "apt-get update failed"; }
"${SUDO[@]}" apt-get install -y -qq \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
  "${missing[@]}" >"$log" 2>&1 \
  || { cat "$log" >&2; die "apt-get install ${missing[*]} failed"; }

for pair in "${REQUIRED[@]}"; do
  command -v "${pair#*:}" >/dev/null 2>&1 || die "${pair%%:*} installed but ${pair#*:} is still not on PATH"
done
