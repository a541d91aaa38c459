#!/usr/bin/env bash
# The two long suites of `make test`, side by side: the integration tests (pytest against the lab, in the
# foreground) and the molecule scenarios (podman containers, in the background, their output in a log printed when
# they end). They share nothing: the lab of the pytest session listens on free ports, molecule's containers and
# networks have names of their own. Exit status: non-zero if either failed. The last line repeats pytest's summary.
#
# Usage: scripts/test-suites.sh   (from `make test`; MOLECULE_SCENARIOS, PYTEST_ARGS, PYTEST_WORKERS as in the Makefile)
set -uo pipefail
cd "$(dirname "$0")/.."
logs=${TEST_LOG_DIR:-.cache/test-logs}
mkdir -p "$logs"
started=$SECONDS

bash scripts/run-molecule.sh ${MOLECULE_SCENARIOS:-} > "$logs/molecule.log" 2>&1 &
molecule_pid=$!

# Two pytest workers (pytest-xdist), each test file whole on one worker (its module-scoped lab, its order): most
# integration tests wait on simulated reloads, SSH logins and timeouts, not on the CPU. Files are handed out longest
# first (tests/integration/conftest.py orders them by tests/integration/file-seconds.json; --no-loadscope-reorder
# keeps that order). PYTEST_WORKERS=0 runs them in this process, one after the other.
workers=${PYTEST_WORKERS:-2}
xdist=()
[ "$workers" -gt 0 ] && xdist=(-n "$workers" --dist loadfile --no-loadscope-reorder)
.venv/bin/pytest -q --durations=25 "${xdist[@]}" ${PYTEST_ARGS:-} tests/integration 2>&1 | tee "$logs/integration.log"
integration_rc=${PIPESTATUS[0]}
integration_s=$((SECONDS - started))

wait "$molecule_pid"
molecule_rc=$?
echo
echo "=== molecule (ran alongside the integration tests; full log: $logs/molecule.log)"
if [ "$molecule_rc" -ne 0 ]; then tail -n 150 "$logs/molecule.log"; else grep -E '^\[molecule\]|^  [a-z_]+ +[0-9]+ s$' "$logs/molecule.log"; fi
echo
echo "integration tests: rc=$integration_rc after ${integration_s} s; molecule: rc=$molecule_rc; both done after $((SECONDS - started)) s"
summary=$(grep -E '^[=]* ?[0-9]+ (passed|failed)' "$logs/integration.log" | tail -n 1)
[ -n "$summary" ] && echo "$summary"
[ "$integration_rc" -eq 0 ] && [ "$molecule_rc" -eq 0 ]
