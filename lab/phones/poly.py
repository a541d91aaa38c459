"""Poly (Polycom) VVX phone running UC Software, managed over its REST API.

Follows vendor-facts.md: HTTP Basic auth with user ``Polycom`` and the admin password; the API answers only when
``apps.restapi.enabled`` is 1; bodies ``{"Status": "2000", "data": ...}``; 4000 invalid input, 4001 device busy,
4003 not allowed, 4006 URLs not configured, 4009 input size limit, 4010 default password not allowed, 5000 failure.
Request/response shapes of config/get (``{"data": [names]}`` → ``{"data": {name: {"Value", "Source"}}}``, at most 20
names) and the 404 of a disabled API follow public client code (rdbahm/Posh-UCS UcsRest.psm1) [I]; the HTTP status
paired with each Poly status code is [I] as well.

Replies checked against tests/conformance/poly/ (TrioSimulator's published replies, Posh-UCS, PSVVX): ``device/info``
has exactly the fields of the published reply - ``ModelNumber`` spelled with a blank (``"VVX 450"``), no serial
number, ``UpTimeSinceLastReboot`` as ``"0 Day 0:12:25"`` / ``"20 Days 16:11:42"``; ``lineInfo`` entries carry no
call state; ``GET /api/v1/webCallControl/callStatus`` does (a call object while in a call; no ``data`` otherwise
[I: Posh-UCS reads a reply without call data as "no call in progress"]).

``device.*`` parameters apply only with ``device.set = 1`` and their own ``<name>.set = 1`` (in the same request or
file, or already set) [V third-party: wazo-provd-plugins Polycom base.tpl, orchestratevc README]; without them they
are ignored and logged, as the phone does.

Provisioning [V third-party: Polycom's default master file, wazo-provd-plugins ``wazo_polycom``]: on
updateConfiguration the phone fetches ``<mac>.cfg`` (else ``000000000000.cfg``) from ``device.prov.serverName``: an
XML master file whose ``APPLICATION`` element names the firmware - ``APP_FILE_PATH_<model>`` on the
``APPLICATION_<model>`` child before ``APP_FILE_PATH`` - and the ``CONFIG_FILES`` whose element attributes are
parameters. A firmware build that differs from the running one is installed by a (safe) reboot.
"""

from __future__ import annotations

import json
import re
from typing import ClassVar
from urllib.parse import urljoin
from xml.etree import ElementTree

from aiohttp import web

from lab.device import register_platform
from lab.phones.http import PHONE_FAULTS, UNSAFE_VALUE, HttpPhone, parse_xml

REST_USER = "Polycom"
FACTORY_PASSWORD = "456"
MAX_GET_PARAMS = 20
PARAM_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.]{0,127}$")
MASTER_CONFIG = "000000000000.cfg"
# The admin password parameter [V: public provisioning templates, e.g. wazo-provd-plugins' Polycom base.tpl]: a
# device.* parameter, applied only with device.set="1" and its own ".set"="1". That config/set over REST accepts it
# like a configuration file does is [I].
ADMIN_PASSWORD = "device.auth.localAdminPassword"

# Poly status code → (HTTP status, message) [I].
STATUS = {
    "2000": (200, "API executed successfully."),
    "4000": (400, "Invalid input parameters."),
    "4001": (503, "Device busy."),
    "4003": (403, "Operation not allowed."),
    "4006": (400, "URLs not configured."),
    "4009": (400, "Input Size Limit Exceeded"),
    "4010": (403, "Default Password Not Allowed"),
    "5000": (500, "Failed to process request."),
}


def poly_response(code: str, data=None) -> web.Response:
    http_status, _message = STATUS[code]
    body = {"Status": code} if data is None else {"Status": code, "data": data}
    return web.json_response(body, status=http_status)


def uptime_text(seconds: int) -> str:
    """``"0 Day 0:12:25"``, ``"1 Day …"``, ``"20 Days 16:11:42"`` (TrioSimulator's published replies; the plural
    from 2 days on is [I])."""
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{days} {'Day' if days < 2 else 'Days'} {hours}:{minutes:02d}:{secs:02d}"


def model_number(model: str) -> str:
    """The model as the REST API spells it: ``VVX450`` -> ``"VVX 450"``, ``Trio8800`` -> ``"Trio 8800"``."""
    match = re.fullmatch(r"([A-Za-z]+)\s*(\d.*)", model)
    return f"{match.group(1)} {match.group(2)}" if match else model


