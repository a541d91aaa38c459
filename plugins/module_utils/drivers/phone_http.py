"""What the phone firmware drivers share: an HTTP client with named errors, the provisioning server store, and the
reboot watch (went down -> came back -> which version).

Phones take firmware from the site's provisioning server, never from the toolkit directly: the driver stages the
image there (a directory the controller can write, or HTTP PUT `/upload/<file>` with a bearer token), points the
phone at it the vendor's way, and watches the reboot.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import json
import os
import re
import ssl
import threading
import time
import urllib.error
import urllib.request
from typing import ClassVar
from urllib.parse import quote, urljoin, urlsplit

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.base import (
    AdminPassword,
    DeviceFacts,
    FirmwareDriver,
    PhoneHardening,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import (
    AuthenticationFailed,
    ChecksumMismatch,
    ConnectionFailed,
    DeviceBusy,
    DeviceUnreachable,
    DriverError,
    InvalidValue,
    UnexpectedOutput,
    VerificationFailed,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.firmware.contract import Target, check_local_image

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class HttpError(DriverError):
    """The phone answered with an HTTP error status (`status` holds it)."""

    def __init__(self, message: str, status: int, device: str | None = None, body: bytes = b""):
        super().__init__(message, device)
        self.status = status
        self.body = body


def http_request(url: str, method: str = "GET", body: bytes | None = None, headers: dict | None = None,
                 timeout: float = 10, device: str | None = None) -> tuple[int, bytes]:
    """One HTTP request -> (status, body). Connection problems -> ConnectionFailed, 401 -> AuthenticationFailed,
    other >= 400 -> HttpError. Proxies from the environment are ignored: phones sit on the local voice VLAN."""
    if not url.startswith(("http://", "https://")):
        raise InvalidValue(f"only http(s) URLs are used, not {url!r}", device)
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})  # noqa: S310 - checked
    try:
        with _NO_PROXY.open(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        body = exc.read()
        if exc.code == 401:
            raise AuthenticationFailed(f"{url}: HTTP 401, credentials refused", device) from None
        text = body[:200].decode("utf-8", "replace").strip()
        raise HttpError(f"{method} {url}: HTTP {exc.code} {text}", exc.code, device, body) from None
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ConnectionFailed(f"{method} {url}: {reason}", device) from None


# Methods a client may send again when a kept-alive connection turns out to be closed (RFC 9110 9.2.2, as urllib3's
# default Retry allows): the first attempt may have reached the phone, a second one changes nothing more.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
# A request that is not idempotent goes on a fresh connection when the kept one has been idle longer than this:
# servers close idle keep-alive connections after a few seconds (Apache's KeepAliveTimeout default is 5 s), and a
# POST lost on a connection closed under it cannot be sent again safely.
KEEPALIVE_IDLE_REUSE = 2.0
# What a connection the server closed in the meantime raises on reuse, before any answer came back.
STALE_CONNECTION = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError, ConnectionAbortedError,
                    http.client.CannotSendRequest, http.client.BadStatusLine)


class HttpSession:
    """One kept-alive HTTP/1.1 connection to one phone (``base_url``), for every request of a driver session.

    A phone driver used to open a TCP connection per request (urllib); with this, a session of many requests
    (hardening: config/get, config/set, config/get ...) costs one connection. A connection the phone closed
    meanwhile (keep-alive timeout, a reboot) is replaced: an idempotent request is sent once more on a fresh
    connection; a POST is never sent twice - it goes on a fresh connection when the kept one is idle, and a
    failure is ConnectionFailed as before. Errors are those of ``http_request``. Not shared between threads (one
    driver object per device and thread)."""

    def __init__(self, base_url: str, device: str | None = None, context: ssl.SSLContext | None = None):
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidValue(f"only http(s) URLs are used, not {base_url!r}", device)
        self.scheme, self.host, self.port = parts.scheme, parts.hostname, parts.port
        self.device = device
        self.context = context
        self._connection: http.client.HTTPConnection | None = None
        self._last_used = 0.0
        self.connections_opened = 0      # how many TCP connections this session needed (tests, benches)

    def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.close()
            self._connection = None

    def _connect(self, timeout: float) -> http.client.HTTPConnection:
        self.close()
        if self.scheme == "https":
            connection = http.client.HTTPSConnection(self.host, self.port, timeout=timeout,
                                                     context=self.context or ssl.create_default_context())
        else:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        self._connection = connection
        self.connections_opened += 1
        return connection

    def request(self, path: str, method: str = "GET", body: bytes | None = None, headers: dict | None = None,
                timeout: float = 10) -> tuple[int, bytes]:
        url = f"{self.scheme}://{self.host}{f':{self.port}' if self.port else ''}{path}"
        if not path.startswith("/"):
            raise InvalidValue(f"a request path starts with '/', not {path!r}", self.device)
        reused = self._connection is not None
        if reused and method not in IDEMPOTENT_METHODS and time.monotonic() - self._last_used > KEEPALIVE_IDLE_REUSE:
            reused = False
            self.close()
        try:
            try:
                status, reason, data, closing = self._send(self._connection or self._connect(timeout), path, method,
                                                           body, headers, timeout)
            except STALE_CONNECTION:
                if not (reused and method in IDEMPOTENT_METHODS):
                    raise
                status, reason, data, closing = self._send(self._connect(timeout), path, method, body, headers,
                                                           timeout)
        except (http.client.HTTPException, ConnectionError, TimeoutError, OSError) as exc:
            self.close()
            raise ConnectionFailed(f"{method} {url}: {exc or type(exc).__name__}", self.device) from None
        self._last_used = time.monotonic()
        if closing:
            self.close()
        return _checked(url, method, status, reason, data, self.device)

    @staticmethod
    def _send(connection: http.client.HTTPConnection, path: str, method: str, body: bytes | None,
              headers: dict | None, timeout: float) -> tuple[int, str, bytes, bool]:
        connection.timeout = timeout
        if connection.sock is not None:
            connection.sock.settimeout(timeout)
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
        return response.status, response.reason, data, response.will_close


def _checked(url: str, method: str, status: int, reason: str, body: bytes, device: str | None) -> tuple[int, bytes]:
    """http_request's status rules: 401 -> AuthenticationFailed, other >= 400 -> HttpError."""
    if status == 401:
        raise AuthenticationFailed(f"{url}: HTTP 401, credentials refused", device)
    if status >= 400:
        text = body[:200].decode("utf-8", "replace").strip()
        raise HttpError(f"{method} {url}: HTTP {status} {text or reason}", status, device, body)
    return status, body


