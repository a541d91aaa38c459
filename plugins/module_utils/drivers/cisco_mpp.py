"""Cisco IP Phone 6800/7800/8800 Multiplatform (MPP, formerly SPA "3PCC"): firmware lifecycle over HTTP.

[V] (vendor-facts.md): direct upgrade trigger ``http://<phone>/admin/upgrade?<firmware url>``; parameters
``Upgrade_Enable``, ``Upgrade_Rule``, ``Downgrade_Rev_Limit``.
[I] (public client code: pyciscospa, NOC's Linksys.VoIP profile): ``/admin/status.xml`` with ``Product_Name``,
``Software_Version``, ``MAC_Address``, ``Serial_Number``; HTTP Basic auth on /admin/. The phone postpones an upgrade
reboot while in a call and exposes no call state here: a phone that has not started rebooting after its reboot
time is reported busy and retried later. The direct trigger is one-shot, so there is nothing to un-point after a
failure.
Admin password: ``<Admin_Passwd>`` of a flat-profile XML [V: public provisioning templates, e.g. wazo-provd-plugins'
Cisco SPA/MPP profile], applied by ``/admin/resync?<profile url>`` [I]. The driver serves a one-shot profile holding
only that parameter under a random name and deletes it after the resync.
"""

from __future__ import annotations

import re
import secrets
from typing import ClassVar
from xml.etree import ElementTree

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.base import DeviceFacts
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import (
    CommandRejected,
    InvalidValue,
    UnexpectedOutput,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.phone_http import HttpError, HttpPhoneDriver
from ansible_collections.aiphone.hardening.plugins.module_utils.firmware.contract import Target

SAFE_URL = re.compile(r"https?://[A-Za-z0-9._:/%-]+")
ADMIN_PASSWORD = "Admin_Passwd"   # noqa: S105 - the parameter name, not a password


class CiscoMppDriver(HttpPhoneDriver):
    platform = "cisco_mpp"
    vendor = "Cisco"
    model_reboot_seconds: ClassVar[dict[str, int]] = {"CP-8841-3PCC": 300, "CP-7841-3PCC": 300}   # [I] typical

    def read_facts(self) -> DeviceFacts:
        raw = self.call("/admin/status.xml")
        if b"<!DOCTYPE" in raw.upper() or b"<!ENTITY" in raw.upper():
            raise UnexpectedOutput("status.xml declares a DTD/entities: refused", self.name)
        try:
            root = ElementTree.fromstring(raw)  # noqa: S314 - no DTD possible past the check above
        except ElementTree.ParseError as exc:
            raise UnexpectedOutput(f"status.xml is not XML: {exc}", self.name) from None
        values = {child.tag: (child.text or "").strip() for child in root}
        if not values.get("Software_Version"):
            raise UnexpectedOutput("status.xml has no Software_Version", self.name)
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
