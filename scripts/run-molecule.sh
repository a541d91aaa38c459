#!/usr/bin/env bash
# Run `molecule test` for every scenario under molecule/ (or only the scenarios named as arguments),
# stop at the first failure, and print the wall time of each scenario.
#
# Usage: scripts/run-molecule.sh [scenario ...]
set -euo pipefail
cd "$(dirname "$0")/.."

export PATH="$PWD/.venv/bin:$PATH"
export PYTHONPATH="$PWD/collections:$PWD${PYTHONPATH:+:$PYTHONPATH}"
export ANSIBLE_CONFIG="$PWD/ansible.cfg"
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/lab/containers/containers.conf}

log() { printf '[molecule] %s\n' "$*"; }

discover_scenarios() {
  local file
  for file in molecule/*/molecule.yml; do
    [ -e "$file" ] && basename "$(dirname "$file")"
  done
}

if [ $# -gt 0 ]; then
  scenarios=("$@")
else
  mapfile -t scenarios < <(discover_scenarios)
fi
if [ ${#scenarios[@]} -eq 0 ]; then
  log "no scenario found (molecule/*/molecule.yml)"; exit 0
fi
for name in "${scenarios[@]}"; do
  [ -f "molecule/$name/molecule.yml" ] || { log "ERROR: no scenario '$name' (molecule/$name/molecule.yml)"; exit 2; }
done

# The scenarios run on the local base images; build or load them first (a no-op when present).
bash lab/containers/build-base-image.sh

timings=()
for name in "${scenarios[@]}"; do
  log "scenario $name: molecule test"
  start=$SECONDS
  if ! molecule test -s "$name"; then
    log "FAILED: scenario '$name' after $((SECONDS - start)) s; rerun it alone with: molecule test -s $name" \
        "(or 'molecule converge -s $name' then 'molecule verify -s $name' to debug; 'molecule destroy -s $name' cleans up)"
    exit 1
  fi
  timings+=("$(printf '%-28s %5d s' "$name" $((SECONDS - start)))")
done

log "all ${#scenarios[@]} scenario(s) passed; wall time per scenario:"
printf '  %s\n' "${timings[@]}"
