"""Switches (IOS / IOS-XE), the Catalyst 9800 WLC and OpenWrt APs against their conformance corpus.

Every driver parser of these platforms reads every corpus file of its command and must find the values the file
shows (read by hand, written out below); the lab's reply to the same command must parse with the same TextFSM
template / parser to the same field set and have the corpus's layout (headers, column starts, field labels).
Sources of every file: the README.md of each platform directory.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
from ntc_templates.parse import parse_output

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.cisco_ios import (
    CiscoIOSDriver,
    CiscoWLC9800Driver,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.cisco_ios_firmware import (
    INSTALL_MODE_IMAGE,
    normalize_version,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.openwrt import OpenWrtDriver
from ansible_collections.aiphone.hardening.plugins.module_utils.network.iosconfig import (
    parse_running_config,
    verify_applied,
    vlan_list,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.snmp import SnmpUser, parse_snmp_users
from ansible_collections.aiphone.hardening.plugins.module_utils.network.wireless import parse_uci_show
from lab.device import Credentials
from lab.ios.switch import IOSSwitch
from lab.openwrt import OpenWrtAP, UciPackage, quote, render_package
from lab.wlc9800 import CatalystWLC

CORPUS = Path(__file__).parent
IOS = CORPUS / "cisco_ios"
CREDS = Credentials("admin", "Conformance-Pass-1", "Conformance-Enable-1")
MINUTE, HOUR, DAY, WEEK, YEAR = 60, 3600, 86400, 7 * 86400, 365 * 86400


def text(platform: str, name: str) -> str:
    return (CORPUS / platform / name).read_text()


def ntc(command: str, output: str) -> list[dict]:
    return parse_output(platform="cisco_ios", command=command, data=output)


class Terminal:
    """Collects what the lab CLI prints (no network: the CLI object is driven directly)."""

    def __init__(self) -> None:
        self.output, self.length, self.width = "", 0, 80

    def write(self, data: str) -> None:
        self.output += data

    async def page(self, data: str) -> None:
        self.write(data)


def lab_run(device: IOSSwitch, *lines: str) -> str:
    """Type `lines` at the lab device's privileged prompt; what the last one printed."""
    term = Terminal()
    cli = device.cli_class(device, term, "admin")

    async def drive() -> None:
        for line in lines[:-1]:
            await cli.execute(line)
        term.output = ""
        await cli.execute(lines[-1])

    asyncio.run(drive())
    return term.output


def lab_device(cls, model: str, version: str, root: Path) -> IOSSwitch:
    device = cls("conf-" + model.lower(), model, version, "127.0.0.1", 0, root, CREDS, image_size=4096)
    device._first_boot()
    device.running = device.load_startup()
    return device


@pytest.fixture(scope="module")
def lab_switch(tmp_path_factory) -> IOSSwitch:
    switch = lab_device(IOSSwitch, "C9300-24P", "17.9.4", tmp_path_factory.mktemp("sw"))
    lab_run(switch, "configure terminal",
            "snmp-server user conf-user conf-group v3 auth sha Auth-Key-123 priv aes 128 Priv-Key-123",
            "ip access-list standard CONF-STD", "permit 10.10.10.0 0.0.0.255", "deny any log",
            "interface GigabitEthernet1/0/3", "description AccessPoint", "switchport mode access",
            "switchport access vlan 30", "vlan 30", "name VOICE", "end")
    switch.connected_ports = {"GigabitEthernet1/0/3": "ap-01"}
    return switch


@pytest.fixture(scope="module")
def lab_wlc(tmp_path_factory) -> CatalystWLC:
    wlc = lab_device(CatalystWLC, "C9800-L-C", "17.6.4", tmp_path_factory.mktemp("wlc"))
    lab_run(wlc, "configure terminal", "wlan Clinic-Staff 1 Clinic-Staff", "no security wpa akm dot1x",
            "no security wpa wpa2", "security wpa wpa3", "security wpa akm sae", "security pmf mandatory",
            "security wpa psk set-key ascii 0 Conformance-Wifi-2026", "no shutdown", "exit",
            "wireless profile policy conf-policy", "description conf-policy", "vlan 30", "no shutdown", "end")
    return wlc


