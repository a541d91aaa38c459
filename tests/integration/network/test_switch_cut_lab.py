# -*- coding: utf-8 -*-
"""A change that stops half-way never leaves the switch more open than before (issue 12, monotonic safety).

For EVERY k of two real changes of the lab site's core switch (the management plane and zone ACLs from the
factory config; a policy change that swaps a zone ACL on a converged switch), the lab cuts the session right after
the k-th configuration line (fault close_after_lines). At that moment (the lab keeps the running config of the
cut) nothing may reference a missing ACL (the lab's probe after every line) and the verifier must find no flow the
policy denies that was not already open at the start. The driver pushes directly (one session per k, the device
reset from a flash copy of the start): the commit path with rollback is tested in test_switch_faults_lab.py.
"""

from __future__ import annotations

import copy

import pytest
from switch_fault_helpers import (
    SWITCH,
    ios_driver,
    open_flows,
    policy_change,
    restore_baseline,
    save_baseline,
    site_policy,
)

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import ConnectionFailed
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import site_policy_from_data

pytestmark = pytest.mark.timeout(600)
AREAS = ("management", "acls")   # the areas whose lines reference ACLs (VTY, SNMP group, SVIs)


def cut_at_every_line(lab, policy: dict, baseline: str, lines: list[str]) -> list[str]:
    """Cut the push after line k for k = 1, 2, ... until it completes; what was wrong at any cut."""
    control = lab.control
    with ios_driver(lab) as dev:
        start = open_flows(policy, SWITCH, dev.get_config())
    problems, k = [], 0
    while True:
        k += 1
        with ios_driver(lab) as dev:
            restore_baseline(dev, baseline)
            control.set_fault(SWITCH, "close_after_lines", lines=k)
            try:
                dev.push(lines)
            except ConnectionFailed:
                pass
            else:   # k is past the last line (and every `end`): the whole change went through
                control.clear_fault(SWITCH)
                assert k > len(lines), f"the push of {len(lines)} lines completed although cut at line {k}"
                return problems
        cut = control.status()[SWITCH]
        assert cut["cut"]["line"] == k, cut["cut"]
        if cut["dangling_acl_events"]:
            return problems + [f"k={k} ({cut['cut']['command']!r}): {cut['dangling_acl_events']}"]
        opened = open_flows(policy, SWITCH, cut["cut"]["running"]) - start
        if opened:
            problems.append(f"k={k} ({cut['cut']['command']!r}): newly open {sorted(opened)[:3]}")


@pytest.fixture(scope="module")
def factory(fresh_lab):
    with ios_driver(fresh_lab) as dev:
        save_baseline(dev, "factory.cfg")
        lines = policy_change(dev, site_policy(fresh_lab), AREAS)
    assert len(lines) > 50 and any(line.startswith("ip access-list") for line in lines)
    yield lines
    with ios_driver(fresh_lab) as dev:
        restore_baseline(dev, "factory.cfg")


def test_every_cut_of_the_first_hardening_is_no_more_open(fresh_lab, factory):
    problems = cut_at_every_line(fresh_lab, site_policy(fresh_lab), "factory.cfg", factory)
    assert problems == []


def test_every_cut_of_an_acl_swap_is_no_more_open(fresh_lab, factory):
    policy = site_policy(fresh_lab)
    with ios_driver(fresh_lab) as dev:
        restore_baseline(dev, "factory.cfg")
        dev.load_candidate(factory)
        dev.commit()
        assert open_flows(policy, SWITCH, dev.get_config()) == set()   # converged: nothing open
        save_baseline(dev, "converged.cfg")
        changed = copy.deepcopy(policy.raw)
        changed["flows"].append({"from": "data", "to": "mgmt", "service": "ntp"})
        policy = site_policy_from_data(changed)
        swap = policy_change(dev, policy, AREAS)
    assert any(line.endswith("-B") for line in swap) and any(line.startswith("no ip access-list") for line in swap)
    assert cut_at_every_line(fresh_lab, policy, "converged.cfg", swap) == []


def test_the_check_catches_a_naive_order(fresh_lab, factory):
    """Negative control: the same lines with the SVIs first (as one session, no phases) do open flows."""
    svis_first = sorted(factory, key=lambda line: not line.startswith(("interface Vlan", " ip address")))
    policy = site_policy(fresh_lab)
    with ios_driver(fresh_lab) as dev:
        restore_baseline(dev, "factory.cfg")
        dev._config_session(svis_first[:2], "naive")   # interface Vlan10 + its address, no ACL yet
        assert open_flows(policy, SWITCH, dev.get_config())
        restore_baseline(dev, "factory.cfg")
