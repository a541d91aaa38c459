"""The data_encryption role for real: a systemd container with FUSE (podman --device /dev/fuse --cap-add SYS_ADMIN:
what the lab's Linux hosts lack, see docs/privacy.md), the role applied twice, then a canary phrase written through
the clear-text mount must be absent from every byte of the cipher directory; a directory that already holds files
is refused without the migration flag and moved into its volume with it."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from lab import linux_hosts

REPO = Path(__file__).resolve().parents[3]
IMAGE = "localhost/debian-bookworm-ansible:latest"
PASSPHRASE = "lab-only-" + secrets.token_hex(12)
pytestmark = pytest.mark.timeout(900)


def podman(*args: str, check: bool = True, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["podman", *args], capture_output=True, check=check, input=stdin, timeout=300)


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    if not os.path.exists("/dev/fuse") or podman("image", "exists", IMAGE, check=False).returncode != 0:
        pytest.skip(f"needs /dev/fuse and the {IMAGE} image (scripts/setup.sh)")
    name = f"aiphone-dataenc-{uuid.uuid4().hex[:8]}"
    podman("run", "-d", "--name", name, "--systemd=always", "--device", "/dev/fuse", "--cap-add", "SYS_ADMIN",
           IMAGE, "/sbin/init")
    work = tmp_path_factory.mktemp("data_encryption")
    (work / "inventory.yml").write_text(json.dumps({"all": {"hosts": {name: {
        "ansible_connection": "containers.podman.podman", "ansible_python_interpreter": "/usr/bin/python3"}}}}))
    secret_vars = work / "vault.json"
    secret_vars.write_text(json.dumps({"vault_data_encryption_passphrase": PASSPHRASE}))
    os.chmod(secret_vars, 0o600)
    try:
        linux_hosts.wait_for_boot(name)
        yield name, work
    finally:
        podman("rm", "-f", "-t", "2", name, check=False)


def apply(host, extra: dict, check: bool = False) -> subprocess.CompletedProcess:
    _name, work = host
    playbook = work / "play.yml"
    playbook.write_text(json.dumps([{"name": "data_encryption", "hosts": "all", "gather_facts": False,
                                     "roles": [{"role": "aiphone.hardening.data_encryption"}]}]))
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
               PYTHONPATH=f"{REPO / 'collections'}{os.pathsep}{REPO}",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    cmd = ["ansible-playbook", "-i", str(work / "inventory.yml"), str(playbook), "-e", f"@{work / 'vault.json'}",
           "-e", json.dumps(dict({"data_encryption_enabled": True}, **extra)), "-v"]
    return subprocess.run(cmd + (["--check"] if check else []), cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=800, check=False)


def sh(host, script: str) -> subprocess.CompletedProcess:
    return podman("exec", host[0], "bash", "-c", script, check=False)


def test_canary_never_reaches_the_disk_and_reruns_change_nothing(host):
    first = apply(host, {})
    assert first.returncode == 0, first.stdout[-4000:]
    assert PASSPHRASE not in first.stdout + first.stderr
    canary = f"CANARY {uuid.uuid4()} card 4111 1111 1111 1111"
    assert sh(host, f"printf '%s' '{canary}' > /srv/aiphone/recordings/call-0001.txt").returncode == 0
    assert sh(host, "cat /srv/aiphone/recordings/call-0001.txt").stdout.decode() == canary
    backing = sh(host, "find /srv/aiphone/.recordings.crypt -type f -print0 | xargs -0 cat").stdout
    assert len(backing) > len(canary) and canary.encode() not in backing and b"CANARY" not in backing
    assert b"call-0001" not in sh(host, "find /srv/aiphone/.recordings.crypt").stdout   # names encrypted too

    # the passphrase lives only on the tmpfs, 0400 root
    assert sh(host, "stat -c '%a %U' /run/aiphone-crypt/passphrase").stdout.decode().strip() == "400 root"
    assert sh(host, f"grep -r -l -F -- '{PASSPHRASE}' /etc /srv /var /root /tmp").stdout == b""

    facts = apply(host, {})
    assert facts.returncode == 0 and "changed=0" in facts.stdout, facts.stdout[-4000:]
    units = sh(host, "systemctl is-active srv-aiphone-recordings.mount srv-aiphone-payment.mount").stdout.decode()
    assert units.split() == ["active", "active"]


def test_directory_holding_data_needs_the_migration_flag(host):
    assert sh(host, "mkdir -p /srv/aiphone/notes && printf 'old note MIGRATE-ME' > /srv/aiphone/notes/n1.txt"
              ).returncode == 0
    refused = apply(host, {"data_encryption_classes": ["notes"]})
    assert refused.returncode != 0 and "/srv/aiphone/notes already holds 1 file(s)" in refused.stdout
    assert sh(host, "test -e /srv/aiphone/.notes.crypt").returncode != 0                  # nothing half-applied
    assert sh(host, "cat /srv/aiphone/notes/n1.txt").stdout == b"old note MIGRATE-ME"

    moved = apply(host, {"data_encryption_classes": ["notes"], "data_encryption_migrate": True})
    assert moved.returncode == 0, moved.stdout[-4000:]
    assert sh(host, "findmnt -n -o FSTYPE /srv/aiphone/notes").stdout.strip() == b"fuse.gocryptfs"
    assert sh(host, "cat /srv/aiphone/notes/n1.txt").stdout == b"old note MIGRATE-ME"
    backing = sh(host, "find /srv/aiphone/.notes.crypt -type f -print0 | xargs -0 cat").stdout
    assert b"MIGRATE-ME" not in backing
    under = sh(host, "mkdir -p /run/peek && mount --bind /srv/aiphone /run/peek && ls -A /run/peek/notes; "
                     "umount /run/peek").stdout
    assert under == b""                                                # the plain copies are gone from the disk dir


def audit_evidence(host) -> dict:
    """playbooks/tasks/audit_stored_data.yml (what audit.yml runs on each Linux host) against the container."""
    _name, work = host
    out = work / "evidence.json"
    playbook = work / "evidence.yml"
    playbook.write_text(json.dumps([{"name": "stored data evidence", "hosts": "all", "gather_facts": False, "tasks": [
        {"name": "Evidence", "ansible.builtin.include_tasks": str(REPO / "playbooks" / "tasks" /
                                                                  "audit_stored_data.yml")},
        {"name": "Hand it to the test", "ansible.builtin.copy": {
            "content": "{{ aiphone_audit_stored_data | to_json }}", "dest": str(out), "mode": "0600"},
         "delegate_to": "localhost"}]}]))
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
               PYTHONPATH=f"{REPO / 'collections'}{os.pathsep}{REPO}",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    run = subprocess.run(["ansible-playbook", "-i", str(work / "inventory.yml"), str(playbook)], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stdout[-3000:]
    assert "4111" not in run.stdout
    return json.loads(out.read_text())


def compliance(evidence: dict) -> dict:
    from ansible_collections.aiphone.hardening.plugins.module_utils.compliance import checklist as cl
    from ansible_collections.aiphone.hardening.plugins.module_utils.compliance import report as rp
    from ansible_collections.aiphone.hardening.plugins.module_utils.compliance.checks import CHECKS, Context
    from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import load_site_policy

    policy = load_site_policy(str(REPO / "inventories" / "lab" / "site_policy.yml"))
    checklist = cl.load_checklist(str(REPO / "checklist" / "checklist.yml"), policy, set(CHECKS))
    ctx = Context(policy=policy, inventory={}, trail_records=[], trail_report=None,
                  evidence={"hosts": {"pbx-01": evidence, "ai-gw-01": evidence}})
    return {i["id"]: i for i in rp.evaluate(checklist, ctx, []) if i["id"] in ("PRI-03", "MIN-01", "MIN-02")}


def test_audit_evidence_passes_then_fails_on_a_planted_card_number(host):
    """PRI-03, MIN-01 and MIN-02 from the audit's own tasks: pass on the encrypted host, MIN-01/MIN-02 fail on a
    card number planted in a transcript (PRI-03 on a volume unmounted), pass again once masked."""
    assert apply(host, {}).returncode == 0
    assert {i: item["status"] for i, item in compliance(audit_evidence(host)).items()} == \
        {"PRI-03": "pass", "MIN-01": "pass", "MIN-02": "pass"}

    assert sh(host, "printf 'agent: go ahead\\ncaller: it is four one one one, one one one one, one one one one, "
                    "one one one one, expires twelve twenty eight\\n' > /srv/aiphone/transcripts/call-9.txt"
              ).returncode == 0
    planted = compliance(audit_evidence(host))
    assert planted["MIN-01"]["status"] == planted["MIN-02"]["status"] == "fail"
    assert any("/srv/aiphone/transcripts/call-9.txt: 1 card number(s)" in f
               for c in planted["MIN-01"]["checks"] for f in c["findings"])
    assert planted["PRI-03"]["status"] == "pass"

    assert sh(host, "systemctl stop srv-aiphone-payment.mount").returncode == 0
    plain = compliance(audit_evidence(host))["PRI-03"]
    assert plain["status"] == "fail" and "/srv/aiphone/payment is stored in plain text" in str(plain["checks"])
    assert sh(host, "systemctl start srv-aiphone-payment.mount").returncode == 0

    _name, work = host
    mask_play = work / "mask.yml"
    mask_play.write_text(json.dumps([{"name": "mask", "hosts": "all", "gather_facts": False, "tasks": [
        {"name": "Mask", "aiphone.hardening.card_scan": {"paths": ["/srv/aiphone/transcripts"], "mask": True}}]}]))
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
               PYTHONPATH=f"{REPO / 'collections'}{os.pathsep}{REPO}",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    run = subprocess.run(["ansible-playbook", "-i", str(work / "inventory.yml"), str(mask_play)], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0 and "changed=1" in run.stdout, run.stdout[-3000:]
    assert "XXXXXXXXXXXX1111" in sh(host, "cat /srv/aiphone/transcripts/call-9.txt").stdout.decode()
    assert {i: item["status"] for i, item in compliance(audit_evidence(host)).items()} == \
        {"PRI-03": "pass", "MIN-01": "pass", "MIN-02": "pass"}