def driver_reading(replies: dict[str, str], driver_class=CiscoIOSDriver) -> CiscoIOSDriver:
    """A switch driver whose session answers `replies` (netmiko's use_textfsm parses with ntc-templates)."""
    driver = driver_class("192.0.2.1", name="corpus-sw")

    def show(command: str, use_textfsm: bool = False, **_):
        output = replies[command]
        return ntc(command, output) if use_textfsm else output

    driver._show = show
    return driver


def header_columns(line: str) -> dict[str, int]:
    """{column title: where it starts} of a table header line."""
    return {m.group(0): m.start() for m in re.finditer(r"\S+", line)}


# -- show version: facts and firmware facts -------------------------------------------------------------------
# hand-read from each file: hostname, the version of "Cisco IOS Software ... Version", the first "Model Number" /
# "cisco <model>", the first "System Serial Number" / "Processor board ID", "System image file is", the first
# "Base Ethernet MAC Address", "<host> uptime is ...", "Last reload reason" / "System returned to ROM by"
VERSION_FACTS = {
    "show_version_c4948e_12.2.txt": {
        "hostname": "router1", "os_version": "12.2(54)SG1", "model": "WS-C4948E", "serial": "CAT1451S15C",
        "image": "cat4500e-entservicesk9-mz.122-54.SG1.bin", "last_reboot_reason": "reload",
        "uptime_seconds": 2 * YEAR + 31 * WEEK + 6 * DAY + 9 * HOUR + 55 * MINUTE},
    "show_version_c3850_stack_03.06.txt": {
        "hostname": "city-building-4-sw", "os_version": "03.06.05E", "model": "WS-C3850-48U",
        "serial": "FOC11111111", "image": "packages.conf", "mac_address": "f8:7b:20:11:aa:80",
        "last_reboot_reason": "Reload Command", "uptime_seconds": 28 * WEEK + DAY + 7 * HOUR + 54 * MINUTE},
    "show_version_c9k_16.9.txt": {
        "hostname": "AKBTESTW01", "os_version": "16.9.3", "model": "C9500-40X", "serial": "FCW2233FFG3",
        "image": "packages.conf", "mac_address": "0c:d0:f8:cd:b5:80", "last_reboot_reason": "Reload Command",
        "uptime_seconds": YEAR + 22 * WEEK + 6 * DAY + 9 * HOUR + 38 * MINUTE},
    "show_version_c9600_17.18.txt": {
        "hostname": "switch_1", "os_version": "17.18.1prd21", "model": "C9606R", "serial": "FXS2319Q0C3",
        "image": "packages.conf", "mac_address": "2c:4f:52:05:25:00", "last_reboot_reason": "Reload Command",
        "uptime_seconds": 2 * DAY + 22 * MINUTE},
    "show_version_c9k_16.12.txt": {
        "hostname": "Switch-Hostname", "os_version": "16.12.4", "model": "C9500-48Y4C", "serial": "CAT23XXXXXX",
        "image": "packages.conf", "mac_address": "a0:b4:39:00:00:e0", "last_reboot_reason": "Reload Command",
        "uptime_seconds": 7 * WEEK + 17 * HOUR + 14 * MINUTE},
}


def test_every_show_version_file_has_its_expected_facts():
    assert sorted(VERSION_FACTS) == sorted(p.name for p in IOS.glob("show_version_*.txt"))


@pytest.mark.parametrize("name", sorted(VERSION_FACTS))
def test_ios_driver_facts_from_show_version(name):
    facts = driver_reading({"show version": text("cisco_ios", name)}).get_facts()
    expected = VERSION_FACTS[name]
    assert {key: facts.get(key) for key in expected} == expected
    assert facts["vendor"] == "Cisco" and facts["platform"] == "cisco_ios"
    if "mac_address" not in expected:                   # the 12.2 file prints no MAC address: none invented
        assert "mac_address" not in facts


