#!/usr/bin/env bash
# Benchmark of the hosts_baseline scenario: wall time of the first converge (fresh containers, including the pending
# security upgrades) and of the idempotent re-run. Prints one JSON line; `make bench` can call it.
# Usage: molecule/hosts_baseline/bench.sh   (from the repository root; leaves no container behind)
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH=$PWD/.venv/bin:$PATH PYTHONPATH=$PWD/collections:$PWD ANSIBLE_CONFIG=$PWD/ansible.cfg NO_COLOR=1
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/lab/containers/containers.conf}
log=$(mktemp -d)
trap 'molecule destroy -s hosts_baseline >/dev/null 2>&1 || true; rm -rf "$log"' EXIT

timed() {  # name, molecule action -> seconds on stdout, molecule output in $log/<name>.log
  local start=$SECONDS
  molecule "$2" -s hosts_baseline > "$log/$1.log" 2>&1 || { tail -n 40 "$log/$1.log" >&2; exit 1; }
  echo $((SECONDS - start))
}

molecule destroy -s hosts_baseline >/dev/null 2>&1 || true
timed create create >/dev/null
timed prepare prepare >/dev/null
first=$(timed converge converge)
rerun=$(timed idempotence idempotence)
printf '{"scenario": "hosts_baseline", "hosts": 2, "first_converge_s": %s, "idempotent_rerun_s": %s, "load_1m": %s}\n' \
  "$first" "$rerun" "$(cut -d' ' -f1 /proc/loadavg)"
