"""Poly (Polycom) VVX phone running UC Software, managed over its REST API.

Follows vendor-facts.md: HTTP Basic auth with user ``Polycom`` and the admin password; the API answers only when
``apps.restapi.enabled`` is 1; bodies ``{"Status": "2000", "data": ...}``; 4000 invalid input, 4001 device busy,
4003 not allowed, 4006 URLs not configured, 4009 input size limit, 4010 default password not allowed, 5000 failure.
Request/response shapes of config/get (``{"data": [names]}`` → ``{"data": {name: {"Value", "Source"}}}``, at most 20
names) and the 404 of a disabled API follow public client code (rdbahm/Posh-UCS UcsRest.psm1) [I]; the HTTP status
paired with each Poly status code is [I] as well.

Provisioning [I]: on updateConfiguration the phone fetches ``<mac>.cfg`` (else ``000000000000.cfg``) from
``device.prov.serverName``: an XML master file whose ``APPLICATION`` element names the firmware
(``APP_FILE_PATH_<model>`` before ``APP_FILE_PATH``) and the ``CONFIG_FILES`` whose element attributes are parameters.
A firmware build that differs from the running one is installed by a (safe) reboot.
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
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{days} day {hours}:{minutes:02d}:{secs:02d}"


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

    def admin_password_from(self, values: dict[str, str]) -> str | None:
        if ADMIN_PASSWORD not in values:
            return None
        password = values.pop(ADMIN_PASSWORD)
        flags = {name: values.get(name, self.params.get(name)) for name in ("device.set", ADMIN_PASSWORD + ".set")}
        if set(flags.values()) != {"1"}:
            self.logline(f"{ADMIN_PASSWORD} ignored: device.set and {ADMIN_PASSWORD}.set must be 1 ({flags})")
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
            ("POST", "/api/v1/mgmt/safeRestart"): self._safe_reboot,
            ("POST", "/api/v1/mgmt/safeReboot"): self._safe_reboot,
            ("POST", "/api/v1/mgmt/updateConfiguration"): self._update_configuration,
            ("POST", "/api/v1/mgmt/config/get"): self._config_get,
            ("POST", "/api/v1/mgmt/config/set"): self._config_set,
        }

    # -- reads ------------------------------------------------------------------------------------------------
    async def _device_info(self, _request) -> web.Response:
        return poly_response("2000", {
            "ModelNumber": self.model,
            "FirmwareRelease": self.version,
            "MACAddress": self.mac,
            "IPV4Address": self.host,
            "DeviceType": "hardwareEndpoint",
            "DeviceVendor": "Polycom",
            "UpTimeSinceLastReboot": uptime_text(self.uptime_seconds()),
            "SerialNumber": self.serial,
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
        # CallState is the lab's view of the line [I]: "Connected" while the busy_in_call fault is set.
        return poly_response("2000", [{
            "LineNumber": "1",
            "SIPAddress": self.params.get("reg.1.address", ""),
            "RegistrationStatus": "registered",
            "LineType": "private",
            "CallState": "Connected" if self.in_call else "Idle",
        }])

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
            application = parse_xml(master).iter("APPLICATION")
            attributes = next(application).attrib
        except (ElementTree.ParseError, StopIteration):
            self.logline("provisioning failed: master configuration has no APPLICATION element")
            return
        for config_file in filter(None, (f.strip() for f in attributes.get("CONFIG_FILES", "").split(","))):
            await self._apply_config_file(urljoin(server, config_file))
        app_file = attributes.get(f"APP_FILE_PATH_{self.model}") or attributes.get("APP_FILE_PATH")
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
