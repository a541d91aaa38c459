"""Benchmark: the fleet version inventory at 100 / 1,000 / 10,000 devices against its floor (issue #23).

For each size a lab is started (`python -m lab up --size N --no-linux`) and, in interleaved rounds (floor, toolkit
with the site-policy inventory plugin, toolkit with the generated hosts.yml; each its own process), measured:
  floor        bench/fleet_floor.py: a plain 64-thread netmiko/HTTP script doing the same reads, nothing else
  toolkit      `ansible-playbook playbooks/audit.yml --tags inventory` on the inventory plugin
               (aiphone.hardening.site_policy, cached in the run's directory): validate, one version_inventory
               invocation over every device, inventory.json/csv, versions state, trail record
  toolkit/yml  the same on the lab's 10,000-host-style `hosts.yml` (what Ansible parses without the plugin)
One warm-up toolkit run per size (first-seen state of every device written, the plugin's cache filled) is not
counted. Prints medians, the ratios to the floor and the load (`uptime`) before and after each size. Aims: toolkit
<= 1.5x the floor; 10,000 devices <= 60 s. Figures, never asserted.

    python bench/fleet_bench.py [--sizes 100,1000,10000] [--rounds 3] [--workers 64] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
VAULT_PASSWORD_FILE = REPO / "inventories" / "lab" / "vault-password.txt"
PLUGIN_FILE = "site.aiphone.yml"


def env() -> dict:
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return dict(os.environ, PYTHONPATH=f"{REPO / 'collections'}{os.pathsep}{REPO}",
                ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), PATH=path)


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def lab(*args: str) -> None:
    result = subprocess.run([sys.executable, "-m", "lab", *args], cwd=REPO, env=env(), capture_output=True,
                            text=True, timeout=1800, check=False)
    if result.returncode != 0:
        raise SystemExit(f"python -m lab {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")


def inventory_hosts(group: dict) -> dict[str, dict]:
    hosts = dict((group or {}).get("hosts") or {})
    for child in ((group or {}).get("children") or {}).values():
        for name, host_vars in inventory_hosts(child).items():
            hosts.setdefault(name, host_vars or {})
    return hosts


def plugin_inventory(run_dir: Path, target: Path) -> Path:
    """An inventory directory for the site-policy plugin over a running lab: the plugin file, the lab's port map
    (connections.json: what a real site's DHCP reservations would give), the lab site's group_vars and the run's
    own variables (group_vars/all/lab_run.yml), the policy beside them (inventory_dir/site_policy.yml)."""
    source = run_dir / "inventory"
    generated = yaml.safe_load((source / "hosts.yml").read_text())["all"]
    target.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source / "group_vars", target / "group_vars", dirs_exist_ok=True)
    (target / "group_vars" / "all").mkdir(exist_ok=True)
    (target / "group_vars" / "all" / "lab_run.yml").write_text(
        "---\n" + yaml.safe_dump(generated.get("vars") or {}, sort_keys=True))
    shutil.copyfile(source / "site_policy.yml", target / "site_policy.yml")
    connections = {name: {k: v for k, v in host_vars.items() if k not in ("platform", "model")}
                   for name, host_vars in inventory_hosts(generated).items() if name != "localhost"}
    (target / "connections.json").write_text(json.dumps(connections, sort_keys=True))
    (target / PLUGIN_FILE).write_text(
        "---\nplugin: aiphone.hardening.site_policy\npolicy_file: site_policy.yml\nhost_vars_file: connections.json\n"
        f"cache: true\ncache_plugin: ansible.builtin.jsonfile\ncache_connection: {target / '.cache'}\n")
    return target / PLUGIN_FILE


CPU_SECONDS: dict[str, list[float]] = {}   # command kind -> CPU seconds (user + system) of each run's process tree


def timed_process(command: list[str], timeout: float = 3600, kind: str = "") -> tuple[float, str]:
    """Wall seconds and stdout; the CPU seconds the process and its children used go to CPU_SECONDS[kind] (what a
    controller core pays per run, whatever the load of the machine)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    result = subprocess.run(command, cwd=REPO, env=env(), capture_output=True, text=True, timeout=timeout,
                            check=False)
    seconds = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU_SECONDS.setdefault(kind, []).append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({seconds:.1f} s):\n{result.stdout[-3000:]}\n"
                         f"{result.stderr[-3000:]}")
    return seconds, result.stdout


