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

Factory defaults that bite [V guide, vendor-facts.md "Corrections"]: ``sip.notify_reboot_enable = 1`` makes every
check-sync reboot the phone (``reboot=false`` is overridden); ``features.show_action_uri_option = 1`` holds the
first Action URI request behind "Allow Remote Control?" on the phone's screen. The driver relies on neither: before
its first check-sync it provisions ``PREREQUISITES`` (both 0, plus the Action URI allow-list) in ``<MAC>.cfg`` and
reads the file back as the phone fetches it (:meth:`YealinkDriver.ensure_prerequisites`). A phone still at the
defaults applies them at that check-sync - rebooting once, which the driver waits through - and its Action URI
answering afterwards is the read-back that the prompt is gone. An Action URI read that times out is reported as the
prompt (:class:`RemoteControlPrompt`), with what to do.
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
    DeviceUnreachable,
    InvalidValue,
    UnexpectedOutput,
    VerificationFailed,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.phone_http import HttpPhoneDriver
from ansible_collections.aiphone.hardening.plugins.module_utils.firmware.contract import Target

FIRMWARE_KEY = "static.firmware.url"
USER_PASSWORD = "static.security.user_password"   # noqa: S105 - the parameter name
SAFE_URL = re.compile(r"https?://[A-Za-z0-9._:/%-]+")
SIP_USER = re.compile(r"[A-Za-z0-9._-]{1,64}")
SIP_T1 = 0.5             # RFC 3261 retransmission timer for UDP
SIP_TRIES = 5
NOTIFY_REBOOT = "sip.notify_reboot_enable"
SHOW_ACTION_URI_OPTION = "features.show_action_uri_option"
ACTION_URI_ALLOW = "features.action_uri_limit_ip"
ALLOW_LIST = re.compile(r"[0-9*.:,a-fA-F ]{1,255}")
ACTION_URI_TIMEOUT = 8.0


class RemoteControlPrompt(ConnectionFailed):
    """The phone holds Action URI requests behind its on-screen "Allow Remote Control?" prompt."""


def parse_key_values(text: str) -> dict[str, str]:
    return {key.strip(): value.strip() for key, sep, value in (line.partition("=") for line in text.splitlines())
            if sep}


def with_settings(config: bytes | None, settings: dict[str, str]) -> bytes:
    """A Yealink .cfg with every line of each key in ``settings`` replaced by one ``key = value`` line."""
    lines = (config or b"#!version:1.0.0.1\n").decode("utf-8", "replace").splitlines()
    kept = [line for line in lines if line.split("=", 1)[0].strip() not in settings]
    return ("\n".join([*kept, *(f"{key} = {value}" for key, value in settings.items())]) + "\n").encode()


def with_firmware_url(config: bytes | None, url: str) -> bytes:
    """A Yealink .cfg with every ``static.firmware.url`` line replaced by one naming ``url`` (may be empty)."""
    return with_settings(config, {FIRMWARE_KEY: url})


