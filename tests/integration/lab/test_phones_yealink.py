"""Yealink T54W simulator: a real UDP SIP NOTIFY check-sync, auto-provisioning, Action URI access control."""

from __future__ import annotations

import secrets
import socket
import time
import urllib.error

import pytest

from lab.device import Credentials
from lab.firmware_images import make_image
from lab.phones.harness import PhoneRig, http_call, wait_for
from lab.phones.yealink import YealinkPhone, ip_allowed, parse_config

PASSWORD = "lab-yealink-admin-1"
MODEL = "T54W"
OLD, NEW = "96.85.0.5", "96.86.0.70"
ROM = f"T54W-{NEW}.rom"

pytestmark = pytest.mark.timeout(60)


def notify(phone, event="check-sync;reboot=false", user=None, method="NOTIFY", timeout=3.0, branch=None,
           call_id=None) -> str:
    """Send one SIP request over UDP to the phone and return the status line of its answer."""
    user = user or phone.name
    branch = branch or "z9hG4bK" + secrets.token_hex(6)
    call_id = call_id or secrets.token_hex(8)
    message = (f"{method} sip:{user}@{phone.host}:{phone.sip_port} SIP/2.0\r\n"
               f"Via: SIP/2.0/UDP 127.0.0.1:5060;branch={branch}\r\n"
               "From: <sip:pbx@127.0.0.1>;tag=1928301774\r\n"
               f"To: <sip:{user}@{phone.host}>\r\n"
               f"Call-ID: {call_id}@127.0.0.1\r\n"
               f"CSeq: 1 {method}\r\nEvent: {event}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(message.encode(), (phone.host, phone.sip_port))
        answer = sock.recv(4096).decode()
    assert f"branch={branch}" in answer  # the Via is echoed, so the answer belongs to this request
    return answer.split("\r\n", 1)[0]


def servlet(phone, query, password=PASSWORD, timeout=5):
    status, body = http_call(f"http://{phone.host}:{phone.port}/servlet?{query}", "admin", password, timeout=timeout)
    return status, body.decode()


def firmware(phone) -> str | None:
    """The firmware version as a client reads it (Action URI phonecfg=get&fw=1); None while unreachable."""
    try:
        status, body = servlet(phone, "phonecfg=get&fw=1", timeout=1)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None
    return dict(line.split("=", 1) for line in body.splitlines())["firmware"] if status == 200 else None


@pytest.fixture()
def rig(tmp_path):
    with PhoneRig(tmp_path) as rig:
        phone = rig.add(YealinkPhone, "phone-102", MODEL, OLD, Credentials("admin", PASSWORD), reboot_seconds=0.5,
                        provisioning_url=rig.prov.url, action_uri_limit_ip="127.0.0.*", notify_reboot_enable=False,
                        show_action_uri_option=False)     # as the site provisioned it
        yield rig.bg, rig.prov, phone


def stage(prov, phone, rom: bytes):
    prov.stage(ROM, rom)
    prov.stage("y000000000096.cfg", f"#!version:1.0.0.1\nstatic.firmware.url = {prov.url}{ROM}\n".encode())
    prov.stage(f"{phone.mac}.cfg", b"#!version:1.0.0.1\naccount.1.label = Reception\n")


def test_check_sync_notify_upgrades_firmware(rig):
    _, prov, phone = rig
    stage(prov, phone, make_image("yealink", MODEL, NEW, 4096))
    assert firmware(phone) == OLD
    assert notify(phone) == "SIP/2.0 200 OK"
    assert wait_for(lambda: firmware(phone) is None), "phone did not reboot into the new firmware"
    assert wait_for(lambda: firmware(phone) == NEW)
    assert phone.params["account.1.label"] == "Reception"
    fetched = [name for method, name, status in prov.requests if status == 200]
    assert fetched[:3] == ["y000000000096.cfg", f"{phone.mac}.cfg", ROM]


def test_retransmitted_notify_acts_once(rig):
    _, _, phone = rig
    for _ in range(3):  # a UDP client retransmits until it sees the answer (RFC 3261 timer A)
        assert notify(phone, "check-sync;reboot=true", branch="z9hG4bKsame", call_id="same") == "SIP/2.0 200 OK"
    assert wait_for(lambda: phone.reboot_count == 1 and firmware(phone) == OLD)
    time.sleep(1.0)
    assert phone.reboot_count == 1


def test_check_sync_reboot_true_reboots_without_new_firmware(rig):
    _, _, phone = rig
    assert notify(phone, "check-sync;reboot=true") == "SIP/2.0 200 OK"
    assert wait_for(lambda: phone.reboot_count == 1 and firmware(phone) == OLD)


def test_corrupt_rom_is_refused(rig):
    _, prov, phone = rig
    rom = bytearray(make_image("yealink", MODEL, NEW, 4096))
    rom[200] ^= 1
    stage(prov, phone, bytes(rom))
    notify(phone)
    assert wait_for(lambda: any("rejected" in line for line in phone.log))
    assert firmware(phone) == OLD and phone.reboot_count == 0


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"event": "ua-profile"}, "SIP/2.0 489 Bad Event"),
    ({"user": "someone-else"}, "SIP/2.0 404 Not Found"),
    ({"method": "OPTIONS"}, "SIP/2.0 405 Method Not Allowed"),
])
def test_sip_requests_the_phone_does_not_act_on(rig, kwargs, expected):
    _, _, phone = rig
    assert notify(phone, **kwargs) == expected
    assert phone.reboot_count == 0


