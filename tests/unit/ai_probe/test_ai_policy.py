"""The site policy's ai_agent: section - schema, semantic checks (errors naming file, line, key and value), the
typed AiAgent model and its defaults."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import (
    AiAgent,
    PolicyError,
    load_site_policy,
    site_policy_from_data,
)

REPO = Path(__file__).resolve().parents[3]
LAB = REPO / "inventories" / "lab" / "site_policy.yml"
RAW = yaml.safe_load(LAB.read_text())


def _with(**changes) -> dict:
    data = copy.deepcopy(RAW)
    for key, value in changes.items():
        if value is None:
            data["ai_agent"].pop(key, None)
        else:
            data["ai_agent"][key] = value
    return data


def _errors(data: dict) -> list:
    with pytest.raises(PolicyError) as caught:
        site_policy_from_data(data, "site_policy.yml")
    return caught.value.errors


def test_the_lab_section_builds_the_typed_model():
    agent = load_site_policy(str(LAB)).ai_agent
    assert isinstance(agent, AiAgent)
    assert agent.response_field == "$.reply" and agent.token_var == "vault_ai_agent_token"
    assert agent.auth_header == "Authorization" and agent.auth_scheme == "Bearer"
    assert agent.placeholders() == {"INPUT", "CALLER_NAME", "CALLBACK_NUMBER", "APPOINTMENT_TYPE",
                                    "APPOINTMENT_NOTES"}
    assert agent.request_template["caller"]["callback_number"] == "$CALLBACK_NUMBER"
    assert agent.canaries.customer_name == "Quentin Canarywood"
    assert "checkup" in agent.appointment_types and agent.evidence_interval_days() == 90
    hash(load_site_policy(str(LAB)))   # the model stays hashable (the template is kept as JSON text)


def test_defaults_and_a_site_without_the_section():
    data = _with(auth=None, rate_limit_per_minute=None, evidence_interval=None, safe_mode_on_leak=None,
                 timeout_seconds=None)
    agent = site_policy_from_data(data).ai_agent
    assert (agent.token_var, agent.rate_limit_per_minute, agent.timeout_seconds) == (None, 60, 10)
    assert agent.evidence_interval == "90d" and agent.safe_mode_on_leak is False
    data.pop("ai_agent")
    assert site_policy_from_data(data).ai_agent is None


@pytest.mark.parametrize(("changes", "path", "message"), [
    ({"request_template": {"message": "$UTTERANCE"}}, "ai_agent.request_template.message", "unknown placeholder"),
    ({"request_template": {"caller": "$CALLER_NAME"}}, "ai_agent.request_template", "needs $INPUT"),
    ({"request_template": {"message": "$INPUT", "key": "$KEY"}}, "ai_agent.request_template.key",
     "never goes in the request body"),
    ({"allow_lists": {"callback_number": "^[0-9(+$", "appointment_types": ["checkup"]}},
     "ai_agent.allow_lists.callback_number", "not a regular expression"),
    ({"allow_lists": {"callback_number": "^[0-9]+$", "appointment_types": []}},
     "ai_agent.allow_lists.appointment_types", "should be non-empty"),
    ({"response_field": "$..reply"}, "ai_agent.response_field", "must be a JSON path"),
    ({"url": "http://user:pw@agent.example.com/chat"}, "ai_agent.url", "must be an http:// or https:// URL"),
    ({"url": "http://agent.example.com/chat"}, "ai_agent.url", "cross the network in clear text"),
    ({"canaries": {"card_number": "4000 0566 556", "customer_name": "Quentin Canarywood",
                   "system_prompt_phrase": "lantern-okapi-7781 clinic rulebook"}},
     "ai_agent.canaries.card_number", "12 to 19 digits"),
    ({"canaries": {"card_number": "4000 0566 5566 5556", "customer_name": "Quentin Canarywood",
                   "system_prompt_phrase": "quentin canarywood"}}, "ai_agent.canaries", "distinct"),
    ({"evidence_interval": "90 days"}, "ai_agent.evidence_interval", "duration"),
    ({"evidence_interval": "3h"}, "ai_agent.evidence_interval", "at least 1d"),
    ({"rate_limit_per_minute": 0}, "ai_agent.rate_limit_per_minute", "less than the minimum"),
    ({"auth": {"token_var": "vault-token"}}, "ai_agent.auth.token_var", "Ansible variable name"),
    ({"retries": 3}, "ai_agent.retries", "unknown key"),
])
def test_bad_values_are_refused_naming_key_and_value(changes, path, message):
    errors = _errors(_with(**changes))
    assert any(e.path == path and message in e.message for e in errors), [str(e) for e in errors]


def test_an_https_agent_on_the_network_is_accepted():
    agent = site_policy_from_data(_with(url="https://agent.example.com:8443/v1/chat")).ai_agent
    assert agent.url == "https://agent.example.com:8443/v1/chat"


def test_the_error_names_the_file_and_line(tmp_path):
    text = LAB.read_text().replace("response_field: $.reply", "response_field: $..reply")
    path = tmp_path / "site_policy.yml"
    path.write_text(text)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "response_field" in row)
    with pytest.raises(PolicyError) as caught:
        load_site_policy(str(path))
    (issue,) = [e for e in caught.value.errors if e.path == "ai_agent.response_field"]
    assert issue.line == line and issue.value == "$..reply"
    assert str(issue).startswith(f"{path}:{line}: ai_agent.response_field = '$..reply': ")
