"""Hardened lab Linux hosts for the integration tests of issue 4 (host roles part A).

``hardened_hosts`` (module scope): Debian 12 and Debian 13 containers from the lab (lab/linux_hosts.py), two people
with SSH keys created on them the way access_roles would, then `playbooks/hosts.yml` run for real over SSH as the
automation account (tags host_firewall, ssh_hardening, mfa_totp) - twice, the second run must change nothing.

The test site is the lab policy with every 10.10.x address moved to 10.231.x, so that the zone networks the firewall
test creates cannot collide with another lab on this machine. The controller reaches the hosts from the lab network
(outside the mgmt zone): the firewall keeps SSH from it, as it must for a real operator.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import paramiko
import pyotp
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import load_site_policy
from lab import linux_hosts

REPO_ROOT = Path(__file__).resolve().parents[3]
LAB_POLICY = REPO_ROOT / "inventories" / "lab" / "site_policy.yml"
HOSTS = {"pbx-01": "localhost/debian-bookworm-ansible:latest", "ai-gw-01": "localhost/debian-trixie-ansible:latest"}
TAGS = "host_firewall,ssh_hardening,mfa_totp"
SUDO_PASSWORD = "Correct-Horse-Battery-7"


@dataclass
class Person:
    name: str
    key: paramiko.Ed25519Key
    public_line: str
    secret: str | None = None  # vault-supplied; None: generated on the host


@dataclass
class HardenedHosts:
    run_dir: Path
    inventory: Path
    policy_file: Path
    host_vars: dict[str, dict]
    automation_key: paramiko.Ed25519Key
    people: dict[str, Person]
    check_run: subprocess.CompletedProcess  # --check --diff on the fresh hosts, before the first converge
    untouched_after_check: dict[str, str]  # host -> /etc/nftables.conf right after the check run
    first_run: subprocess.CompletedProcess
    second_run: subprocess.CompletedProcess
    timings: dict[str, float] = field(default_factory=dict)

    def address(self, host: str) -> str:
        return self.host_vars[host]["ansible_host"]

    def container(self, host: str) -> str:
        return self.host_vars[host]["aiphone_lab_container"]

    def known_hosts(self) -> Path:
        return self.run_dir / linux_hosts.STATE_DIR / "known_hosts"


def new_key(comment: str) -> tuple[paramiko.Ed25519Key, str]:
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                            serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return paramiko.Ed25519Key.from_private_key(io.StringIO(pem)), f"{public.decode()} {comment}"


def podman(*args: str, stdin: str | None = None) -> str:
    env = dict(os.environ)
    env.setdefault("CONTAINERS_CONF", str(REPO_ROOT / "lab" / "containers" / "containers.conf"))
    result = subprocess.run(["podman", *args], input=stdin, capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, f"podman {' '.join(args[:3])}: {result.stderr}"
    return result.stdout


# Runs as root in each container: the accounts access_roles would create (key-only people with a sudo rule).
CREATE_PERSON = r"""
set -eu
user="$1"; key="$2"; password="$3"
id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user"
echo "$user:$password" | chpasswd
install -d -m 0700 -o "$user" -g "$user" "/home/$user/.ssh"
printf '%s\n' "$key" > "/home/$user/.ssh/authorized_keys"
chown "$user:$user" "/home/$user/.ssh/authorized_keys"; chmod 0600 "/home/$user/.ssh/authorized_keys"
printf '%s ALL=(ALL:ALL) ALL\n' "$user" > "/etc/sudoers.d/test-$user"; chmod 0440 "/etc/sudoers.d/test-$user"
"""


def test_site(run_dir: Path) -> Path:
    text = LAB_POLICY.read_text().replace("10.10.", "10.231.")
    path = run_dir / "site" / "site_policy.yml"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    load_site_policy(str(path))  # the rewritten policy is still valid
    return path


def write_inventory(run_dir: Path, policy_file: Path, host_vars: dict, people: dict[str, Person]) -> Path:
    inventory = {
        "all": {
            "vars": {
                "aiphone_site_policy_file": str(policy_file),
                # test-only plaintext "vault"; a real site keeps these in an ansible-vault file
                "mfa_totp_secrets": {p.name: p.secret for p in people.values() if p.secret},
                # several logins per test person within 30 s; the default (3 per 30 s) is tested separately
                "mfa_totp_rate_limit": 10,
            },
            "children": {"linux_hosts": {"hosts": host_vars}},
        }
    }
    path = run_dir / "site" / "hosts.yml"
    path.write_text(yaml.safe_dump(inventory, sort_keys=False))
    return path


def ansible_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(PATH=f"{REPO_ROOT / '.venv' / 'bin'}:{env.get('PATH', '')}",
               PYTHONPATH=f"{REPO_ROOT / 'collections'}:{REPO_ROOT}",
               ANSIBLE_CONFIG=str(REPO_ROOT / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0")
    return env


def run_playbook(inventory: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["ansible-playbook", "-i", str(inventory), str(REPO_ROOT / "playbooks" / "hosts.yml"), "--tags", TAGS, *extra],
        capture_output=True, text=True, env=ansible_env(), cwd=REPO_ROOT, check=False, timeout=900)


def recap(output: str) -> dict[str, dict[str, int]]:
    """PLAY RECAP lines -> {host: {ok, changed, unreachable, failed, ...}}."""
    hosts = {}
    for host, counters in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", output, re.MULTILINE):
        hosts[host] = {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", counters)}
    return hosts


@pytest.fixture(scope="package")
def hardened_hosts(tmp_path_factory) -> HardenedHosts:
    run_dir = tmp_path_factory.mktemp("hosts")
    try:
        policy_file = test_site(run_dir)
        host_vars = linux_hosts.start(run_dir, [{"name": n, "image": i} for n, i in HOSTS.items()])
        people = {}
        for name, secret in (("sofia", pyotp.random_base32(32)), ("marc", None)):
            key, public_line = new_key(f"{name}@test")
            people[name] = Person(name, key, public_line, secret)
        for host in host_vars.values():
            for person in people.values():
                podman("exec", "-i", host["aiphone_lab_container"], "bash", "-s", "--", person.name,
                       person.public_line, SUDO_PASSWORD, stdin=CREATE_PERSON)
        inventory = write_inventory(run_dir, policy_file, host_vars, people)
        check = run_playbook(inventory, "--check", "--diff")
        untouched = {name: podman("exec", hv["aiphone_lab_container"], "cat", "/etc/nftables.conf")
                     for name, hv in host_vars.items()}
        timings = {}
        start = time.monotonic()
        first = run_playbook(inventory)
        timings["first_converge_s"] = time.monotonic() - start
        assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-2000:]
        start = time.monotonic()
        second = run_playbook(inventory)
        timings["second_converge_s"] = time.monotonic() - start
        assert second.returncode == 0, second.stdout[-6000:] + second.stderr[-2000:]
        automation_key = paramiko.Ed25519Key.from_private_key_file(
            str(run_dir / linux_hosts.STATE_DIR / "id_ed25519"))
        yield HardenedHosts(run_dir, inventory, policy_file, host_vars, automation_key, people, check, untouched,
                            first, second, timings)
    finally:
        linux_hosts.stop(run_dir)
