"""Cisco IP Phone 6800/7800/8800 Multiplatform (MPP, formerly SPA "3PCC"): firmware lifecycle over HTTP.

[V] (vendor-facts.md): direct upgrade trigger ``http://<phone>/admin/upgrade?<firmware url>``; parameters
``Upgrade_Enable``, ``Upgrade_Rule``, ``Downgrade_Rev_Limit``.
[I] (public client code: pyciscospa, NOC's Linksys.VoIP profile): ``/admin/status.xml`` with ``Product_Name``,
``Software_Version``, ``MAC_Address``, ``Serial_Number``; HTTP Basic auth on /admin/. The phone postpones an upgrade
reboot while in a call and exposes no call state here: a phone that has not started rebooting after its reboot
time is reported busy and retried later. The direct trigger is one-shot, so there is nothing to un-point after a
failure.
The status.xml field names are confirmed only on SPA ATAs (MAC under ``router-status``): the parser takes them from
anywhere in the document and fails loudly without a version.
Admin password: ``<Admin_Password>`` of a flat-profile XML, 8-127 characters of at least 3 of the 4 classes (Cisco
MPP admin guide; wazo-provd-plugins ``wazo_cisco_sip``) - ``Admin_Passwd`` is the SPA5xx name an MPP phone ignores;
applied by ``/admin/resync?<profile url>`` ("Direct Action URL", MPP admin guide). The driver checks the rule first,
serves a one-shot profile holding only that parameter under a random name and deletes it after the resync.
"""

from __future__ import annotations

