"""Benchmark: the site audit against the lab at 50 / 200 / 1,000 devices.

For each size it starts a lab (`python -m lab up --size N --no-linux`) and measures, in the same run:
  toolkit      `ansible-playbook playbooks/audit.yml --tags inventory` (validate, one version_inventory invocation
               over every device, inventory.json/csv, state, trail record)
  floor        a plain thread-pool script (its own process, like any script) calling the same drivers'
               get_facts() - the same reads with nothing else
  toolkit/sw   the toolkit limited to the switches (aiphone_audit_device_group=switches)
  ios_facts    a per-host `cisco.ios.ios_facts` playbook over the same switches (what an Ansible user writes
               today; it cannot read phones or APs, hence the switch-only comparison)
and prints wall times and ratios. Aims (issue 7): 1,000 devices <= 60 s, toolkit <= 2x floor, >= 5x faster than
the per-host playbook.

    python bench/audit_bench.py [--sizes 50,200,1000] [--workers 64] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "collections"), str(REPO)]

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.registry import get_driver
from lab.topology import lab_credentials

VAULT_PASSWORD_FILE = REPO / "inventories" / "lab" / "vault-password.txt"
IOS_FACTS_PLAYBOOK = """\
- name: Per-host facts, what an Ansible user writes today
  hosts: switches
  gather_facts: false
  connection: ansible.netcommon.network_cli
  tasks:
    - name: Gather IOS facts
      cisco.ios.ios_facts:
        gather_subset: [min]
"""


def env() -> dict:
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return dict(os.environ, PYTHONPATH=f"{REPO / 'collections'}{os.pathsep}{REPO}",
                ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), PATH=path)


def lab(*args: str) -> None:
    result = subprocess.run([sys.executable, "-m", "lab", *args], cwd=REPO, env=env(), capture_output=True,
                            text=True, timeout=900, check=False)
    if result.returncode != 0:
        raise SystemExit(f"python -m lab {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")


def timed(func, *args) -> tuple[float, object]:
    started = time.monotonic()
    value = func(*args)
    return time.monotonic() - started, value


def floor_process(inventory_file: Path, workers: int) -> int:
    """Run the floor as a script of its own, so its interpreter start and imports are counted as the toolkit's are."""
    result = subprocess.run([sys.executable, __file__, "--floor", str(inventory_file), "--workers", str(workers)],
                            cwd=REPO, env=env(), capture_output=True, text=True, timeout=900, check=True)
    return int(result.stdout.strip().splitlines()[-1])


def inventory_hosts(group: dict) -> dict[str, dict]:
    """Every host of a YAML inventory group and of its children, however deep (a group may hold only children)."""
    hosts = dict((group or {}).get("hosts") or {})
    for child in ((group or {}).get("children") or {}).values():
        for name, host_vars in inventory_hosts(child).items():
            hosts.setdefault(name, host_vars or {})
    return hosts


def floor(inventory_file: Path, workers: int) -> int:
    """The same reads as the audit, with nothing around them: drivers' get_facts() over a thread pool."""
    everything = inventory_hosts(yaml.safe_load(inventory_file.read_text())["all"])
    known_hosts = inventory_file.parent.parent / "known_hosts"
    credentials = lab_credentials()
    hosts = [(name, hv) for name, hv in everything.items() if hv.get("platform") not in (None, "linux")]

    def read(item):
        name, hv = item
        try:
            driver = get_driver(hv["platform"])(host=hv["ansible_host"], port=hv["ansible_port"],
                                                username=hv.get("ansible_user", credentials.username),
                                                password=credentials.password, known_hosts_file=str(known_hosts),
                                                name=name)
            with driver as device:
                return bool(device.get_facts())
        except Exception:  # counted, not fatal: the toolkit reports the same device as unreachable
            return False

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return sum(pool.map(read, hosts))


