"""Filters of the host baseline roles: policy durations, maintenance windows, package diffs, IP lists."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.aiphone.hardening.plugins.filter.host_baseline import (
    duration_seconds,
    ip_networks,
    maintenance_oncalendar,
    package_changes,
)


def test_duration_seconds_uses_the_policy_grammar():
    assert duration_seconds("90d") == 90 * 86400
    assert duration_seconds("1y") == 365 * 86400
    with pytest.raises(AnsibleFilterError, match="cannot read duration"):
        duration_seconds("90 days; rm -rf /")


def test_maintenance_windows_become_oncalendar_in_site_timezone():
    windows = [{"name": "s", "days": ["sun"], "start": "02:00", "duration": "3h"},
               {"name": "w", "days": ["wed", "sat"], "start": "1:05", "duration": "90m"}]
    assert maintenance_oncalendar(windows, "Europe/Berlin") == [
        "Sun *-*-* 02:00:00 Europe/Berlin", "Wed,Sat *-*-* 01:05:00 Europe/Berlin"]
    with pytest.raises(AnsibleFilterError):
        maintenance_oncalendar([{"days": ["funday"], "start": "02:00"}])


def test_package_changes_lists_upgrades_installs_and_removals():
    before = "libssl3\t3.0.1\nopenssl\t3.0.1\nold-dep\t1.0\nsame\t2\n"
    after = "libssl3\t3.0.2\nopenssl\t3.0.2\nnew-dep\t5\nsame\t2\n"
    assert package_changes(before, after) == [
        {"package": "libssl3", "before": "3.0.1", "after": "3.0.2"},
        {"package": "new-dep", "before": None, "after": "5"},
        {"package": "old-dep", "before": "1.0", "after": None},
        {"package": "openssl", "before": "3.0.1", "after": "3.0.2"},
    ]
    assert package_changes(before, before) == []


def test_ip_networks_split_and_refuse_garbage():
    assert ip_networks(["10.10.10.0/24", "192.0.2.7", "2001:db8::/64", "10.10.10.0/24"]) == {
        "ipv4": ["10.10.10.0/24", "192.0.2.7/32"], "ipv6": ["2001:db8::/64"]}
    with pytest.raises(AnsibleFilterError, match="not an IP address"):
        ip_networks(["10.0.0.0/8 } accept; flush ruleset"])
