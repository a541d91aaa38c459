"""The lab's provisioning server: the HTTP file server phones fetch their configuration and firmware from.

Files live in one flat directory (``<run_dir>/provisioning`` by default). Staging a file = writing it there
(what the toolkit does on a real site's provisioning server), or, from another machine, an HTTP PUT::

    curl -T 3111-49950-001.sip.ld -H "Authorization: Bearer $(cat run/provisioning.token)" \\
         http://127.0.0.1:<port>/upload/3111-49950-001.sip.ld

The token is created at first start in ``<run_dir>/provisioning.token`` (mode 0600); uploads without it get 401.
Every request is kept in :attr:`ProvisioningServer.requests` so tests can see what a phone fetched.
"""

from __future__ import annotations

import hmac
import os
import re
import secrets
from collections import deque
from pathlib import Path

from aiohttp import web

from lab.device import LOOPBACK_PREFIX, LabError

# Flat file names as vendors use them (3111-49950-001.sip.ld, y000000000096.cfg, sip88xx.12-0-4MPP0001-41.loads).
FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
MAX_UPLOAD_BYTES = 512 * 1024 * 1024
REQUEST_LOG = 500


def safe_file_name(name: str) -> str:
    """``name`` if it is a plain file name (no directory, no traversal, no odd characters), else LabError."""
    if not FILE_NAME.match(name) or ".." in name:
        raise LabError(f"invalid provisioning file name {name!r}: use letters, digits, '.', '_' and '-' only")
    return name


class ProvisioningServer:
    """HTTP file server on 127.0.0.1: GET/HEAD ``/<file>``, PUT ``/upload/<file>`` with the lab token."""

    def __init__(self, root: Path, host: str = "127.0.0.1", port: int = 0, token_file: Path | None = None) -> None:
        if not host.startswith(LOOPBACK_PREFIX):
            raise LabError(f"the provisioning server binds only to 127.0.0.0/8, not {host!r}")
        self.root = Path(root)
        self.host = host
        self.port = port
        self.token_file = Path(token_file) if token_file else self.root.parent / "provisioning.token"
        self.requests: deque[tuple[str, str, int]] = deque(maxlen=REQUEST_LOG)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    @property
    def token(self) -> str:
        return self.token_file.read_text().strip()

    def stage(self, name: str, content: bytes) -> Path:
        """Put a file where phones fetch it from (atomically: a phone never sees half a file)."""
        target = self.root / safe_file_name(name)
        tmp = target.with_name(f".{target.name}.part")
        tmp.write_bytes(content)
        os.replace(tmp, target)
        return target

    async def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if not self.token_file.exists():
            self.token_file.write_text(secrets.token_urlsafe(24) + "\n")
            self.token_file.chmod(0o600)
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES)
        app.router.add_route("GET", "/{name}", self._get)  # GET routes also answer HEAD
        app.router.add_put("/upload/{name}", self._put)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _record(self, request: web.Request, name: str, status: int) -> None:
        self.requests.append((request.method, name, status))

    async def _get(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        try:
            path = self.root / safe_file_name(name)
        except LabError:
            self._record(request, name, 400)
            raise web.HTTPBadRequest(text="invalid file name\n") from None
        if not path.is_file():
            self._record(request, name, 404)
            raise web.HTTPNotFound(text=f"{name} is not staged on this provisioning server\n")
        self._record(request, name, 200)
        return web.FileResponse(path)

    async def _put(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not given or not hmac.compare_digest(given.encode(), self.token.encode()):
            self._record(request, name, 401)
            raise web.HTTPUnauthorized(text="upload needs 'Authorization: Bearer <lab provisioning token>'\n")
        try:
            self.stage(name, await request.read())
        except LabError as exc:
            self._record(request, name, 400)
            raise web.HTTPBadRequest(text=f"{exc}\n") from None
        self._record(request, name, 201)
        return web.Response(status=201, text=f"staged {name}\n")
