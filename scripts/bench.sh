#!/usr/bin/env bash
# Prints every benchmark figure (`make bench`). Benchmarks run in release mode
# against the real service on loopback; nothing here asserts a timing.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build -q --release -p galaxy-bench --bins
target/release/galaxy-bench-http
