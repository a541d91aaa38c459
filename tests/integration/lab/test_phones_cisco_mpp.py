"""Cisco MPP (8800 3PCC) simulator: status page, /admin/upgrade trigger, Upgrade_Rule resync, upgrade log."""

from __future__ import annotations

import re
import time
import urllib.error

import pytest

from lab.device import Credentials
from lab.firmware_images import make_image
from lab.phones.cisco_mpp import CiscoMppPhone
from lab.phones.harness import PhoneRig, http_call, wait_for
from lab.phones.http import parse_xml

PASSWORD = "lab-mpp-admin-1"
MODEL = "CP-8841-3PCC"
OLD, NEW = "sip88xx.11-3-7MPP0001-609", "sip88xx.12-0-4MPP0001-41"
IMAGE = f"{NEW}.loads"

pytestmark = pytest.mark.timeout(60)


def get(phone, path, password=PASSWORD, timeout=5):
    status, body = http_call(f"http://{phone.host}:{phone.port}{path}", "admin", password, timeout=timeout)
    return status, body.decode()


def software_version(phone) -> str | None:
    """What an inventory script reads: the "Software Version:" row of the status page."""
    try:
        _, page = get(phone, "/admin/status", timeout=1)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None
    match = re.search(r"Software Version:</td><td>([^<]+)<", page)
    return match.group(1) if match else None


@pytest.fixture()
def rig(tmp_path):
    with PhoneRig(tmp_path) as rig:
        phone = rig.add(CiscoMppPhone, "phone-103", MODEL, OLD, Credentials("admin", PASSWORD), reboot_seconds=0.5,
                        provisioning_url=rig.prov.url)
        yield rig.bg, rig.prov, phone


def test_status_page_and_xml(rig):
    _, _, phone = rig
    status, page = get(phone, "/admin/status")
    assert status == 200
    assert f"Product Name:</td><td>{MODEL}<" in page and f"Serial Number:</td><td>{phone.serial}<" in page
    assert software_version(phone) == OLD
    root = parse_xml(get(phone, "/admin/status.xml")[1].encode())
    assert root.findtext("Software_Version") == OLD and root.findtext("MAC_Address") == phone.mac.upper()


def test_wrong_password_refused(rig):
    _, _, phone = rig
    assert get(phone, "/admin/status", password="nope")[0] == 401


def test_direct_upgrade_changes_version_and_logs(rig):
    _, prov, phone = rig
    prov.stage(IMAGE, make_image("cisco_mpp", MODEL, NEW, 4096))
    status, _ = get(phone, f"/admin/upgrade?{prov.url}{IMAGE}")
    assert status == 200
    assert wait_for(lambda: software_version(phone) is None), "phone did not reboot"
    assert wait_for(lambda: software_version(phone) == NEW)
    log = "\n".join(phone.log)
    assert f"{MODEL} {phone.mac} -- Requesting upgrade http://127.0.0.1:{prov.port}/{IMAGE}" in log
    assert "Successful upgrade" in log


def test_corrupt_image_logs_failure_and_keeps_version(rig):
    _, prov, phone = rig
    prov.stage(IMAGE, make_image("cisco_mpp", MODEL, NEW, 4096)[:-10])
    get(phone, f"/admin/upgrade?{prov.url}{IMAGE}")
    assert wait_for(lambda: any("Upgrade failed: image is corrupt" in line for line in phone.log))
    assert software_version(phone) == OLD


def test_downgrade_rev_limit_refuses_older_build(rig):
    bg, prov, phone = rig
    bg.call(phone.set_params, {"Downgrade_Rev_Limit": "sip88xx.12-0-1MPP0001-1"})
    bg.call(setattr, phone, "version", NEW)
    prov.stage("old.loads", make_image("cisco_mpp", MODEL, OLD, 4096))
    get(phone, f"/admin/upgrade?{prov.url}old.loads")
    assert wait_for(lambda: any("below Downgrade_Rev_Limit" in line for line in phone.log))
    assert software_version(phone) == NEW


def test_upgrade_disabled_is_refused(rig):
    bg, prov, phone = rig
    bg.call(phone.set_params, {"Upgrade_Enable": "No"})
    prov.stage(IMAGE, make_image("cisco_mpp", MODEL, NEW, 4096))
    assert get(phone, f"/admin/upgrade?{prov.url}{IMAGE}")[0] == 403
    assert any("Upgrade_Enable = No" in line for line in phone.log)


def test_upgrade_rule_from_profile_with_retry_after_error(rig):
    _, prov, phone = rig
    profile = (f"<flat-profile><Upgrade_Rule>{prov.url}{IMAGE}</Upgrade_Rule>"
               "<Upgrade_Error_Retry_Delay>1</Upgrade_Error_Retry_Delay></flat-profile>")
    prov.stage(f"{phone.mac}.xml", profile.encode())
    assert get(phone, "/admin/resync")[0] == 200          # Profile_Rule = <server>/$MA.xml
    assert wait_for(lambda: any("download failed" in line for line in phone.log))
    prov.stage(IMAGE, make_image("cisco_mpp", MODEL, NEW, 4096))   # staged after the first attempt
    assert wait_for(lambda: software_version(phone) == NEW)
    assert phone.params["Upgrade_Error_Retry_Delay"] == "1"


def test_upgrade_waits_while_in_call(rig):
    bg, prov, phone = rig
    bg.call(phone.set_fault, "busy_in_call")
    prov.stage(IMAGE, make_image("cisco_mpp", MODEL, NEW, 4096))
    get(phone, f"/admin/upgrade?{prov.url}{IMAGE}")
    time.sleep(1.5)
    assert software_version(phone) == OLD and phone.pending_reboot
    bg.call(phone.clear_fault, "busy_in_call")
    assert wait_for(lambda: software_version(phone) == NEW)


def test_injection_in_upgrade_url_is_rejected(rig):
    _, prov, phone = rig
    assert get(phone, f"/admin/upgrade?{prov.url}x.loads;reboot")[0] == 400
