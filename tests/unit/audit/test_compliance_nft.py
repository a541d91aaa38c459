"""NET-01 judges the effective verdict of the nftables input path (nft_verdict), on rulesets nft itself printed.

The JSON files under data/ are `nft -j list ruleset` of nftables 1.0.6 (Debian 12) after loading:
  nft_hardened_lab_host  the host_firewall ruleset of an ai-zone lab host + os_baseline's SSH guard (a second input
                         chain, priority filter - 10, policy accept)
  nft_only_accept        one input chain with policy accept (ssh, established, lo accepted)
  nft_hole               the hardened host plus, in the dropping chain, `ip saddr 10.10.40.0/24 tcp dport 443 accept`
                         (guest -> https, denied by the policy) and `tcp dport 8080 accept`
  nft_second_accept      the hardened host plus a chain `legacy` (priority filter + 10, policy accept) accepting
                         8080, 3306 and everything from the guest zone: the first chain's drop is final
"""

from __future__ import annotations

import copy
import ipaddress
import json
from pathlib import Path

import pytest

from ansible_collections.aiphone.hardening.plugins.module_utils.compliance import nft_verdict as nv
from ansible_collections.aiphone.hardening.plugins.module_utils.compliance.checks import CHECKS, Context
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import load_site_policy

REPO = Path(__file__).resolve().parents[3]
DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def policy():
    return load_site_policy(str(REPO / "inventories" / "lab" / "site_policy.yml"))


def _ruleset(name: str) -> dict:
    return json.loads((DATA / f"nft_{name}.json").read_text())


def _net01(policy, ruleset: dict):
    evidence = {"hosts": {"pbx-01": {"nft_ruleset": json.dumps(ruleset)},
                          "ai-gw-01": {"nft_ruleset": json.dumps(_ruleset("hardened_lab_host"))}}}
    ctx = Context(policy=policy, inventory={}, trail_records=[], trail_report=None, evidence=evidence)
    return CHECKS["hosts.firewall_default_deny"](ctx)


def test_hardened_lab_host_passes_with_the_ssh_guard_chain_in_front(policy):
    ruleset = nv.parse(_ruleset("hardened_lab_host"))
    assert nv.input_base_chains(ruleset) == [("inet", "aiphone_ssh_guard", "input"), ("inet", "aiphone_host", "input")]
    outcome = _net01(policy, _ruleset("hardened_lab_host"))
    assert outcome.status == "pass", outcome.findings
    # positive control: what the policy allows does get through both chains
    allowed = nv.verdict(ruleset, nv.Probe("voice", ipaddress.ip_address("10.10.20.7"), "tcp", 5061))
    assert allowed.accepted_by == ["inet aiphone_ssh_guard input rule 8",
                                   "inet aiphone_host input rule 21 (sip-tls from voice)"]
    denied = nv.verdict(ruleset, nv.Probe("data", ipaddress.ip_address("10.10.30.7"), "tcp", 22))
    assert denied.accepted_by == []


def test_only_input_chain_with_policy_accept_fails(policy):
    outcome = _net01(policy, _ruleset("only_accept"))
    assert outcome.status == "fail"
    finding = next(f for f in outcome.findings if f.startswith("pbx-01:"))
    assert "from zone guest (10.10.40.1): tcp/9 (a port no rule names: not default-deny)" in finding
    assert "(accepted by inet filter input policy accept)" in finding
    assert not any(f.startswith("ai-gw-01") for f in outcome.findings)


def test_accept_for_a_denied_port_inside_the_dropping_chain_fails_naming_zone_and_port(policy):
    outcome = _net01(policy, _ruleset("hole"))
    assert outcome.status == "fail"
    finding = outcome.findings[0]
    assert finding.startswith("pbx-01: ")
    assert "from zone guest (10.10.40.1): tcp/443, tcp/8080 open" in finding
    assert "inet aiphone_host input rule 30 (guest portal)" in finding
    assert "from zone voice (10.10.20.1): tcp/8080 open" in finding
    # every policy chain is still a drop chain: a check of "policy drop" alone would have passed this host
    chains = [e["chain"] for e in _ruleset("hole")["nftables"] if "chain" in e and e["chain"].get("hook") == "input"]
    assert {c["name"]: c["policy"] for c in chains if c["table"] == "aiphone_host"} == {"input": "drop"}


def test_second_accept_policy_chain_accepting_a_denied_port_passes_because_the_drop_is_final(policy):
    ruleset = nv.parse(_ruleset("second_accept"))
    assert ("inet", "legacy", "input") in nv.input_base_chains(ruleset)
    outcome = _net01(policy, _ruleset("second_accept"))
    assert outcome.status == "pass", outcome.findings
    walk = nv.verdict(ruleset, nv.Probe("guest", ipaddress.ip_address("10.10.40.9"), "tcp", 8080))
    assert walk.accepted_by == []


def test_the_order_is_the_priority_not_the_listing(policy):
    """The accept-policy chain listed first but hooked after the dropping one changes nothing; moved before it,
    its accept still only hands the packet on: the hardened chain decides."""
    data = _ruleset("second_accept")
    for entry in data["nftables"]:
        if "chain" in entry and entry["chain"]["table"] == "legacy":
            entry["chain"]["prio"] = -200
    assert _net01(policy, data).status == "pass"


def test_no_input_chain_at_all_opens_everything(policy):
    outcome = _net01(policy, {"nftables": [{"metainfo": {"version": "1.0.6"}}]})
    assert outcome.status == "fail"
    assert "no base chain at the input hook" in outcome.findings[0]


def test_unknown_expression_in_an_accept_rule_is_assumed_to_match_and_said(policy):
    data = copy.deepcopy(_ruleset("hardened_lab_host"))
    data["nftables"].append({"rule": {"family": "inet", "table": "aiphone_host", "chain": "input", "handle": 99,
                                      "expr": [{"match": {"op": "==", "left": {"osf": {"key": "name"}},
                                                          "right": "Linux"}}, {"accept": None}]}})
    data["nftables"] = [e for e in data["nftables"] if not ("rule" in e and e["rule"].get("handle") == 28
                                                          and e["rule"]["table"] == "aiphone_host")]
    outcome = _net01(policy, data)
    assert outcome.status == "fail"
    assert "assumed, the audit cannot evaluate: inet aiphone_host input rule 99: osf expression" in outcome.findings[0]


@pytest.mark.parametrize("garbage", ['{"tables": []}', "not json", '{"nftables": [{"rule": {"expr": []}}]}'])
def test_malformed_evidence_fails_with_a_clear_message(policy, garbage):
    evidence = {"hosts": {"pbx-01": {"nft_ruleset": garbage},
                          "ai-gw-01": {"nft_ruleset": json.dumps(_ruleset("hardened_lab_host"))}}}
    ctx = Context(policy=policy, inventory={}, trail_records=[], trail_report=None, evidence=evidence)
    outcome = CHECKS["hosts.firewall_default_deny"](ctx)
    assert outcome.status == "fail"
    assert outcome.findings[0].startswith("pbx-01: the nftables ruleset read back cannot be evaluated")
