"""UCI wifi-iface → hostapd rendering (OpenWrt's rules) and the real-hostapd check (driver=none, no radio)."""

from __future__ import annotations

import asyncio
import shutil

import pytest

from lab.hostapd import RenderError, hostapd_accepts, parse_encryption, render_wireless

pytestmark = [pytest.mark.timeout(60),
              pytest.mark.skipif(shutil.which("hostapd") is None, reason="hostapd not installed")]

RADIO = ("wifi-device", "radio0", {"type": "mac80211", "band": "5g", "channel": "36", "htmode": "HE80",
                                   "country": "DE"})


def render_one(**iface) -> dict[str, str]:
    options = {"device": "radio0", "mode": "ap", "ssid": "Clinic-Staff", "network": "data", **iface}
    (bss,) = render_wireless([RADIO, ("wifi-iface", "staff", options)])
    return bss, dict(line.split("=", 1) for line in bss.bss_lines)


def accepted(bss) -> tuple[bool, str]:
    return asyncio.run(hostapd_accepts(bss))


def test_wpa3_sae_is_rendered_like_openwrt_and_accepted():
    bss, conf = render_one(encryption="sae", key="correct horse battery", isolate="1")
    assert conf["wpa_key_mgmt"] == "SAE" and conf["ieee80211w"] == "2" and conf["wpa"] == "2"
    assert conf["sae_require_mfp"] == "1" and conf["sae_pwe"] == "2" and conf["wpa_pairwise"] == "CCMP"
    assert conf["wpa_passphrase"] == "correct horse battery"
    assert conf["ap_isolate"] == "1" and conf["bridge"] == "br-data"
    assert "country_code=DE" in bss.radio_lines and "ieee80211ax=1" in bss.radio_lines
    ok, message = accepted(bss)
    assert ok, message


def test_transition_mode_is_pmf_optional_and_accepted():
    bss, conf = render_one(encryption="sae-mixed", key="correct horse battery")
    assert conf["wpa_key_mgmt"] == "WPA-PSK WPA-PSK-SHA256 SAE" and conf["ieee80211w"] == "1"
    assert accepted(bss)[0]


def test_wpa2_psk_has_no_pmf_line():
    bss, conf = render_one(encryption="psk2", key="correct horse battery")
    assert conf["wpa_key_mgmt"] == "WPA-PSK" and "ieee80211w" not in conf
    assert accepted(bss)[0]


@pytest.mark.parametrize(("encryption", "key_mgmt", "cipher"), [
    ("wpa3", "WPA-EAP-SHA256", "CCMP"),
    ("wpa3-192", "WPA-EAP-SUITE-B-192", "GCMP-256"),
])
def test_wpa3_enterprise(encryption, key_mgmt, cipher):
    bss, conf = render_one(encryption=encryption, auth_server="10.10.10.7", auth_secret="radius-secret")
    assert conf["wpa_key_mgmt"] == key_mgmt and conf["wpa_pairwise"] == cipher and conf["ieee8021x"] == "1"
    ok, message = accepted(bss)
    assert ok, message


@pytest.mark.parametrize("bad_line", ["wpa_key_mgmt=SAE BOGUS", "no_such_hostapd_item=1"])
def test_hostapd_refuses_invalid_rendering(bad_line):
    bss, _ = render_one(encryption="sae", key="correct horse battery", hostapd_bss_options=[bad_line])
    ok, message = accepted(bss)
    assert not ok
    assert "errors found in configuration file" in message


def test_64_character_key_must_be_hex():
    bss, conf = render_one(encryption="psk2", key="z" * 64)
    assert conf["wpa_psk"] == "z" * 64
    assert not accepted(bss)[0]


def test_short_key_is_invalid_wpa_psk():
    with pytest.raises(RenderError, match="INVALID_WPA_PSK"):
        render_one(encryption="sae", key="short")


def test_newline_in_a_value_is_refused():
    with pytest.raises(RenderError, match="control character"):
        render_one(encryption="sae", key="correct horse battery", ssid="x\nwpa_key_mgmt=WPA-PSK")


def test_disabled_interfaces_are_not_rendered():
    sections = [RADIO, ("wifi-iface", "off", {"device": "radio0", "ssid": "x", "disabled": "1"})]
    assert render_wireless(sections) == []


@pytest.mark.parametrize(("encryption", "wpa", "auth_type", "cipher"), [
    ("none", 0, "none", ""),
    ("psk2", 2, "psk", "CCMP"),
    ("psk", 3, "psk", "CCMP TKIP"),
    ("psk-mixed", 3, "psk", "CCMP"),
    ("sae", 2, "sae", "CCMP"),
    ("sae-mixed", 2, "psk-sae", "CCMP"),
    ("wpa2", 2, "eap", "CCMP"),
    ("wpa3-mixed", 2, "eap-eap2", "CCMP"),
    ("owe", 2, "owe", "CCMP"),
])
def test_parse_encryption_matches_netifd(encryption, wpa, auth_type, cipher):
    parsed = parse_encryption(encryption)
    assert (parsed.wpa, parsed.auth_type, parsed.cipher) == (wpa, auth_type, cipher)
