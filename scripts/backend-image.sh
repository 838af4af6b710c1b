#!/usr/bin/env bash
# Builds galaxy-backend, the reference gateway and the dev stack's tools as
# statically linked binaries and imports them into the local Docker daemon,
# without any registry (docs/deploy.md):
#
#   galaxy/backend:<version>   galaxy-backend; runs as root, only because it
#                              talks to the Docker socket (docs/deploy.md);
#                              listens on 8080 (HTTP), 8081 (gRPC push),
#                              9100 (metrics, when enabled)
#   galaxy/devgate:<version>   galaxy-devgate on 0.0.0.0:8090, uid 65532
#   galaxy/devstack:<version>  galaxy-dev-smtp (the default command: SMTP on
#                              2525, web inbox on 8025), galaxy-geoip-fixture
#                              and galaxy-dev-forward, uid 65532
#
# Each image holds its binaries, /tmp and a minimal /etc (passwd, group,
# nsswitch.conf "hosts: files dns": the static glibc resolves container
# names through Docker's DNS).
#
# Idempotent: a tag that already holds an image of the same binaries (label
# galaxy.image.sha256) is left alone. Quiet on success; prints the tags.
#
# Environment: CARGO_TARGET_DIR (default <repo>/target-engine, shared with
# scripts/engine-image.sh), GALAXY_IMAGE_PREFIX (default galaxy).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
# shellcheck source=scripts/lib/import-image.sh
source "$repo/scripts/lib/import-image.sh"
target_dir="${CARGO_TARGET_DIR:-$repo/target-engine}"
prefix="${GALAXY_IMAGE_PREFIX:-galaxy}"
version="$(galaxy_crate_version galaxy-backend)"

galaxy_static_build "$target_dir" \
    -p galaxy-backend --bin galaxy-backend \
    -p galaxy-devgate --bin galaxy-devgate \
    -p galaxy-devstack --bin galaxy-dev-smtp --bin galaxy-geoip-fixture --bin galaxy-dev-forward

# image NAME "BINARY..." [docker import -c CHANGE]... — imports
# prefix/NAME:version holding BINARY... at / (with the changes) unless it is
# current.
image() {
    local name=$1 tag="$prefix/$1:$version" bins=() bin sha root
    for bin in $2; do
        bins+=("$(galaxy_static_bin "$target_dir" "$bin")")
    done
    shift 2
    sha="$(sha256sum "${bins[@]}" | sha256sum | cut -d' ' -f1)"
    if galaxy_image_current "$tag" galaxy.image.sha256 "$sha"; then
        echo "$tag"
        return
    fi
    root="$(galaxy_image_root)"
    for bin in "${bins[@]}"; do
        install -m 0755 "$bin" "$root/"
    done
    galaxy_import_image "$root" "$tag" "$@" -c 'WORKDIR /' \
        -c "LABEL galaxy.image.version=$version galaxy.image.sha256=$sha"
}

image backend galaxy-backend \
    -c 'ENTRYPOINT ["/galaxy-backend"]' -c 'USER 0:0' -c 'EXPOSE 8080 8081 9100'
image devgate galaxy-devgate \
    -c 'ENTRYPOINT ["/galaxy-devgate"]' -c 'USER 65532:65532' -c 'EXPOSE 8090' \
    -c 'ENV DEVGATE_LISTEN_ADDR=0.0.0.0:8090'
image devstack "galaxy-dev-smtp galaxy-geoip-fixture galaxy-dev-forward" \
    -c 'CMD ["/galaxy-dev-smtp", "--smtp-addr", "0.0.0.0:2525", "--http-addr", "0.0.0.0:8025"]' \
    -c 'USER 65532:65532' -c 'EXPOSE 2525 8025'
