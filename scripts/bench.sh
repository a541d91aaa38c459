#!/usr/bin/env bash
# `make bench`: speed and scale figures (never asserted in tests). Each benchmark prints its own table;
# the JSON reports land in reports/bench/<timestamp>/. BENCH=name1,name2 runs a subset.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH="$ROOT/.venv/bin:$PATH" PYTHONPATH="$ROOT/collections:$ROOT" ANSIBLE_CONFIG="$ROOT/ansible.cfg"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$ROOT/lab/containers/containers.conf}"
OUT="$ROOT/reports/bench/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$OUT"
SELECTED=${BENCH:-lab_scale,links,network,audit,fleet,firmware,hosts,hosts_baseline,cardscan,host_auditors,ee}
failed=()

bench() {
  local name=$1; shift
  [[ ",$SELECTED," == *",$name,"* ]] || return 0
  printf '\n=== bench: %s\n' "$name"
  local start=$SECONDS
  if ! "$@"; then failed+=("$name"); fi
  echo "(bench $name took $((SECONDS - start)) s)"
}

bench lab_scale python bench/lab_scale.py --report "$OUT/lab_scale.json"
bench links     python bench/links_bench.py
bench network   python bench/network_bench.py --size 1000
bench audit     python bench/audit_bench.py --sizes 50,200,1000 --json "$OUT/audit.json"
bench fleet     python bench/fleet_bench.py --sizes "${FLEET_SIZES:-100,1000,10000}" --json "$OUT/fleet.json"
bench firmware  python bench/firmware_bench.py
bench hosts     python bench/hosts_converge.py --report "$OUT/hosts_converge.json"
bench hosts_baseline bash molecule/hosts_baseline/bench.sh
bench cardscan  python bench/cardscan_bench.py --json "$OUT/cardscan.json"
# Lynis and OpenSCAP SSG (standard, ANSSI BP-028 intermediary and high): hardened host vs its untouched twin
bench host_auditors python bench/host_auditors.py --report "$OUT/host_auditors.json"
# the execution environment: build (skipped when the image exists) + the audit in it, timed (docs/awx.md)
bench ee        bash -c 'bash scripts/ee/build.sh && AIPHONE_EE_REQUIRED=1 pytest -q --durations=5 tests/integration/ee'

echo
echo "reports: $OUT"
if [ ${#failed[@]} -gt 0 ]; then echo "benchmarks that did not complete: ${failed[*]}"; exit 1; fi
