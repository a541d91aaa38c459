"""The maintenance_window module end to end through ansible (no device): refuse, fit, forced override recorded."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
POLICY = REPO / "inventories" / "lab" / "site_policy.yml"


def run_module(tmp_path, **args):
    """Run the module the way Ansible does on the controller: a process reading ANSIBLE_MODULE_ARGS."""
    args_file = tmp_path / "args.json"
    args = {"policy": str(POLICY), "audit_dir": str(tmp_path / "audit"), **args}
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    proc = subprocess.run(
        [sys.executable, "-m", "ansible_collections.aiphone.hardening.plugins.modules.maintenance_window",
         str(args_file)], check=False, cwd=REPO, capture_output=True, text=True, timeout=60)
    return json.loads(proc.stdout)


@pytest.mark.parametrize("now, step, allowed", [
    ("2026-11-29T03:00:00+01:00", 600, True),     # Sunday 03:00, 2 h left
    ("2026-11-29T04:55:00+01:00", 600, False),    # 5 min left: a 10 min reboot must not start
    ("2026-11-27T20:00:00+01:00", 0, False),      # Friday evening
])
def test_require_decides_from_the_policy(tmp_path, now, step, allowed):
    result = run_module(tmp_path, now=now, step_seconds=step, require=True)
    assert result.get("failed", False) is not allowed
    assert result["allowed"] is allowed
    if not allowed:
        assert "next window" in result["msg"] and "force_reason" in result["msg"]


def test_force_without_reason_is_refused(tmp_path):
    result = run_module(tmp_path, now="2026-11-27T20:00:00+01:00", require=True, force=True)
    assert result["failed"] and "force_reason" in result["msg"]
    assert not (tmp_path / "audit").exists()


def test_forced_override_is_allowed_and_recorded(tmp_path):
    result = run_module(tmp_path, now="2026-11-27T20:00:00+01:00", require=True, force=True,
                        force_reason="CHG-42 critical CVE", operator="ita")
    assert not result.get("failed") and result["forced"] and result["allowed"]
    trail = (tmp_path / "audit" / "lab").rglob("*")
    text = "".join(p.read_text() for p in trail if p.is_file())
    assert "CHG-42 critical CVE" in text and "ita" in text and "window_override" in text


def test_force_inside_a_window_is_not_an_override(tmp_path):
    result = run_module(tmp_path, now="2026-11-29T03:00:00+01:00", require=True, force=True, force_reason="x")
    assert result["allowed"] and not result["forced"]
    assert not (tmp_path / "audit").exists()
