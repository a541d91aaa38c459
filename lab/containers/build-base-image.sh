#!/usr/bin/env bash
# Build the local Debian base images the lab and the molecule scenarios run on, without any registry:
#   localhost/debian-bookworm-ansible:latest   (Debian 12)
#   localhost/debian-trixie-ansible:latest     (Debian 13)
# debootstrap minbase + the packages converges need most often, systemd as PID 1, host keys made at first boot.
# Idempotent: an image that exists is skipped; a missing image is loaded from its `podman save` cache
# (.cache/images/<release>.tar) when there is one, and only otherwise built (about a minute per release).
#
# Usage: lab/containers/build-base-image.sh [--rebuild] [bookworm|trixie ...]   (default: both releases)
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CACHE_DIR=${AIPHONE_IMAGE_CACHE:-$REPO_ROOT/.cache/images}
MIRROR=${AIPHONE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${AIPHONE_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
export CONTAINERS_CONF=${CONTAINERS_CONF:-$REPO_ROOT/lab/containers/containers.conf}

# netbase is required: without /etc/protocols nft cannot parse `ipv6-icmp`.
# Everything after the first line only makes converges faster; roles still install what they use (real hosts lack it).
PACKAGES=(python3 python3-apt systemd systemd-sysv dbus openssh-server nftables sudo iproute2 procps netbase
          ca-certificates iputils-ping netcat-openbsd
          rsyslog rsyslog-gnutls acl openssl libpam-google-authenticator)
ALL_RELEASES=(bookworm trixie)

WORKDIRS=()
cleanup() { [ ${#WORKDIRS[@]} -eq 0 ] || rm -rf "${WORKDIRS[@]}"; }
trap cleanup EXIT

log() { printf '[base-image] %s\n' "$*"; }
die() { printf '[base-image] ERROR: %s\n' "$*" >&2; exit 1; }

image_name() { echo "localhost/debian-$1-ansible:latest"; }
cache_file() { echo "$CACHE_DIR/$1.tar"; }

write_sources_list() {
  local rootfs=$1 release=$2
  cat > "$rootfs/etc/apt/sources.list" <<EOF
deb $MIRROR $release main
deb $MIRROR $release-updates main
deb $SECURITY_MIRROR $release-security main
EOF
}

# Every container gets its own machine-id and SSH host keys: none are baked into the image.
make_identity_per_container() {
  local rootfs=$1
  : > "$rootfs/etc/machine-id"
  rm -f "$rootfs/var/lib/dbus/machine-id" "$rootfs"/etc/ssh/ssh_host_*
  cat > "$rootfs/etc/systemd/system/ssh-hostkeys.service" <<'EOF'
[Unit]
Description=Generate missing SSH host keys
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=multi-user.target ssh.service
EOF
  chroot "$rootfs" systemctl enable ssh-hostkeys.service >/dev/null 2>&1
}

tidy_rootfs() {
  local rootfs=$1
  chroot "$rootfs" apt-get clean
  : > "$rootfs/etc/resolv.conf"   # podman provides its own; do not ship the build host's
  rm -rf "$rootfs"/tmp/* "$rootfs"/var/tmp/* "$rootfs"/var/log/*.log
}

build_image() {
  local release=$1 image workdir rootfs
  image=$(image_name "$release")
  command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap (or run make setup)"
  [ "$(id -u)" -eq 0 ] || die "building $image needs root (debootstrap, chroot)"
  workdir=$(mktemp -d "${TMPDIR:-/var/tmp}/aiphone-rootfs-$release.XXXXXX")
  rootfs=$workdir/rootfs
  WORKDIRS+=("$workdir")
  log "building $image with debootstrap (about a minute)"
  local joined
  joined=$(IFS=,; echo "${PACKAGES[*]}")
  if ! debootstrap --variant=minbase --include="$joined" "$release" "$rootfs" "$MIRROR" > "$workdir/debootstrap.log" 2>&1; then
    tail -n 30 "$workdir/debootstrap.log" >&2
    die "debootstrap of $release failed (full log above); is $MIRROR reachable?"
  fi
  write_sources_list "$rootfs" "$release"
  make_identity_per_container "$rootfs"
  tidy_rootfs "$rootfs"
  tar -C "$rootfs" --numeric-owner -c . | podman import \
    --change 'CMD ["/sbin/init"]' --change 'ENV container=podman' --change 'STOPSIGNAL SIGRTMIN+3' \
    - "$image" >/dev/null
  log "imported $image"
}

save_to_cache() {
  local release=$1 cache
  cache=$(cache_file "$release")
  mkdir -p "$CACHE_DIR"
  if ! podman save --quiet -o "$cache.partial" "$(image_name "$release")" 2> "$cache.log"; then
    cat "$cache.log" >&2; rm -f "$cache.partial" "$cache.log"
    die "podman save of $(image_name "$release") failed"
  fi
  rm -f "$cache.log"
  mv -f "$cache.partial" "$cache"
  log "cached $(image_name "$release") as $cache"
}

ensure_image() {
  local release=$1 rebuild=$2 image cache
  image=$(image_name "$release")
  cache=$(cache_file "$release")
  if [ "$rebuild" = 1 ]; then
    podman image rm -f "$image" >/dev/null 2>&1 || true
    rm -f "$cache"
  fi
  if podman image exists "$image"; then
    log "$image present"
  elif [ -s "$cache" ] && podman load --quiet -i "$cache" >/dev/null; then
    log "$image loaded from $cache"
  else
    build_image "$release"
  fi
  [ -s "$cache" ] || save_to_cache "$release"
}

main() {
  local rebuild=0 releases=() release
  for arg in "$@"; do
    case $arg in
      --rebuild) rebuild=1 ;;
      bookworm|trixie) releases+=("$arg") ;;
      -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
      *) die "unknown argument '$arg' (expected --rebuild, bookworm or trixie)" ;;
    esac
  done
  [ ${#releases[@]} -gt 0 ] || releases=("${ALL_RELEASES[@]}")
  mkdir -p "$CACHE_DIR"
  # Several helpers, CI jobs or make targets may call this at once: one builder at a time.
  exec 9> "$CACHE_DIR/.build.lock"
  flock 9
  for release in "${releases[@]}"; do
    ensure_image "$release" "$rebuild"
  done
}

main "$@"
