# shellcheck shell=bash
# Shared by scripts/engine-image.sh and scripts/backend-image.sh: build our
# binaries statically and import them into the local Docker daemon as an
# image, without any registry (`docker import` of a tar we make).
#
# Source it; it defines functions only and sets nothing else.

# galaxy_static_build TARGET_DIR CARGO_ARGS... — a quiet release build for
# x86_64-unknown-linux-gnu with glibc linked statically (the explicit
# --target keeps build scripts and proc-macros dynamic). Prints cargo's
# output and fails only when the build fails.
galaxy_static_build() {
  local target_dir=$1 log
  shift
  log=$(mktemp)
  if ! RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" CARGO_TARGET_DIR="$target_dir" \
      cargo build --quiet --release --target x86_64-unknown-linux-gnu "$@" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "image: cargo build $* failed" >&2
    return 1
  fi
  rm -f "$log"
}

# galaxy_static_bin TARGET_DIR NAME — the path of a binary galaxy_static_build
# made; fails when it is not statically linked (it would not run in an
# image without a libc).
galaxy_static_bin() {
  local bin="$1/x86_64-unknown-linux-gnu/release/$2"
  [[ -x $bin ]] || { echo "image: $bin missing" >&2; return 1; }
  if ldd "$bin" >/dev/null 2>&1 && ! ldd "$bin" 2>&1 | grep -q "not a dynamic executable\|statically linked"; then
    echo "image: $bin is not statically linked" >&2
    return 1
  fi
  echo "$bin"
}

# galaxy_image_current TAG LABEL SHA — true when TAG already holds an image
# whose label LABEL is SHA (nothing to import).
galaxy_image_current() {
  local existing
  existing=$(docker image inspect --format "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true)
  [[ $existing == "$3" ]]
}

# galaxy_image_root — a fresh directory for an image's file system, with
# /tmp (1777) and a minimal /etc: passwd and group naming root and the
# unprivileged user 65532 (nonroot), and nsswitch.conf resolving hosts from
# files then DNS (Docker's embedded DNS on user-defined networks). Prints it.
galaxy_image_root() {
  local root
  root=$(mktemp -d)
  mkdir -p "$root/tmp" "$root/etc"
  chmod 1777 "$root/tmp"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' >"$root/etc/group"
  printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
  echo "$root"
}

# galaxy_import_image ROOT TAG [docker import -c CHANGE]... — imports ROOT
# as TAG, removes ROOT, and drops the image TAG held before (now dangling)
# unless a container uses it. Prints TAG.
galaxy_import_image() {
  local root=$1 tag=$2 old_id
  shift 2
  old_id=$(docker image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
  tar --numeric-owner -C "$root" -cf "$root.tar" .
  docker import "$@" "$root.tar" "$tag" >/dev/null
  rm -rf "$root" "$root.tar"
  if [[ -n $old_id ]]; then
    docker image rm "$old_id" >/dev/null 2>&1 || true
  fi
  echo "$tag"
}

# galaxy_crate_version PACKAGE — the package's version (from cargo pkgid).
galaxy_crate_version() {
  cargo pkgid -p "$1" | sed -E 's/.*[@#]([0-9][^@#]*)$/\1/'
}