@pytest.mark.parametrize("name", sorted(VERSION_FACTS))
def test_ios_firmware_facts_and_install_mode(name):
    driver = driver_reading({"show version": text("cisco_ios", name)})
    firmware = driver.get_firmware()
    expected = VERSION_FACTS[name]
    assert firmware["version"] == normalize_version(expected["os_version"])
    assert firmware["model"] == expected["model"] and firmware["uptime_seconds"] == expected["uptime_seconds"]
    # "System image file is "flash:packages.conf"" = install mode (the 16.x/3.x files); a .bin = bundle mode
    assert driver.install_mode(firmware) is (expected["image"] == INSTALL_MODE_IMAGE)


@pytest.mark.parametrize("platform, name, version", [
    ("cisco_ios", "show_version_c9k_16.9.txt", "16.9.3"), ("cisco_ios", "show_version_c9k_16.12.txt", "16.12.4"),
    ("cisco_ios", "show_version_c9600_17.18.txt", "17.18.1prd21"),
    ("cisco_wlc9800", "show_version_c9800cl_17.7.txt", "17.7.1prd16")])
def test_ios_xe_prints_the_version_zero_padded_in_its_first_line(platform, name, version):
    """IOS-XE's header line says 16.09.03 / 17.18.01prd21 where the software line says 16.9.3 / 17.18.1prd21: the
    driver compares both alike (a build suffix kept its zero before: 17.18.01prd21 never matched 17.18.1prd21)."""
    first = next(line for line in text(platform, name).splitlines() if line.startswith("Cisco IOS XE Software"))
    padded = re.fullmatch(r"Cisco IOS XE Software, Version (\S+)", first).group(1)
    assert padded != version and normalize_version(padded) == normalize_version(version)
    assert normalize_version("17.09.04a") == normalize_version("17.9.4a") == "17.9.4a"
    assert normalize_version("17.10.1") != normalize_version("17.1.1")


def test_lab_show_version_reads_like_the_ios_xe_files(lab_switch):
    ours = lab_run(lab_switch, "show version")
    facts = driver_reading({"show version": ours}).get_facts()
    assert facts["os_version"] == "17.9.4" and facts["model"] == "C9300-24P"
    assert set(facts) == set(driver_reading({"show version": text("cisco_ios", "show_version_c9k_16.9.txt")})
                             .get_facts())               # the same facts as from a real 16.x switch
    published = text("cisco_ios", "show_version_c9k_16.9.txt").splitlines()
    lines = ours.splitlines()
    assert re.fullmatch(r"Cisco IOS XE Software, Version 17\.09\.04", lines[0])
    for label in ("Base Ethernet MAC Address          :", "Model Number                       :",
                  "System Serial Number               :", "Motherboard Serial Number          :"):
        assert any(line.startswith(label) for line in published) and any(line.startswith(label) for line in lines)
    table = "Switch Ports Model              SW Version        SW Image              Mode"
    assert table in [line.rstrip() for line in published] and table in lines
    for pattern in (r"\S+ uptime is .+", r'System image file is "flash:\S+"', r"Last reload reason: .+",
                    r"Configuration register is 0x\w+"):
        assert any(re.fullmatch(pattern, line) for line in published)
        assert any(re.fullmatch(pattern, line) for line in lines)


# -- show interfaces status: the interfaces up before and after an upgrade ------------------------------------
CONNECTED = {   # the rows whose Status column reads "connected" (one of them "connected:", a TDR annotation)
    "show_interfaces_status_1.txt": {"Gi1/0/2", "Gi1/0/4", "Gi1/0/5", "Gi1/0/6", "Gi1/0/20", "Gi1/0/23", "Po1"},
    "show_interfaces_status_2.txt": {"Twe1/0/1", "Twe1/0/4", "Twe1/0/17"},
}


@pytest.mark.parametrize("name", sorted(CONNECTED))
def test_ios_driver_interfaces_up(name):
    assert sorted(CONNECTED) == sorted(p.name for p in IOS.glob("show_interfaces_status_*.txt"))
    driver = driver_reading({"show interfaces status": text("cisco_ios", name)})
    assert driver.interfaces_up() == CONNECTED[name]


