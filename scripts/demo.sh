#!/usr/bin/env bash
# The whole story against the simulated lab site: validate the policy, start the lab (devices, Linux hosts, SIEM),
# harden it (site.yml), roll the firmware out (firmware.yml: canary, then batches), audit it (audit.yml), print a
# short summary - the automated checks and the evidence awaited - and where the reports are, and stop the lab,
# whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH="$ROOT/.venv/bin:$PATH" PYTHONPATH="$ROOT/collections:$ROOT" ANSIBLE_CONFIG="$ROOT/ansible.cfg"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$ROOT/lab/containers/containers.conf}"
RUN_DIR=${RUN_DIR:-$ROOT/run/demo}
INVENTORY=$RUN_DIR/inventory
VAULT=(--vault-id "lab@$ROOT/inventories/lab/vault-password.txt")
LOG_DIR=$RUN_DIR/logs
# Where the audit trail and the reports go (the end-to-end test points them into its own directory).
AUDIT_DIR=${AIPHONE_AUDIT_DIR:-$ROOT/audit}
REPORT_ROOT=${AIPHONE_REPORT_ROOT:-$ROOT/reports}

step() { printf '\n=== %s\n' "$*"; }

step "1/5 validate the lab site policy"
python -m scripts.validate_policy inventories/lab

step "2/5 start the simulated site"
python -m lab up --size small --run-dir "$RUN_DIR" ${LAB_UP_ARGS:-} > /dev/null
trap 'step "stopping the lab"; python -m lab down --run-dir "$RUN_DIR"' EXIT
python -m lab status --run-dir "$RUN_DIR"
mkdir -p "$LOG_DIR"

run_playbook() {
  local name=$1; shift
  local log="$LOG_DIR/$name.log"
  if ansible-playbook -i "$INVENTORY" "${VAULT[@]}" "playbooks/$name.yml" -e "aiphone_audit_dir=$AUDIT_DIR" \
      -e "aiphone_report_root=$REPORT_ROOT" "$@" > "$log" 2>&1; then
    echo "$name.yml: ok (log: $log)"
  else
    echo "$name.yml: FAILED (log: $log); its last lines:"; tail -n 25 "$log"; return 1
  fi
  sed -n '/PLAY RECAP/,/^$/p' "$log"
}

step "3/5 harden the site (playbooks/site.yml)"
# The lab is simulated and nobody is on its phones: changes to the switches and Wi-Fi are forced outside the site's
# maintenance windows, with a reason - the override is recorded in the audit trail, as on a real site.
FORCE_REASON="make demo against the simulated lab site"
site_rc=0
run_playbook site -e switch_hardening_force=true -e "switch_hardening_force_reason='$FORCE_REASON'" \
  -e wireless_wpa3_force=true -e "wireless_wpa3_force_reason='$FORCE_REASON'" \
  -e phone_hardening_force=true -e "phone_hardening_force_reason='$FORCE_REASON'" || site_rc=$?

step "4/5 roll the firmware out (playbooks/firmware.yml: switches one at a time, then phones, canary first)"
# Outside a maintenance window only when forced, with a reason: the audit trail records both (UPD-03 checks them).
PROGRESS=$LOG_DIR/firmware-progress.log
: > "$PROGRESS"
tail -n 0 -F "$PROGRESS" 2>/dev/null | sed -u 's/^/  firmware progress: /' &
tail_pid=$!
firmware_rc=0
run_playbook firmware -e firmware_force=true -e "firmware_force_reason='$FORCE_REASON'" \
  -e "firmware_progress_file=$PROGRESS" || firmware_rc=$?
sleep 1; kill "$tail_pid" 2>/dev/null || true

step "5/5 audit the site (playbooks/audit.yml, read-only)"
audit_rc=0
run_playbook audit || audit_rc=$?

step "summary"
report_dir=$(ls -1dt "$REPORT_ROOT"/lab/*/ 2>/dev/null | head -n 1 || true)
if [ -n "$report_dir" ]; then
  echo "reports: $report_dir"
  ls -1 "$report_dir" | sed 's/^/  /'
  python -m scripts.compliance_summary "$report_dir/compliance.json" || audit_rc=1
else
  echo "compliance: no report was written (see $LOG_DIR/audit.log)"
fi
echo "audit trail: $AUDIT_DIR/lab/trail.jsonl (verify: make audit-verify SITE=inventories/lab)"
echo "demo took $(( SECONDS / 60 )) min $(( SECONDS % 60 )) s"
exit $(( site_rc || firmware_rc || audit_rc ))
