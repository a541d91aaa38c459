"""Filters of the host baseline roles: policy durations, maintenance windows, package diffs, IP lists."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.aiphone.hardening.plugins.filter.host_baseline import (
    duration_seconds,
    ip_networks,
    maintenance_oncalendar,
    package_changes,
    packages_missing,
    setting_line,
    sysctl_differences,
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


def test_sysctl_differences_names_each_value_the_running_kernel_does_not_have():
    running = ("kernel.kptr_restrict = 1\nkernel.dmesg_restrict = 1\n"
               "net.ipv4.ip_local_port_range = 32768\t60999\n")
    wanted = {"kernel.kptr_restrict": 2, "kernel.dmesg_restrict": 1, "net.ipv4.ip_local_port_range": "32768 65535",
              "net.core.bpf_jit_harden": 2}
    assert sysctl_differences(running, wanted) == [
        "kernel.kptr_restrict (running 1, wanted 2)",
        "net.core.bpf_jit_harden (not in the running kernel, wanted 2)",
        "net.ipv4.ip_local_port_range (running 32768 60999, wanted 32768 65535)"]
    # negative control: a kernel that has every value reports nothing (tabs and spaces fold alike)
    same = "kernel.kptr_restrict = 2\nnet.ipv4.ip_local_port_range = 32768\t65535\n"
    assert sysctl_differences(same, {"kernel.kptr_restrict": "2", "net.ipv4.ip_local_port_range": "32768 65535"}) == []


def test_sysctl_differences_refuses_output_it_cannot_read():
    with pytest.raises(AnsibleFilterError, match="unexpected sysctl output"):
        sysctl_differences("sysctl: permission denied on key 'kernel.kptr_restrict'", {"kernel.kptr_restrict": 2})
    with pytest.raises(AnsibleFilterError, match="mapping"):
        sysctl_differences("", ["kernel.kptr_restrict"])


def test_setting_line_sets_a_key_as_lineinfile_did_and_refuses_control_characters():
    line = setting_line({"key": "ENCRYPT_METHOD", "value": "YESCRYPT"}, separator="\t")
    assert line == {"regexp": r"^#?ENCRYPT_METHOD\s", "line": "ENCRYPT_METHOD\tYESCRYPT"}
    for bad in ({"key": "UMASK", "value": "027\nPASS_MAX_DAYS 0"}, {"key": "A B", "value": "1"}, {"value": "1"}):
        with pytest.raises(AnsibleFilterError):
            setting_line(bad)


def test_packages_missing_lists_what_package_facts_lack_and_everything_without_them():
    facts = {"packages": {"nftables": [{"version": "1.0.6"}], "sudo": [{"version": "1.9"}]}}
    assert packages_missing(["nftables", "aide", "sudo"], facts) == ["aide"]
    assert packages_missing("nftables", facts) == []
    assert packages_missing(["nftables", "aide"], {"distribution": "Debian"}) == ["nftables", "aide"]
