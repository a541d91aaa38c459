"""The phones and the OpenWrt AP inside the real lab process (``python -m lab up``): inventory, control-channel
faults, and a firmware upgrade through the lab's own provisioning server."""

from __future__ import annotations

import json
import re
import time

import paramiko
import pytest

from lab.firmware_images import make_image
from lab.phones.harness import http_call

pytestmark = pytest.mark.timeout(180)


def http(lab, name, path, user=None, method="GET", body=None):
    host, port = lab.address(name)
    user = user or lab.host_vars(name).get("ansible_user") or lab.credentials.username
    status, answer = http_call(f"http://{host}:{port}{path}", user, lab.credentials.password, method, body)
    return status, answer.decode()


def test_poly_reports_the_version_the_lab_reports(lab):
    status, body = http(lab, "phone-101", "/api/v1/mgmt/device/info")
    assert status == 200
    assert json.loads(body)["data"]["FirmwareRelease"] == lab.control.status()["phone-101"]["version"]


def test_control_channel_fault_is_seen_by_a_client(lab, lab_control):
    lab_control.set_fault("phone-101", "poly_4001")
    status, body = http(lab, "phone-101", "/api/v1/mgmt/safeReboot", method="POST")
    assert (status, json.loads(body)) == (503, {"Status": "4001"})
    lab_control.clear_fault("phone-101", "poly_4001")
    lab_control.set_fault("phone-103", "http_5xx", status=503)
    assert http(lab, "phone-103", "/admin/status")[0] == 503


def test_openwrt_with_strict_host_keys(lab):
    host, port = lab.address("ap-01")
    client = paramiko.SSHClient()
    client.load_host_keys(str(lab.known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(host, port, username=lab.credentials.username, password=lab.credentials.password,
                   look_for_keys=False, allow_agent=False, timeout=10)
    try:
        _, stdout, _ = client.exec_command("ubus call system board", timeout=10)
        board = json.loads(stdout.read())
    finally:
        client.close()
    assert board["release"]["version"] == lab.control.status()["ap-01"]["version"]
    assert board["model"] == lab.host_vars("ap-01")["model"]


def test_mpp_upgrade_through_the_lab_provisioning_server(fresh_lab):
    lab = fresh_lab
    new = "sip88xx.12-0-4MPP0001-41"
    image = f"{new}.loads"
    (lab.run_dir / "provisioning" / image).write_bytes(make_image("cisco_mpp", "CP-8841-3PCC", new, 4096))
    profile_rule = re.search(r"<Profile_Rule>(http://[^<$]+/)", http(lab, "phone-103", "/admin/cfg.xml")[1])
    assert profile_rule, "the phone does not know the lab's provisioning server"
    assert http(lab, "phone-103", f"/admin/upgrade?{profile_rule.group(1)}{image}")[0] == 200
    deadline = time.monotonic() + 30
    while lab.control.status()["phone-103"]["version"] != new or not lab.reachable("phone-103"):
        assert time.monotonic() < deadline, "the phone never came back on the new firmware"
        time.sleep(0.2)
    assert f"Software Version:</td><td>{new}<" in http(lab, "phone-103", "/admin/status")[1]