def floor(hosts_file: Path, workers: int) -> tuple[float, str]:
    seconds, out = timed_process([sys.executable, str(REPO / "bench" / "fleet_floor.py"), str(hosts_file),
                                  "--workers", str(workers)], kind="floor")
    return seconds, out.strip().splitlines()[-1].split()[0]


def toolkit(inventory: Path, work: Path, workers: int) -> tuple[float, dict]:
    seconds, _ = timed_process([
        "ansible-playbook", "-i", str(inventory), str(REPO / "playbooks" / "audit.yml"), "--tags", "inventory",
        "--vault-password-file", str(VAULT_PASSWORD_FILE),
        "-e", f"aiphone_audit_dir={work / 'audit'}", "-e", f"aiphone_report_root={work / 'reports'}",
        "-e", f"aiphone_audit_workers={workers}", "-e", "aiphone_audit_linux_group=aiphone_bench_no_linux_hosts"],
        kind="toolkit_yml" if inventory.name == "hosts.yml" else "toolkit")
    reports = sorted((work / "reports").glob("*/*/inventory.json"), key=lambda p: p.stat().st_mtime)
    return seconds, (json.loads(reports[-1].read_text())["summary"] if reports else {})


def measure(size: int, rounds: int, workers: int) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"fleet-bench-{size}-") as tmp:
        work = Path(tmp)
        run_dir = work / "run"
        started = time.monotonic()
        lab("up", "--size", str(size), "--run-dir", str(run_dir), "--base-port", "0", "--no-linux")
        lab_up = time.monotonic() - started
        try:
            hosts_file = run_dir / "inventory" / "hosts.yml"
            plugin = plugin_inventory(run_dir, work / "site-inventory")
            row = {"size": size, "lab_up_s": round(lab_up, 1), "load_before": load(), "rounds": rounds}
            row["warmup_s"], row["summary"] = toolkit(plugin, work, workers)   # state + cache filled: not counted
            samples: dict[str, list[float]] = {"floor": [], "toolkit": [], "toolkit_yml": []}
            CPU_SECONDS.clear()
            for _ in range(rounds):
                seconds, row["floor_read"] = floor(hosts_file, workers)
                samples["floor"].append(seconds)
                samples["toolkit"].append(toolkit(plugin, work, workers)[0])
                samples["toolkit_yml"].append(toolkit(hosts_file, work, workers)[0])
            row.update({f"{name}_s": round(statistics.median(values), 2) for name, values in samples.items()})
            row["samples"] = {name: [round(v, 2) for v in values] for name, values in samples.items()}
            row.update({f"{name}_cpu_s": round(statistics.median(CPU_SECONDS[name]), 2) for name in samples
                        if CPU_SECONDS.get(name)})
            row["load_after"] = load()
            return row
        finally:
            lab("down", "--run-dir", str(run_dir))


def report(rows: list[dict]) -> None:
    print(f"{'devices':>8} {'floor s':>8} {'toolkit s':>10} {'tk/floor':>9} {'tk(yml) s':>10} {'yml/floor':>10}"
          f" {'cpu s fl/tk/yml':>17}  {'load (1/5/15 min) before -> after':<40} statuses")
    for r in rows:
        print(f"{r['size']:>8} {r['floor_s']:>8.2f} {r['toolkit_s']:>10.2f} {r['toolkit_s'] / r['floor_s']:>9.2f} "
              f"{r['toolkit_yml_s']:>10.2f} {r['toolkit_yml_s'] / r['floor_s']:>10.2f} "
              f"{'/'.join(str(r.get(k, '-')) for k in ('floor_cpu_s', 'toolkit_cpu_s', 'toolkit_yml_cpu_s')):>17}  "
              f"{r['load_before'] + ' -> ' + r['load_after']:<40} {r['summary']} (floor read {r['floor_read']})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=64)
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    args = parser.parse_args()
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        rows.append(measure(size, args.rounds, args.workers))
        report(rows[-1:])
        sys.stdout.flush()
    print(f"\nall sizes (medians of {args.rounds} interleaved rounds; aims: toolkit <= 1.5x floor, "
          f"10,000 devices <= 60 s):")
    report(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
