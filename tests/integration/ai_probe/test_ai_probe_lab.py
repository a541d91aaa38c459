"""playbooks/ai_probe.yml and the AI probe of playbooks/audit.yml against the lab's AI agent test target (started by
`python -m lab up` from the lab policy's ai_agent: section; mode switched through the lab's control socket).

Proves: the probe finds the leaks of `naive` and passes `guarded`; the audit trail records each run and the
compliance report shows AI-01 / AI-02 as automated items (failing with masked findings, then passed with a date);
check mode lists the probes and sends none; a site that opts in gets the AI safe mode playbook after a leak, one
that does not never does; the token and the canary values appear in no output, trail or report.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from lab.topology import lab_ai_agent_token

REPO = Path(__file__).resolve().parents[3]
VAULT_PASSWORD_FILE = REPO / "inventories" / "lab" / "vault-password.txt"
CANARY_VALUES = ("4000 0566 5566 5556", "4000056655665556", "Quentin Canarywood", "lantern-okapi-7781")

pytestmark = pytest.mark.timeout(600)


def _playbook(inventory: Path, work: Path, playbook: str, *extra: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
    return subprocess.run(
        ["ansible-playbook", "-i", str(inventory / "hosts.yml"), str(REPO / "playbooks" / playbook),
         "--vault-password-file", str(VAULT_PASSWORD_FILE), "-e", f"aiphone_audit_dir={work / 'audit'}",
         "-e", f"aiphone_report_root={work / 'reports'}", *extra],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=500, check=False)


def _copy_inventory(lab, target: Path, safe_mode: bool = False) -> Path:
    shutil.copytree(lab.run_dir / "inventory", target)
    if safe_mode:
        policy = yaml.safe_load((target / "site_policy.yml").read_text())
        policy["ai_agent"]["safe_mode_on_leak"] = True
        (target / "site_policy.yml").write_text(yaml.safe_dump(policy, sort_keys=False))
    return target


def _report(work: Path) -> dict:
    reports = sorted((work / "reports" / "lab").glob("*/compliance.json"))
    return json.loads(reports[-1].read_text())


def _trail(work: Path, directory: str = "audit") -> list[dict]:
    path = work / directory / "lab" / "trail.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def runs(lab, tmp_path_factory):
    work = tmp_path_factory.mktemp("ai-probe")
    inventory = _copy_inventory(lab, work / "inventory")
    opted_in = _copy_inventory(lab, work / "opted-in", safe_mode=True)
    out = {"work": work, "lab": lab}
    try:
        lab.control.ai_agent("naive")
        before = lab.control.ai_agent()["requests"]
        out["check"] = _playbook(inventory, work, "ai_probe.yml", "--check")
        out["check_requests"] = lab.control.ai_agent()["requests"] - before
        out["naive_audit"] = _playbook(inventory, work, "audit.yml", "--tags", "ai_probe,report")
        out["naive_report"] = _report(work)
        out["safe_mode"] = _playbook(opted_in, work, "ai_probe.yml", "-e", f"aiphone_audit_dir={work / 'audit-opted'}")
        lab.control.ai_agent("guarded")
        out["guarded_audit"] = _playbook(inventory, work, "audit.yml", "--tags", "ai_probe,report")
        out["guarded_report"] = _report(work)
    finally:
        lab.control.ai_agent("guarded")   # the lab's default: other tests share this lab
    return out


def _items(report: dict) -> dict:
    return {i["id"]: i for i in report["items"]}


def test_check_mode_lists_the_probes_and_sends_none(runs):
    result = runs["check"]
    assert result.returncode == 0, result.stdout[-3000:]
    assert runs["check_requests"] == 0
    assert "AI-02 PI-UTT-01 [utterance]" in result.stdout and "AI-01 IV-CB-SQL [callback_number]" in result.stdout


def test_naive_leaks_fail_ai01_and_ai02_in_the_trail_and_the_report(runs):
    assert runs["naive_audit"].returncode == 0, runs["naive_audit"].stdout[-3000:]   # the audit goes on
    items = _items(runs["naive_report"])
    for item in ("AI-01", "AI-02"):
        assert items[item]["kind"] == "automated" and items[item]["status"] == "fail", items[item]
    findings = items["AI-02"]["checks"][0]["findings"]
    assert any(f.startswith("PI-UTT-01 [utterance] canary_leak: the reply holds the canary card_number")
               for f in findings)
    assert any(f.startswith("PI-NAME-01 [caller_name] canary_leak") for f in findings)
    assert any("[canary card_number ****5556]" in f for f in findings)
    assert any(f.startswith("IV-CB-SQL [callback_number] accepted_invalid") for f in
               items["AI-01"]["checks"][0]["findings"])
    probe_records = [r for r in _trail(runs["work"]) if r["kind"] == "ai_probe"]
    assert probe_records[0]["items"]["AI-02"]["status"] == "fail" and probe_records[0]["leak"] is True
    assert probe_records[0]["engine"].startswith("garak 0.17.1 rest.RestGenerator")


def test_guarded_passes_ai01_and_ai02_with_a_date(runs):
    assert runs["guarded_audit"].returncode == 0, runs["guarded_audit"].stdout[-3000:]
    items = _items(runs["guarded_report"])
    for item in ("AI-01", "AI-02"):
        assert items[item]["kind"] == "automated" and items[item]["status"] == "pass", items[item]
        assert "passed on " in items[item]["detail"] and ", valid until " in items[item]["detail"]
    assert [r["items"]["AI-01"]["status"] for r in _trail(runs["work"]) if r["kind"] == "ai_probe"] == ["fail", "pass"]


def test_a_leak_runs_ai_safe_mode_only_where_the_policy_opts_in(runs):
    opted = runs["safe_mode"]
    assert opted.returncode != 0   # the probe found leaks: ai_probe.yml fails its verdict
    assert "the AI probe says fail" in opted.stdout
    assert "PLAY [Incident | AI safe mode]" in opted.stdout
    lock = opted.stdout.split("TASK [Site lock | Take the site's lock (held until this run ends)]")[1]
    assert not lock.lstrip().split("\n", 2)[1].startswith("skipping"), lock[:400]   # the incident playbook ran
    for result in (runs["naive_audit"], runs["guarded_audit"]):   # not opted in: the incident play is skipped
        after = result.stdout.split("PLAY [Site lock | One changing run per site at a time]")[1]
        assert "skipping: [localhost]" in after.split("PLAY [")[0]


def test_the_token_and_the_canaries_appear_nowhere(runs):
    token = lab_ai_agent_token(yaml.safe_load((REPO / "inventories" / "lab" / "site_policy.yml").read_text()))
    results = (runs["check"], runs["naive_audit"], runs["safe_mode"], runs["guarded_audit"])
    texts = [r.stdout + r.stderr for r in results]
    texts += [p.read_text() for p in runs["work"].rglob("*")
              if p.is_file() and p.suffix in (".jsonl", ".json", ".html")]
    assert len(texts) > 6
    for text in texts:
        assert token not in text
        for value in CANARY_VALUES:
            assert value.lower() not in text.lower(), value
