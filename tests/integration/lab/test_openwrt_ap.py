"""OpenWrt AP simulator over real SSH (paramiko): UCI staging semantics, hostapd-checked wifi reload, faults."""

from __future__ import annotations

import asyncio
import base64
import json
import socket

import paramiko
import pytest

from lab.device import Credentials
from lab.openwrt import OpenWrtAP
from lab.phones.harness import BackgroundLoop

PASSWORD = "lab-openwrt-root-1"
MODEL = "Ubiquiti UniFi 6 Lite"

pytestmark = pytest.mark.timeout(90)


def make_ap(tmp_path) -> OpenWrtAP:
    return OpenWrtAP("ap-01", MODEL, "23.05.3", "127.0.0.1", 0, tmp_path / "ap-01", Credentials("root", PASSWORD))


@pytest.fixture()
def rig(tmp_path):
    with BackgroundLoop() as bg:
        ap = make_ap(tmp_path)
        bg.run(ap.start())
        yield bg, ap
        bg.run(ap.stop())


def connect(ap, password=PASSWORD, host_key=None) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    key_type, key_data = (host_key or ap.public_host_key()).split()[:2]
    client.get_host_keys().add(f"[{ap.host}]:{ap.port}", key_type, paramiko.PKey.from_type_string(
        key_type, base64.b64decode(key_data)))
    client.connect(ap.host, ap.port, username="root", password=password, look_for_keys=False, allow_agent=False,
                   timeout=10)
    return client


def run(client, command, timeout=20) -> tuple[int, str, str]:
    _, stdout, stderr = client.exec_command(command, timeout=timeout)
    out, err = stdout.read().decode(), stderr.read().decode()
    return stdout.channel.recv_exit_status(), out, err


@pytest.fixture()
def ssh(rig):
    client = connect(rig[1])
    yield client
    client.close()


SAE_STAFF = ("uci set wireless.radio1.disabled=0 && uci set wireless.radio1.country=DE && "
             "uci set wireless.default_radio1.ssid=Clinic-Staff && uci set wireless.default_radio1.encryption=sae && "
             "uci set wireless.default_radio1.key='correct horse battery' && "
             "uci set wireless.default_radio1.network=data && uci set wireless.default_radio1.isolate=1")


def test_model_and_firmware(ssh):
    status, out, _ = run(ssh, "cat /etc/openwrt_release")
    assert status == 0 and "DISTRIB_RELEASE='23.05.3'" in out
    board = json.loads(run(ssh, "ubus call system board")[1])
    assert board["model"] == MODEL and board["release"]["version"] == "23.05.3"


def test_changes_are_staged_until_commit(ssh):
    before = run(ssh, "cat /etc/config/wireless")[1]
    assert run(ssh, "uci set wireless.radio0.channel=6")[0] == 0
    assert run(ssh, "uci changes wireless")[1] == "wireless.radio0.channel='6'\n"
    assert run(ssh, "uci get wireless.radio0.channel")[1] == "6\n"
    assert run(ssh, "cat /etc/config/wireless")[1] == before
    run(ssh, "uci revert wireless")
    assert run(ssh, "uci get wireless.radio0.channel")[1] == "1\n"
    run(ssh, "uci set wireless.radio0.channel=11; uci commit wireless")
    assert "option channel '11'" in run(ssh, "cat /etc/config/wireless")[1]
    assert run(ssh, "uci changes")[1] == ""


def test_add_anonymous_section_and_show(ssh):
    status, section_id, _ = run(ssh, "uci add wireless wifi-iface")
    assert status == 0 and section_id.startswith("cfg")
    run(ssh, f"uci set wireless.{section_id.strip()}.ssid=Clinic-Guest")
    shown = run(ssh, "uci show wireless")[1]
    assert "wireless.@wifi-iface[2]=wifi-iface\n" in shown
    assert "wireless.@wifi-iface[2].ssid='Clinic-Guest'\n" in shown
    assert run(ssh, "uci get wireless.@wifi-iface[-1].ssid")[1] == "Clinic-Guest\n"


def test_missing_entry_and_unsupported_syntax(ssh):
    assert run(ssh, "uci get wireless.nope.ssid") == (1, "", "uci: Entry not found\n")
    assert run(ssh, "uci -q get wireless.nope.ssid") == (1, "", "")
    assert run(ssh, "uci show wireless | grep ssid")[0] == 2
    assert run(ssh, "reboot")[0] == 127


