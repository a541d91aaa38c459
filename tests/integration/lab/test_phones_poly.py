"""Poly REST API of the simulated VVX, driven with a real HTTP client (urllib) over 127.0.0.1."""

from __future__ import annotations

import json
import ssl
import time
import urllib.error

import pytest

from lab.device import Credentials
from lab.firmware_images import make_image
from lab.phones.harness import PhoneRig, http_call, wait_for
from lab.phones.poly import PolyPhone

PASSWORD = "lab-Poly-admin-1"
OLD, NEW = "6.3.1.8427", "6.4.6.2000"
IMAGE_SIZE = 4096
MODEL = "VVX450"

pytestmark = pytest.mark.timeout(60)


def api(phone, method, path, body=None, password=PASSWORD, timeout=5, context=None):
    """One REST call; returns (HTTP status, decoded JSON body or None)."""
    data = json.dumps(body).encode() if body is not None else None
    status, raw = http_call(phone.base_url() + path, "Polycom", password, method, data,
                            {"Content-Type": "application/json"}, timeout, context)
    try:
        return status, json.loads(raw or b"null")
    except json.JSONDecodeError:
        if status < 400:
            raise
        return status, None


def reachable(phone) -> bool:
    try:
        api(phone, "GET", "/api/v1/mgmt/device/info", timeout=1)
        return True
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@pytest.fixture()
def rig(tmp_path):
    """A provisioning server and one Poly VVX450 on OLD firmware, both on a background event loop."""
    with PhoneRig(tmp_path) as rig:
        phone = rig.add(PolyPhone, "phone-101", MODEL, OLD, Credentials("Polycom", PASSWORD), reboot_seconds=0.5,
                        provisioning_url=rig.prov.url)
        yield rig.bg, rig.prov, phone


def stage_firmware(prov, version, image=None):
    prov.stage("3111-49950-001.sip.ld", image or make_image("poly", MODEL, version, IMAGE_SIZE))
    prov.stage("000000000000.cfg", b'<?xml version="1.0"?><APPLICATION APP_FILE_PATH="3111-49950-001.sip.ld" '
                                   b'CONFIG_FILES="site.cfg"/>')
    prov.stage("site.cfg", b'<polycomConfig><reg reg.1.address="101@pbx.lab"/></polycomConfig>')


def test_device_info_reports_model_and_firmware(rig):
    _, _, phone = rig
    status, body = api(phone, "GET", "/api/v1/mgmt/device/info")
    assert status == 200 and body["Status"] == "2000"
    assert body["data"]["ModelNumber"] == "VVX 450"        # as the REST API spells it (tests/conformance/poly)
    assert "SerialNumber" not in body["data"]
    assert body["data"]["FirmwareRelease"] == OLD
    assert body["data"]["MACAddress"] == phone.mac


def test_wrong_password_is_refused(rig):
    _, _, phone = rig
    status, _ = api(phone, "GET", "/api/v1/mgmt/device/info", password="wrong")
    assert status == 401


def test_factory_default_password_gets_4010(tmp_path):
    with PhoneRig(tmp_path, with_provisioning=False) as rig:
        phone = rig.add(PolyPhone, "p", MODEL, OLD, Credentials("Polycom", "456"))
        status, body = api(phone, "GET", "/api/v1/mgmt/device/info", password="456")
        assert status == 403 and body == {"Status": "4010"}


def test_disabled_rest_api_answers_404(tmp_path):
    with PhoneRig(tmp_path, with_provisioning=False) as rig:
        phone = rig.add(PolyPhone, "p", MODEL, OLD, Credentials("Polycom", PASSWORD), restapi_enabled=False)
        assert api(phone, "GET", "/api/v1/mgmt/device/info")[0] == 404


def test_config_set_then_get_round_trips(rig):
    _, _, phone = rig
    status, body = api(phone, "POST", "/api/v1/mgmt/config/set", {"data": {"tcpIpApp.sntp.address": "10.10.10.5"}})
    assert (status, body) == (200, {"Status": "2000"})
    status, body = api(phone, "POST", "/api/v1/mgmt/config/get", {"data": ["tcpIpApp.sntp.address"]})
    assert status == 200
    assert body["data"]["tcpIpApp.sntp.address"]["Value"] == "10.10.10.5"


@pytest.mark.parametrize("value", ["a\nb", "x;reboot", "`id`", 'q"uote'])
def test_config_set_rejects_injection(rig, value):
    _, _, phone = rig
    status, body = api(phone, "POST", "/api/v1/mgmt/config/set", {"data": {"reg.1.label": value}})
    assert status == 400 and body["Status"] == "4000"
    assert "reg.1.label" not in phone.params


def test_config_get_limits_to_20_parameters(rig):
    _, _, phone = rig
    names = [f"reg.{n}.address" for n in range(21)]
    assert api(phone, "POST", "/api/v1/mgmt/config/get", {"data": names})[1]["Status"] == "4009"


