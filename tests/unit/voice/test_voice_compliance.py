"""The voice items of the compliance report (VOI-01..04): the edge's read-back judged against the policy. The
rendered configuration passes; each weakened copy fails naming what is missing; no read-back is no evidence."""

from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.aiphone.hardening.plugins.module_utils.compliance.checks import (
    CHECKS,
    FAIL,
    NO_EVIDENCE,
    PASS,
    Context,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import load_site_policy
from ansible_collections.aiphone.hardening.plugins.module_utils.voice_edge_render import render_edge

ROOT = Path(__file__).resolve().parents[3]
POLICY = load_site_policy(str(ROOT / "inventories" / "lab" / "site_policy.yml"))
FILES = render_edge(POLICY, listen_address="10.10.50.10", passwords={u: "Sip-Password-" + u for u in
                                                                       ("101", "102", "103")},
                    topoh_key="ab" * 16, cert_file="/etc/kamailio/e.pem", key_file="/etc/kamailio/e.key",
                    agent_ca_file="/etc/kamailio/ca.pem")
LISTENERS = (
    'tcp   LISTEN 0      1024      10.10.50.10:5061      0.0.0.0:*    users:(("kamailio",pid=77,fd=9))\n'
    'tcp   LISTEN 0      1024        127.0.0.1:9094      0.0.0.0:*    users:(("kamailio",pid=77,fd=10))\n'
    'udp   UNCONN 0      0           127.0.0.1:2223      0.0.0.0:*    users:(("rtpengine",pid=80,fd=5))\n'
    'tcp   LISTEN 0      128           0.0.0.0:22        0.0.0.0:*    users:(("sshd",pid=50,fd=3))\n')
FAIL2BAN = "Status for the jail: aiphone-voice\n|- Filter\n|  |- Currently failed:\t0\n"
GOOD = {"kamailio_cfg": FILES["kamailio_cfg"], "tls_cfg": FILES["tls_cfg"], "rtpengine_conf": FILES["rtpengine_conf"],
        "listeners": LISTENERS, "fail2ban": FAIL2BAN}
NAMES = ("voice.sip_tls_only", "voice.srtp_required", "voice.floods_banned", "voice.no_open_relay")


def outcome(name: str, voice: dict | None, policy=POLICY):
    evidence = {"hosts": {"pbx-01": {"voice": voice}}} if voice is not None else {"hosts": {}}
    return CHECKS[name](Context(policy, {}, [], None, evidence))


@pytest.mark.parametrize("name", NAMES)
def test_rendered_edge_passes(name):
    result = outcome(name, GOOD)
    assert result.status == PASS, result.findings


@pytest.mark.parametrize("name", NAMES)
def test_no_read_back_is_no_evidence(name):
    assert outcome(name, None).status == NO_EVIDENCE


def _with(**changes) -> dict:
    return {**GOOD, **changes}


CFG, TLS = GOOD["kamailio_cfg"], GOOD["tls_cfg"]
CASES = [
    ("voice.sip_tls_only", _with(kamailio_cfg=CFG.replace("listen=tcp:127.0.0.1:9094", "listen=udp:0.0.0.0:5060")),
     "listens on udp:0.0.0.0:5060"),
    ("voice.sip_tls_only", _with(listeners=LISTENERS + 'udp UNCONN 0 0 0.0.0.0:5060 0.0.0.0:* '
                                                        'users:(("kamailio",pid=77,fd=11))\n'), "udp 0.0.0.0:5060"),
    ("voice.sip_tls_only", _with(tls_cfg=TLS.replace("method = TLSv1.2+", "method = TLSv1+", 1)), "allows TLSv1+"),
    ("voice.sip_tls_only", _with(tls_cfg=TLS.replace("method = TLSv1.2+\n", "#method = TLSv1.2+\n", 1)),
     "sets no method"),
    ("voice.srtp_required", _with(kamailio_cfg=CFG.replace("\troute(SRTP_ONLY);\n", "\t# route(SRTP_ONLY);\n")),
     "does not run the SRTP check"),
    ("voice.srtp_required", _with(rtpengine_conf=FILES["rtpengine_conf"].replace("table = -1", "table = 0")),
     "table = -1"),
    ("voice.floods_banned", _with(kamailio_cfg=CFG.replace("if (!pike_check_req()) {", "if (0) {")), "pike"),
    ("voice.floods_banned", _with(fail2ban=""), "fail2ban jail"),
    ("voice.floods_banned", _with(kamailio_cfg=CFG.replace("$sht(authfail=>$si) >= 5", "$sht(authfail=>$si) >= 50")),
     "after 5 failed"),
    ("voice.no_open_relay", _with(kamailio_cfg=CFG.replace('$rU == "199"', '$rU =~ "^00"')), "differ"),
    ("voice.no_open_relay", _with(kamailio_cfg=CFG.replace('$du = "sip:10.10.50.11:', '$du = "sip:203.0.113.5:')),
     "relay targets"),
]


@pytest.mark.parametrize(("name", "voice", "fragment"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_weakened_edge_fails(name, voice, fragment):
    result = outcome(name, voice)
    assert result.status == FAIL
    assert any(fragment in finding for finding in result.findings), result.findings


def test_policy_without_voice_section_is_no_evidence():
    data = dict(POLICY.raw)
    data.pop("voice")
    from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import site_policy_from_data

    policy = site_policy_from_data(data)
    for name in NAMES:
        result = outcome(name, GOOD, policy)
        assert result.status == NO_EVIDENCE and "no voice section" in result.detail
