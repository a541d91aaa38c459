"""The host firewall renderer: site policy -> nftables ruleset of one host. Offline; the syntax itself is checked by
the real `nft -c` when this machine can run it (root), and the traffic proof is in molecule/hosts_security."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ansible_collections.aiphone.hardening.plugins.module_utils.nftables_render import (
    RenderError,
    host_zone,
    inbound_rules,
    plan_host_firewall,
    render_host_ruleset,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import (
    SitePolicy,
    load_site_policy,
    unchecked_site_policy,
)

LAB_POLICY = Path(__file__).resolve().parents[3] / "inventories" / "lab" / "site_policy.yml"


@pytest.fixture()
def policy() -> SitePolicy:
    return load_site_policy(str(LAB_POLICY))


@pytest.fixture()
def policy_data() -> dict:
    """The lab policy as a mapping, for tests that change it (then build the model from it)."""
    return copy.deepcopy(load_site_policy(str(LAB_POLICY)).raw)


def allowed(policy, zone, **options) -> set[tuple[str, str, str]]:
    return {(rule.zone, rule.service, rule.ports) for rule in inbound_rules(policy, zone, **options)}


def chain(ruleset: str, name: str) -> list[str]:
    lines = ruleset.splitlines()
    start = lines.index(f"\tchain {name} {{")
    end = lines.index("\t}", start)
    return [line.strip() for line in lines[start + 1:end]]


def test_ai_zone_accepts_exactly_the_policy_flows_and_ssh_from_mgmt(policy):
    assert allowed(policy, "ai") == {
        ("mgmt", "ssh", "22"),
        ("voice", "sip-tls", "5061"),
        ("voice", "rtp", "10000-20000"),
        ("data", "https", "443"),
        ("mgmt", "https", "443"),  # from the `mgmt -> any` flow
    }


def test_any_does_not_include_the_source_zone_but_ssh_from_mgmt_stays(policy):
    assert ("mgmt", "https", "443") not in allowed(policy, "mgmt")
    assert ("mgmt", "ssh", "22") in allowed(policy, "mgmt")


def test_ssh_only_from_mgmt_even_when_a_flow_grants_it(policy_data):
    policy_data["flows"].append({"from": "guest", "to": "ai", "service": "ssh"})
    ssh_sources = {zone for zone, service, _ in allowed(unchecked_site_policy(policy_data), "ai") if service == "ssh"}
    assert ssh_sources == {"mgmt"}
    assert "10.10.40.0/24" not in render_host_ruleset(unchecked_site_policy(policy_data), "ai")


def test_services_option_limits_to_what_the_host_runs_but_keeps_ssh(policy):
    assert {service for _, service, _ in allowed(policy, "ai", services=["sip-tls"])} == {"ssh", "sip-tls"}


def test_default_deny_on_input_and_forward(policy):
    ruleset = render_host_ruleset(policy, "ai")
    for name in ("input", "forward"):
        body = chain(ruleset, name)
        assert body[0] == f"type filter hook {name} priority filter; policy drop;"
    body = chain(ruleset, "input")
    assert body[1:4] == ['iif "lo" accept', "ct state invalid counter drop", "ct state established,related accept"]


def test_every_service_rule_names_its_source_subnet(policy):
    body = chain(render_host_ruleset(policy, "ai"), "input")
    accepts = [line for line in body if " dport " in line and line.endswith('"') and "accept" in line]
    assert accepts and all(line.startswith(("ip saddr ", "ip6 saddr ")) for line in accepts)
    assert 'ip saddr 10.10.20.0/24 tcp dport 5061 accept comment "sip-tls from voice"' in body
    assert 'ip saddr 10.10.20.0/24 udp dport 10000-20000 accept comment "rtp from voice"' in body
    assert 'ip saddr 10.10.10.0/24 tcp dport 22 accept comment "ssh from mgmt"' in body


def test_sip_rate_limit_per_source_before_the_accept(policy):
    body = chain(render_host_ruleset(policy, "ai", sip_rate_per_second=7, sip_burst=9), "input")
    limit = next(i for i, line in enumerate(body) if "@sip_flood_v4" in line)
    accept = body.index('ip saddr 10.10.20.0/24 tcp dport 5061 accept comment "sip-tls from voice"')
    assert limit < accept
    assert "ip saddr limit rate over 7/second burst 9 packets" in body[limit]
    assert not any("sip_flood_v4 {" in line for line in chain(render_host_ruleset(policy, "mgmt"), "input"))


def test_drops_are_logged_rate_limited_as_last_rule(policy):
    body = chain(render_host_ruleset(policy, "ai", log_rate_per_minute=6), "input")
    assert body[-2] == 'limit rate 6/minute burst 12 packets log prefix "[aiphone-drop input] " level info'
    assert not any("log" in line for line in chain(render_host_ruleset(policy, "ai", log_drops=False), "input"))


def test_ipv6_is_dropped_from_zones_without_prefixes_and_open_with_them(policy):
    body = chain(render_host_ruleset(policy, "ai"), "input")
    assert not any(line.startswith("ip6 saddr") and "dport" in line for line in body)
    assert 'icmpv6 type { nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } ip6 hoplimit 255 accept ' \
           'comment "neighbour discovery (IPv6 needs it)"' in body
    body = chain(render_host_ruleset(policy, "ai", zone_ipv6={"voice": ["fd00:20::/64"]}), "input")
    assert 'ip6 saddr fd00:20::/64 tcp dport 5061 accept comment "sip-tls from voice"' in body


def test_kept_controller_address_gets_ssh_only(policy):
    body = chain(render_host_ruleset(policy, "ai", keep_sources=["192.0.2.7", "2001:db8::7"]), "input")
    assert 'ip saddr 192.0.2.7/32 tcp dport 22 accept comment "kept: controller / operator SSH"' in body
    assert 'ip6 saddr 2001:db8::7/128 tcp dport 22 accept comment "kept: controller / operator SSH"' in body
    assert sum("192.0.2.7" in line for line in body) == 2  # SSH and ping, nothing else


def test_rendering_is_deterministic(policy):
    assert render_host_ruleset(policy, "ai") == render_host_ruleset(copy.deepcopy(policy), "ai")


def test_host_zone_comes_from_the_device_list(policy):
    assert host_zone(policy, "pbx-01") == "ai"
    with pytest.raises(RenderError, match="not among the policy's devices"):
        host_zone(policy, "unknown-host")
    with pytest.raises(RenderError, match="not linux"):
        host_zone(policy, "sw-core-01")


@pytest.mark.parametrize("options, message", [
    ({"table": "x; flush ruleset"}, "table name"),
    ({"table": "aiphone\n"}, "table name"),
    ({"keep_sources": ["10.0.0.1\naccept"]}, "not an IP address"),
    ({"keep_sources": ["10.0.0.1 } accept"]}, "not an IP address"),
    ({"zone_ipv6": {"voice": ["fd00::/64 accept"]}}, "IPv6 prefix"),
    ({"sip_rate_per_second": "20/second; accept"}, "SIP rate"),
    ({"rate_limited_services": ['sip" accept']}, "service name"),
    ({"services": ["https`id`"]}, "service name"),
])
def test_hostile_options_are_refused(policy, options, message):
    with pytest.raises(RenderError, match=message):
        render_host_ruleset(policy, "ai", **options)


def test_unvalidated_hostile_names_are_refused(policy_data):
    policy_data["services"]['https" accept'] = policy_data["services"]["https"]
    policy_data["flows"].append({"from": "data", "to": "ai", "service": 'https" accept'})
    with pytest.raises(RenderError, match="service name"):
        render_host_ruleset(unchecked_site_policy(policy_data), "ai")


def test_unknown_zone_and_missing_mgmt_zone_are_refused(policy_data):
    with pytest.raises(RenderError, match="zone 'lobby' is not defined"):
        render_host_ruleset(unchecked_site_policy(policy_data), "lobby")
    for zone in policy_data["zones"]:
        if zone["purpose"] == "mgmt":
            zone["purpose"] = "servers"
    with pytest.raises(RenderError, match="no zone with purpose mgmt"):
        render_host_ruleset(unchecked_site_policy(policy_data), "ai")


def test_plan_keeps_a_controller_outside_mgmt_and_says_so(policy):
    plan = plan_host_firewall(policy, "ai", controller="10.89.60.1")
    assert plan["controller_kept"] and not plan["lockout"] and not plan["controller_in_mgmt"]
    assert 'ip saddr 10.89.60.1/32 tcp dport 22 accept' in plan["ruleset"]
    assert {"zone": "voice", "service": "rtp", "protocol": "udp", "ports": "10000-20000"} in plan["inbound"]


def test_plan_flags_a_lockout_when_keeping_the_controller_is_refused(policy):
    plan = plan_host_firewall(policy, "ai", controller="10.89.60.1", keep_controller=False)
    assert plan["lockout"] and not plan["controller_kept"]
    assert "10.89.60.1" not in plan["ruleset"]


def test_plan_needs_no_exception_for_a_controller_in_mgmt(policy):
    plan = plan_host_firewall(policy, "ai", controller="10.10.10.50", keep_controller=False)
    assert plan["controller_in_mgmt"] and not plan["lockout"] and not plan["controller_kept"]
    assert "10.10.10.50" not in plan["ruleset"]


def test_plan_refuses_a_controller_that_is_not_an_address(policy):
    with pytest.raises(RenderError, match="controller address"):
        plan_host_firewall(policy, "ai", controller="10.0.0.1; flush ruleset")


def _nft_can_check() -> bool:
    return shutil.which("nft") is not None and os.geteuid() == 0


@pytest.mark.skipif(not _nft_can_check(), reason="needs the nft binary and root for `nft -c` (check only)")
@pytest.mark.parametrize("zone", ["ai", "mgmt", "voice"])
def test_real_nft_accepts_the_ruleset(policy, zone, tmp_path):
    path = tmp_path / "ruleset.nft"
    path.write_text(render_host_ruleset(policy, zone, keep_sources=["192.0.2.7"], zone_ipv6={"mgmt": ["fd00::/64"]}))
    result = subprocess.run(["nft", "-c", "-f", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
