#!/usr/bin/env bash
# `make ee`: build the execution environment here with ansible-builder, without a registry or Galaxy.
#   1. the lab's local Debian 12 base image (lab/containers/build-base-image.sh; cached as .cache/images/*.tar)
#   2. this collection (`make build`)
#   3. every Python package as a wheel in .cache/ee/context-files/wheels (PyPI once, pip's cache after that); the
#      image build installs from there only (PIP_NO_INDEX)
#   4. the collections the playbooks use, taken out of the pinned `ansible` wheel (no Galaxy)
#   5. ansible-builder create, then podman build (--pull=never: the base image is local)
# Image: localhost/aiphone-hardening-ee:<collection version> and :latest. EE_FORCE=1 rebuilds an existing image.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
PY=${PY:-$ROOT/.venv/bin/python}
BIN=$(dirname "$PY")
export CONTAINERS_CONF=${CONTAINERS_CONF:-$ROOT/lab/containers/containers.conf}
VERSION=$(awk '/^version:/ {print $2}' galaxy.yml)
IMAGE=localhost/aiphone-hardening-ee
FILES=.cache/ee/context-files
CONTEXT=.cache/ee/context
# the collections the playbooks and ansible.cfg use (callbacks: ansible.posix.profile_tasks), at the bundle's versions
COLLECTIONS=(ansible.posix community.general community.crypto community.hashi_vault ansible.netcommon ansible.utils
             cisco.ios)
pin() { grep -i "^$1==" requirements.txt | head -1; }

log() { printf '[ee] %s\n' "$*"; }
start=$SECONDS

if [ -z "${EE_FORCE:-}" ] && podman image exists "$IMAGE:$VERSION"; then
  log "$IMAGE:$VERSION exists (EE_FORCE=1 rebuilds it)"
  exit 0
fi

log "base image"
bash lab/containers/build-base-image.sh bookworm

log "collection tarball (make build)"
rm -f .cache/dist/aiphone-hardening-*.tar.gz
"$BIN/ansible-galaxy" collection build --force --output-path .cache/dist . >/dev/null

log "wheels (PyPI the first time, pip's cache after)"
mkdir -p "$FILES/wheels" .cache/ee/bundle
ANSIBLE_PIN=$(pin ansible)
"$PY" -m pip wheel -q --wheel-dir "$FILES/wheels" -r meta/ee-requirements.txt \
  "$(pin ansible-core)" ansible-runner==2.4.3 dumb-init==1.2.5 bindep pyyaml packaging
"$PY" -m pip download -q --no-deps --only-binary=:all: -d .cache/ee/bundle "$ANSIBLE_PIN"

log "collections out of the $ANSIBLE_PIN wheel"
"$PY" scripts/ee/collections_from_wheel.py .cache/ee/bundle/"$(echo "$ANSIBLE_PIN" | sed 's/==/-/')"-*.whl \
  "$FILES/collections" "${COLLECTIONS[@]}"

log "ansible-builder create"
rm -rf "$CONTEXT"
"$BIN/ansible-builder" create -f execution-environment.yml -c "$CONTEXT" >/dev/null

log "podman build (about a few minutes the first time)"
podman build --pull=never -f "$CONTEXT/Containerfile" -t "$IMAGE:$VERSION" -t "$IMAGE:latest" "$CONTEXT"
log "built $IMAGE:$VERSION in $((SECONDS - start)) s"
podman image inspect "$IMAGE:$VERSION" --format '[ee] size {{.Size}} bytes'
