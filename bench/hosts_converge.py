"""Benchmark: first converge, idempotent re-run and check-mode run of playbooks/hosts.yml on the lab's Linux hosts.

Starts N lab hosts with lab/linux_hosts.py (podman, systemd, real SSH as the automation account; a Debian 12 pbx-01,
a Debian 13 ai-gw-01, then more of both images with --hosts), runs the playbook twice over SSH and once more in
check mode, and reports for each run the wall time, the PLAY RECAP, the seconds per role (ansible.posix.profile_roles)
and the module calls that reached each host, per role and per module (bench/callback_plugins/bench_calls.py). The
hosts are removed afterwards. Targets (issue 23): the no-op re-run <= 20 s for the two lab hosts and <= 5 s more per
extra host (--hosts 10 shows the slope).

    python bench/hosts_converge.py [--hosts N] [--tags host_firewall,ssh_hardening] [--report FILE] [--logs DIR]

Prints a JSON report and a summary; asserts nothing (figures, not tests).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "collections"), str(REPO)]

from lab import linux_hosts

IMAGES = ["localhost/debian-bookworm-ansible:latest", "localhost/debian-trixie-ansible:latest"]
# The two hosts of the lab's site policy; extra ones take pbx-01's firewall zone (they are not in the policy's devices).
POLICY_HOSTS = ["pbx-01", "ai-gw-01"]
RUNS = ("first_converge", "idempotent_rerun", "check_mode_rerun")


def lab_hosts(count: int) -> list[dict]:
    names = POLICY_HOSTS[:count] + [f"lab-host-{n:02d}" for n in range(len(POLICY_HOSTS) + 1, count + 1)]
    return [{"name": name, "image": IMAGES[index % 2]} for index, name in enumerate(names)]


def extra_host_zone() -> str:
    from ansible_collections.aiphone.hardening.plugins.filter.host_firewall import FilterModule
    policy = yaml.safe_load((REPO / "inventories" / "lab" / "site_policy.yml").read_text())
    return FilterModule().filters()["host_firewall_zone"](policy, POLICY_HOSTS[0])


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


def roles_recap(stdout: str) -> dict:
    """Seconds per role from ansible.posix.profile_roles' ROLES RECAP."""
    block = stdout.split("ROLES RECAP", 1)[-1] if "ROLES RECAP" in stdout else ""
    return {name: float(seconds) for name, seconds in re.findall(r"^(\S+) -+ ([\d.]+)s$", block, re.MULTILINE)
            if name != "total"}


def run_playbook(inventory: Path, tags: str | None, *extra: str, timeout: int = 1800, log: Path | None = None) -> dict:
    calls_file = inventory.parent / "calls.json"
    calls_file.unlink(missing_ok=True)
    callbacks = "ansible.posix.profile_tasks, ansible.posix.profile_roles, aiphone.hardening.audit_trail, " \
                "aiphone.hardening.site_lock, bench_calls"
    env = dict(os.environ, PYTHONPATH=f"{REPO / 'collections'}{os.pathsep}{REPO}",
               ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
               ANSIBLE_CALLBACK_PLUGINS=str(REPO / "bench" / "callback_plugins"),
               ANSIBLE_CALLBACKS_ENABLED=callbacks, AIPHONE_BENCH_CALLS=str(calls_file),
               PATH=f"{REPO / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}")
    command = ["ansible-playbook", "-i", str(inventory), str(REPO / "playbooks" / "hosts.yml"), *extra]
    if tags:
        command += ["--tags", tags]
    start, before = time.monotonic(), resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout,
                            check=False)
    seconds = round(time.monotonic() - start, 1)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # CPU of ansible-playbook, its forks and their ssh clients: the controller's share (the hosts' own work runs in
    # their containers, not counted here)
    controller_cpu = round(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, 1)
    if log:
        log.write_text(result.stdout + (f"\n--- stderr ---\n{result.stderr}" if result.stderr else ""))
    recap = {host: dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", counters))
             for host, counters in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", result.stdout, re.MULTILINE)}
    failures = re.findall(r"^TASK \[(.*?)\].*\n(?:(?!TASK \[).*\n)*?(?:fatal|failed): \[(\S+)\][^{]*(\{.*)$",
                          result.stdout, re.MULTILINE)
    calls = json.loads(calls_file.read_text()) if calls_file.exists() else {}
    return {"seconds": seconds, "controller_cpu_seconds": controller_cpu, "rc": result.returncode, "recap": recap,
            "role_seconds": roles_recap(result.stdout),
            "calls": calls, "load_average": round(os.getloadavg()[0], 2),
            "failures": [{"task": task, "host": host, "result": detail[:1500]} for task, host, detail in failures],
            "tail": (result.stdout[-2000:] + result.stderr[-2000:]) if result.returncode else ""}


def summary(report: dict) -> str:
    lines = [f"hosts.yml on {len(report['hosts'])} lab hosts (load before: {report['load_average']})"]
    for run in RUNS:
        data = report[run]
        changed = sum(counts.get("changed", 0) for counts in data["recap"].values())
        calls = [entry["calls"] for entry in data["calls"].values()]
        lines.append(f"  {run:17s} {data['seconds']:7.1f} s (controller CPU {data['controller_cpu_seconds']} s)  "
                     f"changed={changed}  module calls per host "
                     f"{min(calls, default=0)}-{max(calls, default=0)}  (load {data['load_average']})")
    noop = report["idempotent_rerun"]
    first_host = next(iter(noop["calls"].values()), {"by_role": {}})
    lines.append("  no-op re-run per role: seconds (calls on one host)")
    for role, seconds in sorted(noop["role_seconds"].items(), key=lambda kv: -kv[1]):
        lines.append(f"    {role:40s} {seconds:6.2f} s  ({first_host['by_role'].get(role.rsplit('.', 1)[-1], 0)})")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=2, help="lab hosts (default 2: pbx-01 and ai-gw-01)")
    parser.add_argument("--tags", help="only these role tags (default: the whole playbook)")
    parser.add_argument("--report", type=Path, help="also write the JSON report here")
    parser.add_argument("--logs", type=Path, help="keep each run's output in this directory")
    args = parser.parse_args()
    hosts = lab_hosts(args.hosts)
    if args.logs:
        args.logs.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="aiphone-bench-hosts-") as directory:
        run_dir = Path(directory)
        try:
            start = time.monotonic()
            host_vars = linux_hosts.start(run_dir, hosts)
            zone = extra_host_zone() if args.hosts > len(POLICY_HOSTS) else None
            for name, variables in host_vars.items():
                if name not in POLICY_HOSTS:
                    variables["host_firewall_zone"] = zone
            report = {"hosts": [h["name"] for h in hosts], "tags": args.tags or "all",
                      "lab_start_seconds": round(time.monotonic() - start, 1),
                      "load_average": round(os.getloadavg()[0], 2)}
            inventory = write_inventory(run_dir, host_vars)
            for run, extra in zip(RUNS, ((), (), ("--check",)), strict=True):
                report[run] = run_playbook(inventory, args.tags, *extra,
                                           log=args.logs / f"{run}.log" if args.logs else None)
        finally:
            linux_hosts.stop(run_dir)
    text = json.dumps(report, indent=2)
    print(text)
    print(summary(report))
    if args.report:
        args.report.write_text(text)
    failed = [run for run in RUNS if report[run]["rc"]]
    if failed:
        raise SystemExit(f"hosts.yml failed in: {', '.join(failed)} (see the report above)")


if __name__ == "__main__":
    main()
