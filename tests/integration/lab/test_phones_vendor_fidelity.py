"""The five vendor facts of issue #13, each driven by the real driver over real HTTP/SIP against a lab phone that
models the vendor's documented behaviour (factory defaults included). Each of these tests failed on the drivers
before the fix (checked once against the previous driver code; the reason is in each docstring)."""

from __future__ import annotations

import hashlib

import pytest

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import InvalidValue
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.registry import get_driver
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.yealink import RemoteControlPrompt
from ansible_collections.aiphone.hardening.plugins.module_utils.firmware.contract import Target
from lab.device import Credentials
from lab.firmware_images import make_image
from lab.phones.cisco_mpp import CiscoMppPhone
from lab.phones.harness import PhoneRig, wait_for
from lab.phones.poly import PolyPhone
from lab.phones.yealink import YealinkPhone

pytestmark = pytest.mark.timeout(60)
PASSWORD = "lab-Phone-admin-7"
NEW_PASSWORD = "Rotated-Pass-2026"
IMAGE_SIZE = 4096


@pytest.fixture()
def site(tmp_path):
    with PhoneRig(tmp_path) as rig:
        def add(cls, model, version, username="admin", **options):
            return rig.add(cls, f"p{len(rig.phones)}", model, version, Credentials(username, PASSWORD),
                           reboot_seconds=0.3, **options)

        yield rig.bg, rig.prov, add


def driver_for(phone, prov, username="admin", password=PASSWORD, **options):
    return get_driver(phone.platform)(host=phone.host, port=phone.port, username=username, password=password,
                                      name=phone.name, model=phone.model, timeout=5, provisioning_url=prov.url,
                                      provisioning_dir=str(prov.root), reboot_seconds=0.3, **options)


def poly_target(tmp_path, model="VVX450", version="6.4.6.2000"):
    image = make_image("poly", model, version, IMAGE_SIZE)
    path = tmp_path / "3111-49950-001.sip.ld"
    path.write_bytes(image)
    return Target("poly", model, version, path.name, hashlib.sha256(image).hexdigest(), str(path))


# 1. Poly model names --------------------------------------------------------------------------------------------
def test_poly_precheck_accepts_the_spaced_model_name(site, tmp_path):
    """Old driver: 'the phone reports model "VVX 450", the baseline is for "VVX450"' - every upgrade stopped."""
    _bg, prov, add = site
    phone = add(PolyPhone, "VVX450", "6.3.1.8427", username="Polycom", provisioning_url=prov.url)
    with driver_for(phone, prov, username="Polycom") as driver:
        facts = driver.get_facts()
        assert facts["model"] == "VVX 450" and "serial" not in facts
        assert driver.precheck(poly_target(tmp_path))["model"] == "VVX 450"
        with pytest.raises(Exception, match="baseline is for 'VVX250'"):
            driver.precheck(poly_target(tmp_path, model="VVX250"))          # a different model is still refused


# 2. Poly call state ---------------------------------------------------------------------------------------------
def test_poly_busy_check_reads_call_status(site):
    """Old driver: read CallState from lineInfo, which has none - a phone in a call was reported idle."""
    bg, prov, add = site
    phone = add(PolyPhone, "VVX450", "6.3.1.8427", username="Polycom", provisioning_url=prov.url)
    with driver_for(phone, prov, username="Polycom") as driver:
        assert driver.is_busy() is False
        bg.call(phone.set_fault, "busy_in_call")
        assert driver.is_busy() is True
        bg.call(phone.clear_fault, "busy_in_call")
        assert driver.is_busy() is False


# 3. Yealink factory defaults ------------------------------------------------------------------------------------
def test_yealink_prompt_is_reported_then_provisioned_away(site):
    """Old driver: the version read hung behind 'Allow Remote Control?' until the HTTP timeout, with a bare
    'timed out'; it had no way to provision features.show_action_uri_option = 0."""
    _bg, prov, add = site
    phone = add(YealinkPhone, "T54W", "96.85.0.5", provisioning_url=prov.url, action_uri_limit_ip="127.0.0.1")
    driver = driver_for(phone, prov, sip_port=phone.sip_port, sip_user=phone.name, action_uri_timeout=1,
                        phone_mac=phone.mac)
    with pytest.raises(RemoteControlPrompt, match="Allow Remote Control"):
        driver.get_facts()
    assert driver.ensure_prerequisites() is True           # provisioned; the phone at defaults rebooted once
    assert phone.reboot_count == 1
    assert phone.params["features.show_action_uri_option"] == "0"
    assert phone.params["sip.notify_reboot_enable"] == "0"
    assert driver.get_facts()["os_version"] == "96.85.0.5"     # answers at once: the prompt is gone
    assert driver.ensure_prerequisites() is False          # second run: nothing to do