def test_lab_show_interfaces_status_has_the_corpus_columns(lab_switch):
    ours = lab_run(lab_switch, "show interfaces status")
    published = text("cisco_ios", "show_interfaces_status_2.txt")      # a Catalyst 9300 stack
    header = next(line for line in ours.splitlines() if line.startswith("Port"))
    assert header_columns(header) == header_columns(next(line for line in published.splitlines()
                                                           if line.startswith("Port")))
    rows = {row["port"]: row for row in ntc("show interfaces status", ours)}
    assert set(next(iter(rows.values()))) == set(ntc("show interfaces status", published)[0])
    assert rows["Gi1/0/3"]["name"] == "AccessPoint" and rows["Gi1/0/3"]["vlan_id"] == "30"
    assert driver_reading({"show interfaces status": ours}).interfaces_up() == {"Gi1/0/3"}


def test_lab_show_interfaces_switchport_uses_the_catalyst_labels_in_order(lab_switch):
    ours = lab_run(lab_switch, "show interfaces GigabitEthernet1/0/3 switchport")
    published = text("cisco_ios", "show_interfaces_switchport.txt")

    def labels(block: str) -> list[str]:
        return [line.split(":")[0].strip() for line in block.splitlines() if line.strip() and
                not line.startswith("     ")]           # "     900,910,…": a wrapped VLAN list

    first = published.split("\n\n", 2)
    published_labels = labels(first[0] + "\n" + first[1])     # the first port's two paragraphs
    assert is_subsequence(labels(ours), published_labels)
    [row] = ntc("show interfaces switchport", ours)
    assert set(row) == set(ntc("show interfaces switchport", published)[0])
    assert (row["interface"], row["mode"], row["access_vlan"]) == ("Gi1/0/3", "static access", "30")


# -- dir flash: free space and file sizes ---------------------------------------------------------------------
def test_ios_driver_flash_status_of_a_listing():
    free, files = driver_reading({"dir flash:": text("cisco_ios", "dir_bootflash_csr.txt")}).flash_status()
    assert free == 6612774912
    assert files["csr1000v-mono-universalk9.03.14.01.S.155-1.S1-std.SPA.pkg"] == 250578048
    assert files["csr1000v-packages-universalk9.03.14.01.S.155-1.S1-std.conf"] == 4892
    assert files["tracelogs.394"] == 0 and files["virtual-instance.conf"] == 84


def test_ios_driver_flash_status_of_an_empty_filesystem():
    free, files = driver_reading({"dir flash:": text("cisco_ios", "dir_bootflash_empty.txt")}).flash_status()
    assert (free, files) == (16626160, {})


def test_lab_dir_reads_like_the_corpus(lab_switch):
    ours = lab_run(lab_switch, "dir flash:")
    published = text("cisco_ios", "dir_bootflash_csr.txt")
    entry = re.compile(r"\s*\d+\s+[-drwx]{4}\s+\d+\s+[A-Z][a-z]{2} [1-9]\d? \d{4} \d\d:\d\d:\d\d [+-]\d\d:\d\d\s+\S+")
    for listing in (ours, published):
        lines = [line for line in listing.splitlines() if line.strip()]
        assert re.fullmatch(r"Directory of \w+:/", lines[0])
        assert re.fullmatch(r"\d+ bytes total \(\d+ bytes free\)", lines[-1])
        assert all(entry.fullmatch(line) for line in lines[1:-1] if "-rw-" in line)
    ours_rows, published_rows = ntc("dir", ours), ntc("dir", published)
    assert set(ours_rows[0]) == set(published_rows[0]) and ours_rows[0]["name"].endswith(".bin")
    free, files = driver_reading({"dir flash:": ours}).flash_status()
    assert free == int(ours_rows[0]["total_free"]) and set(files) == {row["name"] for row in ours_rows}


def test_lab_dir_of_an_empty_filesystem_says_so(tmp_path):
    empty = lab_device(IOSSwitch, "C9300-24P", "17.9.4", tmp_path)
    for entry in empty.flash_dir.iterdir():
        entry.unlink()
    ours = [line for line in lab_run(empty, "dir flash:").splitlines() if line.strip()]
    published = [line for line in text("cisco_ios", "dir_bootflash_empty.txt").splitlines() if line.strip()]
    assert ours[1] == published[1] == "No files in directory"
    assert driver_reading({"dir flash:": "\n".join(ours)}).flash_status()[1] == {}


