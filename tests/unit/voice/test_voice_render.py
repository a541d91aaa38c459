"""The voice edge renderer (module_utils/voice_edge_render.py), offline: what the policy says is what the files
say, and a value that could inject a line is refused even when the model was not validated."""

from __future__ import annotations

import copy
import hashlib
import re
from pathlib import Path

import pytest
import yaml

from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import (
    load_site_policy,
    unchecked_site_policy,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.voice_edge_render import (
    ALERT_TAG,
    VoiceRenderError,
    render_edge,
    subscriber_ha1,
)

ROOT = Path(__file__).resolve().parents[3]
LAB_POLICY = ROOT / "inventories" / "lab" / "site_policy.yml"
PASSWORDS = {"101": "Phone-101-Secret", "102": "Phone-102-Secret", "103": "Phone-103-Secret"}
OPTIONS = {"listen_address": "10.10.50.10", "passwords": PASSWORDS, "topoh_key": "0123456789abcdef" * 2,
           "cert_file": "/etc/kamailio/aiphone-edge.pem", "key_file": "/etc/kamailio/aiphone-edge.key",
           "agent_ca_file": "/etc/kamailio/aiphone-agent-ca.pem"}


@pytest.fixture(scope="module")
def files() -> dict:
    return render_edge(load_site_policy(str(LAB_POLICY)), **OPTIONS)


def _route(cfg: str, name: str) -> str:
    match = re.search(r"^route\[" + name + r"\] \{\n(.*?)^\}", cfg, re.MULTILINE | re.DOTALL)
    assert match, f"route[{name}] missing"
    return match.group(1)


def test_sip_only_on_tls_5061(files):
    cfg = files["kamailio_cfg"]
    listens = re.findall(r"^listen=(.*)$", cfg, re.MULTILINE)
    assert listens == ["tls:10.10.50.10:5061", "tcp:127.0.0.1:9094"]
    assert "5060" not in cfg
    assert "enable_tls=yes" in cfg
    # SIP arriving on the loopback TCP (metrics) socket is dropped before anything else
    request_route = cfg.split("request_route {", 1)[1]
    assert request_route.lstrip().startswith("# the loopback TCP socket")
    assert "if (proto != TLS) {\n\t\texit;" in request_route


def test_tls_cfg_is_tls12_plus_with_aead_ciphers(files):
    tls = files["tls_cfg"]
    assert tls.count("method = TLSv1.2+") == 2
    assert "method = TLSv1\n" not in tls
    ciphers = re.findall(r"^cipher_list = (.*)$", tls, re.MULTILINE)
    assert ciphers and all(c == ciphers[0] for c in ciphers)
    for suite in ciphers[0].split(":"):
        assert suite.startswith("ECDHE-") and ("GCM" in suite or "CHACHA20" in suite), suite
    assert "certificate = /etc/kamailio/aiphone-edge.pem" in tls
    assert "private_key = /etc/kamailio/aiphone-edge.key" in tls
    client = tls.split("[client:default]", 1)[1]
    assert "verify_certificate = yes" in client and "ca_list = /etc/kamailio/aiphone-agent-ca.pem" in client


def test_subscriber_table_holds_ha1_never_the_password(files):
    table = files["subscriber"]
    for password in PASSWORDS.values():
        assert password not in table
    header, *rows = table.strip().splitlines()
    assert header.startswith("id(int,auto) username(string) domain(string) password(string,null) ha1(string)")
    assert len(rows) == 3
    _number, user, domain, password, ha1, ha1b = rows[0].split(":")
    assert (user, domain, password) == ("101", "sip.lab.example", "")
    assert ha1 == hashlib.md5(b"101:sip.lab.example:Phone-101-Secret", usedforsecurity=False).hexdigest()
    assert (ha1, ha1b) == subscriber_ha1("101", "sip.lab.example", "Phone-101-Secret")
    assert "0:subscriber:7" in files["version"]


def test_auth_route_answers_unknown_and_wrong_alike_and_bans(files):
    auth = _route(files["kamailio_cfg"], "AUTH")
    assert 'auth_check("sip.lab.example", "subscriber", "1");' in auth
    # -2 wrong password, -3 unknown user, -8 user mismatch: the same branch, then the same challenge
    assert "$var(auth) == -2 || $var(auth) == -3 || $var(auth) == -8" in auth
    assert auth.count('auth_challenge("sip.lab.example", "1");') == 1
    assert "$sht(authfail=>$si) >= 5" in auth
    assert f'xlog("L_ALERT", "ALERT: {ALERT_TAG} ban=auth src=$si ' in auth
    assert "authfail=>size=10;autoexpire=300;initval=0;" in files["kamailio_cfg"]


def test_reqinit_drops_banned_floods_scanners_malformed(files):
    cfg = files["kamailio_cfg"]
    reqinit = _route(cfg, "REQINIT")
    assert reqinit.index("$sht(ipban=>$si) > 0") < reqinit.index("pike_check_req()")
    assert f'"ALERT: {ALERT_TAG} ban=pike src=$si method=$rm\\n"' in reqinit
    assert '$(ua{s.tolower}) =~ "friendly-scanner|sipvicious|sipcli' in reqinit
    assert 'sanity_check("17895", "7")' in reqinit
    # trunks and the agent are not rate-limited (as the default kamailio.cfg advises for trusted peers)
    assert '$si == "192.0.2.10" || $si == "10.10.50.11"' in reqinit
    assert 'modparam("pike", "reqs_density_per_unit", 16)' in cfg
    assert 'modparam("pike", "sampling_time_unit", 2)' in cfg
    assert "ipban=>size=10;autoexpire=300;initval=0;" in cfg
    for silent in ("$sht(ipban=>$si) > 0) {\n\t\texit;", 'scanner_drops", "1");\n\t\texit;'):
        assert silent in reqinit   # no reply to a banned source or a scanner


def test_only_agent_extensions_are_destinations(files):
    destination = _route(files["kamailio_cfg"], "DESTINATION")
    assert 'if (!(uri == myself && ($rU == "100" || $rU == "199"))) {' in destination
    assert 'sl_send_reply("403", "Forbidden");' in destination
    assert '$du = "sip:10.10.50.11:5061;transport=tls";' in destination
    assert 'lookup("location")' in destination   # the agent reaches registered phones only
    caller = _route(files["kamailio_cfg"], "CALLER")
    assert 'if ($si == "192.0.2.10") {' in caller and "route(AUTH);" in caller


def test_srtp_only_offers(files):
    media = _route(files["kamailio_cfg"], "SRTP_ONLY")
    assert ('if (!has_body("application/sdp") || sdp_with_transport_like("RTP/AVP") || '
            '!sdp_with_transport_like("SAVP")) {') in media
    assert 'sl_send_reply("488", "Not Acceptable Here");' in media
    assert "RTP/SAVP\");" in media   # calls from the agent leave the edge with SRTP


def test_topoh_and_metrics(files):
    cfg = files["kamailio_cfg"]
    assert 'loadmodule "topoh.so"' in cfg and 'modparam("topoh", "mask_key", "' + OPTIONS["topoh_key"] in cfg
    assert 'modparam("xhttp_prom", "prom_counter", "name=voice_auth_failures;")' in cfg
    assert '$Rp == 9094 && $si == "127.0.0.1"' in cfg


def test_rtpengine_user_space_on_the_policy_range(files):
    conf = files["rtpengine_conf"]
    assert "table = -1" in conf
    assert "port-min = 10000" in conf and "port-max = 20000" in conf
    assert "interface = 10.10.50.10" in conf
    assert files["rtp_ports"] == [10000, 20000]


def test_fail2ban_filter_matches_the_alert_lines(files):
    failregex = re.search(r"^failregex = (.*)$", files["fail2ban_filter"], re.MULTILINE).group(1)
    pattern = re.compile(failregex.replace("<HOST>", r"(?P<host>\S+)"))
    line = f" 5(123) ALERT: <script>: ALERT: {ALERT_TAG} ban=pike src=198.51.100.7 method=REGISTER"
    assert pattern.search(line).group("host") == "198.51.100.7"
    assert pattern.search(f"ALERT: {ALERT_TAG} ban=auth src=198.51.100.8 failures=5").group("host") == \
        "198.51.100.8"
    assert not pattern.search(f"NOTICE: {ALERT_TAG} refused destination from 198.51.100.9")
    jail = files["fail2ban_jail"]
    assert "banaction = nftables-allports" in jail and "maxretry = 1" in jail and "bantime = 300" in jail


def test_rendering_is_deterministic():
    policy = load_site_policy(str(LAB_POLICY))
    assert render_edge(policy, **OPTIONS) == render_edge(policy, **OPTIONS)


@pytest.mark.parametrize(("option", "value", "fragment"), [
    ("listen_address", "0.0.0.0", "not a wildcard"),
    ("listen_address", "10.10.50.10\nlisten=udp:0.0.0.0:5060", "not an IPv4 address"),
    ("topoh_key", 'x"; exit', "hexadecimal"),
    ("cert_file", "/etc/kamailio/a b.pem", "cannot be written"),
    ("passwords", {"101": "short"}, "shorter than 12"),
])
def test_unsafe_options_are_refused(option, value, fragment):
    with pytest.raises(VoiceRenderError, match=fragment):
        render_edge(load_site_policy(str(LAB_POLICY)), **{**OPTIONS, option: value})


@pytest.mark.parametrize(("path", "value", "fragment"), [
    (("agent", "extensions"), ['100" || 1 == 1'], "cannot be written"),
    (("agent", "address"), "10.10.50.11;transport=udp", "not an IPv4 address"),
    (("sip_domain",), 'sip.lab"\nlisten=udp:0.0.0.0:5060', "cannot be written"),
    (("trunks",), [{"name": "t", "address": "any"}], "not an IPv4 address"),
])
def test_unvalidated_model_cannot_inject(path, value, fragment):
    data = copy.deepcopy(yaml.safe_load(LAB_POLICY.read_text()))
    target = data["voice"]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(VoiceRenderError, match=fragment):
        render_edge(unchecked_site_policy(data), **OPTIONS)


def test_no_voice_section_is_refused():
    data = yaml.safe_load(LAB_POLICY.read_text())
    del data["voice"]
    with pytest.raises(VoiceRenderError, match="no voice section"):
        render_edge(unchecked_site_policy(data), **OPTIONS)
