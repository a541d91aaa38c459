# -*- coding: utf-8 -*-
"""SNMPv3 authPriv: policy -> CLI, `show snmp user` parsing, idempotence without readable keys, injection."""

from __future__ import annotations

import pytest

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import (
    InvalidValue,
    UnexpectedOutput,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.ios_render import (
    SwitchOptions,
    render_switch,
    switch_facts,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.iosconfig import (
    commands_of,
    diff_config,
    parse_running_config,
    verify_applied,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.snmp import (
    key_vars,
    parse_snmp_users,
    plan_snmp_users,
    snmp_sections,
    snmp_user_problems,
    snmp_users,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.switch_task import masker
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import PolicyError, validate_site_policy

KEYS = {"vault_snmp_nms_auth_key": "Auth-Key-2026x", "vault_snmp_nms_priv_key": "Priv-Key-2026y"}
SHOW_USER = """
User name: nms-monitor
Engine ID: 800000090300AABBCCDDEEFF
storage-type: nonvolatile        active
Authentication Protocol: SHA
Privacy Protocol: AES128
Group-name: AIPHONE-NMS

User name: old-nms
Engine ID: 800000090300AABBCCDDEEFF
storage-type: nonvolatile        active access-list: 10
Authentication Protocol: MD5
Privacy Protocol: None
Group-name: LEGACY
"""


def test_user_line_and_masking(policy):
    user, = snmp_users(policy, KEYS)
    assert user.cli() == ("snmp-server user nms-monitor AIPHONE-NMS v3 auth sha Auth-Key-2026x "
                          "priv aes 128 Priv-Key-2026y")
    assert "Auth-Key" not in user.cli(masked=True) and "Priv-Key" not in repr(user)
    assert key_vars(policy) == ["vault_snmp_nms_auth_key", "vault_snmp_nms_priv_key"]
    assert masker([user])(f"% refused: {user.cli()}") == ("% refused: snmp-server user nms-monitor AIPHONE-NMS v3 "
                                                         "auth sha ******** priv aes 128 ********")


def test_group_acl_and_community_removal_render(policy, factory_running):
    running = parse_running_config(factory_running)
    intent = render_switch(policy, "sw-core-01", switch_facts(running), SwitchOptions(areas=("management",)))
    commands = commands_of(diff_config(intent.sections, intent.banners, running))
    assert "snmp-server group AIPHONE-NMS v3 priv access ACL-SNMP-MGMT" in commands
    assert commands[commands.index("ip access-list standard ACL-SNMP-MGMT") + 1:][:2] == [
        " 10 permit 10.10.10.0 0.0.0.255", " 20 deny any log"]
    assert "no snmp-server community public RO" in commands
    assert any("community string(s) removed" in finding for finding in intent.findings)
    # a converged device: nothing left to send for the group/ACL, and the read-back accepts user lines it cannot see
    converged = parse_running_config("\n".join([
        "snmp-server group AIPHONE-NMS v3 priv access ACL-SNMP-MGMT", "ip access-list standard ACL-SNMP-MGMT",
        " 10 permit 10.10.10.0 0.0.0.255", " 20 deny   any log"]))
    assert commands_of(diff_config(snmp_sections(policy), {}, converged)) == []
    assert verify_applied(["snmp-server user a b v3 auth sha x priv aes 128 y", "no snmp-server user c d v3"],
                          converged) == []


def test_parse_show_snmp_user():
    records = parse_snmp_users(SHOW_USER)
    assert [(r["user_name"], r["group_name"], r["authentication_protocol"], r["privacy_protocol"])
            for r in records] == [("nms-monitor", "AIPHONE-NMS", "SHA", "AES128"), ("old-nms", "LEGACY", "MD5", "None")]
    assert parse_snmp_users("%SNMP agent not enabled\n") == []
    with pytest.raises(UnexpectedOutput):
        parse_snmp_users("User name: x\nsomething else entirely\n")


def test_plan_is_idempotent_without_reading_keys(policy):
    users = snmp_users(policy, KEYS)
    device = parse_snmp_users(SHOW_USER)
    plan = plan_snmp_users(users, device)
    assert plan.commands == ["no snmp-server user old-nms LEGACY v3"]         # right protocols: keys left alone
    assert snmp_user_problems(users, device) == ["no snmp-server user old-nms"]
    converged = [r for r in device if r["user_name"] == "nms-monitor"]
    assert plan_snmp_users(users, converged).commands == []
    assert snmp_user_problems(users, converged) == []
    rotated = plan_snmp_users(users, converged, rotate=True)
    assert rotated.commands == [users[0].cli()] and "********" in rotated.display[0]
    fresh = plan_snmp_users(users, [])
    assert fresh.commands == [users[0].cli()] and fresh.before == []


def test_wrong_protocol_is_resent(policy):
    users = snmp_users(policy, KEYS)
    weak = [dict(parse_snmp_users(SHOW_USER)[0], privacy_protocol="DES")]
    assert plan_snmp_users(users, weak).commands == [users[0].cli()]
    assert snmp_user_problems(users, weak)


@pytest.mark.parametrize("value, message", [
    ("short", "8 to 64"),
    ("Auth-Key\nend", "newline"),
    ("Auth-Key;reload", "';'"),
    ("Auth|Key-2026", "'|'"),
    ("Auth!Key-2026", "'!'"),
    ("Auth`Key-2026", "backtick"),
    ('Auth"Key-2026', "double quote"),
    ("Auth Key 2026", "8 to 64"),
    ("A" * 65, "longer"),
    (None, "not defined"),
])
def test_hostile_or_missing_keys_are_refused_without_echo(policy, value, message):
    keys = dict(KEYS, vault_snmp_nms_auth_key=value)
    with pytest.raises(InvalidValue) as error:
        snmp_users(policy, keys)
    assert message in str(error.value)
    assert value is None or value not in str(error.value)


def test_same_auth_and_priv_key_refused(policy):
    with pytest.raises(InvalidValue, match="must differ"):
        snmp_users(policy, dict(KEYS, vault_snmp_nms_priv_key=KEYS["vault_snmp_nms_auth_key"]))


@pytest.mark.parametrize("snmp, message", [
    ({"group": "G", "users": [{"name": "u", "auth_key_var": "a", "priv_key_var": "a"}]}, "must differ"),
    ({"group": "G;x", "users": [{"name": "u", "auth_key_var": "a", "priv_key_var": "b"}]}, "SNMP group"),
    ({"group": "G", "users": [{"name": "u", "auth": "md5", "auth_key_var": "a", "priv_key_var": "b"}]}, "sha"),
    ({"group": "G", "users": [{"name": "u", "priv": "des", "auth_key_var": "a", "priv_key_var": "b"}]}, "aes"),
    ({"group": "G", "users": [{"name": "u", "auth_key_var": "a", "priv_key_var": "b"},
                              {"name": "u", "auth_key_var": "c", "priv_key_var": "d"}]}, "duplicate"),
])
def test_policy_validation(policy_data, snmp, message):
    policy_data["network"]["snmp"] = snmp
    with pytest.raises(PolicyError) as error:
        validate_site_policy(policy_data)
    assert message in str(error.value)
