"""A small run of every benchmark of `make bench`, so none of them can rot between two benchmark sessions.

The figures of a smoke mean nothing (tiny sizes, a shared CI machine): only that each benchmark runs end to end
against the real lab and prints its table. `make bench` is where the numbers come from. The hosts_baseline
benchmark (molecule/hosts_baseline/bench.sh) runs the molecule scenario's own create/prepare/converge/idempotence,
which `make test` runs in full; its script is checked for syntax here.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.timeout(900)


def bench(*args: str, timeout: int = 600) -> str:
    env = dict(os.environ, PYTHONPATH=f"{REPO / 'collections'}{os.pathsep}{REPO}",
               ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    result = subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=timeout, check=False)
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def test_lab_scale(tmp_path):
    out = bench("bench/lab_scale.py", "12", "--report", str(tmp_path / "lab_scale.json"))
    [row] = json.loads((tmp_path / "lab_scale.json").read_text())
    assert row["devices_served"] == 12 and row["ssh_ok"] == row["ssh_tried"] and row["http_ok"] == row["http_tried"]
    assert "devices" in out


def test_links():
    assert re.search(r"\d+ devices, +\d+ attached: +[\d.]+ ms per evaluation", bench(
        "bench/links_bench.py", "--sizes", "30", "--rounds", "2"))


def test_network():
    out = bench("bench/network_bench.py", "--size", "30")
    assert re.search(r"lines to converge, 0 on the second run, 0 violations after converge", out), out


def test_audit(tmp_path):
    bench("bench/audit_bench.py", "--sizes", "12", "--workers", "8", "--json", str(tmp_path / "audit.json"))
    [row] = json.loads((tmp_path / "audit.json").read_text())
    assert row["floor_read"] > 0 and row["toolkit_s"] > 0 and row["ios_facts_switches_s"] > 0
    assert row["summary"], "the toolkit's inventory summary is missing"


def test_fleet(tmp_path):
    """The fleet inventory against its floor (issue #23): both toolkit paths (inventory plugin, hosts.yml) and the
    plain floor script read every device of a 12-device lab."""
    out = bench("bench/fleet_bench.py", "--sizes", "12", "--rounds", "1", "--workers", "8",
                "--json", str(tmp_path / "fleet.json"))
    [row] = json.loads((tmp_path / "fleet.json").read_text())
    assert row["floor_read"] == "12/12", row
    assert row["floor_s"] > 0 and row["toolkit_s"] > 0 and row["toolkit_yml_s"] > 0
    assert row["summary"] and row["summary"]["unreachable"] == 2, row   # the two Linux hosts of --no-linux only
    assert "tk/floor" in out


def test_firmware():
    report = json.loads(bench("bench/firmware_bench.py", "--switches", "1", "--phones", "3", "--switch-reboot", "1",
                              "--phone-reboot", "1", "--json").strip().splitlines()[-1])
    assert report["devices_on_baseline"] == 4 and report["ratio"] > 0


def test_hosts_converge(tmp_path):
    """One small role over real SSH on the two lab hosts: first run, re-run and check mode complete."""
    bench("bench/hosts_converge.py", "--tags", "tls_policy", "--report", str(tmp_path / "hosts.json"), timeout=850)
    report = json.loads((tmp_path / "hosts.json").read_text())
    assert all(report[run]["rc"] == 0 for run in ("first_converge", "idempotent_rerun", "check_mode_rerun"))
    assert all(counts["changed"] == 0 for counts in report["idempotent_rerun"]["recap"].values())
    noop = report["idempotent_rerun"]
    assert sorted(noop["calls"]) == ["ai-gw-01", "pbx-01"] and all(h["calls"] > 0 for h in noop["calls"].values())
    assert noop["calls"]["pbx-01"]["by_role"].get("tls_policy", 0) > 0 and "tls_policy" in str(noop["role_seconds"])


def test_hosts_baseline_script_parses():
    subprocess.run(["bash", "-n", str(REPO / "molecule" / "hosts_baseline" / "bench.sh")], check=True)


def test_cardscan(tmp_path):
    """The scanner against grep -P on both corpora; the precision/recall line comes from the labelled corpus."""
    out = bench("bench/cardscan_bench.py", "--mb", "0.3", "--json", str(tmp_path / "cardscan.json"))
    report = json.loads((tmp_path / "cardscan.json").read_text())
    assert [row["corpus"] for row in report["rows"]] == ["dense", "realistic"]
    assert all(row["scanner_mb_s"] > 0 and row["grep_mb_s"] > 0 for row in report["rows"])
    assert report["rows"][1]["scanner_cards"] == report["rows"][1]["grep_matching_lines"] > 0
    assert re.search(r"precision 0\.\d+, recall [01]\.\d+", out), out
