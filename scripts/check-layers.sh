#!/usr/bin/env bash
# Checks the backend's dependency rule: server → domains → infrastructure.
# Only the HTTP/gRPC surfaces (`server/`) and the assembly (`app.rs`,
# `main.rs`, `lib.rs`) may import `crate::server` or `crate::app`; a domain
# or infrastructure module that does fails `make test`, naming the line.
# Quiet on success.
set -euo pipefail
cd "$(dirname "$0")/../crates/backend/src"

violations="$(grep -rnE '(crate|super)::(server|app)\b|use crate::\{[^}]*\b(server|app)\b' \
    --include='*.rs' . \
    | grep -vE '^\./(server/|app\.rs:|main\.rs:|lib\.rs:)' || true)"
if [[ -n "$violations" ]]; then
    echo "check-layers: a domain or infrastructure module imports the HTTP layer or the assembly" >&2
    echo "(server → domains → infrastructure; see docs/CONTRIBUTING.md):" >&2
    echo "$violations" | sed 's|^\./|  crates/backend/src/|' >&2
    exit 1
fi