# -- show snmp user --------------------------------------------------------------------------------------------
def test_snmp_users_of_the_corpus():
    users = parse_snmp_users(text("cisco_ios", "show_snmp_user.txt"))
    assert [(u["user_name"], u["group_name"], u["authentication_protocol"], u["privacy_protocol"])
            for u in users] == [("user_snmp1", "managerpriv", "SHA", "AES128"),
                                ("user_snmp2", "managerpriv", "SHA", "AES128"),
                                ("test-user", "test-group", "None", "-")]
    # the toolkit's users (sha + aes-128) are spelled as the device spells them, so a match is recognised
    ours = SnmpUser("user_snmp1", "managerpriv", "sha", "aes-128", "x" * 12, "y" * 12).shown()
    assert {key: users[0][key] for key in ours} == ours


def test_lab_show_snmp_user_matches_the_corpus(lab_switch):
    ours = lab_run(lab_switch, "show snmp user")
    [record] = parse_snmp_users(ours)
    assert set(record) == set(parse_snmp_users(text("cisco_ios", "show_snmp_user.txt"))[0])
    assert record["user_name"] == "conf-user" and record["privacy_protocol"] == "AES128"
    labels = {line.split(":")[0] for line in text("cisco_ios", "show_snmp_user.txt").splitlines() if ":" in line}
    assert {line.split(":")[0] for line in ours.splitlines() if ":" in line} == labels


# -- running configuration -------------------------------------------------------------------------------------
def test_running_config_trunk_list_continued_on_add_lines():
    """IOS wraps a long allowed-VLAN list over `... allowed vlan add` lines: read as one list (it was read as
    three separate lines, so a policy's trunk never matched a real switch's long list)."""
    config = parse_running_config(text("cisco_ios", "running_config_l2_interfaces.txt"))
    trunk = [line for line in config.sections["interface GigabitEthernet0/3"] if "allowed vlan" in line]
    assert trunk == ["switchport trunk allowed vlan 11,59,67,75,77,81,100,400-408,411-413,415,418,461,674,675,696,"
                     "931,935,951,952,973,974,979,982,986,988,993"]
    assert config.sections["interface GigabitEthernet0/2"][0] == "switchport trunk allowed vlan 10-20,40"
    assert config.sections["interface TwoGigabitEthernet1/0/1"] == ["switchport mode access",
                                                                   "switchport access vlan 20"]


def test_running_config_interface_with_a_wrapped_trunk_list_verifies_against_the_intent():
    config = parse_running_config(text("cisco_ios", "running_config_interface_trunk_add.txt"))
    vlans = [101, 102, 201, 202, 301, 302, 401, 402, 501, 502, 701, 702, 801, 802, 901, 902]
    intended = [f"switchport trunk allowed vlan {vlan_list(vlans)}", "switchport mode trunk"]
    assert config.sections["interface GigabitEthernet1/0/7"] == ["description host interface", *intended]
    assert verify_applied(["interface GigabitEthernet1/0/7", *(f" {line}" for line in intended)], config) == []


def test_running_config_banners_of_ios_12():
    config = parse_running_config(text("cisco_ios", "running_config_banner_ios12.txt"))
    body = "this is a sample\nmulitline banner\nused for testing"
    assert config.banners == {"exec": body, "login": body}
    assert config.global_lines == ["dummy", "of", "config"]     # "end" closes a config: not a config line


# -- lab-only commands: same template, same layout --------------------------------------------------------------
def test_lab_show_boot_layout_matches_ios_xe(lab_switch):
    ours = lab_run(lab_switch, "show boot")
    published = text("cisco_ios", "show_boot_c9300_stack.txt")    # BUNDLE-style `BOOT variable = flash:x;`
    def labels(listing: str) -> list[str]:
        """Each line's label: what precedes " = ", the line itself otherwise ("BOOT variable does not exist"
        is the unset form of "BOOT variable = ...")."""
        return [line.split("=")[0].rstrip() if "=" in line else line.strip().removesuffix(" does not exist")
                for line in listing.splitlines() if line.strip() and "#" not in line]   # the prompt line

    assert labels(ours) == labels(published) == labels(text("cisco_ios", "show_boot_gibraltar.txt"))
    assert "BOOT variable = flash:packages.conf;" in published.splitlines()     # one `;` after every file
    [record], [reference] = ntc("show boot", ours), ntc("show boot", published)
    assert set(record) == set(reference) and record["switch_number"] == "1" and record["boot_mode"] == "DEVICE"
    assert record["boot_path"].rstrip(";") == "flash:cat9k_iosxe.17.09.04.SPA.bin"