import re
import secrets
import time
from typing import ClassVar
from xml.etree import ElementTree

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.base import DeviceFacts
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import (
    CommandRejected,
    InvalidValue,
    UnexpectedOutput,
    VerificationFailed,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.phone_http import (
    HttpError,
    HttpPhoneDriver,
    hardening_gaps,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.firmware.contract import Target

SAFE_URL = re.compile(r"https?://[A-Za-z0-9._:/%-]+")
ADMIN_PASSWORD = "Admin_Password"   # noqa: S105 - the parameter name, not a password
PASSWORD_LENGTH = (8, 127)


def password_problem(value: str) -> str:
    """Why the phone would refuse ``value`` as its admin password (8-127 characters, 3 of the 4 classes lower,
    upper, digit, other), or "" when it would take it."""
    low, high = PASSWORD_LENGTH
    if not low <= len(value) <= high:
        return f"it has {len(value)} characters, the phone takes {low}-{high}"
    classes = sum((any(c.islower() for c in value), any(c.isupper() for c in value),
                   any(c.isdigit() for c in value), any(not c.isalnum() for c in value)))
    if classes < 3:
        return f"it mixes {classes} character classes, the phone needs 3 of lower, upper, digit, other"
    return ""


def parse_status_xml(raw: bytes, device: str | None = None) -> dict[str, str]:
    """``/admin/status.xml`` -> {tag: text} of every leaf element (flat, or nested under e.g. ``router-status``)."""
    if b"<!DOCTYPE" in raw.upper() or b"<!ENTITY" in raw.upper():
        raise UnexpectedOutput("status.xml declares a DTD/entities: refused", device)
    try:
        root = ElementTree.fromstring(raw)  # noqa: S314 - no DTD possible past the check above
    except ElementTree.ParseError as exc:
        raise UnexpectedOutput(f"status.xml is not XML: {exc}", device) from None
    values = {el.tag: (el.text or "").strip() for el in root.iter() if len(el) == 0 and el is not root}
    if not values.get("Software_Version"):
        raise UnexpectedOutput("status.xml has no Software_Version", device)
    return values


class CiscoMppDriver(HttpPhoneDriver):
    platform = "cisco_mpp"
    vendor = "Cisco"
    model_reboot_seconds: ClassVar[dict[str, int]] = {"CP-8841-3PCC": 300, "CP-7841-3PCC": 300}   # [I] typical

    # Web UI over HTTPS only: Enable_Protocol [V third-party: wazo-provd-plugins wazo_cisco_sip base.tpl names the
    # parameter (value Http there); "Https" as its other value is I]. SIP over TLS / SRTP parameters are not in a
    # public source we hold.
    hardening: ClassVar[dict[str, str]] = {"Enable_Protocol": "Https"}
    not_covered: ClassVar[tuple[str, ...]] = ("SIP over TLS", "SRTP required", "Telnet/SSH off",
                                              "provisioning over HTTPS with server verification")
    settle_seconds: ClassVar[float] = 10.0

    def config_values(self) -> dict[str, str]:
        """The parameter dump ``/admin/cfg.xml`` as {parameter: value}."""
        raw = self.call("/admin/cfg.xml")
        if b"<!DOCTYPE" in raw.upper() or b"<!ENTITY" in raw.upper():
            raise UnexpectedOutput("cfg.xml declares a DTD/entities: refused", self.name)
        try:
            root = ElementTree.fromstring(raw)  # noqa: S314 - no DTD possible past the check above
        except ElementTree.ParseError as exc:
            raise UnexpectedOutput(f"cfg.xml is not XML: {exc}", self.name) from None
        return {el.tag: (el.text or "").strip() for el in root}

    def hardening_read_back(self) -> dict[str, str]:
        values = self.config_values()
        return {name: values[name] for name in self.hardening if name in values}

    def harden(self) -> dict:
        """A one-shot profile with ``hardening`` by /admin/resync, then read back from /admin/cfg.xml."""
        if not hardening_gaps(self.hardening, self.config_values()):
            return {"changed": False, "settings": {k: v for k, v in self.config_values().items()
                                                   if k in self.hardening},
                    "verified_by": "/admin/cfg.xml", "not_covered": list(self.not_covered)}
        profile = ElementTree.Element("flat-profile")
        for name, value in self.hardening.items():
            ElementTree.SubElement(profile, name).text = value
        name = f"aiphone-hardening-{secrets.token_hex(8)}.xml"
        self.store.write(name, b'<?xml version="1.0"?>\n' + ElementTree.tostring(profile))
        try:
            self.call(f"/admin/resync?{self.store.file_url(name)}")
            deadline = time.monotonic() + float(self.options.get("settle_seconds") or self.settle_seconds)
            while (gaps := hardening_gaps(self.hardening, self.config_values())) and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            if not self.store.remove(name):
                self.store.write(name, b"<flat-profile/>")
        if gaps:
            raise VerificationFailed(f"after the resync /admin/cfg.xml shows {'; '.join(gaps)}", self.name)
        values = self.config_values()
        return {"changed": True, "settings": {k: values.get(k, "") for k in self.hardening},
                "verified_by": "/admin/cfg.xml", "not_covered": list(self.not_covered)}

    def read_facts(self) -> DeviceFacts:
        values = parse_status_xml(self.call("/admin/status.xml"), self.name)
        return {"vendor": self.vendor, "platform": self.platform, "hostname": self.name,
                "model": values.get("Product_Name", ""), "os_version": values["Software_Version"],
                "mac_address": values.get("MAC_Address", "").replace(":", "").lower(),
                "serial": values.get("Serial_Number", "")}

    def point_and_reboot(self, target: Target, image_url: str) -> None:
        if not SAFE_URL.fullmatch(image_url):
            raise InvalidValue(f"firmware URL {image_url!r} is not a plain http(s) URL", self.name)
        try:
            self.call(f"/admin/upgrade?{image_url}")
        except HttpError as exc:
            if exc.status == 403:
                raise CommandRejected("the phone refuses upgrades (Upgrade_Enable = No)", self.name) from None
            raise

    def change_admin_password(self, new_password: str) -> None:
        problem = password_problem(new_password)
        if problem:
            raise InvalidValue(f"the new admin password is refused before sending: {problem}", self.name)
        profile = ElementTree.Element("flat-profile")
        ElementTree.SubElement(profile, ADMIN_PASSWORD).text = new_password
        name = f"aiphone-credential-{secrets.token_hex(16)}.xml"     # unguessable while it exists
        self._password_staged = name
        self.store.write(name, b'<?xml version="1.0"?>\n' + ElementTree.tostring(profile))
        url = self.store.file_url(name)
        if not SAFE_URL.fullmatch(url):
            raise InvalidValue(f"profile URL {url!r} is not a plain http(s) URL", self.name)
        self.call(f"/admin/resync?{url}")

    def clear_password_staging(self) -> list[str]:
        name = getattr(self, "_password_staged", None)
        if name and not self.store.remove(name):
            self.store.write(name, b"<flat-profile/>")     # upload-only store: at least empty it
        self._password_staged = None
        return []
