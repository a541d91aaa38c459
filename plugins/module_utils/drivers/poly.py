"""Poly (Polycom) VVX / CCX / Trio phones: UC Software REST API + provisioning server (firmware lifecycle).

Sources: docs/vendor-fidelity.md (one table, each claim with its source); replies in tests/conformance/poly/.
REST [V]: Basic auth user ``Polycom`` + admin password, ``{"Status": "2000", "data": …}``; 4001 device busy, 4003
not allowed, 4006 URLs not configured, 4010 default password not allowed, 5000 failure.
``device/info`` [V third-party: TrioSimulator's published replies, Posh-UCS]: ``ModelNumber`` is spelled with a
blank (``"VVX 450"``, ``"Trio 8800"``: compared with baselines through ``model_key``), no serial number,
``UpTimeSinceLastReboot`` like ``"0 Day 0:12:25"`` / ``"20 Days 16:11:42"``.
Call state [V third-party: Posh-UCS ``Get-UcsRestCall``, PSVVX ``Get-VVXCallStatus``, TrioSimulator]: ``GET
/api/v1/webCallControl/callStatus``; a call in progress is a ``data`` object with ``CallState``, ``CallHandle`` …;
no call = no call data. ``lineInfo`` carries no call state.
Firmware [V third-party: Polycom's default master file, wazo-provd-plugins ``wazo_polycom``]: the phone fetches
``<mac>.cfg`` (else ``000000000000.cfg``) from ``device.prov.serverName``; a model's image is
``APP_FILE_PATH_<model>`` on an ``APPLICATION_<model>`` child of ``APPLICATION`` (else ``APP_FILE_PATH``). The
driver writes a per-MAC master (a copy of the site's master with this model's child set), so only the phone being
upgraded fetches the image, then POSTs updateConfiguration.
``device.*`` parameters (``device.prov.serverName``, ``device.auth.localAdminPassword``) apply only with
``device.set="1"`` and their own ``.set="1"`` [V third-party: wazo-provd-plugins' Polycom base.tpl, orchestratevc
README]; the driver reads them back with ``config/get``.
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
    VerificationFailed,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.phone_http import (
    HttpError,
    HttpPhoneDriver,
    basic_auth,
    model_key,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.firmware.contract import Target

REST_USER = "Polycom"
MASTER_CONFIG = "000000000000.cfg"
ADMIN_PASSWORD = "device.auth.localAdminPassword"   # noqa: S105 - the parameter name
SERVER_NAME = "device.prov.serverName"
API = "/api/v1/mgmt"
CALL_STATUS = "/api/v1/webCallControl/callStatus"
STATUS_ERRORS = {
    "4000": (CommandRejected, "invalid input"),
    "4001": (DeviceBusy, "device busy"),
    "4003": (CommandRejected, "operation not allowed"),
    "4006": (CommandRejected, "provisioning URLs not configured"),
    "4009": (CommandRejected, "input size limit exceeded"),
    "4010": (AuthenticationFailed, "the default admin password is still set: the REST API refuses it"),
    "5000": (DriverError, "the phone failed to process the request"),
}


def device_params(values: dict[str, str]) -> dict[str, str]:
    """``values`` plus the flags that make ``device.*`` parameters apply: ``device.set`` and ``<name>.set``."""
    flags = {f"{name}.set": "1" for name in values if name.startswith("device.") and not name.endswith(".set")}
    return {**({"device.set": "1"} if flags else {}), **flags, **values}


def uptime_seconds(text: str) -> int | None:
    """``UpTimeSinceLastReboot`` -> seconds: ``"0 Day 0:12:25"``, ``"20 Days 16:11:42"``; None when unreadable."""
    match = re.match(r"^\s*(\d+)\s+days?\s+(\d+):(\d+):(\d+)\s*$", text or "", re.IGNORECASE)
    if not match:
        return None
    days, hours, minutes, seconds = (int(part) for part in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


class PolyDriver(HttpPhoneDriver):
    platform = "poly"
    vendor = "Poly"
    # typical reboot incl. flashing a new image [I]; the inventory overrides it per device (firmware_reboot_seconds)
    model_reboot_seconds: ClassVar[dict[str, int]] = {"VVX 450": 240, "VVX 350": 240, "VVX 250": 240}

    # SIP over TLS and SRTP required [V third-party: wazo-provd-plugins wazo_polycom base.tpl (sec.srtp.*) and
    # common.py (transport "TLS")]; the web UI, Telnet/SSH and HTTPS provisioning parameters are not in a public
    # source we hold.
    hardening: ClassVar[dict[str, str]] = {"reg.1.server.1.transport": "TLS", "sec.srtp.enable": "1",
                                           "sec.srtp.offer": "1", "sec.srtp.require": "1"}
    not_covered: ClassVar[tuple[str, ...]] = ("web UI HTTPS-only", "Telnet/SSH off",
                                              "provisioning over HTTPS with server verification")

    def auth_headers(self) -> dict:
        return basic_auth(REST_USER, self.password)      # the REST API has one user, Polycom [V]

    def hardening_read_back(self) -> dict[str, str]:
        return self.config_get(list(self.hardening))

    def harden(self) -> dict:
        changed = self.set_and_verify(dict(self.hardening))      # read back by config/get
        return {"changed": changed, "settings": self.config_get(list(self.hardening)),
                "verified_by": "config/get", "not_covered": list(self.not_covered)}

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
        return {"vendor": self.vendor, "platform": self.platform, "hostname": self.name,
                **facts_from_device_info(self.api("/device/info"), self.name)}

    def is_busy(self) -> bool:
        """In a call? ``callStatus`` holds the call in progress (an object, or a list of them on newer
        firmware); a phone that cannot tell is not rebooted (UnexpectedOutput)."""
        try:
            reply = self.call_json(CALL_STATUS)
        except HttpError as exc:
            self._raise_for_status(exc.body, exc)
            raise UnexpectedOutput(f"cannot tell whether the phone is in a call ({CALL_STATUS}: HTTP {exc.status})"
                                   f": it is not rebooted", self.name) from None
        self._raise_for_status(reply)
        return call_in_progress(reply.get("data"), self.name)

    def change_admin_password(self, new_password: str) -> None:
        self.api("/config/set", "POST", {"data": device_params({ADMIN_PASSWORD: new_password})})

    def config_get(self, names: list[str]) -> dict[str, str]:
        """Current values of ``names`` (at most 20 a call, the API's limit)."""
        values: dict[str, str] = {}
        for start in range(0, len(names), 20):
            data = self.api("/config/get", "POST", {"data": names[start:start + 20]}) or {}
            if not isinstance(data, dict):
                raise UnexpectedOutput(f"config/get answered {str(data)[:120]}", self.name)
            values.update({name: str((entry or {}).get("Value", "")) for name, entry in data.items()})
        return values

    def set_and_verify(self, values: dict[str, str]) -> bool:
        """Set parameters the vendor's way (``device.*`` with its flags), then read them back; False when every
        value was already in place (nothing sent)."""
        if all(self.config_get(list(values)).get(name) == value for name, value in values.items()):
            return False
        self.api("/config/set", "POST", {"data": device_params(values)})
        now = self.config_get(list(values))
        wrong = sorted(name for name, value in values.items() if now.get(name) != value)
        if wrong:
            raise VerificationFailed(f"the phone did not take {', '.join(wrong)} (read back after config/set)",
                                     self.name)
        return True

    # -- firmware ---------------------------------------------------------------------------------------------
    def point_and_reboot(self, target: Target, image_url: str) -> None:
        current = self.config_get([SERVER_NAME]).get(SERVER_NAME, "")
        if current.rstrip("/") != self.store.url.rstrip("/"):
            self.set_and_verify({SERVER_NAME: self.store.url})
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
        return master_pointing_at(base, target.model, target.image, self.name)

    def neutral_file(self, name: str) -> bytes:
        return self.store.read(MASTER_CONFIG) or b'<APPLICATION CONFIG_FILES=""/>'


def facts_from_device_info(info, device: str | None = None) -> DeviceFacts:
    """``device/info`` data -> model (as the phone spells it), version, MAC, uptime; refused without a model or
    a version."""
    if not isinstance(info, dict) or not info.get("FirmwareRelease") or not info.get("ModelNumber"):
        raise UnexpectedOutput(f"device/info without ModelNumber/FirmwareRelease: {str(info)[:120]}", device)
    facts: DeviceFacts = {"model": str(info["ModelNumber"]), "os_version": str(info["FirmwareRelease"]),
                          "mac_address": str(info.get("MACAddress", "")).replace(":", "").lower()}
    uptime = uptime_seconds(str(info.get("UpTimeSinceLastReboot", "")))
    if uptime is not None:
        facts["uptime_seconds"] = uptime
    return facts


def master_pointing_at(base: bytes | None, model: str, image: str, device: str | None = None) -> bytes:
    """A master file (``base``, or an empty one) whose ``APPLICATION_<model>`` child names ``image`` as
    ``APP_FILE_PATH_<model>``; everything else of ``base`` stays."""
    root = _parse_master(base, device) if base else ElementTree.Element("APPLICATION", CONFIG_FILES="")
    application = root if root.tag == "APPLICATION" else root.find(".//APPLICATION")
    if application is None:
        raise UnexpectedOutput("the provisioning master file has no APPLICATION element", device)
    key = model_key(model)
    application.attrib.pop(f"APP_FILE_PATH_{key}", None)      # not read there: only on the model's child
    child = application.find(f"APPLICATION_{key}")
    if child is None:
        child = ElementTree.SubElement(application, f"APPLICATION_{key}")
    child.set(f"APP_FILE_PATH_{key}", image)
    return b'<?xml version="1.0" standalone="yes"?>\n' + ElementTree.tostring(root)


def _parse_master(content: bytes, device: str | None) -> ElementTree.Element:
    if b"<!DOCTYPE" in content.upper() or b"<!ENTITY" in content.upper():
        raise UnexpectedOutput("the provisioning master file declares a DTD/entities: refused", device)
    try:
        return ElementTree.fromstring(content)  # noqa: S314 - no DTD possible past the check above
    except ElementTree.ParseError as exc:
        raise UnexpectedOutput(f"the provisioning master file is not XML: {exc}", device) from None


def call_in_progress(data, device: str | None = None) -> bool:
    """``callStatus`` data -> is a call in progress? A call object (``CallState``, ``CallHandle`` …) or a non-empty
    list of them is a call; none, ``{}`` or ``[]`` is no call; anything else is refused."""
    if data in (None, "", {}, []):
        return False
    calls = data if isinstance(data, list) else [data]
    if not all(isinstance(call, dict) for call in calls):
        raise UnexpectedOutput(f"callStatus data is not a call object: {str(data)[:120]}", device)
    return any(call for call in calls)
