"""Driver sessions at fleet scale (issue #23): one kept-alive HTTP connection per phone session, the facts read
once per session, and the SSH drivers' privileged-mode check taken from the login prompt (no round trip).

A real HTTP/1.1 server on 127.0.0.1 (http.server) counts connections and requests; it can close a kept-alive
connection under the client, as a phone's keep-alive timeout or a reboot does.
"""

from __future__ import annotations

import http.server
import json
import threading

import pytest

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers import exceptions as drv_exc
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers import phone_http
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.poly import PolyDriver
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.ssh import in_privileged_exec

DEVICE_INFO = {"Status": "2000", "data": {"ModelNumber": "VVX 450", "FirmwareRelease": "6.4.6.2000",
                                          "MACAddress": "00:04:f2:aa:bb:cc", "UpTimeSinceLastReboot": "0 Day 0:12:25"}}


class Phone(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.connections = 0
        self.requests: list[tuple[str, str]] = []
        self.close_next = False      # drop the connection after reading the next request, without answering

    @property
    def port(self) -> int:
        return self.server_address[1]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"     # keep-alive unless the client or the server says otherwise

    def setup(self):
        super().setup()
        self.server.connections += 1

    def log_message(self, *args):
        pass

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.server.requests.append((self.command, self.path))
        if self.server.close_next:
            self.server.close_next = False
            self.close_connection = True
            return
        if self.headers.get("Authorization") != phone_http.basic_auth("Polycom", "pw")["Authorization"]:
            body, status = b"{}", 401
        else:
            body, status = json.dumps(DEVICE_INFO).encode(), 200
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer


@pytest.fixture
def phone():
    server = Phone()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_open_then_get_facts_is_one_request_and_later_reads_are_fresh(phone):
    with PolyDriver(host="127.0.0.1", port=phone.port, password="pw", name="ph") as driver:
        facts = driver.get_facts()
        assert facts["os_version"] == "6.4.6.2000" and facts["model"] == "VVX 450"
        assert len(phone.requests) == 1                       # open() read them; get_facts() handed them out
        driver.get_facts()
        driver.get_firmware()
        assert len(phone.requests) == 3                       # later reads ask the phone (a reboot watch polls)
    assert phone.connections == 1                             # ... on one kept-alive connection


def test_first_get_firmware_after_open_uses_the_open_read(phone):
    with PolyDriver(host="127.0.0.1", port=phone.port, password="pw", name="ph") as driver:
        assert driver.get_firmware()["version"] == "6.4.6.2000"
        assert len(phone.requests) == 1


def test_a_refused_login_is_authentication_failed(phone):
    with pytest.raises(drv_exc.AuthenticationFailed):
        PolyDriver(host="127.0.0.1", port=phone.port, password="wrong", name="ph").open()


def test_a_get_on_a_connection_closed_meanwhile_is_sent_again_once(phone):
    session = phone_http.HttpSession(f"http://127.0.0.1:{phone.port}", "ph")
    auth = phone_http.basic_auth("Polycom", "pw")
    assert session.request("/a", headers=auth)[0] == 200
    phone.close_next = True                                   # the phone drops the kept connection
    assert session.request("/b", headers=auth)[0] == 200      # stale: sent once more on a fresh connection
    assert [p for _, p in phone.requests] == ["/a", "/b", "/b"] and session.connections_opened == 2


def test_a_post_is_never_sent_twice(phone):
    session = phone_http.HttpSession(f"http://127.0.0.1:{phone.port}", "ph")
    auth = phone_http.basic_auth("Polycom", "pw")
    session.request("/a", headers=auth)
    phone.close_next = True
    with pytest.raises(drv_exc.ConnectionFailed):
        session.request("/reboot", "POST", b"{}", auth)
    assert [r for r in phone.requests if r[1] == "/reboot"] == [("POST", "/reboot")]
    assert session.request("/c", headers=auth)[0] == 200      # the session recovers on a new connection


def test_a_post_after_idle_goes_on_a_fresh_connection(phone, monkeypatch):
    session = phone_http.HttpSession(f"http://127.0.0.1:{phone.port}", "ph")
    auth = phone_http.basic_auth("Polycom", "pw")
    session.request("/a", headers=auth)
    monkeypatch.setattr(phone_http, "KEEPALIVE_IDLE_REUSE", -1.0)   # as if idle longer than a keep-alive timeout
    session.request("/set", "POST", b"{}", auth)
    assert session.connections_opened == 2 and phone.connections == 2


def test_errors_keep_their_names(phone):
    session = phone_http.HttpSession(f"http://127.0.0.1:{phone.port}", "ph")
    with pytest.raises(drv_exc.AuthenticationFailed):
        session.request("/a")
    session.close()
    phone.shutdown()
    phone.server_close()                                      # nothing listens there any more
    with pytest.raises(drv_exc.ConnectionFailed):
        session.request("/a", timeout=2)
    with pytest.raises(drv_exc.InvalidValue):
        phone_http.HttpSession("ftp://127.0.0.1/", "ph")


@pytest.mark.parametrize("prompt, privileged", [
    ("sw-core-01#", True), ("sw-core-01>", False), ("sw-core-01# ", True), ("", None), ("(config)$", None),
])
def test_privileged_mode_from_the_login_prompt(prompt, privileged):
    class Session:
        last_prompt = prompt

    assert in_privileged_exec(Session()) is privileged
    assert in_privileged_exec(object()) is None               # a connection that recorded nothing: ask the device