def test_lab_show_inventory_matches(lab_switch):
    ours, published = lab_run(lab_switch, "show inventory"), text("cisco_ios", "show_inventory.txt")
    rows = ntc("show inventory", ours)
    assert set(rows[0]) == set(ntc("show inventory", published)[0])
    assert {row["pid"] for row in rows} == {"C9300-24P"} and all(row["sn"] for row in rows)
    shape = re.compile(r'NAME: "[^"]+", DESCR: "[^"]+"|PID: [^,]*, VID: [^,]*, SN: \S+')
    for listing in (ours, published):
        assert all(shape.fullmatch(line.rstrip()) for line in listing.splitlines() if line.strip())


def test_lab_show_vlan_brief_matches(lab_switch):
    ours, published = lab_run(lab_switch, "show vlan brief"), text("cisco_ios", "show_vlan.txt")
    ours_lines, published_lines = ours.splitlines(), published.splitlines()
    for header in ("VLAN Name                             Status    Ports",
                   "---- -------------------------------- --------- -------------------------------"):
        assert header in ours_lines and header in published_lines
    rows = {row["vlan_id"]: row for row in ntc("show vlan", ours)}
    assert set(rows["1"]) == set(ntc("show vlan", published)[0])
    assert rows["30"]["vlan_name"] == "VOICE" and rows["30"]["interfaces"] == ["Gi1/0/3"]
    for vlan, name in ((1002, "fddi-default"), (1005, "trnet-default")):
        ours_row = next(line for line in ours_lines if line.startswith(str(vlan)))
        published_row = next(line for line in published_lines if line.startswith(str(vlan)))
        assert ours_row.split() == published_row.split() == [str(vlan), name, "act/unsup"]


def test_lab_show_ip_access_lists_matches(lab_switch):
    ours, published = lab_run(lab_switch, "show ip access-lists CONF-STD"), text("cisco_ios",
                                                                                  "show_ip_access-lists.txt")
    assert ours.splitlines()[0] == "Standard IP access list CONF-STD"
    assert "Standard IP access list 99" in published.splitlines()
    entries = ours.splitlines()[1:]
    assert entries == ["    10 permit 10.10.10.0, wildcard bits 0.0.0.255", "    20 deny   any log"]
    assert "    30 permit 10.0.10.0, wildcard bits 0.255.0.255 (20 matches)" in published.splitlines()
    assert "    20 deny   any log" in published.splitlines()
    rows = [row for row in ntc("show ip access-lists", ours) if row["line_num"]]
    assert set(rows[0]) == set(ntc("show ip access-lists", published)[0])
    assert [(r["action"], r["src_network"], r["src_wildcard"], r["src_any"], r["log"]) for r in rows] == [
        ("permit", "10.10.10.0", "0.0.0.255", "", ""), ("deny", "", "", "any", "log")]


# -- Catalyst 9800 -----------------------------------------------------------------------------------------------
def test_lab_wlc_tag_policy_summary_matches_the_9800(lab_wlc):
    ours = lab_run(lab_wlc, "show wireless tag policy summary")
    published = text("cisco_wlc9800", "show_wireless_tag_policy_summary.txt")
    published_lines, ours_lines = published.splitlines(), ours.splitlines()
    header = "Policy Tag Name                   Description"
    assert header in published_lines and header in ours_lines
    dashes = next(line for line in published_lines if line.startswith("---"))
    assert dashes in ours_lines
    assert re.fullmatch(r"Number of Policy Tags: 1", next(line for line in ours_lines if line.startswith("Number")))
    rows = ntc("show wireless tag policy summary", ours)
    assert rows == [{"name": "default-policy-tag", "description": "default policy-tag"}]
    assert rows[0] in ntc("show wireless tag policy summary", published)    # the factory tag, as a 9800 lists it


