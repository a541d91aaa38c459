"""What every simulated phone shares: the HTTP listener, faults, the reboot cycle and firmware fetching.

Scale: one aiohttp low-level ``web.Server`` (a protocol factory) serves every phone of the event loop; each phone
only owns its listening socket, and requests are routed to the phone by the local address they arrived on. A phone
therefore costs a socket and a few small dicts, so 1,000 phones fit in one process. A reboot closes the phone's
listening socket and drops its open connections: clients see "connection refused" exactly as with a real phone.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import re
import ssl
import time
import weakref
from collections import deque
from pathlib import Path
from typing import Any, ClassVar
from xml.etree import ElementTree

import aiohttp
from aiohttp import web

from lab.device import Credentials, SimDevice
from lab.phones.tls import server_context

# Faults every HTTP phone models (see lab.device.FAULTS); vendors add their own (e.g. Poly's 4001).
PHONE_FAULTS = frozenset({"auth_failure", "slow_responses", "http_5xx", "busy_in_call",
                          "no_return_after_reload", "boots_old_version"})
DEFAULT_REBOOT_SECONDS = 2.0
REPLY_GRACE = 0.05
FETCH_TIMEOUT = aiohttp.ClientTimeout(total=30)
LOG_LINES = 200
# Values that end up in a phone's configuration: printable, single line, no shell/markup metacharacters.
UNSAFE_VALUE = re.compile(r"[\x00-\x1f\x7f;|`'\"<>]")


def derived_mac(name: str) -> str:
    """A stable, locally administered MAC address for a simulated phone (12 lower-case hex digits)."""
    digest = hashlib.sha256(name.encode()).hexdigest()
    return "02" + digest[:10]


def derived_serial(name: str) -> str:
    return "LAB" + hashlib.sha256(("serial:" + name).encode()).hexdigest()[:9].upper()


def version_key(version: str) -> tuple:
    """Sort key of a vendor version string: its numbers in order (``sip88xx.12-0-4MPP0001-41`` → 88,12,0,4,1,41)."""
    return tuple(int(part) for part in re.findall(r"\d+", version))


def parse_xml(content: bytes) -> ElementTree.Element:
    """Parse a provisioning XML file; documents with a DTD are refused (no entity expansion attacks).

    Raises ElementTree.ParseError for malformed or refused documents.
    """
    if b"<!DOCTYPE" in content.upper() or b"<!ENTITY" in content.upper():
        raise ElementTree.ParseError("DTDs and entities are not accepted")
    return ElementTree.fromstring(content)  # noqa: S314 - no DTD possible past the check above


def basic_auth_ok(request: web.BaseRequest, username: str, password: str) -> bool:
    """True when the request carries HTTP Basic credentials equal to ``username``/``password``."""
    header = request.headers.get("Authorization", "")
    try:
        given = aiohttp.BasicAuth.decode(header)
    except ValueError:
        return False
    return (hmac.compare_digest(given.login.encode(), username.encode())
            and hmac.compare_digest(given.password.encode(), password.encode()))


class PhoneHub:
    """The one HTTP server of an event loop, shared by all its phones, plus the HTTP client they fetch with."""

    _hubs: ClassVar[weakref.WeakKeyDictionary] = weakref.WeakKeyDictionary()

    def __init__(self) -> None:
        self.server = web.Server(self._dispatch)
        self.phones: dict[tuple[str, int], HttpPhone] = {}
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def current(cls) -> PhoneHub:
        loop = asyncio.get_running_loop()
        hub = cls._hubs.get(loop)
        if hub is None:
            hub = cls._hubs[loop] = cls()
        return hub

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=FETCH_TIMEOUT)
        return self._session

    async def listen(self, phone: HttpPhone) -> asyncio.AbstractServer:
        listener = await asyncio.get_running_loop().create_server(self.server, phone.host, phone.port,
                                                                  ssl=phone.ssl_context())
        phone.port = listener.sockets[0].getsockname()[1]
        self.phones[(phone.host, phone.port)] = phone
        return listener

    def drop_connections(self, phone: HttpPhone) -> None:
        """Cut every open connection to ``phone`` (keep-alive clients must not outlive a reboot)."""
        for handler in list(self.server.connections):
            sockname = handler.transport.get_extra_info("sockname") if handler.transport else None
            if sockname and tuple(sockname[:2]) == (phone.host, phone.port):
                handler.transport.abort()

    async def forget(self, phone: HttpPhone) -> None:
        self.phones.pop((phone.host, phone.port), None)
        if not self.phones and self._session is not None:
            await self._session.close()
            self._session = None

    async def _dispatch(self, request: web.BaseRequest) -> web.StreamResponse:
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        phone = self.phones.get(tuple(sockname[:2])) if sockname else None
        if phone is None or not phone.reachable:
            raise web.HTTPServiceUnavailable()
        return await phone.handle(request)


class HttpPhone(SimDevice):
    """A desk phone with an HTTP(S) management interface that boots firmware fetched from a provisioning server.

    Options (all optional): ``reboot_seconds`` (time unreachable during a reboot, default 2),
    ``provisioning_url`` (base URL of the lab provisioning server), ``mac``, ``serial``, ``https`` (serve HTTPS with
    the lab CA of ``tls_dir``, default ``<state_dir>/../tls``; see lab/phones/tls.py).
    """

    supported_faults: ClassVar[frozenset[str]] = PHONE_FAULTS
    default_params: ClassVar[dict[str, str]] = {}

    def __init__(self, name: str, model: str, version: str, host: str, port: int, state_dir: Path,
                 credentials: Credentials, **options: Any) -> None:
        super().__init__(name, model, version, host, port, state_dir, credentials, **options)
        self.reboot_seconds = float(options.get("reboot_seconds", DEFAULT_REBOOT_SECONDS))
        self.mac = str(options.get("mac") or derived_mac(name)).replace(":", "").lower()
        self.serial = str(options.get("serial") or derived_serial(name))
        self.params: dict[str, str] = dict(self.default_params)
        self.params.update(self.initial_params(str(options.get("provisioning_url") or "")))
        self.log: deque[str] = deque(maxlen=LOG_LINES)
        self.booted_at = time.time()
        self.reboot_count = 0
        self.pending_reboot = False
        self.hung = False  # down after a reboot under fault no_return_after_reload, until the fault is cleared
        self._listener: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task] = set()
        self._own_password = False   # True once the admin password was changed away from the lab's login
        self._restore()

    @property
    def https(self) -> bool:
        return bool(self.options.get("https"))

    @property
    def tls_dir(self) -> Path:
        return Path(self.options.get("tls_dir") or self.state_dir.parent / "tls")

    def ssl_context(self) -> ssl.SSLContext | None:
        return server_context(str(self.tls_dir)) if self.https else None

    # -- to be provided by each vendor ------------------------------------------------------------------------
    def initial_params(self, provisioning_url: str) -> dict[str, str]:
        """Vendor parameters derived from the lab options (e.g. where the provisioning server is)."""
        return {}

    async def route(self, request: web.BaseRequest) -> web.StreamResponse:
        raise NotImplementedError

    # -- life cycle -------------------------------------------------------------------------------------------
    async def start(self) -> None:
        await self._come_up()

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._go_down()
        await PhoneHub.current().forget(self)

    async def _come_up(self) -> None:
        if not self.link_up:        # booted while unplugged: still unreachable until the port carries it again
            return
        self._listener = await PhoneHub.current().listen(self)
        self.reachable = True

    async def set_link(self, up: bool) -> None:
        self.link_up = up
        if not up:
            await self._go_down()
        elif self._listener is None and not self.pending_reboot and not self.hung:
            await self._come_up()   # (a reboot under way comes up by itself)

    async def _go_down(self) -> None:
        self.reachable = False
        if self._listener is not None:
            self._listener.close()
            PhoneHub.current().drop_connections(self)
            self._listener = None

    # -- requests ---------------------------------------------------------------------------------------------
    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        slow = self.fault("slow_responses")
        if slow is not None:
            await asyncio.sleep(float(slow.get("delay", 2)))
        failing = self.fault("http_5xx")
        if failing is not None:
            status = int(failing.get("status", 500))
            return web.Response(status=status, text=f"{status} simulated server error\n")
        return await self.route(request)

    def authorized(self, request: web.BaseRequest, username: str, password: str) -> bool:
        return self.fault("auth_failure") is None and basic_auth_ok(request, username, password)

    def spawn(self, coro) -> asyncio.Task:
        """Run ``coro`` in the background, keeping a reference so it is neither lost nor left running at stop."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def logline(self, message: str) -> None:
        self.log.append(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {self.name}: {message}")

    # -- reboot and firmware ----------------------------------------------------------------------------------
    @property
    def in_call(self) -> bool:
        return self.fault("busy_in_call") is not None

    async def wait_until_idle(self) -> None:
        if self.in_call:
            self.logline("in a call: postponing until the call ends")
        while self.in_call:
            await asyncio.sleep(0.1)

    async def reboot(self, reason: str, new_version: str | None = None) -> None:
        """Reboot safely (after the current call): unreachable for ``reboot_seconds``, then boot ``new_version``."""
        self.pending_reboot = True
        await self.wait_until_idle()
        self.logline(f"rebooting: {reason}")
        await asyncio.sleep(REPLY_GRACE)  # let the answer to the request that triggered the reboot leave first
        await self._go_down()
        await asyncio.sleep(self.reboot_seconds)
        if self.fault("no_return_after_reload") is not None:
            self.logline("boot failed: the device does not come back")
            self.hung = True
            return
        self._boot(new_version)
        self.pending_reboot = False
        await self._come_up()

    def on_fault_changed(self, fault: str, active: bool) -> None:
        if fault == "no_return_after_reload" and not active and self.hung:
            self.spawn(self._power_cycle())

    async def _power_cycle(self) -> None:
        """Clearing no_return_after_reload is someone power-cycling the phone: it boots what it last ran."""
        self.hung = False
        self.logline("power cycled")
        self._boot(None)
        self.pending_reboot = False
        await self._come_up()

    def _boot(self, new_version: str | None) -> None:
        self.booted_at = time.time()
        self.reboot_count += 1
        if new_version and new_version != self.version:
            if self.fault("boots_old_version") is not None:
                self.logline(f"new image {new_version} failed to boot; booted previous image {self.version}")
            else:
                self.logline(f"booted new image {new_version} (was {self.version})")
                self.version = new_version
        self._persist()

    async def fetch(self, url: str) -> bytes | None:
        """GET ``url`` (the provisioning server); None, with a log line, when it cannot be fetched."""
        try:
            async with PhoneHub.current().session.get(url) as response:
                if response.status != 200:
                    self.logline(f"fetch {url} failed: HTTP {response.status}")
                    return None
                return await response.read()
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            self.logline(f"fetch {url} failed: {exc or type(exc).__name__}")
            return None

    async def fetch_xml(self, url: str, what: str) -> ElementTree.Element | None:
        """Fetch and parse the provisioning XML ``url``; None, with a log line naming ``what``, when it fails."""
        content = await self.fetch(url)
        if content is None:
            return None
        try:
            return parse_xml(content)
        except ElementTree.ParseError as exc:
            self.logline(f"{what} {url} rejected: {exc}")
            return None

    def image_version(self, image: bytes) -> tuple[str | None, str]:
        """(version, "") when ``image`` is a valid build for this platform and model, else (None, why not)."""
        from lab.firmware_images import identify_image

        identity = identify_image(image)
        if identity is None:
            return None, "image is corrupt or not a firmware image"
        platform, model, version = identity
        if platform != self.platform or model != self.model:
            return None, f"image is for {platform} {model}, not {self.platform} {self.model}"
        return version, ""

    # -- persistence ------------------------------------------------------------------------------------------
    def _restore(self) -> None:
        state = self.load_state()
        self.version = state.get("version", self.version)
        self.params.update(state.get("params", {}))
        if state.get("admin_password"):
            self.credentials = dataclasses.replace(self.credentials, password=state["admin_password"])
            self._own_password = True

    def _persist(self) -> None:
        # The lab keeps a changed admin password in its own run directory (simulated devices, lab-only values)
        # so that it survives a reboot as on a real phone; never in `params`, which config reads show.
        own = {"admin_password": self.credentials.password} if self._own_password else {}
        self.save_state({"version": self.version, "params": self.params, **own})

    def set_params(self, values: dict[str, str]) -> None:
        values = dict(values)
        new_password = self.admin_password_from(values)     # removes the vendor's password parameters
        self.params.update(values)
        if new_password is not None:
            self.change_admin_password(new_password)
        self._persist()

    def admin_password_from(self, values: dict[str, str]) -> str | None:
        """The new admin password a batch of vendor parameters sets (popping those parameters), or None."""
        return None

    def change_admin_password(self, password: str) -> None:
        """From now on the admin login takes ``password`` only (the old one is refused)."""
        if not password or UNSAFE_VALUE.search(password):
            self.logline("admin password change refused: empty or unsafe value")
            return
        self.credentials = dataclasses.replace(self.credentials, password=password)
        self._own_password = True
        self.logline("admin password changed")

    # -- reporting --------------------------------------------------------------------------------------------
    def base_url(self) -> str:
        return f"{'https' if self.https else 'http'}://{self.host}:{self.port}"

    def uptime_seconds(self) -> int:
        return int(time.time() - self.booted_at)

    def inventory_vars(self) -> dict:
        tls = {"phone_scheme": "https", "phone_ca_file": str(self.tls_dir / "ca.pem")} if self.https else {}
        return {"ansible_host": self.host, "ansible_port": self.port, "platform": self.platform,
                "model": self.model, "phone_mac": self.mac, **tls}

    def status(self) -> dict:
        return {**super().status(), "mac": self.mac, "pending_reboot": self.pending_reboot,
                "log": list(self.log)[-5:]}
