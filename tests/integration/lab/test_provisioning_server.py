"""The lab provisioning server: staging by file or by authenticated HTTP PUT, and what it refuses."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from lab.device import LabError
from lab.phones.harness import BackgroundLoop
from lab.provisioning import ProvisioningServer, safe_file_name

pytestmark = pytest.mark.timeout(30)


def call(url, method="GET", data=None, token=None):
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - http://127.0.0.1 URL
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - http://127.0.0.1 URL
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.fixture()
def server(tmp_path):
    with BackgroundLoop() as bg:
        prov = ProvisioningServer(tmp_path / "provisioning")
        bg.run(prov.start())
        yield prov
        bg.run(prov.stop())


def test_staged_file_is_served(server):
    server.stage("y000000000096.cfg", b"static.firmware.url = x\n")
    assert call(server.url + "y000000000096.cfg") == (200, b"static.firmware.url = x\n")
    assert call(server.url + "missing.cfg")[0] == 404
    assert ("GET", "missing.cfg", 404) in server.requests


def test_put_upload_needs_the_lab_token(server):
    assert call(server.url + "upload/a.rom", "PUT", b"abc")[0] == 401
    assert call(server.url + "upload/a.rom", "PUT", b"abc", token="guess")[0] == 401
    assert call(server.url + "upload/a.rom", "PUT", b"abc", token=server.token)[0] == 201
    assert (server.root / "a.rom").read_bytes() == b"abc"
    assert server.token_file.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("name", ["..", "..%2Fsecret", ".hidden", "a%0Ab.cfg", "a;b"])
def test_bad_names_are_refused(server, name):
    status, _ = call(server.url + "upload/" + name, "PUT", b"x", token=server.token)
    assert status in (400, 404)
    assert sorted(p.name for p in server.root.iterdir()) == []


def test_safe_file_name():
    assert safe_file_name("sip88xx.12-0-4MPP0001-41.loads")
    for bad in ("../x", "a/b", "", "-x", "a b"):
        with pytest.raises(LabError):
            safe_file_name(bad)


def test_refuses_non_loopback(tmp_path):
    with pytest.raises(LabError):
        ProvisioningServer(tmp_path, host="0.0.0.0")
