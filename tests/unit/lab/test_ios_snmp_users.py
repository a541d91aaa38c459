"""SNMPv3 users on the lab switch: stored outside the running config, shown by `show snmp user` as IOS prints it."""

from __future__ import annotations

import pytest
from ntc_templates.parse import parse_output
from test_ios_exec_cli import run, switch  # noqa: F401 - the switch fixture

from lab.ios.snmp import password_to_key

USER = "snmp-server user nms-ro AIPHONE-RO v3 auth sha AuthKey-0001 priv aes 128 PrivKey-0001"


def test_rfc3414_password_to_key_vector():
    # RFC 3414 A.3.2: "maplesyrup", engine ID 000000000000000000000002, SHA -> 6695febc9288e36282235fc7151f1284 97b38f3f
    assert password_to_key("maplesyrup", "000000000000000000000002", "sha1") == \
        "6695febc9288e36282235fc7151f128497b38f3f"


def test_agent_not_enabled_until_snmp_is_configured(switch):  # noqa: F811
    switch.running.nodes.pop("snmp-server community public", None)
    assert "%SNMP agent not enabled" in run(switch, "show snmp user")


def test_user_is_kept_outside_the_running_config(switch):  # noqa: F811
    run(switch, "configure terminal", "snmp-server group AIPHONE-RO v3 priv access SNMP-MGMT", USER, "end")
    running = run(switch, "show running-config")
    assert "snmp-server group AIPHONE-RO v3 priv access SNMP-MGMT" in running
    assert "snmp-server user" not in running and "AuthKey-0001" not in running
    parsed = parse_output(platform="cisco_ios", command="show snmp user", data=run(switch, "show snmp user"))
    assert parsed == [{"user_name": "nms-ro", "engine_id": switch.snmp_engine_id, "storage_type": "nonvolatile",
                       "access_list": "", "authentication_protocol": "SHA", "privacy_protocol": "AES128",
                       "group_name": "AIPHONE-RO"}]
    stored = switch.state["snmp_users"]["nms-ro"]
    assert stored["auth_key"] == password_to_key("AuthKey-0001", switch.snmp_engine_id, "sha1")
    assert "AuthKey-0001" not in str(switch.state)


def test_users_survive_configure_replace_and_reload(switch):  # noqa: F811
    run(switch, "configure terminal", USER, "end", "write memory")
    switch.running = switch.load_startup()
    assert "nms-ro" in run(switch, "show snmp user")


@pytest.mark.parametrize("line, error", [
    ("snmp-server user nms-ro AIPHONE-RO v3 auth sha short priv aes 128 PrivKey-0001", "Password too short"),
    ("snmp-server user nms-ro AIPHONE-RO v3 auth sha AuthKey-0001 priv aes 512 PrivKey-0001", "Invalid input"),
    ("snmp-server user nms-ro AIPHONE-RO v3", "Incomplete"),
])
def test_bad_user_lines_are_refused(switch, line, error):  # noqa: F811
    output = run(switch, "configure terminal", line, "end")
    assert error in output and "nms-ro" not in run(switch, "show snmp user")


def test_no_form_removes_the_user(switch):  # noqa: F811
    run(switch, "configure terminal", USER, "no snmp-server user nms-ro AIPHONE-RO v3", "end")
    assert "nms-ro" not in run(switch, "show snmp user") and switch.state["snmp_users"] == {}
