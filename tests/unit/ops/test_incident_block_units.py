# -*- coding: utf-8 -*-
"""Offline parts of blocking a source at the switch ACLs: the numbered entries, their read-back, refusals, and the
converge keeping them (iosconfig._diff_ordered) while the verifier ignores them."""

from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.aiphone.hardening.plugins.module_utils.network.acl import compile_zone_acls
from ansible_collections.aiphone.hardening.plugins.module_utils.network.incident_block import (
    BlockError,
    block_commands,
    deviations,
    edit_in_effect,
    is_incident_edit,
    parse_sources,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.iosconfig import (
    Section,
    diff_section,
    parse_running_config,
    verify_applied,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.verify import verify_switch
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import load_site_policy

REPO = Path(__file__).resolve().parents[3]
ACL = "ip access-list extended ACL-DATA-IN"


@pytest.fixture(scope="module")
def policy():
    return load_site_policy(str(REPO / "inventories/lab/site_policy.yml"))


def sources(policy, *values):
    return parse_sources(list(values), policy, "10.10.10.100")[0]


def test_blocks_take_the_lowest_free_reserved_sequence_and_are_idempotent(policy):
    current = ["1 deny ip host 192.0.2.1 any log", "10 permit tcp 10.10.30.0 0.0.0.255 any eq 443"]
    commands = block_commands("ACL-DATA-IN", current, sources(policy, "203.0.113.7", "192.0.2.1"), True)
    assert commands == [ACL, " 2 deny ip host 203.0.113.7 any log"]
    assert block_commands("ACL-DATA-IN", current, sources(policy, "192.0.2.1"), True) == []
    assert block_commands("ACL-DATA-IN", current, sources(policy, "192.0.2.1"), False) == [ACL, " no 1"]
    assert block_commands("ACL-DATA-IN", current, sources(policy, "198.51.100.9"), False) == []


def test_more_than_nine_blocks_per_acl_are_refused(policy):
    full = [f"{n} deny ip host 192.0.2.{n} any log" for n in range(1, 10)]
    with pytest.raises(BlockError, match="9 incident blocks"):
        block_commands("ACL-DATA-IN", full, sources(policy, "203.0.113.7"), True)


def test_lock_out_and_malformed_sources_are_refused(policy):
    for value, controller, message in (("10.10.10.100", "10.10.10.100", "controller"),
                                       ("10.0.0.0/8", "", "management zone"),
                                       ("10.10.10.5;reload", "", "not an IP"), ("any", "", "not an IP")):
        with pytest.raises(BlockError, match=message):
            parse_sources([value], policy, controller)
    assert parse_sources(["2001:db8::1", "192.0.2.1"], policy, "")[1] == ["2001:db8::1/128"]


def test_numbered_edits_are_read_back_entry_by_entry():
    current = ["1 deny ip host 192.0.2.1 any log", "10 permit ip any any"]
    assert is_incident_edit(" 1 deny ip host 192.0.2.1 any log") and is_incident_edit(" no 3")
    assert not is_incident_edit(" 10 permit ip any any") and not is_incident_edit(" no 1 deny")
    assert edit_in_effect("1 deny ip host 192.0.2.1 any log", current)
    assert not edit_in_effect("1 deny ip host 192.0.2.2 any log", current)
    assert edit_in_effect("no 2", current) and not edit_in_effect("no 1", current)
    running = parse_running_config(f"{ACL}\n 1 deny ip host 192.0.2.1 any log\n 10 permit ip any any\n")
    assert verify_applied([ACL, " 1 deny ip host 192.0.2.1 any log"], running) == []
    assert verify_applied([ACL, " no 1"], running) == [f"{ACL}: no 1"]


def test_converge_keeps_blocks_and_verifier_ignores_them(policy):
    entries = [e.cli() for e in compile_zone_acls(policy)["data"]]
    numbered = "".join(f" {10 * (n + 1)} {e}\n" for n, e in enumerate(entries))
    running = parse_running_config(f"{ACL}\n 1 deny ip 10.10.30.0 0.0.0.255 any log\n{numbered}")
    assert diff_section(Section(ACL, entries, ordered=True), running) is None          # nothing to converge
    tampered = parse_running_config(f"{ACL}\n 1 deny ip 10.10.30.0 0.0.0.255 any log\n" + numbered.split("\n", 1)[1])
    change = diff_section(Section(ACL, entries, ordered=True), tampered)
    assert change.commands[:3] == [f"no {ACL}", ACL, " 1 deny ip 10.10.30.0 0.0.0.255 any log"]
    assert change.after[0] == "deny ip 10.10.30.0 0.0.0.255 any log"             # --diff shows it kept
    # a block of the whole data zone decides every flow: ignored by the verifier, reported as a deviation
    assert [d["source"] for d in deviations(policy, "sw-core-01", running)] == ["10.10.30.0/24"]
    assert not [v for v in verify_switch(policy, "sw-core-01", running) if v.src == "data"
                and v.kind == "blocked_in_policy"]
