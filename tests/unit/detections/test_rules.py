"""Every Sigma rule of detections/sigma: well formed (ATT&CK tag, level, checklist id), compiles with pySigma for
Splunk and SQLite, and detections/compiled is what the compiler produces from the rules today."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from ansible_collections.aiphone.hardening.plugins.module_utils.detections import compile as detections
from scripts import compile_detections

REPO = Path(__file__).resolve().parents[3]
CHECKLIST_IDS = {item["id"] for item in yaml.safe_load((REPO / "checklist" / "checklist.yml").read_text())["items"]}


@pytest.fixture(scope="module")
def collection():
    return detections.load_rules(compile_detections.RULES)


@pytest.fixture(scope="module")
def rendered():
    return compile_detections.rendered()


def test_every_rule_has_attack_tag_level_and_checklist_ids(collection):
    for rule in collection.rules:
        namespaces = {tag.namespace for tag in rule.tags}
        assert namespaces & {"attack", "atlas"}, f"{rule.name}: no ATT&CK / ATLAS tag"
        assert any(re.fullmatch(r"t\d{4}(\.\d{3})?|aml-t\d{4}", tag.name) for tag in rule.tags), rule.name
        assert rule.level is not None, f"{rule.name}: no level"
        ids = rule.custom_attributes["checklist"]
        assert ids and set(ids) <= CHECKLIST_IDS, f"{rule.name}: checklist ids {ids} not in checklist.yml"


def test_every_alert_compiles_to_one_splunk_stanza_and_one_sqlite_query(collection, rendered):
    alerts = detections.alerts(collection)
    assert len(alerts) >= 11
    saved = rendered["splunk/aiphone_detections/default/savedsearches.conf"]
    stanzas = re.findall(r"^\[(.+)\]$", saved, re.MULTILINE)
    assert sorted(stanzas) == sorted(["default"] + [rule.title for rule in alerts])
    queries = yaml.safe_load(rendered["sqlite/queries.json"])
    assert set(queries) == {rule.name for rule in alerts}
    for name, query in queries.items():
        assert query.lstrip().upper().startswith(("SELECT", "WITH")), name


def test_alert_stanzas_are_scheduled_thresholded_and_throttled(rendered):
    saved = rendered["splunk/aiphone_detections/default/savedsearches.conf"]
    for stanza in re.split(r"^\[", saved, flags=re.MULTILINE)[2:]:
        title = stanza.split("]", 1)[0]
        settings = dict(re.findall(r"^([\w.]+) = (.*)$", stanza, re.MULTILINE))
        assert settings["enableSched"] == "1" and settings["cron_schedule"].startswith("*/"), title
        assert settings["counttype"] == "number of events" and settings["relation"] == "greater than", title
        assert settings["alert.suppress"] == "1" and settings["alert.suppress.period"], title
        assert settings["search"].startswith('index="aiphone" sourcetype='), title


def test_correlations_keep_their_threshold_and_group_in_splunk(rendered):
    saved = rendered["splunk/aiphone_detections/default/savedsearches.conf"]
    stanza = saved.split("[Repeated failed SSH logins from one source]", 1)[1].split("\n[", 1)[0]
    assert "stats count as event_count by _time src_ip" in stanza
    assert "search event_count >= 5" in stanza
    assert "alert.suppress.fields = src_ip" in stanza
    assert "dispatch.earliest_time = -600s" in stanza


def test_compiled_set_is_up_to_date(rendered):
    assert compile_detections.stale(rendered, compile_detections.COMPILED) == [], \
        "detections/compiled is stale: run `make detections` and commit the result"


def test_business_hours_of_the_role_become_the_off_hours_placeholder():
    values = detections.values_from_thresholds({"off_hours_access": {"business_hours": "08:00-18:00",
                                                                     "business_days": ["mon", "tue", "wed", "thu"]}})
    assert values.off_hours == tuple(str(h) for h in [*range(8), *range(18, 24)])
    assert values.off_days == ("friday", "saturday", "sunday")
    with pytest.raises(detections.DetectionCompileError, match="business_hours"):
        detections.values_from_thresholds({"off_hours_access": {"business_hours": "19:00-07:00"}})
    with pytest.raises(detections.DetectionCompileError, match="business_days"):
        detections.values_from_thresholds({"off_hours_access": {"business_days": ["mon", "fun"]}})


def test_a_rule_without_checklist_id_is_refused(tmp_path):
    rule = (compile_detections.RULES / "sip.yml").read_text().split("\n---\n")[-1]
    (tmp_path / "r.yml").write_text(rule.replace("checklist: [LOG-02]\n", ""))
    with pytest.raises(detections.DetectionCompileError, match="checklist"):
        detections.load_rules(tmp_path)


def test_the_shipped_replay_record_is_of_the_rules_as_compiled():
    """detections/replay-record.json ships with the rules (the audit_logging role deploys it; LOG-02 and
    CRD-02 judge it): it must be a complete, passing replay of exactly these compiled queries. Changing a rule without
    re-running tests/integration/detections (which rewrites the record) fails here."""
    import hashlib
    import json
    from pathlib import Path

    detections_dir = Path(__file__).resolve().parents[3] / "detections"
    compiled = detections_dir / "compiled"
    record = json.loads((detections_dir / "replay-record.json").read_text())
    queries = (compiled / "sqlite" / "queries.json").read_text()
    assert record["compiled_sha256"] == hashlib.sha256(queries.encode()).hexdigest()
    assert record["complete"] is True and record["normal_day_false_positives"] == 0
    live = set(json.loads(queries)) - set(record["not_replayed"])
    assert live and set(record["alerts"]) == live and all(a["fired"] for a in record["alerts"].values())
