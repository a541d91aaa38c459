#!/usr/bin/env bash
# Idempotent set-up of everything the toolkit, its lab and its tests need on a Debian 12 control node:
# Debian packages, the pinned Python venv, the podman engine config and the local container base images.
# Each step checks first and does nothing when already done, so `make demo` / `make test` may call it every time.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(podman runc debootstrap nftables hostapd openssh-client openssh-server sshpass iproute2
              rsyslog-gnutls gnutls-bin openssl uidmap systemd-container ca-certificates git make acl
              chromium prometheus prometheus-alertmanager auditd cryptsetup-bin gocryptfs fuse3)
VENV=${VENV:-.venv}
STAMP_DIR=.cache/setup
mkdir -p "$STAMP_DIR"

log() { printf '[setup] %s\n' "$*"; }

install_apt_packages() {
  local missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    log "missing Debian packages: ${missing[*]} (run as root or install them)"; exit 1
  fi
  log "installing Debian packages: ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

install_python_venv() {
  # requirements-garak.txt: garak without its dependencies (they pull torch and CUDA wheels); its light ones are
  # pinned in requirements.txt. The stamp covers both files.
  local want have
  want=$(cat requirements.txt requirements-garak.txt | sha256sum | cut -d' ' -f1)
  have=$(cat "$STAMP_DIR/venv.sha256" 2>/dev/null || true)
  if [ -x "$VENV/bin/python" ] && [ "$want" = "$have" ]; then return 0; fi
  log "installing the pinned Python dependencies into $VENV"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r requirements.txt
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps -r requirements-garak.txt
  echo "$want" > "$STAMP_DIR/venv.sha256"
}

configure_podman() {
  # Checked on this machine kind (shared lab facts): crun fails on hybrid cgroups, the default ulimits are refused.
  local conf=/etc/containers/containers.conf
  if ! cmp -s lab/containers/containers.conf "$conf" 2>/dev/null; then
    if [ "$(id -u)" -eq 0 ]; then
      mkdir -p /etc/containers && cp lab/containers/containers.conf "$conf"
      log "installed $conf"
    else
      export CONTAINERS_CONF="$PWD/lab/containers/containers.conf"
    fi
  fi
}

build_base_images() {
  [ "${AIPHONE_SKIP_IMAGES:-0}" = 1 ] && return 0
  bash lab/containers/build-base-image.sh
}

install_apt_packages
install_python_venv
configure_podman
build_base_images
log "ready"
