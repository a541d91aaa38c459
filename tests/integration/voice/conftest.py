"""The voice edge lab (issue 15): one lab and one converge for the whole package.

Three lab Linux hosts (lab/linux_hosts.py, podman containers with systemd): ``pbx-01`` runs the edge, converged by
`playbooks/voice_edge.yml` for real over SSH (twice: the second run must change nothing); ``ai-gw-01`` runs the
test agent (tests/sip_test_agent.py, a SIP-over-TLS UAS with a certificate of a test CA the edge is told to trust);
``sip-client`` is a second SIP source (tests/sip_tls_client.py run in it with podman exec), so that a ban of one
source can be shown not to touch another. The controller is the first source.

The policy is the lab's, with the voice section pointed at the containers' real addresses and a short ban.
"""

from __future__ import annotations

import datetime
import importlib.util
import ipaddress
import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import load_site_policy
from lab import linux_hosts

REPO_ROOT = Path(__file__).resolve().parents[3]
LAB_POLICY = REPO_ROOT / "inventories" / "lab" / "site_policy.yml"
HOSTS = ["pbx-01", "ai-gw-01", "sip-client"]
DOMAIN = "sip.lab.example"
PASSWORDS = {"101": "Lab-Phone-101-Secret", "102": "Lab-Phone-102-Secret", "103": "Lab-Phone-103-Secret"}
AGENT_LOG = "/tmp/agent.jsonl"
BAN_SECONDS = 120

_spec = importlib.util.spec_from_file_location("sip_tls_client", REPO_ROOT / "tests" / "sip_tls_client.py")
sip = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sip)


@dataclass
class VoiceLab:
    run_dir: Path
    policy_file: Path
    host_vars: dict
    first_run: subprocess.CompletedProcess
    second_run: subprocess.CompletedProcess

    def address(self, host: str) -> str:
        return self.host_vars[host]["ansible_host"]

    def container(self, host: str) -> str:
        return self.host_vars[host]["aiphone_lab_container"]

    @property
    def edge(self) -> str:
        return self.address("pbx-01")

    def exec(self, host: str, *argv: str, stdin: str | None = None, check: bool = True) -> str:
        return podman("exec", "-i", self.container(host), *argv, stdin=stdin, check=check)

    def client_in(self, host: str, *args: str) -> dict:
        """Run tests/sip_tls_client.py inside a lab host (another source address); its JSON result."""
        script = (REPO_ROOT / "tests" / "sip_tls_client.py").read_text()
        out = self.exec(host, "python3", "-", self.edge, "5061", *args, stdin=script)
        return json.loads(out.strip().splitlines()[-1])

    def agent_requests(self) -> list[dict]:
        text = self.exec("ai-gw-01", "cat", AGENT_LOG, check=False)
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def journal(self, unit: str, since: str = "-10min") -> str:
        return self.exec("pbx-01", "journalctl", "-u", unit, "--since", since, "--no-pager", "-o", "cat")


def podman(*args: str, stdin: str | None = None, check: bool = True) -> str:
    env = dict(os.environ)
    env.setdefault("CONTAINERS_CONF", str(REPO_ROOT / "lab" / "containers" / "containers.conf"))
    result = subprocess.run(["podman", *args], input=stdin, capture_output=True, text=True, env=env, check=False)
    if check:
        assert result.returncode == 0, f"podman {' '.join(args[:4])}: {result.stderr}"
    return result.stdout


def _test_ca(address: str) -> tuple[str, str, str]:
    """(CA PEM, agent certificate PEM, agent key PEM): the agent's certificate names its address."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "voice test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True).sign(ca_key, hashes.SHA256()))
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "agent")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.IPv4Address(address))]),
                           critical=False).sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    return (ca.public_bytes(pem).decode(), cert.public_bytes(pem).decode(),
            key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode())


def _policy(run_dir: Path, agent_address: str) -> Path:
    data = yaml.safe_load(LAB_POLICY.read_text())
    data["voice"]["agent"]["address"] = agent_address
    data["voice"]["limits"] = {"pike_requests": 16, "pike_interval": 2, "auth_failures": 5, "ban_seconds": BAN_SECONDS}
    path = run_dir / "site" / "site_policy.yml"
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    load_site_policy(str(path))
    return path


def ansible_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(PATH=f"{REPO_ROOT / '.venv' / 'bin'}:{env.get('PATH', '')}",
               PYTHONPATH=f"{REPO_ROOT / 'collections'}:{REPO_ROOT}",
               ANSIBLE_CONFIG=str(REPO_ROOT / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0")
    return env


def run_playbook(inventory: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ansible-playbook", "-i", str(inventory), str(REPO_ROOT / "playbooks" / "voice_edge.yml"),
                           *extra], capture_output=True, text=True, env=ansible_env(), cwd=REPO_ROOT, check=False,
                          timeout=1800)


@pytest.fixture(scope="package")
def voice_lab(tmp_path_factory) -> VoiceLab:
    run_dir = tmp_path_factory.mktemp("voice")
    try:
        host_vars = linux_hosts.start(run_dir, HOSTS)
        agent = host_vars["ai-gw-01"]
        policy_file = _policy(run_dir, agent["ansible_host"])
        ca_pem, cert_pem, key_pem = _test_ca(agent["ansible_host"])
        for name, text in (("agent.pem", cert_pem), ("agent.key", key_pem)):
            podman("exec", "-i", agent["aiphone_lab_container"], "sh", "-c", f"cat > /root/{name}", stdin=text)
        podman("exec", "-i", agent["aiphone_lab_container"], "sh", "-c", "cat > /root/agent.py",
               stdin=(REPO_ROOT / "tests" / "sip_test_agent.py").read_text())
        podman("exec", "-d", agent["aiphone_lab_container"], "python3", "/root/agent.py", "--cert", "/root/agent.pem",
               "--key", "/root/agent.key", "--port", "5061", "--log", AGENT_LOG)
        inventory = {"all": {
            "vars": {"aiphone_site_policy_file": str(policy_file), "aiphone_site_name": "voicetest",
                     "aiphone_audit_dir": str(run_dir / "audit"),
                     # test-only plaintext "vault"; a real site keeps these in an ansible-vault file
                     **{f"vault_sip_{user}_password": password for user, password in PASSWORDS.items()},
                     "voice_edge_agent_ca_pem": ca_pem},
            "children": {"linux_hosts": {"hosts": {"pbx-01": host_vars["pbx-01"]}}}}}
        inventory_file = run_dir / "site" / "hosts.yml"
        inventory_file.write_text(yaml.safe_dump(inventory, sort_keys=False))
        first = run_playbook(inventory_file)
        assert first.returncode == 0, first.stdout[-8000:] + first.stderr[-3000:]
        second = run_playbook(inventory_file)
        assert second.returncode == 0, second.stdout[-8000:] + second.stderr[-3000:]
        time.sleep(1)
        yield VoiceLab(run_dir, policy_file, host_vars, first, second)
    finally:
        linux_hosts.stop(run_dir)