def test_wifi_reload_wpa3_sae_is_checked_by_hostapd(ssh):
    assert run(ssh, SAE_STAFF + " && uci commit wireless")[0] == 0
    status, _, err = run(ssh, "wifi reload")
    assert status == 0, err
    conf = run(ssh, "cat /var/run/hostapd-phy1.conf")[1]
    for line in ("wpa_key_mgmt=SAE", "ieee80211w=2", "sae_pwe=2", "ap_isolate=1", "bridge=br-data",
                 "ssid=Clinic-Staff", "country_code=DE"):
        assert line in conf.splitlines()
    assert "phy1-ap0: AP-ENABLED" in run(ssh, "logread")[1]


def test_wifi_reload_transition_mode(ssh):
    run(ssh, SAE_STAFF + " && uci set wireless.default_radio1.encryption=sae-mixed && uci commit")
    assert run(ssh, "wifi reload")[0] == 0
    conf = run(ssh, "cat /var/run/hostapd-phy1.conf")[1].splitlines()
    assert "wpa_key_mgmt=WPA-PSK WPA-PSK-SHA256 SAE" in conf and "ieee80211w=1" in conf


def test_hostapd_refusal_fails_the_reload_and_keeps_the_running_config(ssh):
    run(ssh, SAE_STAFF + " && uci commit && wifi reload")
    running = run(ssh, "cat /var/run/hostapd-phy1.conf")[1]
    run(ssh, "uci add_list wireless.default_radio1.hostapd_bss_options='wpa_key_mgmt=SAE BOGUS' && uci commit")
    status, _, err = run(ssh, "wifi reload")
    assert status == 1
    assert "invalid key_mgmt 'BOGUS'" in err and "errors found in configuration file" in err
    assert run(ssh, "cat /var/run/hostapd-phy1.conf")[1] == running


def test_invalid_psk_is_refused(ssh):
    run(ssh, SAE_STAFF + " && uci set wireless.default_radio1.key=short && uci commit")
    status, _, err = run(ssh, "wifi")
    assert status == 1 and "INVALID_WPA_PSK" in err


def test_interactive_shell(rig):
    _, ap = rig
    client = connect(ap)
    try:
        channel = client.invoke_shell()
        channel.settimeout(10)
        buffer = b""
        while b"# " not in buffer:
            buffer += channel.recv(1024)
        channel.send("uci get wireless.radio1.band\n")
        while b"5g" not in buffer:
            buffer += channel.recv(1024)
        assert b"root@OpenWrt:~# " in buffer
    finally:
        client.close()


def test_committed_config_survives_a_restart_staged_changes_do_not(tmp_path):
    with BackgroundLoop() as bg:
        ap = make_ap(tmp_path)
        bg.run(ap.start())
        client = connect(ap)
        run(client, "uci set wireless.radio0.channel=6 && uci commit && uci set wireless.radio0.channel=11")
        client.close()
        bg.run(ap.stop())
        again = make_ap(tmp_path)
        bg.run(again.start())
        try:
            client = connect(again)
            assert run(client, "uci get wireless.radio0.channel")[1] == "6\n"
            client.close()
        finally:
            bg.run(again.stop())


def test_auth_failure_fault(rig):
    bg, ap = rig
    bg.call(ap.set_fault, "auth_failure")
    with pytest.raises(paramiko.AuthenticationException):
        connect(ap)


def test_host_key_change_is_caught_by_known_hosts(rig):
    bg, ap = rig
    original = ap.public_host_key()
    bg.call(ap.set_fault, "host_key_change")
    bg.run(asyncio.sleep(0.5))
    with pytest.raises(paramiko.BadHostKeyException):
        connect(ap, host_key=original)


def test_slow_responses_fault(rig):
    bg, ap = rig
    client = connect(ap)
    try:
        bg.call(ap.set_fault, "slow_responses", delay=2)
        with pytest.raises(socket.timeout):
            run(client, "uci get wireless.radio0.band", timeout=0.5)
    finally:
        client.close()


def test_section_addressed_by_index_can_be_retyped_and_deleted(ssh):
    assert run(ssh, "uci set wireless.@wifi-iface[0]=wifi-iface && uci set wireless.@wifi-iface[0].ssid=X")[0] == 0
    assert run(ssh, "uci get wireless.default_radio0.ssid")[1] == "X\n"
    assert run(ssh, "uci delete wireless.@wifi-iface[1]")[0] == 0
    assert run(ssh, "uci changes wireless")[1].splitlines()[-1] == "-wireless.default_radio1"
    assert run(ssh, "uci set 'wireless.bad name=wifi-iface'")[0] == 1
