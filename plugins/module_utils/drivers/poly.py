"""Poly (Polycom) VVX / CCX phones: UC Software REST API + provisioning server (firmware lifecycle).

REST [V] (vendor-facts.md): Basic auth user ``Polycom`` + admin password, ``{"Status": "2000", "data": …}``;
4001 device busy, 4003 not allowed, 4006 URLs not configured, 4010 default password not allowed, 5000 failure.
Firmware [I]: the phone takes its image from the provisioning server named by ``device.prov.serverName``; its master
file (``<mac>.cfg``, else ``000000000000.cfg``) names it in the ``APPLICATION`` element (``APP_FILE_PATH_<model>``
before ``APP_FILE_PATH``). The driver writes a per-MAC master (a copy of the site's master with this model's
APP_FILE_PATH set), so only the phone being upgraded fetches the image, then POSTs updateConfiguration.
Call state [I]: ``lineInfo`` entries' ``CallState`` ("Idle" when no call).
Admin password: parameter ``device.auth.localAdminPassword``, a ``device.*`` parameter that applies only with
``device.set="1"`` and its own ``.set="1"`` [V: public provisioning templates, wazo-provd-plugins' Polycom
base.tpl]; sending the three through REST ``config/set`` as a configuration file would is [I].
"""

from __future__ import annotations

import json
import re
from typing import ClassVar
from xml.etree import ElementTree

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.base import DeviceFacts
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import (
    AuthenticationFailed,
    CommandRejected,
    DeviceBusy,
    DriverError,
    UnexpectedOutput,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.phone_http import (
    HttpError,
    HttpPhoneDriver,
    basic_auth,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.firmware.contract import Target

REST_USER = "Polycom"
MASTER_CONFIG = "000000000000.cfg"
ADMIN_PASSWORD = "device.auth.localAdminPassword"   # noqa: S105 - the parameter name
API = "/api/v1/mgmt"
STATUS_ERRORS = {
    "4000": (CommandRejected, "invalid input"),
    "4001": (DeviceBusy, "device busy"),
    "4003": (CommandRejected, "operation not allowed"),
    "4006": (CommandRejected, "provisioning URLs not configured"),
    "4009": (CommandRejected, "input size limit exceeded"),
    "4010": (AuthenticationFailed, "the default admin password is still set: the REST API refuses it"),
    "5000": (DriverError, "the phone failed to process the request"),
}


def _uptime_seconds(text: str) -> int | None:
    """'3 day 4:05:06' -> seconds (the lab's rendering of UpTimeSinceLastReboot) [I]."""
    match = re.match(r"^\s*(\d+)\s+days?\s+(\d+):(\d+):(\d+)\s*$", text or "")
    if not match:
        return None
    days, hours, minutes, seconds = (int(part) for part in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


class PolyDriver(HttpPhoneDriver):
    platform = "poly"
    vendor = "Poly"
    # typical reboot incl. flashing a new image [I]; the inventory overrides it per device (firmware_reboot_seconds)
    model_reboot_seconds: ClassVar[dict[str, int]] = {"VVX450": 240, "VVX350": 240, "VVX250": 240}

    def auth_headers(self) -> dict:
        return basic_auth(REST_USER, self.password)      # the REST API has one user, Polycom [V]

    def api(self, path: str, method: str = "GET", payload=None):
        """Call the REST API; Poly status codes become named errors; returns ``data``."""
        try:
            reply = self.call_json(API + path, method, payload)
        except HttpError as exc:
            self._raise_for_status(exc.body, exc)
            raise
        self._raise_for_status(reply)
        return reply.get("data")

    def _raise_for_status(self, reply, original: HttpError | None = None) -> None:
        if isinstance(reply, bytes):
            try:
                reply = json.loads(reply or b"{}")
            except ValueError:
                return
        status = str((reply or {}).get("Status", "")) if isinstance(reply, dict) else ""
        if status == "2000":
            return
        if status in STATUS_ERRORS:
            error, meaning = STATUS_ERRORS[status]
            raise error(f"Poly REST status {status}: {meaning}", self.name)
        if original is None:
            raise UnexpectedOutput(f"Poly REST reply without a known Status: {str(reply)[:120]}", self.name)

    def read_facts(self) -> DeviceFacts:
        info = self.api("/device/info") or {}
        facts: DeviceFacts = {"vendor": self.vendor, "platform": self.platform, "hostname": self.name,
                              "model": info.get("ModelNumber", ""), "os_version": info.get("FirmwareRelease", ""),
                              "mac_address": info.get("MACAddress", "").lower(),
                              "serial": info.get("SerialNumber", "")}
        uptime = _uptime_seconds(info.get("UpTimeSinceLastReboot", ""))
        if uptime is not None:
            facts["uptime_seconds"] = uptime
        return facts

    def is_busy(self) -> bool:
        lines = self.api("/lineInfo") or []
        return any(str(line.get("CallState", "Idle")) not in ("Idle", "") for line in lines)

    def change_admin_password(self, new_password: str) -> None:
        self.api("/config/set", "POST", {"data": {"device.set": "1", f"{ADMIN_PASSWORD}.set": "1",
                                                  ADMIN_PASSWORD: new_password}})

    # -- firmware ---------------------------------------------------------------------------------------------
    def point_and_reboot(self, target: Target, image_url: str) -> None:
        server = self.api("/config/get", "POST", {"data": ["device.prov.serverName"]}) or {}
        current = (server.get("device.prov.serverName") or {}).get("Value", "")
        if current.rstrip("/") != self.store.url.rstrip("/"):
            self.api("/config/set", "POST", {"data": {"device.prov.serverName": self.store.url}})
        self.replace_file(self.mac_file, self._master_pointing_at(target))
        self.api("/updateConfiguration", "POST")

    @property
    def mac_file(self) -> str:
        mac = (self._facts.get("mac_address") or self.get_facts().get("mac_address", "")).lower()
        if not re.fullmatch(r"[0-9a-f]{12}", mac):
            raise UnexpectedOutput(f"the phone reports MAC address {mac!r}", self.name)
        return f"{mac}.cfg"

    def _master_pointing_at(self, target: Target) -> bytes:
        base = self.store.read(self.mac_file) or self.store.read(MASTER_CONFIG)
        root = _parse_master(base, self.name) if base else ElementTree.Element("APPLICATION", CONFIG_FILES="")
        application = root if root.tag == "APPLICATION" else root.find(".//APPLICATION")
        if application is None:
            raise UnexpectedOutput("the provisioning master file has no APPLICATION element", self.name)
        application.set(f"APP_FILE_PATH_{target.model}", target.image)
        return b'<?xml version="1.0" standalone="yes"?>\n' + ElementTree.tostring(root)

    def neutral_file(self, name: str) -> bytes:
        return self.store.read(MASTER_CONFIG) or b'<APPLICATION CONFIG_FILES=""/>'


def _parse_master(content: bytes, device: str) -> ElementTree.Element:
    if b"<!DOCTYPE" in content.upper() or b"<!ENTITY" in content.upper():
        raise UnexpectedOutput("the provisioning master file declares a DTD/entities: refused", device)
    try:
        return ElementTree.fromstring(content)  # noqa: S314 - no DTD possible past the check above
    except ElementTree.ParseError as exc:
        raise UnexpectedOutput(f"the provisioning master file is not XML: {exc}", device) from None