def master_files(master: bytes, model: str) -> tuple[list[str], str]:
    """(configuration files, firmware file) a phone of ``model`` takes from a master file: its
    ``APPLICATION_<model>`` child first, then the ``APPLICATION`` element's own attributes."""
    application = next(parse_xml(master).iter("APPLICATION"))
    child = application.find(f"APPLICATION_{model}")
    own = child.attrib if child is not None else {}
    config_files = own.get(f"CONFIG_FILES_{model}") or application.attrib.get("CONFIG_FILES", "")
    app_file = own.get(f"APP_FILE_PATH_{model}") or application.attrib.get("APP_FILE_PATH", "")
    return [name for name in (f.strip() for f in config_files.split(",")) if name], app_file


def device_flags_ok(name: str, values: dict[str, str], current: dict[str, str]) -> bool:
    """A ``device.*`` parameter applies only with ``device.set`` and ``<name>.set`` at 1."""
    return all(values.get(flag, current.get(flag)) == "1" for flag in ("device.set", f"{name}.set"))


@register_platform
class PolyPhone(HttpPhone):
    platform = "poly"
    supported_faults: ClassVar[frozenset[str]] = PHONE_FAULTS | {"poly_4001"}
    default_params: ClassVar[dict[str, str]] = {
        "apps.restapi.enabled": "1",
        "device.prov.serverType": "HTTP",
        "device.prov.serverName": "",
        "reg.1.address": "",
    }

    def initial_params(self, provisioning_url: str) -> dict[str, str]:
        params = {"device.prov.serverName": provisioning_url}
        if "restapi_enabled" in self.options:
            params["apps.restapi.enabled"] = "1" if self.options["restapi_enabled"] else "0"
        return params

    def inventory_vars(self) -> dict:
        return {**super().inventory_vars(), "ansible_user": REST_USER}   # the REST API user is always Polycom

    def set_params(self, values: dict[str, str]) -> None:
        values = dict(values)
        for name in [n for n in values if n.startswith("device.") and not n.endswith(".set") and n != ADMIN_PASSWORD]:
            if not device_flags_ok(name, values, self.params):
                self.logline(f"{name} ignored: device.set and {name}.set must be 1")
                values.pop(name)
        super().set_params(values)

    def admin_password_from(self, values: dict[str, str]) -> str | None:
        if ADMIN_PASSWORD not in values:
            return None
        password = values.pop(ADMIN_PASSWORD)
        if not device_flags_ok(ADMIN_PASSWORD, values, self.params):
            self.logline(f"{ADMIN_PASSWORD} ignored: device.set and {ADMIN_PASSWORD}.set must be 1")
            return None
        return password

    # -- request routing --------------------------------------------------------------------------------------
    async def route(self, request: web.BaseRequest) -> web.StreamResponse:
        if self.params.get("apps.restapi.enabled") != "1":
            raise web.HTTPNotFound()
        if not self.authorized(request, REST_USER, self.credentials.password):
            raise web.HTTPUnauthorized(headers={"WWW-Authenticate": 'Basic realm="PPS"'})
        if self.credentials.password == FACTORY_PASSWORD:
            return poly_response("4010")
        handler = self._routes().get((request.method, request.path))
        if handler is None:
            raise web.HTTPNotFound()
        if request.method == "POST" and self.fault("poly_4001") is not None:
            return poly_response("4001")
        return await handler(request)

    def _routes(self) -> dict:
        return {
            ("GET", "/api/v1/mgmt/device/info"): self._device_info,
            ("GET", "/api/v1/mgmt/network/info"): self._network_info,
            ("GET", "/api/v1/mgmt/lineInfo"): self._line_info,
            ("GET", "/api/v1/webCallControl/callStatus"): self._call_status,
            ("POST", "/api/v1/mgmt/safeRestart"): self._safe_reboot,
            ("POST", "/api/v1/mgmt/safeReboot"): self._safe_reboot,
            ("POST", "/api/v1/mgmt/updateConfiguration"): self._update_configuration,
            ("POST", "/api/v1/mgmt/config/get"): self._config_get,
            ("POST", "/api/v1/mgmt/config/set"): self._config_set,
        }

    # -- reads ------------------------------------------------------------------------------------------------
    async def _device_info(self, _request) -> web.Response:
        return poly_response("2000", {
            "ModelNumber": model_number(self.model),
            "DeviceType": "hardwareEndpoint",
            "FirmwareRelease": self.version,
            "DeviceVendor": "Polycom",
            "MACAddress": self.mac,
            "UpTimeSinceLastReboot": uptime_text(self.uptime_seconds()),
            "IPV4Address": self.host,
            "IPV6Address": "::",
            "AttachedHardware": {},
        })

    async def _network_info(self, _request) -> web.Response:
        return poly_response("2000", {
            "IPV4Address": self.host,
            "SubnetMask": "255.0.0.0",
            "DHCP": "enabled",
            "ProvServerAddress": self.params.get("device.prov.serverName", ""),
            "ProvServerType": self.params.get("device.prov.serverType", "HTTP"),
        })

    async def _line_info(self, _request) -> web.Response:
        address = self.params.get("reg.1.address", "")
        return poly_response("2000", [{
            "LineNumber": "1",
            "UserID": address.split("@", 1)[0],
            "LineType": "private",
            "SIPAddress": address,
            "Protocol": "SIP",
            "RegistrationStatus": "registered" if address else "unregistered",
            "Label": address.split("@", 1)[0],
            "ProxyAddress": address.split("@", 1)[1] if "@" in address else "",
            "Port": "5060",
        }])

    async def _call_status(self, _request) -> web.Response:
        # A call while the busy_in_call fault is set (fields of TrioSimulator's CallStatusModel); no call: no data.
        if not self.in_call:
            return poly_response("2000")
        return poly_response("2000", {
            "LineId": "1", "CallHandle": "0x2c5b7e80", "RemotePartyName": "sip:2001@pbx.lab", "Type": "Incoming",
            "Protocol": "Sip", "CallState": "Connected", "RemotePartyNumber": "sip:2001@pbx.lab",
            "DurationInSeconds": "45",
        })

    async def _config_get(self, request) -> web.Response:
        names = await self._json_data(request)
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            return poly_response("4000")
        if len(names) > MAX_GET_PARAMS:
            return poly_response("4009")
        if not all(PARAM_NAME.match(name) for name in names):
            return poly_response("4000")
        return poly_response("2000", {
            name: {"Value": self.params[name], "Source": "config"} for name in names if name in self.params
        })

    # -- changes ----------------------------------------------------------------------------------------------
    async def _config_set(self, request) -> web.Response:
        values = await self._json_data(request)
        if not isinstance(values, dict) or not values:
            return poly_response("4000")
        for name, value in values.items():
            if not PARAM_NAME.match(name) or not isinstance(value, str) or UNSAFE_VALUE.search(value):
                return poly_response("4000")
        self.set_params(values)
        self.logline(f"config/set {', '.join(sorted(values))}")
        return poly_response("2000")

    async def _safe_reboot(self, request) -> web.Response:
        if self.pending_reboot:
            return poly_response("2000")
        self.spawn(self.reboot(f"REST {request.path.rsplit('/', 1)[-1]}"))
        return poly_response("2000")

    async def _update_configuration(self, _request) -> web.Response:
        if not self.params.get("device.prov.serverName"):
            return poly_response("4006")
        self.spawn(self.provision())
        return poly_response("2000")

    async def _json_data(self, request):
        try:
            return (await request.json()).get("data")
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
            return None

    # -- provisioning -----------------------------------------------------------------------------------------
    async def provision(self) -> None:
        """Re-read the configuration from the provisioning server; install a different firmware build if named."""
        server = self.params["device.prov.serverName"]
        master = (await self.fetch(urljoin(server, f"{self.mac}.cfg"))
                  or await self.fetch(urljoin(server, MASTER_CONFIG)))
        if master is None:
            self.logline("provisioning failed: no master configuration file")
            return
        try:
            config_files, app_file = master_files(master, self.model)
        except (ElementTree.ParseError, StopIteration):
            self.logline("provisioning failed: master configuration has no APPLICATION element")
            return
        for config_file in config_files:
            await self._apply_config_file(urljoin(server, config_file))
        if app_file:
            await self._install_firmware(urljoin(server, app_file))

    async def _apply_config_file(self, url: str) -> None:
        root = await self.fetch_xml(url, "configuration file")
        if root is None:
            return
        values = {name: value for element in root.iter() for name, value in element.attrib.items()
                  if PARAM_NAME.match(name) and "." in name and not UNSAFE_VALUE.search(value)}
        self.set_params(values)
        self.logline(f"applied {len(values)} parameters from {url}")

    async def _install_firmware(self, url: str) -> None:
        image = await self.fetch(url)
        if image is None:
            return
        version, problem = self.image_version(image)
        if version is None:
            self.logline(f"firmware {url} rejected: {problem}; keeping {self.version}")
        elif version == self.version:
            self.logline(f"firmware {version} already running")
        elif not self.pending_reboot:
            await self.reboot(f"upgrading to {version}", new_version=version)