def test_yealink_check_sync_does_not_reboot_once_provisioned(site):
    """Old driver: every rotation's check-sync;reboot=false rebooted a phone at sip.notify_reboot_enable = 1."""
    _bg, prov, add = site
    phone = add(YealinkPhone, "T54W", "96.85.0.5", provisioning_url=prov.url, action_uri_limit_ip="127.0.0.1")
    driver = driver_for(phone, prov, sip_port=phone.sip_port, sip_user=phone.name, action_uri_timeout=1,
                        phone_mac=phone.mac)
    driver.change_admin_password(NEW_PASSWORD)        # first contact: provisions the prerequisites (one reboot)
    driver.clear_password_staging()
    driver.password = NEW_PASSWORD
    reboots = phone.reboot_count
    assert reboots <= 1
    driver.change_admin_password("Second-Pass-2026")
    driver.clear_password_staging()
    assert phone.reboot_count == reboots                # the second check-sync reboots nothing
    assert any("check-sync (reboot=false)" in line for line in phone.log)


def test_yealink_lab_reboots_on_notify_at_factory_defaults(site):
    """The lab models the default: reboot=false is overridden while sip.notify_reboot_enable = 1 (positive
    control for the test above)."""
    _bg, prov, add = site
    phone = add(YealinkPhone, "T54W", "96.85.0.5", provisioning_url=prov.url, action_uri_limit_ip="127.0.0.1")
    driver_for(phone, prov, sip_port=phone.sip_port, sip_user=phone.name).notify_check_sync(reboot=False)
    wait_for(lambda: phone.reboot_count != 0, timeout=5, step=0.05)
    assert phone.reboot_count == 1
    assert any("overridden" in line for line in phone.log)


# 4. Cisco MPP admin password --------------------------------------------------------------------------------------
def test_mpp_rotation_uses_admin_password_and_its_rule(site):
    """Old driver: sent Admin_Passwd (the SPA5xx name): the MPP phone ignored it and kept the old password."""
    bg, prov, add = site
    phone = add(CiscoMppPhone, "CP-8841-3PCC", "sip88xx.11-3-7MPP0001-609", provisioning_url=prov.url)
    driver = driver_for(phone, prov)
    with pytest.raises(InvalidValue, match="3 of lower, upper, digit, other"):
        driver.change_admin_password("alllowercase")
    with pytest.raises(InvalidValue, match="8-127"):
        driver.change_admin_password("Sh0rt")
    driver.change_admin_password(NEW_PASSWORD)
    wait_for(lambda: bg.call(lambda: phone.credentials.password) == NEW_PASSWORD, timeout=5, step=0.05)
    driver.clear_password_staging()
    assert bg.call(lambda: phone.credentials.password) == NEW_PASSWORD
    assert driver_for(phone, prov, password=NEW_PASSWORD).get_facts()["os_version"]


# 5. Poly firmware pointing ---------------------------------------------------------------------------------------
def test_poly_points_the_server_with_device_flags_and_the_model_child(site, tmp_path):
    """Old driver: set device.prov.serverName without device.set / .set (ignored: updateConfiguration answered
    4006) and wrote APP_FILE_PATH_<model> on APPLICATION (not read: the phone kept its image)."""
    _bg, prov, add = site
    phone = add(PolyPhone, "VVX450", "6.3.1.8427", username="Polycom")       # no provisioning server set yet
    prov.stage("000000000000.cfg", b'<?xml version="1.0"?><APPLICATION APP_FILE_PATH="" CONFIG_FILES=""/>')
    target = poly_target(tmp_path)
    with driver_for(phone, prov, username="Polycom") as driver:
        driver.stage(target)
        driver.activate(target)
        driver.wait_until_back(10)
        assert driver.postcheck(target, {})["version"] == "6.4.6.2000"
        assert driver.config_get(["device.prov.serverName"])["device.prov.serverName"] == prov.url
    master = (prov.root / f"{phone.mac}.cfg").read_text()
    assert '<APPLICATION_VVX450 APP_FILE_PATH_VVX450="3111-49950-001.sip.ld"' in master