def missing_settings(config: bytes | None, settings: dict[str, str]) -> list[str]:
    """The keys of ``settings`` that ``config`` does not set to their value."""
    values = parse_key_values((config or b"").decode("utf-8", "replace"))
    return sorted(key for key, value in settings.items() if values.get(key) != value)


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

    # SIP over TLS (transport_type 2) with SRTP compulsory (srtp_encryption 2) on account 1 [V third-party:
    # wazo-provd-plugins wazo_yealink v86 base.tpl]; web UI, Telnet/SSH and HTTPS provisioning verification are
    # not in a public source we hold.
    hardening: ClassVar[dict[str, str]] = {"account.1.sip_server.1.transport_type": "2",
                                           "account.1.srtp_encryption": "2"}
    not_covered: ClassVar[tuple[str, ...]] = ("web UI HTTPS-only", "Telnet/SSH off",
                                              "provisioning over HTTPS with server verification")

    def hardening_read_back(self) -> dict[str, str]:
        served = parse_key_values((self.store.read(self.mac_file) or b"").decode("utf-8", "replace"))
        return {key: served[key] for key in self.hardening if key in served}

    def harden(self) -> dict:
        """Into ``<MAC>.cfg``, read back as the phone fetches it, then check-sync (which no longer reboots). The
        phone exposes no parameter read: the file is the read-back."""
        self.ensure_prerequisites()
        name = self.mac_file
        current = self.store.read(name)
        changed = bool(missing_settings(current, self.hardening))
        if changed:
            self.store.write(name, with_settings(current, self.hardening))
            missing = missing_settings(self.store.read(name), self.hardening)
            if missing:
                raise VerificationFailed(f"{self.store.file_url(name)} does not serve {', '.join(missing)}",
                                         self.name)
            self.notify_check_sync(reboot=False)
        served = parse_key_values((self.store.read(name) or b"").decode("utf-8", "replace"))
        return {"changed": changed, "settings": {key: served.get(key, "") for key in self.hardening},
                "verified_by": f"{name} on the provisioning server", "not_covered": list(self.not_covered)}

    def read_facts(self) -> DeviceFacts:
        wait = float(self.options.get("action_uri_timeout") or min(self.timeout, ACTION_URI_TIMEOUT))
        try:
            text = self.call_with_timeout("/servlet?phonecfg=get&fw=1", wait).decode("utf-8", "replace")
        except ConnectionFailed as exc:
            if "timed out" not in str(exc):
                raise
            raise RemoteControlPrompt(
                f"the Action URI did not answer within {wait:.0f}s: the phone is most likely showing 'Allow Remote "
                f"Control?' ({SHOW_ACTION_URI_OPTION} = 1, the factory default). Accept it on the phone once, or let "
                f"the toolkit provision {SHOW_ACTION_URI_OPTION} = 0 and {NOTIFY_REBOOT} = 0 (phone hardening, or the "
                f"driver's ensure_prerequisites with the phone's MAC as phone_mac) - that first check-sync reboots a "
                f"phone at factory defaults once", self.name) from None
        values = parse_key_values(text)
        if "firmware" not in values:
            raise UnexpectedOutput(f"phonecfg read without a firmware version: {text[:120]!r}", self.name)
        return {"vendor": self.vendor, "platform": self.platform, "hostname": self.name,
                "model": values.get("model", ""), "os_version": values["firmware"],
                "mac_address": values.get("mac", "").replace(":", "").lower()}

    def call_with_timeout(self, path: str, timeout: float) -> bytes:
        saved, self.timeout = self.timeout, timeout
        try:
            return self.call(path)
        finally:
            self.timeout = saved

    # -- the settings the driver relies on ----------------------------------------------------------------------
    def prerequisites(self) -> dict[str, str]:
        """What the driver relies on: check-sync never reboots, no on-screen prompt, the controller allowed."""
        allow = str(self.options.get("action_uri_limit_ip") or self._controller_address())
        if not ALLOW_LIST.fullmatch(allow):
            raise InvalidValue(f"action_uri_limit_ip {allow!r} is not a list of addresses", self.name)
        return {NOTIFY_REBOOT: "0", SHOW_ACTION_URI_OPTION: "0", ACTION_URI_ALLOW: allow}

    def _controller_address(self) -> str:
        """The address this controller reaches the phone from (what its allow-list must hold)."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect((self.host, int(self.options.get("sip_port") or 5060)))
            return sock.getsockname()[0]

    def ensure_prerequisites(self) -> bool:
        """Provision ``prerequisites()`` in ``<MAC>.cfg`` when the file lacks them, read the file back as the phone
        fetches it, send check-sync (a phone at factory defaults reboots once: waited for) and prove the Action URI
        answers. False when the file already held them (nothing done)."""
        wanted = self.prerequisites()
        name = self.mac_file
        site_allow = parse_key_values((self.store.read(name) or b"").decode("utf-8", "replace")).get(ACTION_URI_ALLOW)
        if site_allow and not self.options.get("action_uri_limit_ip"):
            wanted[ACTION_URI_ALLOW] = site_allow          # the site's own allow-list stays
        if not missing_settings(self.store.read(name), wanted):
            return False
        self.store.write(name, with_settings(self.store.read(name), wanted))
        missing = missing_settings(self.store.read(name), wanted)
        if missing:
            raise VerificationFailed(f"{self.store.file_url(name)} does not serve {', '.join(missing)} after it "
                                     f"was written", self.name)
        self.notify_check_sync(reboot=False)
        self._wait_through_possible_reboot()
        self.get_facts()            # the Action URI answers: the prompt setting took (RemoteControlPrompt if not)
        return True

    def _wait_through_possible_reboot(self) -> None:
        """A phone still at sip.notify_reboot_enable = 1 reboots on the check-sync just sent: if its web port goes
        away within the reboot start time, wait until it is back."""
        start = time.monotonic()
        start_deadline = start + float(self.options.get("reboot_start_timeout") or min(self.reboot_seconds, 10))
        while time.monotonic() < start_deadline:
            if not self._port_open():
                break
            time.sleep(0.1)
        else:
            return
        deadline = time.monotonic() + self.reboot_timeout
        while time.monotonic() < deadline:
            if self._port_open():
                return
            time.sleep(0.2)
        raise DeviceUnreachable(f"the phone rebooted on check-sync ({NOTIFY_REBOOT} was 1) and did not come back "
                                f"within {self.reboot_timeout:.0f}s", self.name)

    def _port_open(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port or self.default_port), timeout=1):
                return True
        except OSError:
            return False

    # -- firmware ---------------------------------------------------------------------------------------------
    @property
    def mac_file(self) -> str:
        mac = (self._facts.get("mac_address") or str(self.options.get("phone_mac") or "").replace(":", "").lower()
               or self.get_facts().get("mac_address", ""))
        if not re.fullmatch(r"[0-9a-f]{12}", mac):
            raise UnexpectedOutput(f"the phone reports MAC address {mac!r}", self.name)
        return f"{mac}.cfg"

    def point_and_reboot(self, target: Target, image_url: str) -> None:
        if not SAFE_URL.fullmatch(image_url):
            raise InvalidValue(f"firmware URL {image_url!r} is not a plain http(s) URL", self.name)
        self.ensure_prerequisites()
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
        self.ensure_prerequisites()         # this check-sync must not reboot the phone
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
