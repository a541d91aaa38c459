"""Yealink T5x phone: auto-provisioning from the lab server, SIP NOTIFY check-sync, Action URI.

From vendor-facts.md [V]: provisioning files ``y0000000000xx.cfg`` (per model) and ``<MAC>.cfg``;
``static.firmware.url``; a SIP NOTIFY with ``Event: check-sync`` (``;reboot=true|false``) makes the phone
re-provision; Action URI ``http(s)://<ip>/servlet?key=…`` accepted only from ``features.action_uri_limit_ip``.
[I] (Yealink admin guides as mirrored on manual sites, peer provisioning code): the model code of the per-model file
(T54W → y000000000096.cfg), the order common → model → MAC file, ``static.auto_provision.server.url``, the
``phonecfg=get&fw=1`` read of the firmware version (its response format is not published: the lab answers
``key=value`` lines), the ``Reboot`` / ``AutoP`` key values, and ``*`` wildcards in the allow list.

Factory defaults that bite (Yealink T5 admin guide, vendor-facts.md "Corrections") [V guide]:
``sip.notify_reboot_enable = 1``: every check-sync NOTIFY reboots the phone, ``reboot=false`` or not, until it is 0;
``features.show_action_uri_option = 1``: the first Action URI request from an address waits for the user to accept
"Allow Remote Control?" on the screen (the lab holds it: :meth:`YealinkPhone.answer_remote_control` is the user),
until it is 0. How long the real prompt waits and that an accepted address is remembered until the next reboot are
[I]. The lab topology starts phones as the lab site provisioned them (options ``notify_reboot_enable`` and
``show_action_uri_option``, like ``action_uri_limit_ip``); tests of the defaults start phones without them.

SIP: each phone has its own UDP socket on the same port number as its HTTP listener (TCP and UDP ports are separate),
as each real phone has its own SIP stack; one shared socket routing on the Request-URI would save a socket per phone
but no real deployment works that way, and a socket per phone is cheap (1,000 fit well under the fd limit).
"""

from __future__ import annotations

import asyncio
import fnmatch
import re
import secrets
from typing import ClassVar
from urllib.parse import urljoin

from aiohttp import web

from lab.device import register_platform
from lab.phones.http import UNSAFE_VALUE, HttpPhone, basic_auth_ok

COMMON_CONFIG = "y000000000000.cfg"
MODEL_CONFIG = {"T54W": "y000000000096.cfg", "T57W": "y000000000097.cfg", "T53": "y000000000095.cfg",
                "T46U": "y000000000108.cfg", "T48U": "y000000000109.cfg"}  # [I] model codes
PARAM_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.]{0,127}$")
KEY_PRESSES = frozenset({"OK", "ENTER", "SPEAKER", "F_TRANSFER", "VOLUME_UP", "VOLUME_DOWN", "MUTE", "F_HOLD",
                         "HOLD", "F_CONFERENCE", "CANCEL"})
SIP_MANDATORY = ("via", "from", "to", "call-id", "cseq")
RECENT_TRANSACTIONS = 16
# `<login>:<password>` of a web/admin account [V: public provisioning templates, e.g. wazo-provd-plugins];
# the admin login name itself is `static.security.user_name.admin` [I]. Absent from a file = unchanged.
USER_PASSWORD = "static.security.user_password"


def parse_config(text: str) -> dict[str, str]:
    """``key = value`` lines of a Yealink .cfg file; comments, blanks and unsafe lines are skipped."""
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = (part.strip() for part in line.partition("="))
        if PARAM_NAME.match(key) and not UNSAFE_VALUE.search(value):
            values[key] = value
    return values


def ip_allowed(address: str, allow_list: str) -> bool:
    """Is ``address`` in a comma-separated allow list where ``*`` matches one octet (10.10.*.*)?"""
    patterns = [p.strip() for p in allow_list.split(",") if p.strip()]
    return any(fnmatch.fnmatchcase(address, pattern) for pattern in patterns)


def parse_sip(datagram: bytes) -> tuple[str, str, dict[str, str]] | None:
    """(method, request URI, lower-cased headers) of a SIP request, or None when it is not one."""
    try:
        head = datagram.decode("utf-8").split("\r\n\r\n", 1)[0]
    except UnicodeDecodeError:
        return None
    lines = head.split("\r\n")
    request_line = lines[0].split(" ")
    if len(request_line) != 3 or request_line[2] != "SIP/2.0":
        return None
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return request_line[0], request_line[1], headers