def model_key(name: str) -> str:
    """A model name as compared with a baseline: phones spell it their way (Poly's REST API says ``"VVX 450"``,
    ``"Trio 8800"``; the policy and the master file's element names say ``VVX450``), so blanks and case are not
    significant."""
    return re.sub(r"\s+", "", str(name or "")).upper()


def basic_auth(username: str, password: str) -> dict:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


class ProvisioningStore:
    """The provisioning server phones fetch from: ``url`` as phones see it, written through ``directory`` or
    ``upload_url`` (HTTP PUT ``<upload_url><file>`` with ``Authorization: Bearer <token>``)."""

    _staged: ClassVar[dict[tuple[str, str], str]] = {}   # (url, file) -> sha256 verified by this process
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, url: str, directory: str = "", upload_url: str = "", token: str = ""):
        if not url:
            raise InvalidValue("provisioning_url is required: the URL phones fetch firmware and config from")
        if not directory and not upload_url:
            raise InvalidValue("set provisioning_dir (a writable directory) or provisioning_upload_url + token")
        self.url = url if url.endswith("/") else url + "/"
        self.directory = directory
        self.upload_url = upload_url if not upload_url or upload_url.endswith("/") else upload_url + "/"
        self.token = token

    def file_url(self, name: str) -> str:
        return urljoin(self.url, quote(name))

    def read(self, name: str) -> bytes | None:
        """The file as phones see it, or None when it is not there."""
        try:
            return http_request(self.file_url(name), timeout=30)[1]
        except HttpError as exc:
            if exc.status == 404:
                return None
            raise

    def write(self, name: str, content: bytes) -> None:
        if self.directory:
            target = os.path.join(self.directory, name)
            tmp = f"{target}.{os.getpid()}.{threading.get_ident()}.part"
            with open(tmp, "wb") as handle:
                handle.write(content)
            os.replace(tmp, target)          # atomic: a phone never fetches half a file
            return
        http_request(self.upload_url + quote(name), "PUT", content,
                     {"Authorization": f"Bearer {self.token}", "Content-Type": "application/octet-stream"},
                     timeout=300)

    def remove(self, name: str) -> bool:
        """Delete a file when the store is a directory; False when it cannot (upload-only stores)."""
        if not self.directory:
            return False
        with contextlib.suppress(FileNotFoundError):
            os.remove(os.path.join(self.directory, name))
        return True

    def stage_image(self, target: Target, device: str | None = None) -> dict:
        """Make ``target.image`` available to phones and prove it by reading it back; once per process and image."""
        key = (self.url, target.image)
        with self._lock:
            if self._staged.get(key) == target.sha256:
                return {"image_url": self.file_url(target.image), "transferred": False}
            served = self.read(target.image)
            transferred = served is None or hashlib.sha256(served).hexdigest() != target.sha256
            if transferred:
                with open(target.path, "rb") as handle:
                    self.write(target.image, handle.read())
                served = self.read(target.image) or b""
            actual = hashlib.sha256(served).hexdigest()
            if actual != target.sha256:
                raise ChecksumMismatch(f"{self.file_url(target.image)} has sha256 {actual}, the baseline says "
                                       f"{target.sha256}", device)
            self._staged[key] = actual
            return {"image_url": self.file_url(target.image), "transferred": transferred}


