"""Yealink T4x/T5x phones: provisioning files + SIP NOTIFY check-sync (firmware lifecycle).

[V] (vendor-facts.md): per-MAC provisioning file ``<MAC>.cfg`` with ``static.firmware.url = <url>``; a SIP NOTIFY with
``Event: check-sync`` makes the phone re-provision; the Action URI ``/servlet?key=…`` answers only addresses listed in
``features.action_uri_limit_ip``.
[I]: the version read ``/servlet?phonecfg=get&fw=1`` (format not published; ``key=value`` lines as the lab answers);
a phone in a call postpones the reboot by itself, and exposes no call state to this driver — so a phone that has not
started rebooting after its reboot time is reported busy and retried later.
Admin password: ``static.security.user_password = <login>:<password>`` in a provisioning file [V: public
provisioning templates, e.g. wazo-provd-plugins]; a file without the line leaves the password as it is [I]. The
driver puts the line in the phone's ``<MAC>.cfg`` for one check-sync, then takes it out again.
"""

from __future__ import annotations

import re
import secrets
import socket
import time
from typing import ClassVar

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.base import DeviceFacts
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import (
    CommandRejected,
    ConnectionFailed,
    InvalidValue,
    UnexpectedOutput,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.phone_http import HttpPhoneDriver
from ansible_collections.aiphone.hardening.plugins.module_utils.firmware.contract import Target

FIRMWARE_KEY = "static.firmware.url"
USER_PASSWORD = "static.security.user_password"   # noqa: S105 - the parameter name
SAFE_URL = re.compile(r"https?://[A-Za-z0-9._:/%-]+")
SIP_USER = re.compile(r"[A-Za-z0-9._-]{1,64}")
SIP_T1 = 0.5             # RFC 3261 retransmission timer for UDP
SIP_TRIES = 5


def parse_key_values(text: str) -> dict[str, str]:
    return {key.strip(): value.strip() for key, sep, value in (line.partition("=") for line in text.splitlines())
            if sep}


def with_firmware_url(config: bytes | None, url: str) -> bytes:
    """A Yealink .cfg with every ``static.firmware.url`` line replaced by one naming ``url`` (may be empty)."""
    lines = (config or b"#!version:1.0.0.1\n").decode("utf-8", "replace").splitlines()
    kept = [line for line in lines if line.split("=", 1)[0].strip() != FIRMWARE_KEY]
    return ("\n".join([*kept, f"{FIRMWARE_KEY} = {url}"]) + "\n").encode()


def _is_password_of(line: str, login: str) -> bool:
    key, sep, value = line.partition("=")
    return bool(sep) and key.strip() == USER_PASSWORD and value.strip().startswith(f"{login}:")


def without_password(config: bytes | None, login: str) -> tuple[bytes | None, bool]:
    """(``config`` without the password lines of ``login``, whether it had any)."""
    if config is None:
        return None, False
    lines = config.decode("utf-8", "replace").splitlines()
    kept = [line for line in lines if not _is_password_of(line, login)]
    return ("\n".join(kept) + "\n").encode(), len(kept) != len(lines)


def with_password(config: bytes | None, login: str, password: str) -> bytes:
    base, _had = without_password(config or b"#!version:1.0.0.1\n", login)
    return base + f"{USER_PASSWORD} = {login}:{password}\n".encode()


class YealinkDriver(HttpPhoneDriver):
    platform = "yealink"
    vendor = "Yealink"
    model_reboot_seconds: ClassVar[dict[str, int]] = {"T54W": 180, "T57W": 180, "T46U": 180}   # [I] typical

    def read_facts(self) -> DeviceFacts:
        text = self.call("/servlet?phonecfg=get&fw=1").decode("utf-8", "replace")
        values = parse_key_values(text)
        if "firmware" not in values:
            raise UnexpectedOutput(f"phonecfg read without a firmware version: {text[:120]!r}", self.name)
        return {"vendor": self.vendor, "platform": self.platform, "hostname": self.name,
                "model": values.get("model", ""), "os_version": values["firmware"],
                "mac_address": values.get("mac", "").replace(":", "").lower()}

    # -- firmware ---------------------------------------------------------------------------------------------
    @property
    def mac_file(self) -> str:
        mac = self._facts.get("mac_address") or self.get_facts().get("mac_address", "")
        if not re.fullmatch(r"[0-9a-f]{12}", mac):
            raise UnexpectedOutput(f"the phone reports MAC address {mac!r}", self.name)
        return f"{mac}.cfg"

    def point_and_reboot(self, target: Target, image_url: str) -> None:
        if not SAFE_URL.fullmatch(image_url):
            raise InvalidValue(f"firmware URL {image_url!r} is not a plain http(s) URL", self.name)
        self.replace_file(self.mac_file, with_firmware_url(self.store.read(self.mac_file), image_url))
        # reboot=false: the phone re-provisions and reboots only to install a different image
        self.notify_check_sync(reboot=False)

    def unpoint(self, target: Target) -> None:
        previous = self._replaced.get(self.mac_file) if self._replaced else self.store.read(self.mac_file)
        # the phone keeps static.firmware.url once provisioned: an explicit empty value stops further attempts
        self.store.write(self.mac_file, with_firmware_url(previous, ""))
        self._replaced = {}

    def change_admin_password(self, new_password: str) -> None:
        if not SIP_USER.fullmatch(self.username):
            raise InvalidValue(f"login {self.username!r} is not allowed in {USER_PASSWORD}", self.name)
        previous = self.store.read(self.mac_file)
        self._password_staged = (self.mac_file, previous)
        self.store.write(self.mac_file, with_password(previous, self.username, new_password))
        self.notify_check_sync(reboot=False)

    def clear_password_staging(self) -> list[str]:
        staged = getattr(self, "_password_staged", None)
        if staged is None:
            return []
        name, previous = staged
        restored, had_password = without_password(previous, self.username)
        if restored is None and not self.store.remove(name):
            restored = b"#!version:1.0.0.1\n"
        if restored is not None:
            self.store.write(name, restored)
        self._password_staged = None
        return [f"{name} on the provisioning server set the admin password: that line was removed, or the next "
                f"provisioning would bring the old password back"] if had_password else []

    def notify_check_sync(self, reboot: bool) -> None:
        """Send ``NOTIFY … Event: check-sync;reboot=…`` over UDP and wait for the phone's 200 OK (RFC 3261 timers)."""
        user = str(self.options.get("sip_user") or self.name)
        port = int(self.options.get("sip_port") or 5060)
        if not SIP_USER.fullmatch(user):
            raise InvalidValue(f"sip_user {user!r} is not allowed", self.name)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect((self.host, port))
            local_ip, local_port = sock.getsockname()[:2]
            request = _notify(user, self.host, port, local_ip, local_port, reboot)
            interval = SIP_T1
            for _attempt in range(SIP_TRIES):
                sock.send(request)
                deadline = time.monotonic() + interval
                while (left := deadline - time.monotonic()) > 0:
                    sock.settimeout(left)
                    try:
                        status = sock.recv(4096).split(b"\r\n", 1)[0].decode("utf-8", "replace")
                    except TimeoutError:
                        break
                    except OSError as exc:     # ICMP port unreachable
                        raise ConnectionFailed(f"SIP NOTIFY to {self.host}:{port}: {exc}", self.name) from None
                    if status.startswith("SIP/2.0 2"):
                        return
                    if not status.startswith("SIP/2.0 1"):
                        raise CommandRejected(f"SIP NOTIFY check-sync refused: {status}", self.name)
                interval *= 2
        raise ConnectionFailed(f"SIP NOTIFY to {self.host}:{port}: no answer", self.name)


def _notify(user: str, host: str, port: int, local_ip: str, local_port: int, reboot: bool) -> bytes:
    tag, call_id, branch = secrets.token_hex(4), secrets.token_hex(8), secrets.token_hex(6)
    lines = [
        f"NOTIFY sip:{user}@{host}:{port} SIP/2.0",
        f"Via: SIP/2.0/UDP {local_ip}:{local_port};branch=z9hG4bK{branch}",
        "Max-Forwards: 70",
        f"From: <sip:provisioning@{local_ip}>;tag={tag}",
        f"To: <sip:{user}@{host}>",
        f"Call-ID: {call_id}@{local_ip}",
        "CSeq: 1 NOTIFY",
        f"Contact: <sip:provisioning@{local_ip}:{local_port}>",
        f"Event: check-sync;reboot={'true' if reboot else 'false'}",
        "Subscription-State: terminated;reason=timeout",
        "Content-Length: 0",
        "", "",
    ]
    return "\r\n".join(lines).encode()
