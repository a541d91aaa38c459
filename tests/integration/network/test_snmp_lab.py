# -*- coding: utf-8 -*-
"""SNMPv3 authPriv on a lab switch through the real playbook: converge, keys proved, idempotence, communities gone."""

from __future__ import annotations

import pytest
import yaml
from ansible.constants import DEFAULT_VAULT_ID_MATCH
from ansible.parsing.vault import VaultLib, VaultSecret
from network_helpers import REPO, VAULT_PASSWORD_FILE, config_events, run_playbook, task_results

from lab.ios.snmp import password_to_key

pytestmark = pytest.mark.timeout(600)
SWITCH = "sw-core-01"
ARGS = ("--tags", "switch_management", "--limit", SWITCH)


def snmp_vault() -> dict:
    secret = VaultSecret(VAULT_PASSWORD_FILE.read_bytes().strip())
    text = (REPO / "inventories/lab/group_vars/all/snmp_vault.yml").read_bytes()
    return yaml.safe_load(VaultLib([(DEFAULT_VAULT_ID_MATCH, secret)]).decrypt(text))


@pytest.fixture(scope="module")
def converged(fresh_lab, switch_cli):
    """A planted v2c community and a rogue v3 user, then the management area converged (check mode first)."""
    switch_cli(SWITCH).send_config_set([
        "snmp-server community Planted-RW-9 RW",
        "snmp-server user rogue LEGACY v3 auth sha RogueAuth-01 priv aes 128 RoguePriv-01"])
    events = config_events(switch_cli(SWITCH))
    check = run_playbook(fresh_lab, "playbooks/network.yml", *ARGS, "--check", "--diff")
    events_after_check = config_events(switch_cli(SWITCH))
    converge = run_playbook(fresh_lab, "playbooks/network.yml", *ARGS)
    return {"check": check, "converge": converge, "events": events, "events_after_check": events_after_check}


def test_check_mode_plans_masked_lines_and_sends_nothing(converged):
    check = converged["check"]
    assert check["returncode"] == 0, check["raw"][-3000:]
    plan = task_results(check, SWITCH, "Converge to the site policy | management")[0]
    assert "snmp-server user nms-monitor AIPHONE-NMS v3 auth sha ******** priv aes 128 ********" in plan["commands"]
    assert "no snmp-server user rogue LEGACY v3" in plan["commands"]
    assert "no snmp-server community Planted-RW-9 RW" in plan["commands"]
    assert "nms-monitor group AIPHONE-NMS auth SHA priv AES128" in plan["diff"]["after"]
    assert converged["events_after_check"] == converged["events"]


def test_converge_sets_the_user_with_the_vault_keys(fresh_lab, converged, switch_cli):
    converge = converged["converge"]
    assert converge["returncode"] == 0, converge["raw"][-3000:]
    session = switch_cli(SWITCH)
    users = session.send_command("show snmp user", use_textfsm=True)
    assert [(u["user_name"], u["group_name"], u["authentication_protocol"], u["privacy_protocol"]) for u in users] \
        == [("nms-monitor", "AIPHONE-NMS", "SHA", "AES128")]
    running = session.send_command("show running-config")
    assert "snmp-server community" not in running
    assert "snmp-server group AIPHONE-NMS v3 priv access ACL-SNMP-MGMT" in running
    assert "ip access-list standard ACL-SNMP-MGMT" in running
    # the lab has no SNMP agent: the keys are proved by the localized keys the switch stored (RFC 3414)
    vault = snmp_vault()
    stored = fresh_lab.control.snmp_users(SWITCH)["nms-monitor"]
    assert stored["auth_key"] == password_to_key(vault["vault_snmp_nms_auth_key"], stored["engine_id"], "sha1")
    assert stored["priv_key"] == password_to_key(vault["vault_snmp_nms_priv_key"], stored["engine_id"], "sha1")
    # no key anywhere in what the playbook printed or returned
    for value in vault.values():
        assert value not in converge["raw"]
    result = task_results(converge, SWITCH, "Converge to the site policy | management")[0]
    assert any("community string(s) removed" in finding for finding in result["findings"])
    assert result["snmp_users"][0]["user_name"] == "nms-monitor"


def test_second_run_sends_nothing(fresh_lab, converged, switch_cli):
    events = config_events(switch_cli(SWITCH))
    before = fresh_lab.control.snmp_users(SWITCH)
    again = run_playbook(fresh_lab, "playbooks/network.yml", *ARGS)
    assert again["returncode"] == 0, again["raw"][-3000:]
    assert again["stats"][SWITCH]["changed"] == 0
    assert task_results(again, SWITCH, "Converge to the site policy | management")[0]["commands"] == []
    assert config_events(switch_cli(SWITCH)) == events
    assert fresh_lab.control.snmp_users(SWITCH) == before


def test_rotation_flag_resends_keys(fresh_lab, converged, switch_cli):
    rotated = run_playbook(fresh_lab, "playbooks/network.yml", *ARGS,
                           extra_vars={"switch_hardening_rotate_snmp_keys": True,
                                       "vault_snmp_nms_auth_key": "Rotated-Auth-2027a",
                                       "vault_snmp_nms_priv_key": "Rotated-Priv-2027b"})
    assert rotated["returncode"] == 0, rotated["raw"][-3000:]
    stored = fresh_lab.control.snmp_users(SWITCH)["nms-monitor"]
    assert stored["auth_key"] == password_to_key("Rotated-Auth-2027a", stored["engine_id"], "sha1")
    assert "Rotated-Auth-2027a" not in rotated["raw"] and "Rotated-Priv-2027b" not in rotated["raw"]