def sip_response(code: int, reason: str, headers: dict[str, str], extra: tuple[str, ...] = ()) -> bytes:
    to = headers.get("to", "")
    if "tag=" not in to:
        to += f";tag={secrets.token_hex(4)}"
    lines = [f"SIP/2.0 {code} {reason}", f"Via: {headers.get('via', '')}", f"From: {headers.get('from', '')}",
             f"To: {to}", f"Call-ID: {headers.get('call-id', '')}", f"CSeq: {headers.get('cseq', '')}",
             *extra, "Content-Length: 0", "", ""]
    return "\r\n".join(lines).encode()


class SipEndpoint(asyncio.DatagramProtocol):
    """The phone's SIP stack, reduced to what provisioning needs: NOTIFY check-sync."""

    def __init__(self, phone: YealinkPhone) -> None:
        self.phone = phone
        self.transport: asyncio.DatagramTransport | None = None
        self.answered: dict[tuple[str, str, str], bytes] = {}

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        parsed = parse_sip(data)
        if parsed is None or self.transport is None:
            return  # not SIP: a phone drops it silently
        headers = parsed[2]
        transaction = (headers.get("via", ""), headers.get("call-id", ""), headers.get("cseq", ""))
        answer = self.answered.get(transaction)
        if answer is None:  # a retransmission (same Via branch, Call-ID, CSeq) gets the same answer, no new action
            answer = self.answered[transaction] = self.phone.on_sip_request(*parsed)
            while len(self.answered) > RECENT_TRANSACTIONS:
                self.answered.pop(next(iter(self.answered)))
        self.transport.sendto(answer, addr)


