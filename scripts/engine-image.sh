#!/usr/bin/env bash
# Builds the galaxy-game engine as a statically linked binary and imports it
# into the local Docker daemon as the image galaxy/game:<crate version>,
# without any registry. The image holds only the binary and an empty state
# directory; it runs as uid/gid 65532, listens on 8080 and keeps its state
# in /var/lib/galaxy-game (bind-mount a directory owned by 65532 there).
#
# Idempotent: when the tag already holds an image of the same binary
# (label galaxy.engine.sha256), nothing is imported. Quiet on success;
# prints the tag.
#
# Environment: CARGO_TARGET_DIR (default <repo>/target-engine),
# GALAXY_GAME_IMAGE (default galaxy/game).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
target_dir="${CARGO_TARGET_DIR:-$repo/target-engine}"
image="${GALAXY_GAME_IMAGE:-galaxy/game}"
triple="x86_64-unknown-linux-gnu"

version="$(cargo pkgid -p galaxy-game | sed -E 's/.*[@#]([0-9][^@#]*)$/\1/')"
tag="$image:$version"

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# glibc static: the explicit --target keeps build scripts and proc-macros dynamic.
if ! RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" CARGO_TARGET_DIR="$target_dir" \
    cargo build --quiet --release --target "$triple" -p galaxy-game --bin galaxy-game >"$log" 2>&1; then
    cat "$log" >&2
    echo "engine-image: cargo build failed" >&2
    exit 1
fi
bin="$target_dir/$triple/release/galaxy-game"
if ldd "$bin" >/dev/null 2>&1 && ! ldd "$bin" 2>&1 | grep -q "not a dynamic executable\|statically linked"; then
    echo "engine-image: $bin is not statically linked" >&2
    exit 1
fi
sha="$(sha256sum "$bin" | cut -d' ' -f1)"

existing="$(docker image inspect --format '{{ index .Config.Labels "galaxy.engine.sha256" }}' "$tag" 2>/dev/null || true)"
if [ "$existing" = "$sha" ]; then
    echo "$tag"
    exit 0
fi

old_id="$(docker image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)"
root="$(mktemp -d)"
trap 'rm -rf "$root"; rm -f "$log"' EXIT
install -m 0755 "$bin" "$root/galaxy-game"
mkdir -p "$root/var/lib/galaxy-game" "$root/tmp"
chmod 1777 "$root/tmp"
chown 65532:65532 "$root/var/lib/galaxy-game" 2>/dev/null || chmod 0777 "$root/var/lib/galaxy-game"
tar --numeric-owner -C "$root" -cf "$root.tar" .
docker import \
    -c 'ENTRYPOINT ["/galaxy-game"]' \
    -c 'USER 65532:65532' \
    -c 'EXPOSE 8080' \
    -c 'WORKDIR /' \
    -c 'ENV GALAXY_GAME_LISTEN_ADDR=0.0.0.0:8080 GALAXY_GAME_STATE_DIR=/var/lib/galaxy-game' \
    -c "LABEL galaxy.engine.version=$version galaxy.engine.sha256=$sha" \
    "$root.tar" "$tag" >/dev/null
rm -f "$root.tar"
# The image this tag held before is now dangling: drop it unless in use.
if [ -n "$old_id" ]; then
    docker image rm "$old_id" >/dev/null 2>&1 || true
fi
echo "$tag"