def test_update_configuration_installs_new_firmware(rig):
    _bg, prov, phone = rig
    stage_firmware(prov, NEW)
    assert api(phone, "POST", "/api/v1/mgmt/updateConfiguration")[1] == {"Status": "2000"}
    assert wait_for(lambda: not reachable(phone)), "the phone never went down to install the image"
    assert wait_for(lambda: reachable(phone))
    body = api(phone, "GET", "/api/v1/mgmt/device/info")[1]
    assert body["data"]["FirmwareRelease"] == NEW
    assert phone.params["reg.1.address"] == "101@pbx.lab"
    assert ("GET", "3111-49950-001.sip.ld", 200) in prov.requests


def test_corrupt_image_keeps_old_version(rig):
    _bg, prov, phone = rig
    image = bytearray(make_image("poly", MODEL, NEW, IMAGE_SIZE))
    image[-1] ^= 0xFF
    stage_firmware(prov, NEW, bytes(image))
    api(phone, "POST", "/api/v1/mgmt/updateConfiguration")
    assert wait_for(lambda: any("rejected" in line for line in phone.log))
    assert api(phone, "GET", "/api/v1/mgmt/device/info")[1]["data"]["FirmwareRelease"] == OLD


def test_wrong_model_image_is_refused(rig):
    _bg, prov, phone = rig
    stage_firmware(prov, NEW, make_image("poly", "VVX250", NEW, IMAGE_SIZE))
    api(phone, "POST", "/api/v1/mgmt/updateConfiguration")
    assert wait_for(lambda: any("not poly VVX450" in line for line in phone.log))
    assert phone.version == OLD


def test_safe_reboot_waits_for_the_call_to_end(rig):
    bg, _, phone = rig
    bg.call(phone.set_fault, "busy_in_call")
    assert api(phone, "GET", "/api/v1/webCallControl/callStatus")[1]["data"]["CallState"] == "Connected"
    assert "CallState" not in api(phone, "GET", "/api/v1/mgmt/lineInfo")[1]["data"][0]
    assert api(phone, "POST", "/api/v1/mgmt/safeReboot")[1] == {"Status": "2000"}
    time.sleep(1.5)  # longer than reboot_seconds: a phone that did not wait would have rebooted by now
    assert reachable(phone) and phone.reboot_count == 0
    bg.call(phone.clear_fault, "busy_in_call")
    assert wait_for(lambda: phone.reboot_count == 1 and reachable(phone))


def test_poly_4001_fault(rig):
    bg, _, phone = rig
    bg.call(phone.set_fault, "poly_4001")
    status, body = api(phone, "POST", "/api/v1/mgmt/safeReboot")
    assert body == {"Status": "4001"} and status == 503
    assert phone.reboot_count == 0


def test_http_5xx_and_auth_faults(rig):
    bg, _, phone = rig
    bg.call(phone.set_fault, "http_5xx", status=502)
    assert api(phone, "GET", "/api/v1/mgmt/device/info")[0] == 502
    bg.call(phone.clear_fault)
    bg.call(phone.set_fault, "auth_failure")
    assert api(phone, "GET", "/api/v1/mgmt/device/info")[0] == 401


def test_slow_responses_fault(rig):
    bg, _, phone = rig
    bg.call(phone.set_fault, "slow_responses", delay=1.0)
    with pytest.raises((TimeoutError, urllib.error.URLError)):
        api(phone, "GET", "/api/v1/mgmt/device/info", timeout=0.3)


def test_never_comes_back_after_reboot(rig):
    bg, _, phone = rig
    bg.call(phone.set_fault, "no_return_after_reload")
    api(phone, "POST", "/api/v1/mgmt/safeReboot")
    assert wait_for(lambda: not reachable(phone))
    time.sleep(1.0)
    assert not reachable(phone)
    bg.call(phone.clear_fault, "no_return_after_reload")   # someone power-cycles it
    assert wait_for(lambda: reachable(phone))
    assert api(phone, "GET", "/api/v1/mgmt/device/info")[1]["data"]["FirmwareRelease"] == OLD


def test_boots_old_version_fault(rig):
    bg, prov, phone = rig
    bg.call(phone.set_fault, "boots_old_version")
    stage_firmware(prov, NEW)
    api(phone, "POST", "/api/v1/mgmt/updateConfiguration")
    assert wait_for(lambda: phone.reboot_count == 1 and reachable(phone))
    assert api(phone, "GET", "/api/v1/mgmt/device/info")[1]["data"]["FirmwareRelease"] == OLD
    assert any("booted previous image" in line for line in phone.log)


def test_https_with_the_lab_ca(tmp_path):
    with PhoneRig(tmp_path, with_provisioning=False) as rig:
        phone = rig.add(PolyPhone, "p", MODEL, OLD, Credentials("Polycom", PASSWORD), https=True)
        ca_file = phone.inventory_vars()["phone_ca_file"]
        verified = ssl.create_default_context(cafile=ca_file)
        status, body = api(phone, "GET", "/api/v1/mgmt/device/info", context=verified)
        assert status == 200 and body["data"]["FirmwareRelease"] == OLD
        with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
            api(phone, "GET", "/api/v1/mgmt/device/info", context=ssl.create_default_context())
