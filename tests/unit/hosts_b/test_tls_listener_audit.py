"""The TLS probe against real local TLS listeners (Python ssl servers on 127.0.0.1), no mocks."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
import warnings

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.aiphone.hardening.plugins.modules import tls_listener_audit as audit


@pytest.fixture(scope="module")
def cert_files(tmp_path_factory):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "probe.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("pki")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    return str(folder / "cert.pem"), str(folder / "key.pem")


def tls_server(cert_files, minimum: ssl.TLSVersion):
    """A TLS listener on an ephemeral port; returns (port, stop)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*cert_files)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = minimum
    context.set_ciphers("ALL:@SECLEVEL=0")
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            try:
                with context.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except (OSError, ssl.SSLError):
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener.getsockname()[1], lambda: (stop.set(), thread.join(), listener.close())


def old_tls_possible() -> bool:
    """TLS 1.0 needs SECLEVEL 0 support in the local OpenSSL; skip the negative control where it is compiled out."""
    return ssl.HAS_TLSv1 and ssl.HAS_TLSv1_1


def test_modern_listener_refuses_old_versions(cert_files):
    port, stop = tls_server(cert_files, ssl.TLSVersion.TLSv1_2)
    try:
        result = audit.probe("127.0.0.1", port, ["TLSv1", "TLSv1.1"], 2.0)
    finally:
        stop()
    assert result["tls"] is True
    assert "TLSv1.2" in result["accepted"] and result["weak"] == []


@pytest.mark.skipif(not old_tls_possible(), reason="local OpenSSL has no TLS 1.0/1.1")
def test_listener_accepting_tls10_is_reported(cert_files):
    port, stop = tls_server(cert_files, ssl.TLSVersion.TLSv1)
    try:
        result = audit.probe("127.0.0.1", port, ["TLSv1", "TLSv1.1"], 2.0)
    finally:
        stop()
    assert result["weak"] == ["TLSv1", "TLSv1.1"]


def test_plain_tcp_service_is_not_tls():
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def talk():
        for _ in range(4):
            conn, _ = listener.accept()
            conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")
            conn.close()

    thread = threading.Thread(target=talk, daemon=True)
    thread.start()
    try:
        result = audit.probe("127.0.0.1", port, ["TLSv1"], 2.0)
    finally:
        thread.join(5)
        listener.close()
    assert result == {"address": "127.0.0.1", "port": port, "tls": False, "accepted": [], "weak": []}


def test_proc_net_addresses_are_decoded():
    assert audit.decode_address("0100007F", socket.AF_INET) == "127.0.0.1"
    assert audit.decode_address("00000000000000000000000001000000", socket.AF_INET6) == "::1"
