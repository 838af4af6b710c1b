#!/usr/bin/env bash
# TEST ONLY. Builds, locally and without any registry, the engine images and
# host binaries the backend's runtime tests use for patches, upgrades, the
# replay (shadow) check and rollbacks. With the crate at version X.Y.Z
# (0.1.0 in the examples):
#
#   galaxy/game:X.Y.Z          the engine (scripts/engine-image.sh, run first)
#   galaxy/game:X.Y.Z+1        0.1.1: the same binary, a patch
#   galaxy/game:X.Y+1.0        0.2.0: the same binary, a minor bump
#   galaxy/game-broken:X.Y.Z+2 0.1.2: the same binary whose entrypoint is
#                              `galaxy-game replay --turn 0`: the container
#                              starts and exits at once, never answering
#                              GET /healthz (the driver's environment cannot
#                              repair it, unlike a listen-address setting)
#   galaxy/game-rules:X.Y.Z+3  0.1.3: the binary built with the test-only
#                              `rules-variant` feature: it plays turns
#                              differently, so its replay check fails
#
# The derived images are `docker commit`s of galaxy/game:X.Y.Z (same user,
# entrypoint, port and state directory) with their own
# galaxy.engine.version label and a galaxy.engine.test label. The binary
# inside still reports X.Y.Z as its version.
#
# Host binaries, for the process driver (printed as NAME=path):
#
#   GALAXY_GAME_BIN         <target>/x86_64-unknown-linux-gnu/release/galaxy-game
#   GALAXY_GAME_RULES_BIN   <target>/x86_64-unknown-linux-gnu/release/galaxy-game-rules-variant
#   GALAXY_GAME_BROKEN_BIN  <target>/x86_64-unknown-linux-gnu/release/galaxy-game-broken
#                           (a shell script: galaxy-game on 127.0.0.1:0, so
#                           never on the port it was given)
#
# The rules-variant build shares the target directory (and RUSTFLAGS) with
# scripts/engine-image.sh, so only the game crate is compiled again.
#
# Idempotent: an image whose galaxy.engine.test-spec label matches (base
# image, binary and changes) is left alone; fast when up to date. Quiet on
# success; prints the tags, then the binaries.
#
# Environment: CARGO_TARGET_DIR (default <repo>/target-engine),
# GALAXY_GAME_IMAGE (default galaxy/game; the others are <it>-broken and
# <it>-rules).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
target_dir="${CARGO_TARGET_DIR:-$repo/target-engine}"
image="${GALAXY_GAME_IMAGE:-galaxy/game}"
triple="x86_64-unknown-linux-gnu"
release="$target_dir/$triple/release"

version="$(cargo pkgid -p galaxy-game | sed -E 's/.*[@#]([0-9][^@#]*)$/\1/')"
IFS=. read -r major minor patch <<<"${version%%[-+]*}"
patch_version="$major.$minor.$((patch + 1))"
minor_version="$major.$((minor + 1)).0"
broken_version="$major.$minor.$((patch + 2))"
rules_version="$major.$minor.$((patch + 3))"

