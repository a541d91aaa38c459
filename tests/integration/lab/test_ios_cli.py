"""The lab's IOS-XE switch over real SSH with netmiko (device_type cisco_ios): prompts, privilege levels, paging,
configuration mode, running vs startup config, and TextFSM (ntc-templates) parsing of its show outputs."""

from __future__ import annotations

import time

import paramiko
import pytest
from netmiko import ConnectHandler
from netmiko.exceptions import ReadTimeout

pytestmark = pytest.mark.timeout(120)
SWITCH = "sw-access-01"


@pytest.fixture(scope="module")
def cli(fresh_lab):
    connection = ConnectHandler(**fresh_lab.netmiko(SWITCH))
    yield connection
    connection.disconnect()


def test_login_lands_in_privileged_exec_with_the_hostname_prompt(cli):
    assert cli.find_prompt() == f"{SWITCH}#"


def test_show_version_parses_with_textfsm(cli, fresh_lab):
    [version] = cli.send_command("show version", use_textfsm=True)
    status = fresh_lab.control.status()[SWITCH]
    assert version["version"] == status["version"] and version["hardware"] == ["C9200L-24P-4G"]
    assert version["hostname"] == SWITCH and version["running_image"] == status["image"]
    assert version["serial"] and version["reload_reason"]


def test_unknown_commands_answer_invalid_input_with_the_marker(cli):
    output = cli.send_command("show bogus-thing")
    lines = output.splitlines()
    assert "% Invalid input detected at '^' marker." in lines
    marker = next(line for line in lines if line.strip() == "^")
    assert marker.index("^") == len(f"{SWITCH}#show ")  # under the word it could not match
    assert "% Incomplete command." in cli.send_command("show")
    assert "% Ambiguous command" in cli.send_command("show v")


def test_configuration_round_trips_through_show_running_config(cli):
    output = cli.send_config_set([
        "vlan 20", "name voice", "vlan 30", "name data", "interface range GigabitEthernet1/0/5 - 6",
        "description phone port", "switchport mode access", "switchport access vlan 30",
        "switchport voice vlan 20", "ip access-list extended MGMT-IN", "permit tcp 10.10.10.0 0.0.0.255 any eq 22",
        "deny ip any any log", "no ip http server", "line vty 0 15", "transport input ssh",
    ])
    assert "Invalid" not in output
    running = cli.send_command("show running-config")
    assert "interface GigabitEthernet1/0/5\n description phone port\n switchport access vlan 30\n" \
           " switchport mode access\n switchport voice vlan 20" in running
    assert "no ip http server" in running and " 20 deny ip any any log" in running
    vlans = {v["vlan_id"]: v for v in cli.send_command("show vlan brief", use_textfsm=True)}
    assert vlans["30"]["vlan_name"] == "data" and {"Gi1/0/5", "Gi1/0/6"} <= set(vlans["30"]["interfaces"])
    status = {p["port"]: p for p in cli.send_command("show interfaces status", use_textfsm=True)}
    assert status["Gi1/0/5"]["vlan_id"] == "30" and status["Gi1/0/5"]["name"] == "phone port"
    ports = {p["interface"]: p for p in cli.send_command("show interfaces switchport", use_textfsm=True)}
    assert ports["Gi1/0/6"]["voice_vlan"] == "20" and ports["Gi1/0/6"]["mode"] == "static access"
    [one] = cli.send_command("show interfaces Gi1/0/6 switchport", use_textfsm=True)
    assert one == ports["Gi1/0/6"]
    acl = [entry for entry in cli.send_command("show ip access-lists MGMT-IN", use_textfsm=True)
           if entry["line_num"]]  # the template also records the ACL header line
    assert [(a["acl_name"], a["line_num"], a["action"], a["dst_port"]) for a in acl] == [
        ("MGMT-IN", "10", "permit", "22"), ("MGMT-IN", "20", "deny", "")]


def test_invalid_config_lines_are_reported_inside_config_mode(cli):
    output = cli.send_config_set(["interface GigabitEthernet1/0/7", "switchport mode bogus"])
    assert "% Invalid input detected at '^' marker." in output
    assert "bogus" not in cli.send_command("show running-config interface GigabitEthernet1/0/7")


def test_running_and_startup_differ_until_write_memory(cli):
    cli.send_config_set(["ntp server 10.10.10.5"])
    assert "ntp server 10.10.10.5" in cli.send_command("show running-config")
    assert "ntp server 10.10.10.5" not in cli.send_command("show startup-config")
    assert "[OK]" in cli.save_config()
    assert "ntp server 10.10.10.5" in cli.send_command("show startup-config")


def test_configure_replace_restores_a_saved_file(cli):
    cli.send_command("copy running-config flash:before-change.cfg", expect_string=r"Destination filename")
    cli.send_command("\n", expect_string=r"#")
    cli.send_config_set(["logging host 10.10.10.99"])
    assert "logging host 10.10.10.99" in cli.send_command("show running-config")
    output = cli.send_command("configure replace flash:before-change.cfg force")
    assert "Rollback Done" in output
    assert "logging host 10.10.10.99" not in cli.send_command("show running-config")
    files = cli.send_command("dir flash:", use_textfsm=True)
    assert "before-change.cfg" in {f["name"] for f in files}
    assert int(files[0]["total_free"]) < int(files[0]["total_size"])


def test_enable_from_a_privilege_1_user(cli, fresh_lab):
    cli.send_config_set(["username viewer privilege 1 secret ViewerPass1"])
    params = fresh_lab.netmiko(SWITCH, username="viewer", password="ViewerPass1")
    with ConnectHandler(**params) as viewer:
        assert viewer.find_prompt() == f"{SWITCH}>"
        assert "% Invalid input" in viewer.send_command("show running-config")
        viewer.enable()
        assert viewer.find_prompt() == f"{SWITCH}#"
        assert "Current privilege level is 15" in viewer.send_command("show privilege")
    params["secret"] = "wrong-enable"
    with ConnectHandler(**params) as viewer:
        with pytest.raises((ValueError, ReadTimeout)):  # IOS asks for the password again: netmiko gives up
            viewer.enable()
        viewer.write_channel("\n\n")  # answer the remaining Password: prompts
        assert viewer.read_until_pattern(r"% Bad secrets")


def test_paging_until_terminal_length_0(fresh_lab):
    """A raw shell (no netmiko session preparation) sees --More-- like on a real vty."""
    host, port = fresh_lab.address(SWITCH)
    client = paramiko.SSHClient()
    client.load_host_keys(str(fresh_lab.known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(host, port, fresh_lab.credentials.username, fresh_lab.credentials.password,
                   look_for_keys=False, allow_agent=False)
    try:
        shell = client.invoke_shell()
        read_until(shell, f"{SWITCH}#")
        shell.send("show running-config\r")
        assert " --More-- " in read_until(shell, "--More--")
        shell.send("q")
        read_until(shell, f"{SWITCH}#")
        shell.send("terminal length 0\rshow running-config\r")
        assert "--More--" not in read_until(shell, "\r\nend\r\n")
    finally:
        client.close()


def read_until(channel: paramiko.Channel, text: str, timeout: float = 10) -> str:
    data, deadline = "", time.monotonic() + timeout
    while text not in data:
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} not seen; got {data[-300:]!r}")
        if channel.recv_ready():
            data += channel.recv(65536).decode()
        else:
            time.sleep(0.02)
    return data
