"""Pure helpers of the phone drivers (issue #13): model names, Poly device.* flags and call status, MPP password
rule, Yealink settings lines."""

from __future__ import annotations

import pytest

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers import cisco_mpp, poly, yealink
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import UnexpectedOutput
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.phone_http import hardening_gaps, model_key


def test_model_key_ignores_blanks_and_case_only():
    assert model_key("VVX 450") == model_key("VVX450") == model_key("vvx450")
    assert model_key("Trio 8800") == "TRIO8800"
    assert model_key("VVX 450") != model_key("VVX 250")
    assert model_key("CP-8841-3PCC") == "CP-8841-3PCC"          # hyphens are significant


def test_poly_device_params_add_both_flags_only_for_device_parameters():
    assert poly.device_params({"device.prov.serverName": "http://x/"}) == {
        "device.set": "1", "device.prov.serverName.set": "1", "device.prov.serverName": "http://x/"}
    assert poly.device_params({"sec.srtp.require": "1"}) == {"sec.srtp.require": "1"}


@pytest.mark.parametrize("data", ["Connected", [1, 2], [{"CallState": "Connected"}, "junk"]])
def test_poly_call_status_refuses_what_is_not_a_call_object(data):
    with pytest.raises(UnexpectedOutput):
        poly.call_in_progress(data)


def test_poly_device_info_without_version_is_refused():
    with pytest.raises(UnexpectedOutput, match="ModelNumber/FirmwareRelease"):
        poly.facts_from_device_info({"ModelNumber": "VVX 450"})


@pytest.mark.parametrize(("value", "ok"), [("Abcdef12", True), ("abcdef1!", True), ("abcdefgh", False),
                                           ("Abcdefgh", False), ("Ab1!", False), ("A" * 60 + "b1" * 40, False),
                                           ("Zq7NewPasswordValue12345", True)])
def test_mpp_admin_password_rule(value, ok):
    assert (cisco_mpp.password_problem(value) == "") is ok


def test_yealink_settings_replace_every_line_of_a_key():
    config = b"#!version:1.0.0.1\nsip.notify_reboot_enable = 1\nsip.notify_reboot_enable=1\nother = x\n"
    out = yealink.with_settings(config, {"sip.notify_reboot_enable": "0"})
    assert out.decode().count("sip.notify_reboot_enable") == 1 and b"other = x" in out
    assert yealink.missing_settings(out, {"sip.notify_reboot_enable": "0"}) == []
    assert yealink.missing_settings(config, {"sip.notify_reboot_enable": "0"}) == ["sip.notify_reboot_enable"]


def test_hardening_gaps_names_have_and_want():
    assert hardening_gaps({"a": "1", "b": "2"}, {"a": "1"}) == ["b: (absent), want 2"]