@register_platform
class YealinkPhone(HttpPhone):
    platform = "yealink"
    default_params: ClassVar[dict[str, str]] = {
        "static.auto_provision.server.url": "",
        "static.firmware.url": "",
        "features.action_uri.enable": "1",
        "features.action_uri_limit_ip": "",
        "sip.notify_reboot_enable": "1",
        "features.show_action_uri_option": "1",
    }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._sip: asyncio.DatagramTransport | None = None
        self.sip_port = 0
        self.remote_control_allowed: set[str] = set()     # addresses the user accepted on the screen
        self.prompt: asyncio.Future | None = None          # "Allow Remote Control?" on the screen
        self.params.setdefault("account.1.user_name", self.name)

    def initial_params(self, provisioning_url: str) -> dict[str, str]:
        params = {"static.auto_provision.server.url": provisioning_url}
        if "action_uri_limit_ip" in self.options:
            params["features.action_uri_limit_ip"] = str(self.options["action_uri_limit_ip"])
        for option, name in (("notify_reboot_enable", "sip.notify_reboot_enable"),
                             ("show_action_uri_option", "features.show_action_uri_option")):
            if option in self.options:
                params[name] = "1" if self.options[option] else "0"
        return params

    def answer_remote_control(self, allow: bool = True) -> bool:
        """The user answers "Allow Remote Control?" on the screen; False when no prompt is shown."""
        if self.prompt is None or self.prompt.done():
            return False
        self.prompt.set_result(allow)
        return True

    async def _remote_control_accepted(self, address: str) -> bool:
        if self.params.get("features.show_action_uri_option") != "1" or address in self.remote_control_allowed:
            return True
        if self.prompt is None or self.prompt.done():
            self.logline(f"Action URI from {address}: showing 'Allow Remote Control?' (features.show_action_uri_option"
                         f" = 1)")
            self.prompt = asyncio.get_running_loop().create_future()
        allowed = await asyncio.shield(self.prompt)
        if allowed:
            self.remote_control_allowed.add(address)
        return allowed

    def admin_password_from(self, values: dict[str, str]) -> str | None:
        if USER_PASSWORD not in values:
            return None
        login, _, password = values.pop(USER_PASSWORD).partition(":")
        if login != self.credentials.username:
            self.logline(f"{USER_PASSWORD} for account {login!r}: not the admin login, ignored")
            return None
        return password

    # -- life cycle: HTTP plus the SIP socket -----------------------------------------------------------------
    async def _come_up(self) -> None:
        await super()._come_up()
        loop = asyncio.get_running_loop()
        self._sip, _ = await loop.create_datagram_endpoint(lambda: SipEndpoint(self),
                                                           local_addr=(self.host, self.sip_port or self.port))
        self.sip_port = self._sip.get_extra_info("sockname")[1]

    async def _go_down(self) -> None:
        self.remote_control_allowed.clear()          # forgotten at reboot [I]
        if self.prompt is not None and not self.prompt.done():
            self.prompt.set_result(False)
        if self._sip is not None:
            self._sip.close()
            self._sip = None
        await super()._go_down()

    def inventory_vars(self) -> dict:
        return {**super().inventory_vars(), "sip_port": self.sip_port}

    # -- SIP --------------------------------------------------------------------------------------------------
    def on_sip_request(self, method: str, uri: str, headers: dict[str, str]) -> bytes:
        if any(name not in headers for name in SIP_MANDATORY):
            return sip_response(400, "Bad Request", headers)
        if method != "NOTIFY":
            return sip_response(405, "Method Not Allowed", headers, ("Allow: NOTIFY",))
        user = uri.removeprefix("sip:").split("@", 1)[0]
        if user != self.params.get("account.1.user_name"):
            return sip_response(404, "Not Found", headers)
        event, *event_params = (part.strip() for part in headers.get("event", "").split(";"))
        if event.lower() != "check-sync":
            return sip_response(489, "Bad Event", headers)
        reboot = "reboot=true" in (p.lower() for p in event_params)
        if self.params.get("sip.notify_reboot_enable") == "1" and not reboot:
            reboot = True
            self.logline("SIP NOTIFY check-sync: reboot=false overridden, sip.notify_reboot_enable = 1")
        self.logline(f"SIP NOTIFY check-sync (reboot={str(reboot).lower()})")
        self.spawn(self.provision(reboot=reboot))
        return sip_response(200, "OK", headers)

    # -- HTTP: Action URI -------------------------------------------------------------------------------------
    async def route(self, request: web.BaseRequest) -> web.StreamResponse:
        if request.path != "/servlet" or request.method != "GET":
            raise web.HTTPNotFound()
        if self.fault("auth_failure") is not None or not basic_auth_ok(request, self.credentials.username,
                                                            self.credentials.password):
            raise web.HTTPUnauthorized(headers={"WWW-Authenticate": 'Basic realm="Yealink"'})
        if self.params.get("features.action_uri.enable") != "1" or not ip_allowed(
                request.remote or "", self.params.get("features.action_uri_limit_ip", "")):
            self.logline(f"Action URI from {request.remote} refused (not in features.action_uri_limit_ip)")
            raise web.HTTPForbidden(text="Action URI not allowed from this address\n")
        if not await self._remote_control_accepted(request.remote or ""):
            raise web.HTTPForbidden(text="Remote control refused on the phone\n")
        if request.query.get("phonecfg") == "get":
            return web.Response(text=f"model={self.model}\nfirmware={self.version}\nmac={self.mac}\n")
        keys = request.query.get("key", "").split(";")
        if not keys or not all(k in KEY_PRESSES or k in ("Reboot", "AutoP") for k in keys):
            raise web.HTTPBadRequest(text="unknown key value\n")
        for key in keys:
            self._press(key)
        return web.Response(text="OK\n")

    def _press(self, key: str) -> None:
        self.logline(f"Action URI key={key}")
        if key == "Reboot" and not self.pending_reboot:
            self.spawn(self.reboot("Action URI Reboot"))
        elif key == "AutoP":
            self.spawn(self.provision(reboot=False))

    # -- provisioning -----------------------------------------------------------------------------------------
    async def provision(self, reboot: bool) -> None:
        """Fetch common, model and MAC files (later ones win), then install a new firmware build if named."""
        server = self.params.get("static.auto_provision.server.url", "")
        if not server:
            self.logline("auto provisioning skipped: static.auto_provision.server.url is empty")
        names = [COMMON_CONFIG, MODEL_CONFIG.get(self.model), f"{self.mac}.cfg"] if server else []
        for name in filter(None, names):
            content = await self.fetch(urljoin(server, name))
            if content is not None:
                self.set_params(parse_config(content.decode("utf-8", "replace")))
        new_version = await self._firmware_to_install()
        if (new_version or reboot) and not self.pending_reboot:
            reason = f"upgrading to {new_version}" if new_version else "check-sync reboot=true"
            await self.reboot(reason, new_version=new_version)

    async def _firmware_to_install(self) -> str | None:
        url = self.params.get("static.firmware.url", "")
        if not url:
            return None
        image = await self.fetch(url)
        if image is None:
            return None
        version, problem = self.image_version(image)
        if version is None:
            self.logline(f"firmware {url} rejected: {problem}; keeping {self.version}")
            return None
        return version if version != self.version else None
