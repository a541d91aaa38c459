"""One lab for the whole detection replay session: a PBX host and a probe (lab/linux_hosts.py), people and data on
the PBX as a site has them. The tests perform ordinary work and attacks on these hosts for real (SSH over the lab
network, usermod, the agent's transcript log), collect what the PBX's journal recorded and run the compiled queries.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from lab import linux_hosts

REPO = Path(__file__).resolve().parents[3]
AGENT_PASSWORD = "Agent-Lab-Password-4"

SETUP_PBX = r"""
set -eu
getent group supervisors >/dev/null || groupadd supervisors
for user in agent mallory bob; do id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user"; done
echo "agent:$1" | chpasswd
install -d -m 0750 -o root -g supervisors /srv/aiphone/recordings /srv/aiphone/transcripts
"""


def podman(*args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.setdefault("CONTAINERS_CONF", str(REPO / "lab" / "containers" / "containers.conf"))
    result = subprocess.run(["podman", *args], input=stdin, capture_output=True, text=True, env=env, check=False,
                            timeout=120)
    if check:
        assert result.returncode == 0, f"podman {' '.join(args[:4])}: {result.stderr}"
    return result


@pytest.fixture(scope="session")
def replay_lab(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("detections-lab")
    try:
        hosts = linux_hosts.start(run_dir, ["pbx-01", "probe-01"])
        pbx = hosts["pbx-01"]["aiphone_lab_container"]
        podman("exec", "-i", pbx, "bash", "-s", "--", AGENT_PASSWORD, stdin=SETUP_PBX)
        yield {"pbx": pbx, "probe": hosts["probe-01"]["aiphone_lab_container"],
               "pbx_address": hosts["pbx-01"]["ansible_host"], "probe_address": hosts["probe-01"]["ansible_host"]}
    finally:
        linux_hosts.stop(run_dir)
