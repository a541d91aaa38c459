"""Check mode on fresh hosts is an accurate, harmless plan: it reports the changes (with diffs) and makes none."""

from __future__ import annotations

import pytest

from .conftest import HOSTS, recap

# the shared fixture converges two hosts twice: minutes on a busy machine (timeouts are not measurements)
pytestmark = pytest.mark.timeout(2400)


def test_check_mode_plans_without_changing_anything(hardened_hosts):
    check = hardened_hosts.check_run
    assert check.returncode == 0, check.stdout[-4000:]
    counters = recap(check.stdout)
    for host in HOSTS:
        assert counters[host]["changed"] > 0
        assert "aiphone_host" not in hardened_hosts.untouched_after_check[host]
    assert "+table inet aiphone_host {" in check.stdout  # the diff shows the planned ruleset
    assert "+PasswordAuthentication no" in check.stdout

