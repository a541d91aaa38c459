"""Every driver parser against every corpus file of its platform, and the lab's replies against the same files:
same fields, same shapes, same spelling (sources in each platform's README.md)."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path
from xml.etree import ElementTree

import pytest

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers import cisco_mpp as mpp_driver
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers import poly as poly_driver
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers import yealink as yealink_driver
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.phone_http import basic_auth, model_key
from lab.device import Credentials
from lab.phones import poly as poly_lab
from lab.phones import yealink as yealink_lab
from lab.phones.cisco_mpp import CiscoMppPhone
from lab.phones.harness import BackgroundLoop
from lab.phones.poly import PolyPhone

CORPUS = Path(__file__).parent
PASSWORD = "Conformance-Pass-1"


def corpus(platform: str, pattern: str) -> list[Path]:
    files = sorted((CORPUS / platform).glob(pattern))
    assert files, f"no corpus files {platform}/{pattern}"
    return files


def shape(value):
    """The type skeleton of a JSON value: keys and value types, not values."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


@pytest.fixture(scope="module")
def lab_poly(tmp_path_factory):
    """A lab VVX 450 answering over real HTTP."""
    root = tmp_path_factory.mktemp("poly")
    with BackgroundLoop() as bg:
        phone = PolyPhone("conf-poly", "VVX450", "6.4.6.2000", "127.0.0.1", 0, root / "p",
                          Credentials("Polycom", PASSWORD))
        bg.run(phone.start())
        yield bg, phone
        bg.run(phone.stop())


def lab_get(phone, path: str) -> dict:
    request = urllib.request.Request(phone.base_url() + path,  # noqa: S310 - http://127.0.0.1
                                     headers=basic_auth("Polycom", PASSWORD))
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - http://127.0.0.1
        return json.loads(response.read())


# -- Poly -----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", corpus("poly", "device_info_*.json"), ids=lambda p: p.name)
def test_poly_driver_reads_every_device_info(path):
    reply = json.loads(path.read_text())
    facts = poly_driver.facts_from_device_info(reply["data"])
    assert facts["model"] == reply["data"]["ModelNumber"] and model_key(facts["model"]) == "TRIO8800"
    assert facts["os_version"] == reply["data"]["FirmwareRelease"]
    assert isinstance(facts["uptime_seconds"], int)        # "20 Days 16:11:42" and "0 Day 0:12:25" both read


def test_poly_uptime_forms():
    assert poly_driver.uptime_seconds("20 Days 16:11:42") == ((20 * 24 + 16) * 60 + 11) * 60 + 42
    assert poly_driver.uptime_seconds("0 Day 0:12:25") == 745
    assert poly_driver.uptime_seconds("soon") is None


@pytest.mark.parametrize("path", corpus("poly", "device_info_*.json"), ids=lambda p: p.name)
def test_poly_lab_device_info_has_the_corpus_fields_and_spelling(lab_poly, path):
    _bg, phone = lab_poly
    published, ours = json.loads(path.read_text()), lab_get(phone, "/api/v1/mgmt/device/info")
    assert shape(ours) == shape(published)                 # same fields, same types: no invented SerialNumber
    assert re.fullmatch(r"[A-Za-z]+ \d+", ours["data"]["ModelNumber"])          # "VVX 450" as "Trio 8800"
    pattern = r"\d+ Days? \d+:\d{2}:\d{2}"
    assert re.fullmatch(pattern, published["data"]["UpTimeSinceLastReboot"])
    assert re.fullmatch(pattern, ours["data"]["UpTimeSinceLastReboot"])
    assert poly_driver.facts_from_device_info(ours["data"])["os_version"] == "6.4.6.2000"


def test_poly_lab_uptime_text_follows_the_published_forms():
    assert poly_lab.uptime_text(745) == "0 Day 0:12:25"
    assert poly_lab.uptime_text(((20 * 24 + 16) * 60 + 11) * 60 + 42) == "20 Days 16:11:42"


@pytest.mark.parametrize("path", corpus("poly", "line_info.json"), ids=lambda p: p.name)
def test_poly_lab_line_info_matches_and_carries_no_call_state(lab_poly, path):
    _bg, phone = lab_poly
    published, ours = json.loads(path.read_text()), lab_get(phone, "/api/v1/mgmt/lineInfo")
    assert shape(ours) == shape(published)
    assert "CallState" not in ours["data"][0]


@pytest.mark.parametrize("path", corpus("poly", "call_status_*.json"), ids=lambda p: p.name)
def test_poly_call_status_driver_and_lab(lab_poly, path):
    bg, phone = lab_poly
    published = json.loads(path.read_text())
    assert poly_driver.call_in_progress(published["data"]) is True
    assert poly_driver.call_in_progress(None) is False and poly_driver.call_in_progress([]) is False
    idle = lab_get(phone, "/api/v1/webCallControl/callStatus")
    assert idle == {"Status": "2000"} and poly_driver.call_in_progress(idle.get("data")) is False
    bg.call(phone.set_fault, "busy_in_call")
    try:
        busy = lab_get(phone, "/api/v1/webCallControl/callStatus")
    finally:
        bg.call(phone.clear_fault, "busy_in_call")
    # the published fields (plus CallHandle, a field of the same published model), all strings
    assert set(busy["data"]) == set(published["data"]) | {"CallHandle"}
    assert all(isinstance(value, str) for value in busy["data"].values())
    assert poly_driver.call_in_progress(busy["data"]) is True