log="$(mktemp)"
container=""
cleanup() {
    rm -f "$log"
    if [ -n "$container" ]; then
        docker rm -f "$container" >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT

fail() {
    echo "engine-test-images: $*" >&2
    exit 1
}

is_static() {
    ! ldd "$1" >/dev/null 2>&1 || ldd "$1" 2>&1 | grep -q "not a dynamic executable\|statically linked"
}

# 1. The rules-variant binary, built exactly as engine-image.sh builds the
#    engine (same flags and target directory) plus the feature. Cargo puts
#    it at the engine's path; it is copied out before step 2 builds (links)
#    the plain binary there again.
if ! RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" CARGO_TARGET_DIR="$target_dir" \
    cargo build --quiet --release --target "$triple" -p galaxy-game --bin galaxy-game \
    --features rules-variant >"$log" 2>&1; then
    cat "$log" >&2
    fail "cargo build --features rules-variant failed"
fi
is_static "$release/galaxy-game" || fail "the rules-variant binary is not statically linked"
rules_bin="$release/galaxy-game-rules-variant"
if ! cmp -s "$release/galaxy-game" "$rules_bin"; then
    install -m 0755 "$release/galaxy-game" "$rules_bin"
fi

# 2. The engine and galaxy/game:X.Y.Z.
base_tag="$(GALAXY_GAME_IMAGE="$image" CARGO_TARGET_DIR="$target_dir" "$repo/scripts/engine-image.sh")"
bin="$release/galaxy-game"
if cmp -s "$bin" "$rules_bin"; then
    fail "$bin is still the rules-variant build"
fi
base_id="$(docker image inspect --format '{{.Id}}' "$base_tag")"

broken_bin="$release/galaxy-game-broken"
broken_script="#!/bin/sh
# TEST ONLY (scripts/engine-test-images.sh): the engine on a port nobody
# asked for, so it runs but never answers /healthz where it was told to.
GALAXY_GAME_LISTEN_ADDR=127.0.0.1:0 exec '$bin' \"\$@\"
"
if [ "$(cat "$broken_bin" 2>/dev/null || true)" != "${broken_script%$'\n'}" ]; then
    printf '%s' "$broken_script" >"$broken_bin.tmp"
    chmod 0755 "$broken_bin.tmp"
    mv "$broken_bin.tmp" "$broken_bin"
fi

# derive TAG VERSION KIND BINARY|- [docker commit --change ...]
# Makes TAG from the base image: BINARY (if not -) replaces /galaxy-game,
# the changes are applied, labels say VERSION and KIND.
derive() {
    local tag="$1" tag_version="$2" kind="$3" binary="$4"
    shift 4
    local sha
    if [ "$binary" = "-" ]; then
        sha="$(docker image inspect --format '{{ index .Config.Labels "galaxy.engine.sha256" }}' "$base_tag")"
    else
        sha="$(sha256sum "$binary" | cut -d' ' -f1)"
    fi
    local spec
    spec="$(printf '%s\n' "$base_id" "$tag_version" "$kind" "$sha" "$@" | sha256sum | cut -d' ' -f1)"
    local existing
    existing="$(docker image inspect --format '{{ index .Config.Labels "galaxy.engine.test-spec" }}' "$tag" 2>/dev/null || true)"
    if [ "$existing" = "$spec" ]; then
        echo "$tag"
        return
    fi
    local old_id
    old_id="$(docker image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)"
    container="$(docker create "$base_tag")"
    if [ "$binary" != "-" ]; then
        docker cp "$binary" "$container:/galaxy-game" >/dev/null
    fi
    local changes=(-c "LABEL galaxy.engine.version=$tag_version galaxy.engine.sha256=$sha galaxy.engine.test=$kind galaxy.engine.test-spec=$spec")
    local c
    for c in "$@"; do
        changes+=(-c "$c")
    done
    docker commit "${changes[@]}" "$container" "$tag" >/dev/null
    docker rm -f "$container" >/dev/null
    container=""
    # The image this tag held before: drop it if no tag is left on it and
    # no container uses it.
    if [ -n "$old_id" ] && [ "$(docker image inspect --format '{{len .RepoTags}}' "$old_id" 2>/dev/null)" = "0" ]; then
        docker image rm "$old_id" >/dev/null 2>&1 || true
    fi
    echo "$tag"
}

echo "$base_tag"
derive "$image:$patch_version" "$patch_version" patch -
derive "$image:$minor_version" "$minor_version" minor -
derive "$image-broken:$broken_version" "$broken_version" broken - \
    'ENTRYPOINT ["/galaxy-game", "replay", "--turn", "0"]'
derive "$image-rules:$rules_version" "$rules_version" rules-variant "$rules_bin"
echo "GALAXY_GAME_BIN=$bin"
echo "GALAXY_GAME_RULES_BIN=$rules_bin"
echo "GALAXY_GAME_BROKEN_BIN=$broken_bin"
