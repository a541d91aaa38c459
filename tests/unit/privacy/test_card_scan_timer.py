"""The data_encryption role's scan service: its ExecStart, rendered from the template with the role's defaults, runs
the shipped scanner (the module_utils file itself) and masks, with the audit record the docs promise."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path

import jinja2
import yaml

REPO = Path(__file__).resolve().parents[3]
ROLE = REPO / "roles" / "data_encryption"


def render(**overrides) -> str:
    settings = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    settings.update(ansible_managed="managed", **overrides)
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)   # noqa: S701 - a unit file
    env.filters["dirname"] = os.path.dirname
    return env.from_string((ROLE / "templates" / "aiphone-cardscan.service.j2").read_text()).render(**settings)


def test_exec_start_scans_and_masks(tmp_path):
    data = tmp_path / "transcripts"
    data.mkdir()
    (data / "call.txt").write_text("caller: five five five five, five five five five, five five five five, "
                                   "four four four four\n")
    (tmp_path / "state").mkdir()
    unit = render(data_encryption_card_scan_paths=[str(data), str(tmp_path / "missing")],
                  data_encryption_card_scan_state_dir=str(tmp_path / "state"), data_encryption_card_scan_mask=True,
                  data_encryption_card_scan_script=str(REPO / "plugins" / "module_utils" / "privacy" / "cardscan.py"),
                  data_encryption_card_scan_audit_log=str(tmp_path / "log" / "card-mask.jsonl"))
    lines = dict(line.split("=", 1) for line in unit.splitlines() if "=" in line and not line.startswith("#"))
    assert f"-{tmp_path / 'missing'}" in lines["ReadWritePaths"].split()        # optional: no namespace failure
    run = subprocess.run(shlex.split(lines["ExecStart"]), capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert "1 card number(s)" in run.stdout and "1 masked" in run.stdout
    assert (data / "call.txt").read_text() == "caller: XXXXXXXXXXXX4444\n"
    record = json.loads((tmp_path / "log" / "card-mask.jsonl").read_text())
    assert record["path"] == str(data / "call.txt") and record["cards"] == 1
    report = json.loads((tmp_path / "state" / "report.json").read_text())
    assert report["totals"]["cards"] == 1 and "5555" not in json.dumps(report)


def test_report_only_by_default():
    unit = render()
    assert "--mask" not in unit and "Find card numbers" in unit
    assert "ReadWritePaths=/var/lib/aiphone/cardscan\n" in unit
