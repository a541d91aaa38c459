"""The Prometheus alerting rules and the Alertmanager routes, checked by the real tools: `promtool check rules`,
`promtool test rules` (detections/prometheus/tests: the 3,000-calls hour, an ordinary day, auth failures, recordings
read) and `amtool check-config`. Debian's `prometheus` and `prometheus-alertmanager` packages provide the tools
(scripts/setup.sh); under CI=true a missing tool fails the test instead of skipping it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
PROMETHEUS = REPO / "detections" / "prometheus"
ALERTMANAGER = REPO / "detections" / "alertmanager" / "alertmanager.yml"
RULE_TESTS = sorted((PROMETHEUS / "tests").glob("*_test.yml"))


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is missing: scripts/setup.sh installs it (Debian packages prometheus, "
                        "prometheus-alertmanager)")
        pytest.skip(f"{name} not installed (run scripts/setup.sh)")
    return path


def run(*args: str, cwd: Path = PROMETHEUS) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, cwd=cwd, check=False, timeout=120)


def test_rules_are_valid():
    result = run(tool("promtool"), "check", "rules", "aiphone-alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("rule_test", RULE_TESTS, ids=[p.stem for p in RULE_TESTS])
def test_rule_unit_tests_pass(rule_test):
    result = run(tool("promtool"), "test", "rules", str(rule_test.relative_to(PROMETHEUS)))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_call_flood_case_and_the_ordinary_day_are_both_tested():
    text = (PROMETHEUS / "tests" / "call_volume_test.yml").read_text()
    assert "an ordinary day raises nothing" in text and "3,000 calls between 10:00 and 11:00" in text
    assert "clinic: 3000 calls in the last hour" in text


def test_a_blunted_rule_fails_the_flood_test(tmp_path):
    """Negative control: with a threshold no flood reaches, the flood test must fail, or it proves nothing."""
    rules = (PROMETHEUS / "aiphone-alerts.yml").read_text()
    blunted = rules.replace("clamp_min(3 * site:", "clamp_min(100 * site:").replace("* 0 + 200))", "* 0 + 5000))")
    assert blunted != rules
    (tmp_path / "tests").mkdir()
    (tmp_path / "aiphone-alerts.yml").write_text(blunted)
    shutil.copy(PROMETHEUS / "tests" / "call_volume_test.yml", tmp_path / "tests")
    result = run(tool("promtool"), "test", "rules", "tests/call_volume_test.yml", cwd=tmp_path)
    assert result.returncode != 0 and "3000 calls in the last hour" in result.stdout + result.stderr


def test_alertmanager_routes_are_valid_and_route_each_alert():
    amtool = tool("amtool")
    result = run(amtool, "check-config", str(ALERTMANAGER))
    assert result.returncode == 0, result.stdout + result.stderr
    expected = {("alertname=CallVolumeAboveBaseline", "severity=critical", "team=voice"): "on-call-pager",
                ("alertname=SipAuthFailureRateHigh", "severity=warning", "team=voice"): "site-admins",
                ("alertname=RecordingsReadVolumeHigh", "severity=critical", "team=security"):
                    "security-contact,site-admins"}
    for labels, receivers in expected.items():
        routed = run(amtool, "config", "routes", "test", f"--config.file={ALERTMANAGER}", *labels)
        assert routed.returncode == 0 and routed.stdout.strip() == receivers, (labels, routed.stdout, routed.stderr)
