"""audit_verify / audit_record modules and the audit-verify script, run as real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail

REPO = Path(__file__).resolve().parents[3]


def _module(name: str, args: dict, check: bool = False) -> dict:
    payload = {"ANSIBLE_MODULE_ARGS": dict(args, _ansible_check_mode=check)}
    proc = subprocess.run([sys.executable, "-m", f"ansible_collections.aiphone.hardening.plugins.modules.{name}"],
                          input=json.dumps(payload), capture_output=True, text=True, env=os.environ.copy(),
                          timeout=60)
    return json.loads(proc.stdout)


def test_record_then_verify_then_tamper(tmp_path):
    args = {"audit_dir": str(tmp_path), "site": "lab"}
    planned = _module("audit_record", dict(args, kind="override", data={"reason": "hotfix"}), check=True)
    assert planned["changed"] and planned["pending"] == 1 and not (tmp_path / "lab").exists()
    stored = _module("audit_record", dict(args, kind="override", data={"reason": "hotfix", "pw": "hunter22"},
                                          secrets=["hunter22"]))
    assert stored["changed"] and stored["records"][0]["seq"] == 1
    assert "hunter22" not in (tmp_path / "lab" / audit_trail.TRAIL_FILE).read_text()
    assert _module("audit_verify", args)["intact"]

    trail = tmp_path / "lab" / audit_trail.TRAIL_FILE
    trail.write_text(trail.read_text().replace("hotfix", "hotfiy"))
    broken = _module("audit_verify", args)
    assert broken["failed"] and broken["first_broken"]["line"] == 1
    assert not _module("audit_verify", dict(args, fail_on_broken=False)).get("failed")


def test_adoption_check_mode_reports_pending(tmp_path):
    site = tmp_path / "lab"
    site.mkdir()
    (site / "package-updates.jsonl").write_text('{"package": "openssl"}\n{"package": "nftables"}\n')
    args = {"audit_dir": str(tmp_path), "site": "lab", "adopt": [{"file": "package-updates.jsonl",
                                                                   "kind": "package_update"}]}
    assert _module("audit_record", args, check=True)["pending"] == 2
    assert len(_module("audit_record", args)["records"]) == 2
    again = _module("audit_record", args)
    assert not again["changed"]


def test_script_names_the_first_broken_record(tmp_path):
    inventory = tmp_path / "inventories" / "clinic"
    inventory.mkdir(parents=True)
    site = audit_trail.site_dir(str(tmp_path / "audit"), "clinic")
    for n in range(3):
        audit_trail.append(site, {"kind": "change", "n": n})
    cmd = [sys.executable, "-m", "scripts.audit_verify", str(inventory), "--audit-dir", str(tmp_path / "audit")]
    ok = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False)
    assert ok.returncode == 0 and ok.stdout.startswith("OK:") and "3 record(s)" in ok.stdout
    trail = Path(site) / audit_trail.TRAIL_FILE
    lines = trail.read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace('"n":1', '"n":7')
    trail.write_text("".join(lines))
    bad = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False)
    assert bad.returncode == 1 and "first broken record is line 2 (seq 2)" in bad.stdout


def test_script_uses_the_policy_site_name():
    proc = subprocess.run([sys.executable, "-m", "scripts.audit_verify", "inventories/lab", "--json",
                           "--audit-dir", "/nonexistent-audit"], cwd=REPO, capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0 and json.loads(proc.stdout)["path"] == "/nonexistent-audit/lab/trail.jsonl"