def playbook(inventory_file: Path, playbook_path: Path, *extra: str, extra_env: dict | None = None) -> str:
    command = ["ansible-playbook", "-i", str(inventory_file), str(playbook_path), "--vault-password-file",
               str(VAULT_PASSWORD_FILE), *extra]
    result = subprocess.run(command, cwd=REPO, env={**env(), **(extra_env or {})}, capture_output=True, text=True,
                            timeout=3600, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout


def toolkit(inventory_file: Path, work: Path, workers: int, *extra: str) -> str:
    return playbook(inventory_file, REPO / "playbooks" / "audit.yml", "--tags", "inventory",
                    "-e", f"aiphone_audit_dir={work / 'audit'}", "-e", f"aiphone_report_root={work / 'reports'}",
                    "-e", f"aiphone_audit_workers={workers}", *extra)


def ios_facts(inventory_file: Path, work: Path) -> str:
    path = work / "ios_facts.yml"
    path.write_text(IOS_FACTS_PLAYBOOK)
    # The lab's switches answer on 127.0.0.1 with keys in the run's known_hosts, which network_cli's paramiko
    # transport does not read: host key checking is switched off for this baseline only.
    return playbook(inventory_file, path, "-e", "ansible_connection=ansible.netcommon.network_cli",
                    "-e", "ansible_become=true", "-e", "ansible_become_method=enable",
                    extra_env={"ANSIBLE_HOST_KEY_CHECKING": "False"})


def measure(size: int, workers: int, with_ios_facts: bool) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"audit-bench-{size}-") as tmp:
        work = Path(tmp)
        run_dir = work / "run"
        lab("up", "--size", str(size), "--run-dir", str(run_dir), "--base-port", "0", "--no-linux")
        try:
            inventory_file = run_dir / "inventory" / "hosts.yml"
            groups = yaml.safe_load(inventory_file.read_text())["all"]["children"]
            switches = len(inventory_hosts(groups.get("switches", {})))
            row = {"size": size, "switches": switches}
            row["floor_s"], row["floor_read"] = timed(floor_process, inventory_file, workers)
            row["toolkit_s"], _ = timed(toolkit, inventory_file, work, workers)
            row["summary"] = _summary(work)
            row["toolkit_switches_s"], _ = timed(toolkit, inventory_file, work, workers,
                                                 "-e", "aiphone_audit_device_group=switches")
            if with_ios_facts:
                row["ios_facts_switches_s"], _ = timed(ios_facts, inventory_file, work)
            return row
        finally:
            lab("down", "--run-dir", str(run_dir))


def _summary(work: Path) -> dict:
    reports = sorted((work / "reports").glob("*/*/inventory.json"))
    return json.loads(reports[-1].read_text())["summary"] if reports else {}


def report(rows: list[dict]) -> None:
    print(f"{'devices':>8} {'switches':>8} {'floor s':>8} {'toolkit s':>10} {'tk/floor':>9} "
          f"{'tk sw s':>8} {'ios_facts s':>11} {'ios/tk sw':>9}  statuses")
    for r in rows:
        ios = r.get("ios_facts_switches_s")
        ios_text = f"{ios:.1f}" if ios else "-"
        ios_ratio = f"{ios / r['toolkit_switches_s']:.2f}" if ios else "-"
        print(f"{r['size']:>8} {r['switches']:>8} {r['floor_s']:>8.1f} {r['toolkit_s']:>10.1f} "
              f"{r['toolkit_s'] / r['floor_s']:>9.2f} {r['toolkit_switches_s']:>8.1f} {ios_text:>11} {ios_ratio:>9}"
              f"  {r['summary']} (floor read {r['floor_read']})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50,200,1000")
    parser.add_argument("--workers", type=int, default=64)
    parser.add_argument("--no-ios-facts", action="store_true", help="skip the per-host cisco.ios.ios_facts baseline")
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    parser.add_argument("--floor", type=Path, help=argparse.SUPPRESS)   # internal: run the floor script only
    args = parser.parse_args()
    if args.floor:
        print(floor(args.floor, args.workers))
        return 0
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        rows.append(measure(size, args.workers, not args.no_ios_facts))
        report(rows[-1:])
    print("\nall sizes:")
    report(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
