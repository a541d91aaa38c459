"""One lab for the whole detection replay session: a PBX host and a probe (lab/linux_hosts.py), people and call data
on the PBX as a site has them, the audit_logging role's audit rules on the PBX's files (kernel_audit.py). The tests
perform ordinary work and attacks on these hosts for real (SSH over the lab network, sudo, cp, chmod, setfacl,
usermod, the agent's transcript log), collect what was written (the PBX's journal, the audit.log of its events) and
run the compiled queries on it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from lab import linux_hosts

from .kernel_audit import audited

REPO = Path(__file__).resolve().parents[3]
PASSWORDS = {"agent": "Agent-Lab-Password-4", "sam": "Sam-Lab-Password-4"}
RECORDINGS = 60

# Runs as root on the PBX: the people (agent: call-centre agent; sam: an administrator with sudo; mallory, bob),
# the data directories of the audit_logging role with recordings in them, and the auditd package the role installs.
SETUP_PBX = r"""
set -eu
groupadd -f callcenter; groupadd -f supervisors
for user in agent sam mallory bob; do
  id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user"
done
usermod -aG callcenter agent
echo "agent:$1" | chpasswd; echo "sam:$2" | chpasswd
printf 'sam ALL=(ALL:ALL) NOPASSWD: ALL\n' > /etc/sudoers.d/lab-sam; chmod 0440 /etc/sudoers.d/lab-sam
for dir in recordings transcripts metadata payment; do
  install -d -m 0750 -o root -g callcenter "/srv/aiphone/$dir"
done
for i in $(seq 1 "$3"); do
  head -c 4096 /dev/urandom > "/srv/aiphone/recordings/call-$i.wav"
done
chgrp callcenter /srv/aiphone/recordings/*.wav; chmod 0640 /srv/aiphone/recordings/*.wav
install_auditd() { DEBIAN_FRONTEND=noninteractive apt-get install -yq --no-install-recommends auditd >/dev/null 2>&1; }
command -v auditctl >/dev/null || install_auditd || { apt-get update -q >/dev/null; install_auditd; }
command -v setfacl >/dev/null
"""


def podman(*args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.setdefault("CONTAINERS_CONF", str(REPO / "lab" / "containers" / "containers.conf"))
    result = subprocess.run(["podman", *args], input=stdin, capture_output=True, text=True, env=env, check=False,
                            timeout=300)
    if check:
        assert result.returncode == 0, f"podman {' '.join(args[:4])}: {result.stderr}"
    return result


@pytest.fixture(scope="session")
def replay_lab(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("detections-lab")
    try:
        hosts = linux_hosts.start(run_dir, ["pbx-01", "probe-01"])
        pbx = hosts["pbx-01"]["aiphone_lab_container"]
        podman("exec", "-i", pbx, "bash", "-s", "--", PASSWORDS["agent"], PASSWORDS["sam"], str(RECORDINGS),
               stdin=SETUP_PBX)
        pid = int(podman("container", "inspect", "--format", "{{.State.Pid}}", pbx).stdout.strip())
        passwd = podman("exec", pbx, "getent", "passwd").stdout.splitlines()
        users = {fields[2]: fields[0] for fields in (line.split(":") for line in passwd)}
        with audited(pbx, pid, run_dir) as audit_log:
            yield {"pbx": pbx, "probe": hosts["probe-01"]["aiphone_lab_container"], "audit_log": audit_log,
                   "pbx_address": hosts["pbx-01"]["ansible_host"], "probe_address": hosts["probe-01"]["ansible_host"],
                   "automation": hosts["pbx-01"], "users": users, "run_dir": run_dir}
    finally:
        linux_hosts.stop(run_dir)
