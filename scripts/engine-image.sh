#!/usr/bin/env bash
# Builds the galaxy-game engine as a statically linked binary and imports it
# into the local Docker daemon as the image galaxy/game:<crate version>,
# without any registry. The image holds only the binary, a minimal /etc and
# an empty state directory; it runs as uid/gid 65532, listens on 8080 and
# keeps its state in /var/lib/galaxy-game (bind-mount a directory owned by
# 65532 there).
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
# shellcheck source=scripts/lib/import-image.sh
source "$repo/scripts/lib/import-image.sh"
target_dir="${CARGO_TARGET_DIR:-$repo/target-engine}"
image="${GALAXY_GAME_IMAGE:-galaxy/game}"

version="$(galaxy_crate_version galaxy-game)"
tag="$image:$version"

galaxy_static_build "$target_dir" -p galaxy-game --bin galaxy-game
bin="$(galaxy_static_bin "$target_dir" galaxy-game)"
sha="$(sha256sum "$bin" | cut -d' ' -f1)"
if galaxy_image_current "$tag" galaxy.engine.sha256 "$sha"; then
    echo "$tag"
    exit 0
fi

root="$(galaxy_image_root)"
trap 'rm -rf "$root" "$root.tar"' EXIT
install -m 0755 "$bin" "$root/galaxy-game"
mkdir -p "$root/var/lib/galaxy-game"
chown 65532:65532 "$root/var/lib/galaxy-game" 2>/dev/null || chmod 0777 "$root/var/lib/galaxy-game"
galaxy_import_image "$root" "$tag" \
    -c 'ENTRYPOINT ["/galaxy-game"]' \
    -c 'USER 65532:65532' \
    -c 'EXPOSE 8080' \
    -c 'WORKDIR /' \
    -c 'ENV GALAXY_GAME_LISTEN_ADDR=0.0.0.0:8080 GALAXY_GAME_STATE_DIR=/var/lib/galaxy-game' \
    -c "LABEL galaxy.engine.version=$version galaxy.engine.sha256=$sha"
