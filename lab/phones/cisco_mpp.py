"""Cisco IP Phone 8800 Multiplatform (MPP, formerly SPA "3PCC") firmware.

From vendor-facts.md [V]: parameters ``Upgrade_Enable``, ``Upgrade_Rule`` (firmware URL), ``Downgrade_Rev_Limit``,
``Upgrade_Error_Retry_Delay``; syslog templates ``Log_Upgrade_Request_Msg`` / ``_Success_`` / ``_Failure_``; direct
trigger ``http://<phone>/admin/upgrade?<url>``.
[I] (public client code and admin guides, not a vendor API reference): the template defaults and their macros
($PN $MAC $SCHEME $SERVIP $PORT $PATH $ERR); the status page labels "Product Name:", "Software Version:",
"MAC Address:", "Serial Number:" (NOC project's Linksys.VoIP.get_version) and ``/admin/status.xml`` (pyciscospa);
``/admin/resync?<profile url>`` and ``Profile_Rule`` with the ``$MA`` macro; HTTP Basic auth on /admin/. The
status.xml field names are confirmed only on SPA ATAs (vendor-facts.md "Corrections").
[V] (Cisco MPP admin guide, wazo-provd-plugins ``wazo_cisco_sip`` templates; vendor-facts.md "Corrections"): the
parameter dump is ``/admin/cfg.xml``; the admin password is ``Admin_Password``, 8-127 characters of at least three
of the four classes (lower, upper, digit, other) - a value breaking the rule is refused and the password stays;
``Admin_Passwd`` is the SPA5xx name, unknown to an MPP phone (ignored).

The upgrade log is kept per phone in :attr:`CiscoMppPhone.log` (what the phone sends to its syslog server).
"""

from __future__ import annotations

import asyncio
import html
from typing import ClassVar
from urllib.parse import urlsplit
from xml.etree import ElementTree

from aiohttp import web

from lab.device import register_platform
from lab.phones.http import UNSAFE_VALUE, HttpPhone, version_key

DEFAULT_RETRY_DELAY = "3600"
# The admin password of the web UI / Basic auth on MPP 3PCC [V: Cisco MPP admin guide; wazo-provd-plugins
# wazo_cisco_sip]; a profile without it leaves the password unchanged [I]. Admin_Passwd is the SPA5xx name.
ADMIN_PASSWORD = "Admin_Password"
SPA_ADMIN_PASSWORD = "Admin_Passwd"


def password_rule_broken(value: str) -> str:
    """Why ``value`` breaks the MPP admin password rule (8-127 characters, 3 of 4 classes), or ""."""
    if not 8 <= len(value) <= 127:
        return f"{len(value)} characters (8-127 allowed)"
    classes = sum((any(c.islower() for c in value), any(c.isupper() for c in value),
                   any(c.isdigit() for c in value), any(not c.isalnum() for c in value)))
    return "" if classes >= 3 else f"{classes} character classes (3 of lower, upper, digit, other needed)"


def expand(template: str, macros: dict[str, str]) -> str:
    """Replace $NAME macros, longest names first so $MAC is not read as $MA + "C"."""
    for name in sorted(macros, key=len, reverse=True):
        template = template.replace("$" + name, macros[name])
    return template


