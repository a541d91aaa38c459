"""state rendered / parsed of switch_config and wireless_config: the policy as device lines, a configuration as
facts - with no device (as cisco.ios resource modules). Module runs go through the real module process with every
socket refused, and once through ansible-playbook with an inventory host nobody can reach."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ansible_collections.aiphone.hardening.plugins.module_utils.network import offline
from ansible_collections.aiphone.hardening.plugins.module_utils.network.ios_render import SwitchOptions

REPO = Path(__file__).resolve().parents[3]
POLICY = REPO / "inventories" / "lab" / "site_policy.yml"
DATA = Path(__file__).parent / "data"
SECRETS = {"vault_wifi_staff_psk": "Staff-Passphrase-2026", "vault_wifi_voice_psk": "Voice-Passphrase-2026",
           "vault_wifi_guest_psk": "Guest-Passphrase-2026"}
FRESH_OPENWRT = """wireless.radio0=wifi-device
wireless.radio0.type='mac80211'
wireless.radio0.disabled='1'
wireless.default_radio0=wifi-iface
wireless.default_radio0.device='radio0'
wireless.default_radio0.ssid='OpenWrt'
wireless.default_radio0.encryption='psk2'
wireless.default_radio0.key='Old-Secret-Key-1'
"""


# -- switches ---------------------------------------------------------------------------------------------------------
def test_switch_rendered_is_the_policy_as_lines(policy):
    lines = offline.switch_rendered(policy, "sw-core-01", SwitchOptions())["rendered"]
    text = "\n".join(lines)
    for zone in policy.zones:
        assert f"vlan {zone.vlan}\n name {zone.name}" in text
        assert (f"interface Vlan{zone.vlan}\n description zone {zone.name}\n ip address {zone.gateway} "
                f"{zone.network.netmask}") in text
        assert f"ip access-list extended ACL-{zone.name.upper()}-IN" in text
    assert "line vty 0 15\n access-class ACL-VTY-MGMT in" in text


def test_switch_rendered_then_parsed_round_trips_and_a_switch_holding_it_needs_nothing(policy):
    rendered = offline.switch_rendered(policy, "sw-core-01", SwitchOptions(areas=("vlans", "acls")))["rendered"]
    facts = offline.switch_parsed("\n".join(rendered))
    assert {(v["vlan_id"], v["name"]) for v in facts["vlans"]} >= {(z.vlan, z.name) for z in policy.zones}
    assert {svi["vlan"]: svi["acl_in"] for svi in facts["svis"]} == {
        z.vlan: f"ACL-{z.name.upper()}-IN" for z in policy.zones}
    assert facts["acls"]["ACL-GUEST-IN"]["entries"][-1] == "deny ip any any log"
    again = offline.switch_rendered(policy, "sw-core-01", SwitchOptions(areas=("vlans", "acls")),
                                    running_config="\n".join(rendered))
    assert again["rendered"] == []


def test_switch_rendered_against_a_running_config_gives_what_it_still_needs(policy):
    factory = (DATA / "c9300_factory_running.txt").read_text()
    needed = offline.switch_rendered(policy, "sw-core-01", SwitchOptions(prune_vlans=True), running_config=factory)
    assert "no vlan 77" in needed["rendered"]            # a VLAN the policy does not know, pruned
    assert "vlan 20" in needed["rendered"] and "vlan 10" not in needed["rendered"]   # vlan 10 is there already


def test_switch_parsed_reads_ports_and_leaves_secrets_out():
    factory = (DATA / "c9300_factory_running.txt").read_text()
    facts = offline.switch_parsed(factory + "\nusername admin privilege 15 secret 9 $9$abc\nsnmp-server community "
                                            "public RO\n")
    names = [port["name"] for port in facts["interfaces"]]
    assert "GigabitEthernet1/0/1" in names and {"vlan_id": 77, "name": "old-printers"} in facts["vlans"]
    assert next(p for p in facts["interfaces"] if p["name"] == "GigabitEthernet0/0")["management"] is True
    assert facts["snmp_communities"] == 3                 # the factory's public and private, and ours
    text = json.dumps(facts)
    assert "public" not in text and "private" not in text and "$9$abc" not in text


# -- wireless ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("secrets", [None, SECRETS])
def test_wireless_rendered_needs_no_secret_and_shows_none(policy, secrets):
    for platform in ("openwrt", "cisco_wlc9800"):
        result = offline.wireless_rendered(policy, platform, secrets)
        text = "\n".join(result["rendered"])
        assert "********" in text
        for secret in [*SECRETS.values(), offline.SECRET_STAND_IN]:
            assert secret not in text
        assert any("Clinic-Voice: WPA2/WPA3 transition" in finding for finding in result["findings"])


def test_wireless_rendered_openwrt_covers_every_radio_and_ssid(policy):
    lines = offline.wireless_rendered(policy, "openwrt", SECRETS, radio_names=("radio0", "radio1", "radio2"))
    ifaces = {line.split("=")[0].split(".")[1] for line in lines["rendered"] if line.endswith("=wifi-iface")}
    assert ifaces == {f"aiphone_{zone}_radio{n}" for zone in ("data", "voice", "guest") for n in range(3)}
    assert "uci set wireless.radio2.disabled=0" in lines["rendered"]


def test_wireless_rendered_against_a_config_and_parsed(policy):
    needed = offline.wireless_rendered(policy, "openwrt", SECRETS, running_config=FRESH_OPENWRT)["rendered"]
    assert "uci set wireless.radio0.disabled=0" in needed
    assert not any("radio1" in line for line in needed)            # this AP has one radio
    facts = offline.wireless_parsed("openwrt", FRESH_OPENWRT)
    assert facts["radios"] == [{"name": "radio0", "disabled": True}]
    (ssid,) = facts["ssids"]
    assert ssid["ssid"] == "OpenWrt" and ssid["managed"] is False and "key" not in ssid
    assert "Old-Secret-Key-1" not in json.dumps(facts)


def test_wireless_c9800_rendered_then_parsed(policy):
    rendered = offline.wireless_rendered(policy, "cisco_wlc9800", SECRETS)["rendered"]
    facts = offline.wireless_parsed("cisco_wlc9800", "\n".join(rendered))
    assert {wlan["ssid"] for wlan in facts["wlans"]} == {ssid.name for ssid in policy.wireless.ssids}
    assert all("security pmf mandatory" in w["security"] or "security pmf optional" in w["security"]
               for w in facts["wlans"])
    assert not any("set-key" in line for w in facts["wlans"] for line in w["security"])
    assert {name: p["vlan"] for name, p in facts["policy_profiles"].items()} == {
        f"aiphone-{ssid.zone}": policy.zone(ssid.zone).vlan for ssid in policy.wireless.ssids}
    assert facts["policy_tags"]["default-policy-tag"]["Clinic-Staff"] == "aiphone-data"


def test_wireless_parsed_refuses_a_platform_that_is_not_wireless():
    with pytest.raises(ValueError, match="not a wireless platform"):
        offline.wireless_parsed("cisco_ios", "")


# -- the modules, with no device --------------------------------------------------------------------------------------
NO_NETWORK = textwrap.dedent('''
    import socket

    def _refused(*args, **kwargs):
        raise OSError("network access refused in this test")

    socket.socket.connect = _refused
    socket.socket.connect_ex = _refused
    socket.create_connection = _refused
''')


def run_module(tmp_path, module: str, **args) -> dict:
    """The module as Ansible runs it on the controller (ANSIBLE_MODULE_ARGS), with every socket refused."""
    guard = tmp_path / "guard"
    guard.mkdir(exist_ok=True)
    (guard / "sitecustomize.py").write_text(NO_NETWORK)
    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {"policy_file": str(POLICY), **args}}))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(guard), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-m", f"ansible_collections.aiphone.hardening.plugins.modules.{module}",
                           str(args_file)], check=False, cwd=REPO, capture_output=True, text=True, timeout=60,
                          env=env)
    return json.loads(proc.stdout)


def test_modules_render_and_parse_with_no_connection_options_and_no_network(tmp_path):
    result = run_module(tmp_path, "switch_config", device="sw-core-01", state="rendered")
    assert not result.get("failed"), result
    assert result["changed"] is False and "interface Vlan20" in result["rendered"]
    parsed = run_module(tmp_path, "switch_config", device="sw-core-01", state="parsed",
                        running_config=(DATA / "c9300_factory_running.txt").read_text())
    assert {"vlan_id": 77, "name": "old-printers"} in parsed["parsed"]["vlans"]
    wlc = run_module(tmp_path, "wireless_config", device="wlc-01", state="rendered")
    assert not wlc.get("failed"), wlc
    assert any(line.startswith("wlan Clinic-Staff") for line in wlc["rendered"])
    ap = run_module(tmp_path, "wireless_config", device="ap-01", state="parsed", running_config=FRESH_OPENWRT)
    assert ap["parsed"]["ssids"][0]["ssid"] == "OpenWrt"


def test_the_guard_would_catch_a_connection(tmp_path):
    """state merged against an address: the refused socket surfaces as a failed connection, not a success."""
    (tmp_path / "known_hosts").write_text("")
    result = run_module(tmp_path, "switch_config", device="sw-core-01", host="192.0.2.1", username="operator",
                        password="not-a-real-password", known_hosts_file=str(tmp_path / "known_hosts"),
                        backup_dir=str(tmp_path), areas=["vlans"])
    assert result.get("failed") and "rendered" not in result
    assert "network access refused in this test" in result["msg"], result["msg"]


@pytest.mark.parametrize("module, args, message", [
    ("switch_config", {"state": "parsed"}, "running_config"),
    ("switch_config", {"state": "merged"}, "host"),
    ("wireless_config", {"state": "merged", "host": "h", "username": "u", "password": "p",
                         "known_hosts_file": "k", "backup_dir": "b"}, "secrets"),
    ("switch_config", {"state": "rendered", "device": "nope-01"}, "nope-01"),
])
def test_modules_refuse_what_a_state_lacks(tmp_path, module, args, message):
    result = run_module(tmp_path, module, **{"device": "sw-core-01", **args})
    assert result.get("failed") and message in result["msg"]


def test_rendered_needs_no_reachable_inventory_host(tmp_path):
    """Through ansible-playbook: the inventory's switch is at an address nobody can reach (TEST-NET-1)."""
    (tmp_path / "inventory.yml").write_text(textwrap.dedent(f"""
        all:
          hosts:
            sw-core-01:
              ansible_host: 192.0.2.1
              ansible_connection: local
              ansible_python_interpreter: {sys.executable}
    """))
    (tmp_path / "review.yml").write_text(textwrap.dedent(f"""
        - name: Review the policy's lines for the switch
          hosts: sw-core-01
          gather_facts: false
          tasks:
            - name: Render
              aiphone.hardening.switch_config:
                policy_file: {POLICY}
                device: "{{{{ inventory_hostname }}}}"
                host: "{{{{ ansible_host }}}}"
                state: rendered
              register: lines
            - name: Show
              ansible.builtin.copy:
                content: "{{{{ lines.rendered | to_json }}}}"
                dest: {tmp_path / "rendered.json"}
                mode: "0600"
    """))
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(tmp_path / "inventory.yml"),
                           str(tmp_path / "review.yml")], check=False, cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "interface Vlan20" in json.loads((tmp_path / "rendered.json").read_text())
