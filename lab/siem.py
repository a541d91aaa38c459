"""The lab's SIEM: a real rsyslog receiver of syslog over TLS (RFC 5425, port 6514) with its own lab CA.

`start(run_dir, network, clients)` creates a CA and a server certificate for the policy's SIEM name (cryptography),
starts one container of the lab base image (rsyslog + rsyslog-gnutls are in it) on the lab hosts' podman network,
configures rsyslog's imtcp with the gtls driver (rsyslog docs "Encrypting Syslog Traffic with TLS": DefaultNetstream-
Driver{CA,Cert,Key}File, StreamDriver.Mode=1; clients are not asked for a certificate: AuthMode anon), writes every
line received into /var/log/remote/<sender hostname>.log, and makes the SIEM name resolve on each client (an
/etc/hosts line, as a site's DNS would). It checks from the controller that the listener completes a TLS handshake
against the lab CA for that name before returning.

The hosts' audit_logging role then forwards to `siem.host` of the policy exactly as on a real site, trusting only the
lab CA (run_dir/siem/ca.pem). Several labs may run at once: the container is named after the run directory.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from lab import linux_hosts

STATE_DIR = "siem"
PORT = 6514
RECEIVED_DIR = "/var/log/remote"
READY_TIMEOUT = 60.0
RECEIVER_CONF = f"""# aiphone lab SIEM: syslog over TLS (RFC 5425) on {PORT}, one file per sending host
global(DefaultNetstreamDriverCAFile="/etc/rsyslog.d/lab-siem-ca.pem"
       DefaultNetstreamDriverCertFile="/etc/rsyslog.d/lab-siem.pem"
       DefaultNetstreamDriverKeyFile="/etc/rsyslog.d/lab-siem.key")
module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="anon")
template(name="aiphone_per_host" type="string" string="{RECEIVED_DIR}/%HOSTNAME%.log")
input(type="imtcp" port="{PORT}" ruleset="aiphone_remote")
ruleset(name="aiphone_remote") {{
  action(type="omfile" dynaFile="aiphone_per_host" dirCreateMode="0750" fileCreateMode="0640")
}}
"""

__all__ = ["SiemError", "container_name", "start", "stop"]


class SiemError(RuntimeError):
    """The lab SIEM could not be started or does not answer; the message says why."""


def container_name(run_dir) -> str:
    return f"{linux_hosts.PREFIX}{linux_hosts._run_id(Path(run_dir).resolve())}-siem"


def _pki(state_dir: Path, name: str) -> None:
    """ca.pem (lab CA) and server.pem/server.key (for `name`), made once per run directory."""
    if (state_dir / "server.pem").exists():
        return
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "aiphone lab SIEM CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
          .not_valid_after(now + dt.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    (state_dir / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    key_file = state_dir / "server.key"
    key_file.touch(mode=0o600)
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    (state_dir / "server.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _configure(container: str, state_dir: Path) -> None:
    for source, target in (("ca.pem", "lab-siem-ca.pem"), ("server.pem", "lab-siem.pem"),
                           ("server.key", "lab-siem.key")):
        linux_hosts._podman("cp", str(state_dir / source), f"{container}:/etc/rsyslog.d/{target}")
    linux_hosts._podman("exec", "-i", container, "sh", "-c",
                        "cat > /etc/rsyslog.d/10-aiphone-lab-siem.conf && chmod 0600 /etc/rsyslog.d/lab-siem.key && "
                        "rsyslogd -N1 >/dev/null && systemctl restart rsyslog", stdin=RECEIVER_CONF)


def _wait_ready(address: str, name: str, ca_file: Path) -> None:
    context = ssl.create_default_context(cafile=str(ca_file))
    deadline, last = time.monotonic() + READY_TIMEOUT, "no answer yet"
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((address, PORT), timeout=3) as raw, \
                    context.wrap_socket(raw, server_hostname=name):
                return
        except (OSError, ssl.SSLError) as exc:
            last = str(exc)
        time.sleep(0.5)
    raise SiemError(f"the lab SIEM at {address}:{PORT} completed no TLS handshake for {name} within "
                    f"{READY_TIMEOUT:.0f} s ({last})")


def start(run_dir, name: str, clients: dict[str, dict]) -> dict:
    """Start the SIEM for the hosts `clients` ({host: inventory vars from linux_hosts.start}); return its vars."""
    run_path = Path(run_dir).resolve()
    state_dir = run_path / STATE_DIR
    state_dir.mkdir(parents=True, exist_ok=True)
    _pki(state_dir, name)
    network = linux_hosts.PREFIX + linux_hosts._run_id(run_path)
    container = container_name(run_path)
    spec = linux_hosts.HostSpec("siem")
    linux_hosts._run_container(spec, container, network, run_path)
    address = linux_hosts._container_address(container, network)
    try:
        linux_hosts.wait_for_boot(container, READY_TIMEOUT)
    except linux_hosts.LabHostError as exc:
        raise SiemError(str(exc)) from exc
    _configure(container, state_dir)
    _wait_ready(address, name, state_dir / "ca.pem")
    ipaddress.IPv4Address(address)
    for host in clients.values():
        linux_hosts._podman("exec", host["aiphone_lab_container"], "sh", "-c",
                            f"grep -q ' {name}$' /etc/hosts || echo '{address} {name}' >> /etc/hosts")
    (state_dir / "address").write_text(address + "\n")
    return {"ansible_connection": "containers.podman.podman", "ansible_host": container,
            "ansible_python_interpreter": "/usr/bin/python3", "aiphone_siem_received_dir": RECEIVED_DIR,
            "aiphone_siem_address": address}


def stop(run_dir) -> None:
    """The container goes with the lab hosts' cleanup (it carries their run-directory label)."""
    linux_hosts._podman("rm", "-f", "-t", "3", container_name(run_dir), check=False)