@register_platform
class CiscoMppPhone(HttpPhone):
    platform = "cisco_mpp"
    default_params: ClassVar[dict[str, str]] = {
        "Upgrade_Enable": "Yes",
        "Upgrade_Rule": "",
        "Downgrade_Rev_Limit": "",
        "Upgrade_Error_Retry_Delay": DEFAULT_RETRY_DELAY,
        "Profile_Rule": "",
        "Log_Upgrade_Request_Msg": "$PN $MAC -- Requesting upgrade $SCHEME://$SERVIP:$PORT$PATH",
        "Log_Upgrade_Success_Msg": "$PN $MAC -- Successful upgrade $SCHEME://$SERVIP:$PORT$PATH -- $ERR",
        "Log_Upgrade_Failure_Msg": "$PN $MAC -- Upgrade failed: $ERR",
    }

    def initial_params(self, provisioning_url: str) -> dict[str, str]:
        return {"Profile_Rule": f"{provisioning_url}$MA.xml"} if provisioning_url else {}

    def admin_password_from(self, values: dict[str, str]) -> str | None:
        if values.pop(SPA_ADMIN_PASSWORD, None) is not None:
            self.logline(f"{SPA_ADMIN_PASSWORD}: unknown parameter on this phone (the SPA5xx name), ignored")
        password = values.pop(ADMIN_PASSWORD, None)
        if password is not None and (problem := password_rule_broken(password)):
            self.logline(f"{ADMIN_PASSWORD} refused: {problem}")
            return None
        return password

    async def route(self, request: web.BaseRequest) -> web.StreamResponse:
        if not self.authorized(request, self.credentials.username, self.credentials.password):
            raise web.HTTPUnauthorized(headers={"WWW-Authenticate": 'Basic realm="admin"'})
        handler = {
            "/admin/status": self._status_page,
            "/admin/status.xml": self._status_xml,
            "/admin/cfg.xml": self._config_xml,
            "/admin/upgrade": self._upgrade,
            "/admin/resync": self._resync,
            "/admin/reboot": self._reboot,
        }.get(request.path)
        if handler is None or request.method != "GET":
            raise web.HTTPNotFound()
        return await handler(request)

    # -- status -----------------------------------------------------------------------------------------------
    def _identity(self) -> dict[str, str]:
        return {"Product Name": self.model, "Software Version": self.version, "MAC Address": self.mac.upper(),
                "Serial Number": self.serial, "Hardware Version": "V01"}

    async def _status_page(self, _request) -> web.Response:
        rows = "".join(f"<tr><td>{html.escape(k)}:</td><td>{html.escape(v)}</td></tr>"
                       for k, v in self._identity().items())
        return web.Response(text=f"<html><body><h1>Info</h1><table>{rows}</table></body></html>",
                            content_type="text/html")

    async def _status_xml(self, _request) -> web.Response:
        root = ElementTree.Element("flat-profile")
        for key, value in self._identity().items():
            ElementTree.SubElement(root, key.replace(" ", "_")).text = value
        return web.Response(body=ElementTree.tostring(root), content_type="text/xml")

    async def _config_xml(self, _request) -> web.Response:
        root = ElementTree.Element("flat-profile")
        for key, value in sorted(self.params.items()):
            ElementTree.SubElement(root, key).text = value
        return web.Response(body=ElementTree.tostring(root), content_type="text/xml")

    # -- triggers ---------------------------------------------------------------------------------------------
    async def _upgrade(self, request) -> web.Response:
        url = request.query_string
        if not self._valid_url(url):
            raise web.HTTPBadRequest(text="usage: /admin/upgrade?<http(s) URL of the firmware>\n")
        if self.params["Upgrade_Enable"] != "Yes":
            self._log_failure(url, "upgrade disabled (Upgrade_Enable = No)")
            raise web.HTTPForbidden(text="Upgrade is disabled\n")
        self.spawn(self.upgrade(url))
        return web.Response(text="<html><body>Upgrade request accepted</body></html>", content_type="text/html")

    async def _resync(self, request) -> web.Response:
        url = request.query_string or self._profile_url()
        if not self._valid_url(url):
            raise web.HTTPBadRequest(text="no profile URL: give /admin/resync?<url> or set Profile_Rule\n")
        self.spawn(self.resync(url))
        return web.Response(text="<html><body>Resync request accepted</body></html>", content_type="text/html")

    async def _reboot(self, _request) -> web.Response:
        if not self.pending_reboot:
            self.spawn(self.reboot("web reboot"))
        return web.Response(text="<html><body>Rebooting</body></html>", content_type="text/html")

    @staticmethod
    def _valid_url(url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and bool(parts.netloc) and not UNSAFE_VALUE.search(url)

    def _profile_url(self) -> str:
        return expand(self.params.get("Profile_Rule", ""), {"MA": self.mac})

    # -- provisioning and upgrade -----------------------------------------------------------------------------
    async def resync(self, url: str) -> None:
        """Fetch a flat-profile XML, apply its parameters, then upgrade when ``Upgrade_Rule`` names a new build."""
        root = await self.fetch_xml(url, "profile")
        if root is None:
            return
        values = {el.tag: (el.text or "").strip() for el in root if not UNSAFE_VALUE.search(el.text or "")}
        self.set_params(values)
        self.logline(f"resync from {url}: {len(values)} parameters")
        rule = self.params.get("Upgrade_Rule", "")
        if rule and self.params["Upgrade_Enable"] == "Yes":
            await self.upgrade(expand(rule, {"MA": self.mac}), retry=True)

    async def upgrade(self, url: str, retry: bool = False) -> None:
        """Fetch and check the image at ``url``; install it by a reboot once the phone is idle."""
        self._syslog("Log_Upgrade_Request_Msg", url, "")
        image = await self.fetch(url)
        version, problem = self.image_version(image) if image is not None else (None, "download failed")
        if version is not None and self._below_downgrade_limit(version):
            version, problem = None, f"{version} is below Downgrade_Rev_Limit {self.params['Downgrade_Rev_Limit']}"
        if version is None:
            self._log_failure(url, problem)
            if retry:
                self.spawn(self._retry_later(url))
            return
        if version == self.version:
            self._syslog("Log_Upgrade_Success_Msg", url, f"already running {version}")
            return
        self._syslog("Log_Upgrade_Success_Msg", url, f"installing {version}")
        if not self.pending_reboot:
            await self.reboot(f"upgrade to {version}", new_version=version)

    async def _retry_later(self, url: str) -> None:
        delay = float(self.params.get("Upgrade_Error_Retry_Delay") or DEFAULT_RETRY_DELAY)
        await asyncio.sleep(delay)
        await self.upgrade(url, retry=True)

    def _below_downgrade_limit(self, version: str) -> bool:
        limit = self.params.get("Downgrade_Rev_Limit", "")
        return bool(limit) and version_key(version) < version_key(limit)

    def _log_failure(self, url: str, error: str) -> None:
        self._syslog("Log_Upgrade_Failure_Msg", url, error)

    def _syslog(self, template_param: str, url: str, error: str) -> None:
        parts = urlsplit(url)
        default_port = "443" if parts.scheme == "https" else "80"
        self.logline(expand(self.params[template_param], {
            "PN": self.model, "MAC": self.mac, "SCHEME": parts.scheme, "SERVIP": parts.hostname or "",
            "PORT": str(parts.port or default_port), "PATH": parts.path, "ERR": error,
        }))
