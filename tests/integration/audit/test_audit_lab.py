"""playbooks/audit.yml against the simulated site: real drivers, real Ansible, real files.

Proves: inventory values equal what the lab devices report; outdated devices are flagged; canary secrets placed in
the inventory never reach the trail, the reports or the Ansible output; an expired attestation fails its item; the
run is read-only and its version state idempotent.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail

REPO = Path(__file__).resolve().parents[3]
VAULT_PASSWORD_FILE = REPO / "inventories" / "lab" / "vault-password.txt"
CANARY_PSK = "CANARY-staff-psk-4c1e0b"
CANARY_PASSWORD = "CANARY-bad-switch-pw-77e2"

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def audited(fresh_lab, tmp_path_factory):
    """One site inventory copied from the lab run, with canaries and attestations, audited twice."""
    work = tmp_path_factory.mktemp("audit")
    inventory = work / "inventories" / "lab"
    shutil.copytree(fresh_lab.run_dir / "inventory", inventory)
    (inventory / "group_vars" / "all" / "canary.yml").write_text(yaml.safe_dump({"vault_wifi_staff_psk": CANARY_PSK}))
    (inventory / "host_vars").mkdir(exist_ok=True)
    (inventory / "host_vars" / "sw-access-01.yml").write_text(yaml.safe_dump({"ansible_password": CANARY_PASSWORD}))
    today = dt.datetime.now(dt.UTC).date()
    (inventory / "attestations.yml").write_text(yaml.safe_dump({"attestations": [
        {"type": "physical_security", "who": "Sofia Reyes", "when": today - dt.timedelta(days=120),
         "evidence": "walk-through, ticket OPS-1"},
        {"type": "access_review", "who": "Omar Haddad", "when": today - dt.timedelta(days=10),
         "evidence": "review minutes SEC-88"},
    ]}))
    runs = [_run_audit(inventory, work) for _ in range(2)]
    return {"work": work, "inventory": inventory, "runs": runs, "lab": fresh_lab,
            "site_dir": work / "audit" / "lab", "reports": sorted((work / "reports" / "lab").iterdir())}


def _run_audit(inventory: Path, work: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
               ANSIBLE_CALLBACKS_ENABLED="aiphone.hardening.audit_trail,ansible.posix.profile_tasks")
    result = subprocess.run(
        ["ansible-playbook", "-v", "-i", str(inventory / "hosts.yml"), str(REPO / "playbooks" / "audit.yml"),
         "--vault-password-file", str(VAULT_PASSWORD_FILE), "-e", f"aiphone_audit_dir={work / 'audit'}",
         "-e", f"aiphone_report_root={work / 'reports'}"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=500, check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return result


def _latest(audited, name):
    return json.loads((audited["reports"][-1] / name).read_text())


def test_inventory_equals_what_the_lab_devices_report(audited):
    devices = {d["name"]: d for d in _latest(audited, "inventory.json")["devices"]}
    status = audited["lab"].control.status()
    read = [name for name in status if name != "sw-access-01" and devices[name]["status"] != "unreachable"]
    assert {"sw-core-01", "phone-101", "phone-103"} <= set(read)
    for name in read:
        assert devices[name]["version"] == status[name]["version"], name
        # as the device spells it: Poly reports "VVX 450" for the policy's VVX450 (tests/conformance/poly)
        assert devices[name]["model"].replace(" ", "") == status[name]["model"].replace(" ", ""), name
    assert devices["sw-core-01"]["serial"] and devices["sw-core-01"]["image"]


def test_outdated_devices_are_flagged(audited):
    devices = {d["name"]: d for d in _latest(audited, "inventory.json")["devices"]}
    assert devices["sw-core-01"]["status"] == "outdated" and devices["sw-core-01"]["baseline_version"] == "17.9.5"
    assert devices["phone-101"]["status"] == "outdated"
    assert devices["sw-access-01"]["status"] == "unreachable"
    assert devices["sw-access-01"]["error_type"] == "AuthenticationFailed"
    html = (audited["reports"][-1] / "report.html").read_text()
    assert '<tr class="outdated"><td>sw-core-01' in html
    compliance = _latest(audited, "compliance.json")
    assert next(i for i in compliance["items"] if i["id"] == "UPD-01")["status"] == "fail"


def test_expired_attestation_is_awaited_evidence_and_a_valid_one_is_attested(audited):
    """An attestation is never 'failing' (issue 20): expired = evidence awaited, with its expiry; valid = attested."""
    compliance = _latest(audited, "compliance.json")
    items = {i["id"]: i for i in compliance["items"]}
    assert items["NET-04"]["status"] == "awaiting_evidence" and "expired on" in items["NET-04"]["detail"]
    awaited = {entry["id"]: entry for entry in compliance["evidence_awaited"]}
    assert awaited["NET-04"]["state"] == "expired" and awaited["NET-04"]["expired_on"]
    assert items["ACC-02"]["status"] == "attested" and "ACC-02" not in awaited


def test_plain_text_secret_is_named_not_shown(audited):
    items = {i["id"]: i for i in _latest(audited, "compliance.json")["items"]}
    findings = items["CRD-01"]["checks"][0]["findings"]
    assert items["CRD-01"]["status"] == "fail"
    assert "group_vars/all/canary.yml: vault_wifi_staff_psk" in findings


def test_canaries_never_leave_the_inventory(audited, fresh_lab):
    secrets = [CANARY_PSK, CANARY_PASSWORD, fresh_lab.credentials.password]
    outputs = [run.stdout + run.stderr for run in audited["runs"]]
    files = [p for p in audited["work"].rglob("*") if p.is_file() and "inventories" not in p.parts]
    assert any(p.name == "trail.jsonl" for p in files) and any(p.name == "report.html" for p in files)
    for secret in secrets:
        for text in outputs:
            assert secret not in text
        for path in files:
            assert secret not in path.read_text(errors="replace"), path


def test_trail_holds_snapshots_and_verifies(audited):
    report = audit_trail.verify(str(audited["site_dir"]))
    assert report.ok, report.summary()
    records = audit_trail.read_records(str(audited["site_dir"]))
    kinds = [r["kind"] for r in records]
    assert kinds.count("inventory_snapshot") == 2 and kinds.count("compliance_report") == 2
    # read-only on devices: the only change the callback saw is the first run creating the version state
    [change] = [r for r in records if r["kind"] == "change"]
    assert change["device"] == "localhost" and change["action"] == "aiphone.hardening.version_inventory"


def test_second_run_changes_nothing(audited):
    second = audited["runs"][1].stdout
    recap = second[second.index("PLAY RECAP"):]
    assert "changed=0" in recap and "changed=1" not in recap and "changed=2" not in recap
    assert len(audited["reports"]) == 2 or audited["reports"][0].name == audited["reports"][-1].name
