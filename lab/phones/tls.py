"""Optional HTTPS for the simulated phones: a lab CA and one server certificate for 127.0.0.1.

Every lab device listens on 127.0.0.1, so one certificate (SAN IP:127.0.0.1, DNS:localhost) serves them all; clients
verify it against ``<tls_dir>/ca.pem``. The CA protects simulated devices only; it is created on first use, keys mode
0600, and never leaves the run directory.
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import os
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = dt.timedelta(days=825)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))


def _certificate(subject: str, key, issuer_name: x509.Name | None, issuer_key, ca: bool) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer_name or name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + VALIDITY)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if not ca:
        builder = (builder.add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False))
    return builder.sign(issuer_key, hashes.SHA256())


def ensure_lab_ca(tls_dir: Path) -> Path:
    """Create (once) the lab CA and the 127.0.0.1 server certificate in ``tls_dir``; return the CA file."""
    tls_dir.mkdir(parents=True, exist_ok=True)
    ca_file, server_file = tls_dir / "ca.pem", tls_dir / "server.pem"
    if ca_file.exists() and server_file.exists():
        return ca_file
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_cert = _certificate("aiphone lab CA (simulated devices only)", ca_key, None, ca_key, ca=True)
    server_cert = _certificate("127.0.0.1", server_key, ca_cert.subject, ca_key, ca=False)
    _write_key(tls_dir / "server.key", server_key)
    server_file.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    return ca_file


@functools.lru_cache(maxsize=8)
def server_context(tls_dir: str) -> ssl.SSLContext:
    """One TLS server context per lab (shared by every phone that serves HTTPS)."""
    ensure_lab_ca(Path(tls_dir))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(Path(tls_dir) / "server.pem", Path(tls_dir) / "server.key")
    return context