def test_wlc_driver_facts_from_a_9800_show_version():
    """A C9800-CL prints no base MAC, no `Model Number` and no switch table: the driver reads it all the same."""
    facts = driver_reading({"show version": text("cisco_wlc9800", "show_version_c9800cl_17.7.txt")},
                           CiscoWLC9800Driver).get_facts()
    assert {key: facts.get(key) for key in ("hostname", "os_version", "model", "serial", "image",
                                            "last_reboot_reason", "uptime_seconds")} == {
        "hostname": "vidya-ewlc-5", "os_version": "17.7.1prd16", "model": "C9800-CL", "serial": "9SV9FR9MWP9",
        "image": "C9800-CL-universalk9.17.07.01prd16.SPA.bin", "last_reboot_reason": "Reload Command",
        "uptime_seconds": 4 * WEEK + 6 * DAY + 21 * HOUR + 48 * MINUTE}
    assert "mac_address" not in facts and facts["platform"] == "cisco_wlc9800"


WLAN_ROW = re.compile(r"(\d+)\s+(\S+)\s+(.+?)\s+(UP|DOWN)\s+((?:\[[^\]]+\])+(?:,.*)?)")


@pytest.mark.parametrize("name", ["show_wlan_summary_1.txt", "show_wlan_summary_2.txt"])
def test_lab_show_wlan_summary_matches_the_9800(lab_wlc, name):
    published, ours = text("cisco_wlc9800", name).splitlines(), lab_run(lab_wlc, "show wlan summary").splitlines()
    for fixed in ("ID   Profile Name                     SSID                             Status Security", "-" * 178):
        assert fixed in published and fixed in ours
    assert any(re.fullmatch(r"Number of WLANs: \d+", line) for line in published)
    assert "Number of WLANs: 1" in ours
    published_rows = [WLAN_ROW.fullmatch(line.rstrip()) for line in published if line[:1].isdigit()]
    assert published_rows and all(published_rows)
    [row] = [WLAN_ROW.fullmatch(line.rstrip()) for line in ours if line[:1].isdigit()]
    assert row.groups() == ("1", "Clinic-Staff", "Clinic-Staff", "UP", "[WPA3][SAE][AES]")


def detail_labels(listing: str) -> list[str]:
    """The label of each line (indentation kept, value dropped): `    PMF Support  : Required` -> its label."""
    return [re.split(r"\s*:(?: |$)", line.rstrip(), maxsplit=1)[0] for line in listing.splitlines() if line.strip()]


def is_subsequence(part: list[str], whole: list[str]) -> bool:
    remaining = iter(whole)
    return all(any(label == other for other in remaining) for label in part)


@pytest.mark.parametrize("name", ["show_wlan_all_sae.txt", "show_wlan_all_dot1x.txt"])
def test_lab_show_wlan_id_uses_the_9800_labels_in_its_order(lab_wlc, name):
    ours = lab_run(lab_wlc, "show wlan id 1")
    published = text("cisco_wlc9800", name).split("WLAN Profile Name")[1]       # the first WLAN of the reply
    labels, published_labels = detail_labels(ours), detail_labels("WLAN Profile Name" + published)
    assert labels[0] == published_labels[0] == "WLAN Profile Name"
    missing = [label for label in labels if label not in published_labels]
    assert missing == [] and is_subsequence(labels, published_labels)
    assert "        WPA3 (WPA3 IE)                         : Enabled" in ours.splitlines()
    assert "            SAE                                : Enabled" in ours.splitlines()


def test_lab_policy_profile_detail_uses_the_9800_labels(lab_wlc):
    ours = [line for line in lab_run(lab_wlc, "show wireless profile policy detailed conf-policy").splitlines()
            if line.strip()]
    published = text("cisco_wlc9800", "show_wireless_profile_policy_detailed.txt").splitlines()
    assert detail_labels("\n".join(ours)) == detail_labels("\n".join(published[:4]))
    assert ours == ["Policy Profile Name                 : conf-policy",
                    "Description                         : conf-policy",
                    "Status                              : ENABLED", "VLAN                                : 30"]


