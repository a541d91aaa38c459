"""Benchmark: start-up time and memory of the device lab at 50 / 200 / 1000 simulated devices.

Each size is started with the real CLI (``python -m lab up --size N --no-linux``) in a temporary run directory,
then probed - SSH logins with netmiko to a sample of switches, HTTP requests to a sample of phones - and measured:
wall time of ``up`` until it printed the inventory, resident memory (VmRSS, peak VmHWM) of the lab process, and
how many probes answered. The lab is stopped after each size. Run: ``python bench/lab_scale.py [sizes...]``.
Writes a JSON report (``--report``) and prints a table; asserts nothing (figures, not tests).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "collections"), str(REPO)]

from lab.topology import lab_credentials

SAMPLE = 10


def lab_cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=f"{REPO / 'collections'}{os.pathsep}{REPO}")
    return subprocess.run([sys.executable, "-m", "lab", *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=900, check=False)


def memory_kib(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields


def probe(run_dir: Path) -> dict[str, int]:
    """Log in to a sample of switches over SSH and fetch a page from a sample of phones."""
    from netmiko import ConnectHandler

    creds = lab_credentials()
    groups = yaml.safe_load((run_dir / "inventory" / "hosts.yml").read_text())["all"]["children"]
    rng = random.Random(7)
    switches = list(groups.get("switches", {}).get("hosts", {}).items())
    phones = list(groups.get("phones", {}).get("hosts", {}).items())
    ok = {"ssh_ok": 0, "ssh_tried": 0, "http_ok": 0, "http_tried": 0}
    for _, host_vars in rng.sample(switches, min(SAMPLE, len(switches))):
        ok["ssh_tried"] += 1
        with ConnectHandler(device_type="cisco_ios", host=host_vars["ansible_host"], port=host_vars["ansible_port"],
                            username=creds.username, password=creds.password, ssh_strict=True,
                            system_host_keys=False, alt_host_keys=True, alt_key_file=str(run_dir / "known_hosts"),
                            use_keys=False, allow_agent=False) as conn:
            ok["ssh_ok"] += "uptime is" in conn.send_command("show version")
    for _, host_vars in rng.sample(phones, min(SAMPLE, len(phones))):
        ok["http_tried"] += 1
        url = f"http://{host_vars['ansible_host']}:{host_vars['ansible_port']}/"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:  # loopback lab only
                ok["http_ok"] += response.status < 500
        except urllib.error.HTTPError as error:  # 401/404 still prove the phone answers
            ok["http_ok"] += error.code < 500
    return ok


def measure(size: int) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"lab-bench-{size}-") as tmp:
        run_dir = Path(tmp)
        started = time.monotonic()
        result = lab_cli("up", "--size", str(size), "--no-linux", "--base-port", "0", "--run-dir", str(run_dir))
        startup = time.monotonic() - started
        try:
            if result.returncode != 0:
                return {"size": size, "error": (result.stderr or result.stdout)[-2000:]}
            pid = int((run_dir / "lab.pid").read_text())
            status = json.loads(json.dumps(lab_status(run_dir)))
            after_start = memory_kib(pid)
            probes = probe(run_dir)
            after_probe = memory_kib(pid)
            return {"size": size, "devices_served": len(status), "startup_seconds": round(startup, 2),
                    "rss_mib_after_start": round(after_start["VmRSS"] / 1024, 1),
                    "rss_mib_after_probes": round(after_probe["VmRSS"] / 1024, 1),
                    "peak_rss_mib": round(after_probe["VmHWM"] / 1024, 1), **probes}
        finally:
            lab_cli("down", "--run-dir", str(run_dir))


def lab_status(run_dir: Path) -> dict:
    from lab.control import LabControl

    return LabControl(run_dir).status()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[50, 200, 1000])
    parser.add_argument("--report", type=Path, default=REPO / "reports" / "bench" / "lab_scale.json")
    args = parser.parse_args()
    results = [measure(size) for size in args.sizes]
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(results, indent=2) + "\n")
    print(f"{'devices':>8} {'served':>7} {'start s':>8} {'RSS MiB':>8} {'peak MiB':>9} {'ssh ok':>7} {'http ok':>8}")
    for row in results:
        if "error" in row:
            print(f"{row['size']:>8} FAILED: {row['error']}")
            continue
        print(f"{row['size']:>8} {row['devices_served']:>7} {row['startup_seconds']:>8} "
              f"{row['rss_mib_after_probes']:>8} {row['peak_rss_mib']:>9} "
              f"{row['ssh_ok']}/{row['ssh_tried']:<5} {row['http_ok']}/{row['http_tried']}")
    print(f"report: {args.report}")
    return 0 if all("error" not in row for row in results) else 1


if __name__ == "__main__":
    sys.exit(main())
