"""Benchmark: first converge and idempotent re-run of playbooks/hosts.yml on the lab's Linux hosts.

Starts a Debian 12 and a Debian 13 host with lab/linux_hosts.py (podman, systemd, real SSH as the automation
account), runs the playbook twice over SSH and reports the wall time of each run and its PLAY RECAP; a third run in
check mode shows what a no-op audit costs. The hosts are removed afterwards. Targets from issue 4: first converge
<= 120 s, idempotent re-run <= 30 s. Run: ``python bench/hosts_converge.py [--tags host_firewall,ssh_hardening]``.
Prints a JSON report (``--report FILE`` also writes it); asserts nothing (figures, not tests).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "collections"), str(REPO)]

from lab import linux_hosts

HOSTS = [{"name": "pbx-01", "image": "localhost/debian-bookworm-ansible:latest"},
         {"name": "ai-gw-01", "image": "localhost/debian-trixie-ansible:latest"}]


def throwaway_siem_ca() -> str:
    """PEM of a CA made for this run: forwarding is configured as on a real site (no SIEM answers; rsyslog queues)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench SIEM CA")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now)
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def write_inventory(run_dir: Path, host_vars: dict) -> Path:
    inventory = {"all": {"vars": {"aiphone_site_policy_file": str(REPO / "inventories" / "lab" / "site_policy.yml"),
                                  "audit_logging_siem_ca_pem": throwaway_siem_ca()},
                         "children": {"linux_hosts": {"hosts": host_vars}}}}
    path = run_dir / "hosts.yml"
    path.write_text(yaml.safe_dump(inventory, sort_keys=False))
    return path


def run_playbook(inventory: Path, tags: str | None, *extra: str, timeout: int = 1800) -> dict:
    env = dict(os.environ, PYTHONPATH=f"{REPO / 'collections'}{os.pathsep}{REPO}",
               ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
               PATH=f"{REPO / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}")
    command = ["ansible-playbook", "-i", str(inventory), str(REPO / "playbooks" / "hosts.yml"), *extra]
    if tags:
        command += ["--tags", tags]
    start = time.monotonic()
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout,
                            check=False)
    seconds = round(time.monotonic() - start, 1)
    recap = {host: dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", counters))
             for host, counters in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", result.stdout, re.MULTILINE)}
    failures = re.findall(r"^TASK \[(.*?)\].*\n(?:(?!TASK \[).*\n)*?(?:fatal|failed): \[(\S+)\][^{]*(\{.*)$",
                          result.stdout, re.MULTILINE)
    return {"seconds": seconds, "rc": result.returncode, "recap": recap,
            "failures": [{"task": task, "host": host, "result": detail[:1500]} for task, host, detail in failures],
            "tail": result.stdout[-2000:] if result.returncode else ""}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tags", help="only these role tags (default: the whole playbook)")
    parser.add_argument("--report", type=Path, help="also write the JSON report here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="aiphone-bench-hosts-") as directory:
        run_dir = Path(directory)
        try:
            start = time.monotonic()
            host_vars = linux_hosts.start(run_dir, HOSTS)
            report = {"hosts": [h["name"] for h in HOSTS], "tags": args.tags or "all",
                      "lab_start_seconds": round(time.monotonic() - start, 1),
                      "load_average": os.getloadavg()[0]}
            inventory = write_inventory(run_dir, host_vars)
            report["first_converge"] = run_playbook(inventory, args.tags)
            report["idempotent_rerun"] = run_playbook(inventory, args.tags)
            report["check_mode_rerun"] = run_playbook(inventory, args.tags, "--check")
        finally:
            linux_hosts.stop(run_dir)
    text = json.dumps(report, indent=2)
    print(text)
    if args.report:
        args.report.write_text(text)
    failed = [run for run in ("first_converge", "idempotent_rerun", "check_mode_rerun") if report[run]["rc"]]
    if failed:
        raise SystemExit(f"hosts.yml failed in: {', '.join(failed)} (see the report above)")


if __name__ == "__main__":
    main()