# -- OpenWrt -----------------------------------------------------------------------------------------------------
BOARD_FACTS = {   # hand-read: hostname, model (absent on the LEDE board), release.version, release.revision
    "ubus_system_board_lede.json": {"hostname": "lede", "model": "", "os_version": "HEAD", "image": "3"},
    "ubus_system_board_24.10.json": {"hostname": "austru.rss78.ldk35.archam.de", "model": "Netgear WNDR3800",
                                     "os_version": "24.10.5", "image": "r29087-d9c5716d1d"},
}


@pytest.mark.parametrize("name", sorted(BOARD_FACTS))
def test_openwrt_driver_facts_from_system_board(name):
    assert sorted(BOARD_FACTS) == sorted(p.name for p in (CORPUS / "openwrt").glob("ubus_system_board_*.json"))
    driver = OpenWrtDriver("192.0.2.2", name="corpus-ap")
    reply = text("openwrt", name)
    driver._checked_run = lambda command, what: {"ubus call system board": reply}[command]
    facts = driver.get_facts()
    assert {key: facts.get(key) for key in BOARD_FACTS[name]} == BOARD_FACTS[name]
    assert facts["vendor"] == "OpenWrt" and facts["platform"] == "openwrt"


def test_lab_system_board_has_the_fields_of_a_current_openwrt(tmp_path):
    ap = OpenWrtAP("conf-ap", "Netgear WNDR3800", "23.05.3", "127.0.0.1", 0, tmp_path, Credentials("root", "pw"))
    result = asyncio.run(ap.execute("ubus call system board"))
    assert result.status == 0
    ours, published = json.loads(result.out), json.loads(text("openwrt", "ubus_system_board_24.10.json"))
    assert set(ours) == set(published) and set(ours["release"]) == set(published["release"])
    assert all(isinstance(value, str) for value in ours.values() if not isinstance(value, dict))
    # ubus prints JSON with tab indentation (the LEDE documentation's reply)
    assert result.out.splitlines()[1].startswith("\t\"") and text("openwrt", "ubus_system_board_lede.json") \
        .splitlines()[1].startswith("\t\"")
    driver = OpenWrtDriver("192.0.2.2", name="conf-ap")
    driver._checked_run = lambda command, what: result.out
    assert driver.get_facts()["os_version"] == "23.05.3"
    assert ours["release"]["description"] == f"OpenWrt 23.05.3 {ours['release']['revision']}"


def test_lab_uci_prints_what_uci_prints():
    """The uci test suite's own references (openwrt/uci tests/shunit2): `uci set <pkg>.SEC0=section` and two
    `uci add_list`, then `uci changes`, `uci show` and the file `uci commit` writes."""
    package = UciPackage("list_test_config", "")
    package.stage("set_section", "SEC0", "section")
    package.stage("add_list", "SEC0", "list0", "value0")
    package.stage("add_list", "SEC0", "list0", '"Hello\n, world"')
    assert "\n".join(package.change_lines()) == text("openwrt", "uci_add_list_changes.result").rstrip("\n")
    assert "\n".join(package.show_lines()) == text("openwrt", "uci_add_list_show.result").rstrip("\n")
    package.commit()
    assert render_package(package.committed) == text("openwrt", "uci_add_list_config.result")


def test_uci_quoting_of_an_apostrophe_read_back():
    """uci prints ' inside a value as '\\'' (uci_set_existing_option_multiline.result: `Hello,\\'` + newline +
    `World"`); a PSK may hold a ' (printable ASCII): the driver reads such a `uci show` line back to the value it
    set (it read `ab'\\''cd`, so every commit of such a key failed its read-back and was rolled back)."""
    published = text("openwrt", "uci_set_existing_option_multiline.result")
    value = "Hello,\\'\nWorld\""
    assert published == f"set.section.opt={quote(value)}\n"
    key = "Conf'Key-2026"
    [line] = [line for line in UciPackage("wireless", f"config wifi-iface 'x'\n\toption key {quote(key)}\n")
              .show_lines() if ".key=" in line]
    assert line == "wireless.x.key='Conf'\\''Key-2026'"
    assert parse_uci_show(line)["x"]["key"] == key
