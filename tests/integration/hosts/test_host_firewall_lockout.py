"""Lockout protection of host_firewall on a real host over real SSH: a run that would cut the controller off is
refused before anything changes, and a ruleset that does cut it off is rolled back by the timer armed before loading.
"""

from __future__ import annotations

import hashlib
import time

import pytest

from .conftest import podman, recap, run_playbook

# the shared fixture converges two hosts twice: minutes on a busy machine (timeouts are not measurements)
pytestmark = pytest.mark.timeout(2400)
HOST = "pbx-01"
CONF = "/etc/nftables.conf"


def conf_digest(hosts) -> str:
    return hashlib.sha256(podman("exec", hosts.container(HOST), "cat", CONF).encode()).hexdigest()


def test_run_refused_when_the_controller_would_be_cut_off(hardened_hosts):
    before = conf_digest(hardened_hosts)
    result = run_playbook(hardened_hosts.inventory, "--limit", HOST, "--tags", "host_firewall",
                          "-e", "host_firewall_keep_controller=false", "-e", "host_firewall_sip_burst=41")
    assert result.returncode != 0
    assert "the new ruleset would lock this run out" in result.stdout
    assert recap(result.stdout)[HOST]["changed"] == 0
    assert conf_digest(hardened_hosts) == before


def test_ruleset_that_cuts_the_controller_off_is_rolled_back(hardened_hosts):
    before = conf_digest(hardened_hosts)
    # Claim the controller sits in the mgmt zone: the role keeps no exception for its real address, so loading the
    # (changed) ruleset really cuts Ansible off; only the rollback timer can bring the host back.
    result = run_playbook(hardened_hosts.inventory, "--limit", HOST, "--tags", "host_firewall",
                          "-e", "host_firewall_controller_address=10.231.10.99",
                          "-e", "host_firewall_rollback_seconds=20", "-e", "host_firewall_sip_burst=41")
    assert result.returncode != 0
    assert "The rollback timer restores the previous ruleset" in result.stdout
    deadline = time.monotonic() + 90
    while conf_digest(hardened_hosts) != before and time.monotonic() < deadline:
        time.sleep(2)
    assert conf_digest(hardened_hosts) == before, "the rollback did not restore /etc/nftables.conf"
    check = run_playbook(hardened_hosts.inventory, "--limit", HOST, "--tags", "host_firewall", "--check")
    assert check.returncode == 0, check.stdout[-3000:]
    assert recap(check.stdout)[HOST]["changed"] == 0, "after the rollback the host should be as before"