class HttpPhoneDriver(AdminPassword, PhoneHardening, FirmwareDriver):
    """Base of the phone drivers. Options: provisioning_url, provisioning_dir | provisioning_upload_url +
    provisioning_token, reboot_seconds, reboot_timeout, reboot_start_timeout, scheme (http|https)."""

    default_port = 80
    model_reboot_seconds: ClassVar[dict[str, int]] = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.scheme = self.options.get("scheme", "http")
        self.base_url = f"{self.scheme}://{self.host}:{self.port or self.default_port}"
        self._facts: DeviceFacts = {}
        self._facts_unused = False       # the facts open() read, not yet handed out
        self._replaced: dict[str, bytes | None] = {}     # provisioning files rewritten -> previous content
        self._before_version = ""
        self.http = HttpSession(self.base_url, self.name)   # one kept-alive connection per phone session

    # -- session ----------------------------------------------------------------------------------------------
    def open(self) -> None:
        """Authenticate by reading the facts (a phone has no login of its own: a refused read is the refusal);
        that read is what the session's first get_facts() / get_firmware() returns, so opening and reading the
        facts cost one request, not two."""
        self._facts = self.read_facts()
        self._facts_unused = True

    def close(self) -> None:
        self._facts = {}
        self._facts_unused = False
        self.http.close()

    def get_facts(self) -> DeviceFacts:
        """The facts read by open() the first time after it, a fresh read every later time (a reboot watch
        polls this)."""
        if not self._facts_unused:
            self._facts = self.read_facts()
        self._facts_unused = False
        return dict(self._facts)

    def read_facts(self) -> DeviceFacts:
        raise NotImplementedError

    def call(self, path: str, method: str = "GET", body: bytes | None = None, headers: dict | None = None) -> bytes:
        return self.http.request(path, method, body, {**self.auth_headers(), **(headers or {})},
                                 timeout=self.timeout)[1]

    def call_json(self, path: str, method: str = "GET", payload=None) -> dict:
        body = json.dumps(payload).encode() if payload is not None else None
        raw = self.call(path, method, body, {"Content-Type": "application/json"} if body else None)
        try:
            return json.loads(raw)
        except ValueError:
            raise UnexpectedOutput(f"{path}: not JSON: {raw[:120]!r}", self.name) from None

    def auth_headers(self) -> dict:
        return basic_auth(self.username, self.password)

    # -- firmware steps shared by every phone -----------------------------------------------------------------
    @property
    def reboot_seconds(self) -> int:     # per model, overridable per device (inventory)
        configured = self.options.get("reboot_seconds")
        model = model_key(self._facts.get("model") or self.options.get("model", ""))
        known = {model_key(name): seconds for name, seconds in self.model_reboot_seconds.items()}
        return float(configured) if configured else known.get(model, 300)

    def get_firmware(self) -> dict:
        facts = self.get_facts()
        return {"version": facts.get("os_version", ""), "model": facts.get("model", ""),
                "image": facts.get("image", "")}

    @property
    def store(self) -> ProvisioningStore:
        return ProvisioningStore(self.options.get("provisioning_url", ""), self.options.get("provisioning_dir", ""),
                                 self.options.get("provisioning_upload_url", ""),
                                 self.options.get("provisioning_token", ""))

    def precheck(self, target: Target) -> dict:
        model = self._facts.get("model") or self.get_facts().get("model")
        if model_key(model) != model_key(target.model):
            raise VerificationFailed(f"the phone reports model {model!r}, the baseline is for {target.model!r}",
                                     self.name)
        return {"model": model, "image_sha256": check_local_image(target, self.name)}

    def stage(self, target: Target) -> dict:
        return self.store.stage_image(target, self.name)

    def wait_until_back(self, timeout: float) -> None:
        """Went down (or already reports a new version) -> answers again. A phone that never goes down has
        postponed its reboot (in a call): DeviceBusy."""
        deadline = time.monotonic() + timeout
        start_deadline = time.monotonic() + float(self.options.get("reboot_start_timeout") or self.reboot_seconds)
        poll = max(0.05, min(2.0, self.reboot_seconds / 40))
        went_down = False
        while time.monotonic() < deadline:
            try:
                version = self.get_firmware()["version"]
            except (ConnectionFailed, HttpError):
                went_down = True
            else:
                if went_down or version != self._before_version:
                    return
                if time.monotonic() > start_deadline:
                    raise DeviceBusy("the phone postponed its reboot (in a call?); retried later", self.name)
            time.sleep(poll)
        raise DeviceUnreachable(f"no answer within {timeout:.0f}s after the reboot", self.name)

    def activate(self, target: Target) -> None:
        self._before_version = self._facts.get("os_version") or self.get_firmware()["version"]
        self.point_and_reboot(target, self.store.file_url(target.image))

    def point_and_reboot(self, target: Target, image_url: str) -> None:
        raise NotImplementedError

    def postcheck(self, target: Target, before: dict) -> dict:
        now = self.get_firmware()
        if now["version"] != target.version:
            raise VerificationFailed(f"after the reboot the phone runs {now['version']}, not {target.version} "
                                     f"(it kept its previous image)", self.name)
        return now

    def recover(self, target: Target, before: dict) -> dict:
        """Stop the phone from retrying the image, then report what it runs (it boots its previous image itself
        when the new one fails); unreachable -> DeviceUnreachable (hands-on)."""
        self.unpoint(target)
        return self.get_firmware()

    def unpoint(self, target: Target) -> None:
        """Remove whatever makes the phone fetch ``target`` again: restore the provisioning files replaced."""
        for name, previous in self._replaced.items():
            if previous is not None:
                self.store.write(name, previous)
            elif not self.store.remove(name):
                self.store.write(name, self.neutral_file(name))
        self._replaced = {}

    # -- admin password (credential rotation) ------------------------------------------------------------------
    def change_admin_password(self, new_password: str) -> None:
        """Ask the phone, the vendor's way, to take ``new_password`` as its admin password. The change may apply
        asynchronously (after a provisioning fetch); the caller proves it with a new login. ``new_password`` has
        passed the injection guard."""
        raise NotImplementedError

    def clear_password_staging(self) -> list[str]:
        """Remove the new password from wherever change_admin_password() staged it (provisioning files); the
        phone keeps it. Returns notes for the operator."""
        return []

    # -- hardening through the provisioning path (documented parameters only: docs/vendor-fidelity.md) ----------
    # {parameter: value} that puts this vendor's phone on the checklist's "encrypt in transit" / "secure
    # configuration"; NOT_COVERED: what the checklist asks for that no public source documents for this vendor.
    hardening: ClassVar[dict[str, str]] = {}
    not_covered: ClassVar[tuple[str, ...]] = ()

    def harden(self) -> dict:
        """Provision ``hardening`` the vendor's way and read it back; {"changed", "settings", "verified_by",
        "not_covered"}. VerificationFailed when the read-back disagrees."""
        raise NotImplementedError

    def hardening_read_back(self) -> dict[str, str]:
        """The hardening parameters as the phone (or, where it exposes none, its provisioning file) holds them
        now: read-only, the evidence of compliance check phones.hardened."""
        raise NotImplementedError

    # -- provisioning files the driver rewrites (per-MAC files: only this phone is affected) --------------------
    def replace_file(self, name: str, content: bytes) -> None:
        """Write a provisioning file, remembering its previous content for unpoint()."""
        if name not in self._replaced:
            self._replaced[name] = self.store.read(name)
        self.store.write(name, content)

    def neutral_file(self, name: str) -> bytes:
        """Content equivalent to "no such file" for stores that cannot delete."""
        return b""


def hardening_gaps(wanted: dict[str, str], read_back: dict[str, str]) -> list[str]:
    """``parameter: have X, want Y`` for every hardening parameter the phone does not hold."""
    return [f"{name}: {read_back.get(name, '(absent)')!s}, want {value}" for name, value in wanted.items()
            if read_back.get(name) != value]