def test_action_uri_only_from_allowed_addresses(rig):
    bg, _, phone = rig
    assert servlet(phone, "key=OK")[0] == 200
    bg.call(phone.set_params, {"features.action_uri_limit_ip": "10.10.10.5"})
    assert servlet(phone, "key=OK")[0] == 403
    assert servlet(phone, "phonecfg=get&fw=1")[0] == 403


def test_action_uri_reboot_waits_for_call(rig):
    bg, _, phone = rig
    bg.call(phone.set_fault, "busy_in_call")
    assert servlet(phone, "key=Reboot")[0] == 200
    time.sleep(1.5)
    assert phone.reboot_count == 0 and firmware(phone) == OLD
    bg.call(phone.clear_fault, "busy_in_call")
    assert wait_for(lambda: phone.reboot_count == 1 and firmware(phone) == OLD)


def test_action_uri_needs_password_and_known_key(rig):
    _, _, phone = rig
    assert servlet(phone, "key=OK", password="bad")[0] == 401
    assert servlet(phone, "key=RM_RF")[0] == 400


def test_unreachable_after_reboot_when_faulted(rig):
    bg, _, phone = rig
    bg.call(phone.set_fault, "no_return_after_reload")
    notify(phone, "check-sync;reboot=true")
    assert wait_for(lambda: firmware(phone) is None)
    time.sleep(1.0)
    assert firmware(phone) is None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock, pytest.raises(OSError):
        sock.settimeout(0.5)
        sock.sendto(b"NOTIFY sip:x@127.0.0.1 SIP/2.0\r\n\r\n", (phone.host, phone.sip_port))
        sock.recv(100)


def test_parse_config_skips_unsafe_lines():
    text = "#!version:1.0.0.1\n# comment\nstatic.firmware.url = http://x/y.rom\nbad.key = a;reboot\nnot a line\n"
    assert parse_config(text) == {"static.firmware.url": "http://x/y.rom"}


def test_allow_list_wildcards():
    assert ip_allowed("10.10.3.4", "10.1.4.3, 10.10.*.*")
    assert not ip_allowed("10.11.3.4", "10.10.*.*")
    assert not ip_allowed("127.0.0.1", "")


@pytest.fixture()
def factory_phone(tmp_path):
    """A Yealink at factory defaults: sip.notify_reboot_enable = 1, features.show_action_uri_option = 1."""
    with PhoneRig(tmp_path, with_provisioning=False) as rig:
        phone = rig.add(YealinkPhone, "phone-102", MODEL, OLD, Credentials("admin", PASSWORD), reboot_seconds=0.5,
                        action_uri_limit_ip="127.0.0.*")
        yield rig.bg, phone


def test_factory_default_prompt_holds_the_first_action_uri_request(factory_phone):
    bg, phone = factory_phone
    assert firmware(phone) is None                                    # held on "Allow Remote Control?"
    assert any("Allow Remote Control" in line for line in phone.log)
    assert bg.call(phone.answer_remote_control, True) is True          # the user presses OK
    assert firmware(phone) == OLD                                     # remembered for this address


def test_factory_default_prompt_refused_answers_403(factory_phone):
    bg, phone = factory_phone
    import threading

    threading.Timer(0.3, bg.call, (phone.answer_remote_control, False)).start()
    assert servlet(phone, "phonecfg=get&fw=1", timeout=3)[0] == 403


def test_factory_default_check_sync_reboots_despite_reboot_false(factory_phone):
    _bg, phone = factory_phone
    assert notify(phone, "check-sync;reboot=false") == "SIP/2.0 200 OK"
    assert wait_for(lambda: phone.reboot_count == 1, timeout=5)
    assert any("overridden, sip.notify_reboot_enable = 1" in line for line in phone.log)
