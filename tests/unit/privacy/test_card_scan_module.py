"""The card_scan module run as a real process: read-only scan, check mode plan, masking with its audit records."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def _module(args: dict, check: bool = False, diff: bool = False) -> dict:
    payload = {"ANSIBLE_MODULE_ARGS": dict(args, _ansible_check_mode=check, _ansible_diff=diff)}
    proc = subprocess.run([sys.executable, "-m", "ansible_collections.aiphone.hardening.plugins.modules.card_scan"],
                          input=json.dumps(payload), capture_output=True, text=True, env=os.environ.copy(),
                          timeout=60, check=False)
    return json.loads(proc.stdout)


def test_scan_plan_mask(tmp_path):
    data = tmp_path / "transcripts"
    data.mkdir()
    call = data / "call.txt"
    call.write_text("caller: it is four one one one one one one one one one one one one one one one, exp 12/27\n")
    (data / "clean.txt").write_text("caller: thank you\n")
    audit = tmp_path / "card-mask.jsonl"
    args = {"paths": [str(data), str(tmp_path / "metadata")], "audit_log": str(audit)}

    scanned = _module(args)
    assert not scanned["changed"] and scanned["totals"]["cards"] == 1 and scanned["totals"]["cards_with_expiry"] == 1
    assert scanned["missing"] == [str(tmp_path / "metadata")]
    assert [f["path"] for f in scanned["files_with_findings"]] == [str(call)]
    assert "one one one" not in json.dumps(scanned)

    failing = _module(dict(args, fail_on_findings=True))
    assert failing["failed"] and "1 card number(s)" in failing["msg"]

    plan = _module(dict(args, mask=True), check=True, diff=True)
    assert plan["changed"] and plan["changed_files"][0]["path"] == str(call) and not audit.exists()
    assert "offset 14" in plan["diff"][0]["before"]
    assert "four one" in call.read_text()

    masked = _module(dict(args, mask=True, fail_on_findings=True))
    assert masked["changed"] and not masked.get("failed")
    assert call.read_text() == "caller: it is XXXXXXXXXXXX1111, exp 12/27\n"
    assert json.loads(audit.read_text())["path"] == str(call)
    again = _module(dict(args, mask=True))
    assert not again["changed"] and again["totals"]["cards"] == 0


def test_relative_path_is_refused():
    result = _module({"paths": ["srv/aiphone"]})
    assert result["failed"] and "absolute" in result["msg"]