@pytest.mark.parametrize("path", corpus("poly", "master_*.cfg"), ids=lambda p: p.name)
def test_poly_master_file_driver_writes_what_the_lab_reads(path):
    base = path.read_bytes()
    before_files, before_app = poly_lab.master_files(base, "VVX450")
    pointed = poly_driver.master_pointing_at(base, "VVX 450", "3111-49950-001.sip.ld")
    root = ElementTree.fromstring(pointed)  # noqa: S314 - our own output
    assert root.find("APPLICATION_VVX450").get("APP_FILE_PATH_VVX450") == "3111-49950-001.sip.ld"
    assert "APP_FILE_PATH_VVX450" not in root.attrib
    assert poly_lab.master_files(pointed, "VVX450") == (before_files, "3111-49950-001.sip.ld")
    # every other model child and attribute of the published file is kept
    original = ElementTree.fromstring(base)  # noqa: S314 - corpus file
    for child in original:
        assert root.find(child.tag).attrib == child.attrib
    assert {k: v for k, v in root.attrib.items()} == original.attrib
    assert before_app == original.get("APP_FILE_PATH")


def test_poly_lab_reads_a_published_model_child():
    base = (CORPUS / "poly" / "master_default_000000000000.cfg").read_bytes()
    assert poly_lab.master_files(base, "SPIP300") == (["phone1_213.cfg", "sip_213.cfg"], "sip_213.ld")
    assert poly_lab.master_files(base, "VVX450") == ([], "sip.ld")


# -- Yealink --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", corpus("yealink", "*.cfg"), ids=lambda p: p.name)
def test_yealink_driver_and_lab_read_provisioning_files_alike(path):
    content = path.read_bytes()
    ours = yealink_driver.parse_key_values(content.decode())
    lab = yealink_lab.parse_config(content.decode())
    assert set(lab) == set(ours) and all(lab[key] == ours[key] for key in lab)
    settings = {yealink_driver.NOTIFY_REBOOT: "0", yealink_driver.SHOW_ACTION_URI_OPTION: "0",
                yealink_driver.ACTION_URI_ALLOW: ours[yealink_driver.ACTION_URI_ALLOW]}
    assert yealink_driver.missing_settings(content, settings) == []      # spelled as the driver writes them


@pytest.mark.parametrize("path", corpus("yealink", "*.cfg"), ids=lambda p: p.name)
def test_yealink_password_lines_per_account(path):
    content = path.read_bytes()
    stripped, had = yealink_driver.without_password(content, "admin")
    assert had and b"admin:admin" not in stripped and b"static.security.user_password = user:user" in stripped
    rewritten = yealink_driver.with_password(content, "admin", "New-Admin-Pass-9")
    lines = rewritten.decode().splitlines()
    assert lines.count("static.security.user_password = admin:New-Admin-Pass-9") == 1
    assert "static.security.user_password = user:user" in lines


# -- Cisco MPP ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", corpus("cisco_mpp", "*.xml"), ids=lambda p: p.name)
def test_mpp_profiles_driver_shape_and_lab_apply(path, tmp_path):
    published = ElementTree.fromstring(path.read_bytes())  # noqa: S314 - corpus file
    assert published.tag == "flat-profile" and published.find(mpp_driver.ADMIN_PASSWORD) is not None
    sample = published.find(mpp_driver.ADMIN_PASSWORD).text
    assert mpp_driver.password_problem(sample) == ""
    phone = CiscoMppPhone("conf-mpp", "CP-8841-3PCC", "sip88xx.12-0-4MPP0001-41", "127.0.0.1", 0, tmp_path / "m",
                          Credentials("admin", PASSWORD))
    values = {el.tag: (el.text or "").strip() for el in published}
    phone.set_params(values)
    assert phone.credentials.password == sample and mpp_driver.ADMIN_PASSWORD not in phone.params
    assert phone.params["Upgrade_Rule"] == values["Upgrade_Rule"]


def test_mpp_status_parser_reads_flat_and_nested_pages():
    flat = b"<flat-profile><Product_Name>CP-8841-3PCC</Product_Name><Software_Version>x</Software_Version>" \
           b"<MAC_Address>AA:BB:CC:00:11:22</MAC_Address></flat-profile>"
    nested = b"<status><router-status><MAC_Address>AA:BB:CC:00:11:22</MAC_Address></router-status>" \
             b"<Software_Version>x</Software_Version></status>"
    for raw in (flat, nested):
        assert mpp_driver.parse_status_xml(raw)["MAC_Address"] == "AA:BB:CC:00:11:22"
    with pytest.raises(Exception, match="no Software_Version"):
        mpp_driver.parse_status_xml(b"<flat-profile/>")
