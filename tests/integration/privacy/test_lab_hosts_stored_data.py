"""The lab's own Linux hosts (lab/linux_hosts.py: Debian 12 and 13, FUSE device given) with the lab inventory's
settings: playbooks/hosts.yml (data_encryption, access_roles, data_retention) converges and re-runs without a
change, the audit's stored-data tasks make PRI-03, MIN-01 and MIN-02 pass on both hosts, and a card number planted
in one host's transcripts fails MIN-01 and MIN-02 naming that host and file."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from ansible_collections.aiphone.hardening.plugins.module_utils.compliance import checklist as cl
from ansible_collections.aiphone.hardening.plugins.module_utils.compliance import report as rp
from ansible_collections.aiphone.hardening.plugins.module_utils.compliance.checks import CHECKS, Context
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import load_site_policy
from lab import linux_hosts

REPO = Path(__file__).resolve().parents[3]
LAB = REPO / "inventories" / "lab"
HOSTS = [{"name": "pbx-01"}, {"name": "ai-gw-01", "image": "localhost/debian-trixie-ansible:latest"}]
TAGS = "data_encryption,access_roles,data_retention"
pytestmark = pytest.mark.timeout(1800)


def env() -> dict:
    return dict(os.environ, PATH=f"{REPO / '.venv' / 'bin'}:{os.environ.get('PATH', '')}",
                PYTHONPATH=f"{REPO / 'collections'}:{REPO}", ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
                ANSIBLE_VAULT_IDENTITY_LIST=f"lab@{LAB / 'vault-password.txt'}", ANSIBLE_FORCE_COLOR="0")


@pytest.fixture(scope="module")
def lab_hosts(tmp_path_factory):
    if not os.path.exists("/dev/fuse"):
        pytest.skip("needs /dev/fuse")
    run_dir = tmp_path_factory.mktemp("stored-data-lab")
    try:
        host_vars = linux_hosts.start(run_dir, HOSTS)
        inventory = run_dir / "hosts.yml"
        inventory.write_text(yaml.safe_dump({"all": {
            "vars": {"aiphone_site_policy_file": str(LAB / "site_policy.yml")},
            "children": {"linux_hosts": {"hosts": host_vars}}}}))
        yield run_dir, inventory, host_vars
    finally:
        linux_hosts.stop(run_dir)


def playbook(inventory: Path, path: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ansible-playbook", "-i", str(inventory), str(path),
                           "-e", f"@{LAB / 'group_vars' / 'linux_hosts.yml'}",
                           "-e", f"@{LAB / 'group_vars' / 'all' / 'data_encryption_vault.yml'}", *extra],
                          capture_output=True, text=True, env=env(), cwd=REPO, check=False, timeout=1500)


def evidence(run_dir: Path, inventory: Path) -> dict:
    out_dir = run_dir / "evidence"
    out_dir.mkdir(exist_ok=True)
    play = run_dir / "evidence.yml"
    play.write_text(json.dumps([{"name": "stored data evidence", "hosts": "linux_hosts", "gather_facts": False,
                                 "become": True, "tasks": [
        {"name": "Evidence", "ansible.builtin.include_tasks": str(REPO / "playbooks" / "tasks" /
                                                                  "audit_stored_data.yml")},
        {"name": "Hand it to the test", "delegate_to": "localhost", "become": False, "ansible.builtin.copy": {
            "content": "{{ aiphone_audit_stored_data | to_json }}",
            "dest": f"{out_dir}/{{{{ inventory_hostname }}}}.json", "mode": "0600"}}]}]))
    run = playbook(inventory, play)
    assert run.returncode == 0, run.stdout[-3000:]
    return {p.stem: json.loads(p.read_text()) for p in out_dir.glob("*.json")}


def compliance(hosts: dict) -> dict:
    policy = load_site_policy(str(LAB / "site_policy.yml"))
    checklist = cl.load_checklist(str(REPO / "checklist" / "checklist.yml"), policy, set(CHECKS))
    ctx = Context(policy=policy, inventory={}, trail_records=[], trail_report=None, evidence={"hosts": hosts})
    return {i["id"]: i for i in rp.evaluate(checklist, ctx, []) if i["id"] in ("PRI-03", "MIN-01", "MIN-02")}


def test_lab_hosts_encrypted_scanned_and_a_planted_card_fails(lab_hosts):
    run_dir, inventory, host_vars = lab_hosts
    for host in host_vars.values():   # data_retention writes into /etc/aiphone, which security_updates creates
        subprocess.run(["podman", "exec", host["aiphone_lab_container"], "install", "-d", "-m", "0755", "/etc/aiphone"],
                       check=True, env=env())
    first = playbook(inventory, REPO / "playbooks" / "hosts.yml", "--tags", TAGS)
    assert first.returncode == 0, first.stdout[-5000:]
    again = playbook(inventory, REPO / "playbooks" / "hosts.yml", "--tags", TAGS)
    assert again.returncode == 0, again.stdout[-5000:]
    recap = dict(re.findall(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", again.stdout, re.M))
    assert recap.get("pbx-01") == recap.get("ai-gw-01") == "0", again.stdout[-5000:]

    items = compliance(evidence(run_dir, inventory))
    assert {i: item["status"] for i, item in items.items()} == {"PRI-03": "pass", "MIN-01": "pass", "MIN-02": "pass"}, \
        items

    container = host_vars["ai-gw-01"]["aiphone_lab_container"]
    subprocess.run(["podman", "exec", container, "bash", "-c",
                    "printf 'caller: card 5555-5555-5555-4444, cvv 123\\n' > /srv/aiphone/transcripts/call-1.txt"],
                   check=True, env=env())
    planted = compliance(evidence(run_dir, inventory))
    assert planted["MIN-01"]["status"] == planted["MIN-02"]["status"] == "fail"
    assert any(f.startswith("ai-gw-01: /srv/aiphone/transcripts/call-1.txt: 1 card number(s)")
               for c in planted["MIN-01"]["checks"] for f in c["findings"]), planted["MIN-01"]
    assert planted["PRI-03"]["status"] == "pass"