def test_poly_lab_ignores_device_parameters_without_their_flags(site):
    """Positive control for the test above: the lab refuses what the old driver sent."""
    _bg, prov, add = site
    phone = add(PolyPhone, "VVX450", "6.3.1.8427", username="Polycom")
    with driver_for(phone, prov, username="Polycom") as driver:
        driver.api("/config/set", "POST", {"data": {"device.prov.serverName": prov.url}})
        assert driver.config_get(["device.prov.serverName"])["device.prov.serverName"] == ""


# Hardening through the provisioning path (documented parameters only), read back -------------------------------
# A phone of each platform on its current firmware, as the hardening tests provision it: (phone, login, options).
HARDENING_PHONES = {
    "poly": (PolyPhone, "VVX450", "6.4.6.2000", "Polycom", {}),
    "yealink": (YealinkPhone, "T54W", "96.86.0.70", "admin", {"action_uri_limit_ip": "127.0.0.1",
                                                               "notify_reboot_enable": False,
                                                               "show_action_uri_option": False}),
    "cisco_mpp": (CiscoMppPhone, "CP-8841-3PCC", "sip88xx.12-0-4MPP0001-41", "admin", {}),
}


def hardening_phone(site, platform):
    _bg, prov, add = site
    cls, model, version, user, extra = HARDENING_PHONES[platform]
    phone = add(cls, model, version, username=user, provisioning_url=prov.url, **extra)
    options = {"sip_port": phone.sip_port, "sip_user": phone.name} if platform == "yealink" else {}
    return phone, user, options


@pytest.mark.parametrize("platform", ["poly", "yealink", "cisco_mpp"])
def test_harden_provisions_and_reads_back_then_is_idempotent(site, platform):
    from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.phone_http import hardening_gaps

    _bg, prov, _add = site
    phone, user, options = hardening_phone(site, platform)
    with driver_for(phone, prov, username=user, **options) as driver:
        first = driver.harden()
        assert first["changed"] is True and hardening_gaps(driver.hardening, first["settings"]) == []
        assert first["not_covered"]                         # what no public source documents is said, not hidden
        second = driver.harden()
        assert second["changed"] is False
        assert hardening_gaps(driver.hardening, driver.hardening_read_back()) == []
    # the phone itself holds the values (lab state)
    wait_for(lambda: not hardening_gaps(driver.hardening, phone.params), timeout=5, step=0.05)
    assert hardening_gaps(driver.hardening, phone.params) == []
    assert phone.reboot_count == 0                          # hardening never rebooted the phone
    assert not [p for p in prov.root.iterdir() if p.name.startswith("aiphone-hardening-")]


@pytest.mark.parametrize("platform", ["poly", "yealink", "cisco_mpp"])
def test_phone_hardening_plans_in_check_mode_applies_then_audits_clean(site, platform):
    """The module's sequence (plugins/module_utils/phones/hardening.py): audited and check mode change nothing and
    name each missing parameter; hardened provisions them, proves them, and is a no-op the second time."""
    from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.phone_http import hardening_gaps
    from ansible_collections.aiphone.hardening.plugins.module_utils.phones.hardening import phone_hardening

    _bg, prov, _add = site
    phone, user, options = hardening_phone(site, platform)

    def make():
        return driver_for(phone, prov, username=user, **options)

    wanted = get_driver(platform).hardening
    audited = phone_hardening(make, "audited", check_mode=False)
    assert audited["changed"] is False and audited["gaps"] and audited["planned"] == []
    assert audited["evidence"]["platform"] == platform
    plan = phone_hardening(make, "hardened", check_mode=True)
    assert plan["changed"] is True and plan["gaps"] == audited["gaps"]
    assert plan["planned"] == [f"set {name} = {value}" for name, value in wanted.items()
                               if audited["settings"].get(name) != value]
    assert plan["diff"]["before"] != plan["diff"]["after"]
    assert hardening_gaps(wanted, phone_hardening(make, "audited", check_mode=False)["settings"]), \
        "check mode changed the phone"
    done = phone_hardening(make, "hardened", check_mode=False)
    assert done["changed"] is True and done["gaps"] == [] and hardening_gaps(wanted, done["settings"]) == []
    again = phone_hardening(make, "hardened", check_mode=False)
    assert again["changed"] is False and again["planned"] == [] and again["gaps"] == []
    assert phone_hardening(make, "audited", check_mode=False)["gaps"] == []
    assert phone.reboot_count == 0
