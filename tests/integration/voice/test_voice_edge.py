"""The voice edge with real SIP traffic (issue 15): Kamailio 5.6 + rtpengine converged on the lab's pbx-01 by
playbooks/voice_edge.yml, probed over the network from the controller and from a second lab host.

The tests run in file order and share one converge (conftest.voice_lab): the two ban tests come last, because a
banned source stays banned for the policy's ban time.
"""

from __future__ import annotations

import json
import re
import socket
import time
from zoneinfo import ZoneInfo

import pytest

from ansible_collections.aiphone.hardening.plugins.module_utils.detections import events

from .conftest import DOMAIN, PASSWORDS, REPO_ROOT, sip

SipClient, savp_offer, tls_version_accepted = sip.SipClient, sip.savp_offer, sip.tls_version_accepted



def recap(output: str) -> dict[str, dict[str, int]]:
    hosts = {}
    for host, counters in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", output, re.MULTILINE):
        hosts[host] = {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", counters)}
    return hosts


@pytest.mark.timeout(3700)   # the package's one converge (two runs, packages installed from the Debian mirror)
def test_converge_is_idempotent(voice_lab):
    assert recap(voice_lab.first_run.stdout)["pbx-01"]["changed"] > 0
    assert recap(voice_lab.second_run.stdout)["pbx-01"]["changed"] == 0, voice_lab.second_run.stdout[-4000:]
    for password in PASSWORDS.values():   # no_log: the passwords never reach the output
        assert password not in voice_lab.first_run.stdout + voice_lab.second_run.stdout


def test_config_on_host_is_the_checked_one(voice_lab):
    voice_lab.exec("pbx-01", "kamailio", "-c", "-f", "/etc/kamailio/kamailio.cfg")   # exit status checked
    tls = voice_lab.exec("pbx-01", "cat", "/etc/kamailio/tls.cfg")
    assert "method = TLSv1.2+" in tls
    subscriber = voice_lab.exec("pbx-01", "cat", "/etc/kamailio/aiphone-db/subscriber")
    assert all(password not in subscriber for password in PASSWORDS.values())


@pytest.mark.parametrize(("version", "accepted"), [("TLSv1", False), ("TLSv1.1", False), ("TLSv1.2", True),
                                                   ("TLSv1.3", True)])
def test_tls_versions(voice_lab, version, accepted):
    result = tls_version_accepted(voice_lab.edge, 5061, version)
    assert result["accepted"] is accepted, result
    if accepted:
        assert result["version"] == version
        assert "GCM" in result["cipher"] or "CHACHA20" in result["cipher"], result
    else:
        assert "protocol version" in result["error"].lower() or "alert" in result["error"].lower(), result


def test_nothing_on_5060(voice_lab):
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((voice_lab.edge, 5060), timeout=3).close()
    options = (f"OPTIONS sip:{DOMAIN} SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKprobe\r\n"
               f"From: <sip:probe@{DOMAIN}>;tag=1\r\nTo: <sip:{DOMAIN}>\r\nCall-ID: probe\r\nCSeq: 1 OPTIONS\r\n"
               "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.settimeout(3)
        udp.connect((voice_lab.edge, 5060))
        udp.send(options)
        with pytest.raises((ConnectionRefusedError, TimeoutError)):
            udp.recv(4096)
    # every listening socket but sshd's (ss names only root's processes in the container): Kamailio's TLS socket,
    # its loopback metrics socket, rtpengine's loopback control socket - and nothing on 5060
    listening = voice_lab.exec("pbx-01", "ss", "-H", "-lntu")
    sockets = {(line.split()[0], line.split()[4]) for line in listening.splitlines() if line.strip()}
    assert not [s for s in sockets if s[1].endswith(":5060")], listening
    others = {s for s in sockets if not s[1].endswith(":22")}
    assert others == {("tcp", f"{voice_lab.edge}:5061"), ("tcp", "127.0.0.1:9094"), ("udp", "127.0.0.1:2223")}, \
        listening


def test_register_needs_credentials(voice_lab):
    with SipClient(voice_lab.edge) as client:
        assert [r.status for r in client.register("101", DOMAIN)] == [401]
    with SipClient(voice_lab.edge) as client:
        assert [r.status for r in client.register("101", DOMAIN, PASSWORDS["101"])] == [401, 200]


def test_unknown_user_and_wrong_password_get_the_same_answer(voice_lab):
    answers = []
    for user, password in (("102", "not-the-password"), ("999", "not-the-password")):
        with SipClient(voice_lab.edge) as client:
            final = client.register(user, DOMAIN, password)[-1]
        answers.append((final.status, final.reason, sorted(name for name, _ in final.headers),
                        re.sub(r'nonce="[^"]*"', "", final.header("www-authenticate") or "")))
    assert answers[0] == answers[1]
    assert answers[0][0] == 401


def test_invite_with_plain_rtp_is_refused(voice_lab):
    before = len(voice_lab.agent_requests())
    with SipClient(voice_lab.edge) as client:
        sdp = savp_offer(client.local[0], transport="RTP/AVP")
        statuses = [r.status for r in client.invite("100", DOMAIN, sdp, "101", PASSWORDS["101"])]
    assert statuses == [407, 488]
    assert len(voice_lab.agent_requests()) == before   # nothing reached the agent


def test_invite_with_srtp_reaches_the_agent(voice_lab):
    with SipClient(voice_lab.edge) as client:
        sdp = savp_offer(client.local[0], transport="RTP/SAVP")
        responses = client.invite("100", DOMAIN, sdp, "101", PASSWORDS["101"])
        caller_address = client.local[0]
    assert [r.status for r in responses if r.status >= 200] == [407, 200], [r.status for r in responses]
    answer = responses[-1].body
    assert "RTP/SAVP" in answer and "a=crypto:" in answer
    assert f"c=IN IP4 {voice_lab.edge}" in answer     # media through rtpengine on the edge
    invites = [r for r in voice_lab.agent_requests() if r["method"] == "INVITE"]
    assert invites, "the agent received no INVITE"
    offer = invites[-1]
    assert offer["request_line"].startswith("INVITE sip:100@")
    assert "RTP/SAVP" in offer["body"] and "a=crypto:" in offer["body"]
    assert f"c=IN IP4 {voice_lab.edge}" in offer["body"]
    # topology hiding: the caller's address is in no header and not in the SDP the agent gets
    assert caller_address not in "\n".join(offer["headers"]) + offer["body"]
    assert not any(h.lower().startswith("proxy-authorization") for h in offer["headers"])


def test_call_to_an_outside_number_is_refused(voice_lab):
    before = len(voice_lab.agent_requests())
    with SipClient(voice_lab.edge) as client:
        sdp = savp_offer(client.local[0])
        outside = [r.status for r in client.invite("004930123456789", DOMAIN, sdp, "101", PASSWORDS["101"])]
    with SipClient(voice_lab.edge) as client:
        sdp = savp_offer(client.local[0])
        other_domain = [r.status for r in client.invite("100", "evil.example", sdp, "101", PASSWORDS["101"],
                                                        from_domain=DOMAIN)]
    assert outside == [407, 403]
    assert other_domain == [407, 403]
    assert len(voice_lab.agent_requests()) == before


def test_scanner_user_agent_gets_no_reply(voice_lab):
    with SipClient(voice_lab.edge, user_agent="friendly-scanner") as client:
        assert client.options(DOMAIN) == []
    with SipClient(voice_lab.edge, user_agent="sipvicious") as client:
        assert client.options(DOMAIN) == []
    with SipClient(voice_lab.edge) as client:   # negative control: the same request from a phone is answered
        assert [r.status for r in client.options(DOMAIN)] == [200]


def test_metrics_count_calls_and_auth_failures(voice_lab):
    script = "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:9094/metrics').read().decode())"
    metrics = voice_lab.exec("pbx-01", "python3", "-c", script)
    assert re.search(r'^kamailio_voice_calls\s*\{result="relayed"\} [1-9]', metrics, re.MULTILINE), metrics[-2000:]
    assert re.search(r'^kamailio_voice_calls\s*\{result="refused_media"\} [1-9]', metrics, re.MULTILINE)
    assert re.search(r"^kamailio_voice_auth_failures [1-9]", metrics, re.MULTILINE)
    assert re.search(r"^kamailio_voice_scanner_drops [1-9]", metrics, re.MULTILINE)
    with pytest.raises(OSError):   # the metrics socket is on the loopback only
        socket.create_connection((voice_lab.edge, 9094), timeout=3).close()


def _wait_for(predicate, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(1)
    return predicate()


def test_wrong_passwords_ban_the_source_not_others(voice_lab):
    client_address = voice_lab.address("sip-client")
    result = voice_lab.client_in("sip-client", "wrong-passwords", "--count", "6", "--timeout", "3")
    statuses = result["statuses"]
    assert statuses[:4] == [[401, 401]] * 4, statuses          # four failures: challenged again each time
    assert statuses[4] == [401], statuses                       # the fifth failure bans: no answer to it
    assert statuses[5] == [], statuses                          # banned: silence
    journal = voice_lab.journal("kamailio")
    assert f"ALERT: aiphone-voice ban=auth src={client_address} " in journal
    # the right password from the banned source is not answered either ...
    assert voice_lab.client_in("sip-client", "register", "--password", PASSWORDS["102"], "--user", "102",
                               "--timeout", "3").get("statuses", []) == []
    # ... while another source still registers
    with SipClient(voice_lab.edge) as client:
        assert [r.status for r in client.register("103", DOMAIN, PASSWORDS["103"])] == [401, 200]
    banned = _wait_for(lambda: client_address in voice_lab.exec(
        "pbx-01", "nft", "list", "set", "inet", "f2b-table", "addr-set-aiphone-voice", check=False))
    assert banned, voice_lab.exec("pbx-01", "fail2ban-client", "status", "aiphone-voice", check=False)


def test_flood_is_banned_with_an_alert(voice_lab):
    """Last: the controller floods and is banned (the fixture removes the lab afterwards)."""
    with SipClient(voice_lab.edge) as client:
        source = client.local[0]
        for number in range(200):   # a call flood: 200 new calls (INVITEs, each its own Call-ID) at once
            client.call_id = f"flood-{number}-{time.monotonic_ns()}"
            client.request("INVITE", f"sip:100@{DOMAIN}", from_uri=f"sip:flood@{DOMAIN}", to_uri=f"sip:100@{DOMAIN}",
                           body=savp_offer(source))
        answered = 0
        while client.receive(timeout=3.0) is not None:
            answered += 1
    assert 0 < answered < 200
    journal = voice_lab.journal("kamailio")
    assert f"ALERT: aiphone-voice ban=pike src={source} method=INVITE" in journal
    try:   # still banned: no answer to a plain OPTIONS (or no connection at all once fail2ban has the address)
        with SipClient(voice_lab.edge, timeout=3) as client:
            assert client.options(DOMAIN) == []
    except OSError:
        pass
    banned = _wait_for(lambda: source in voice_lab.exec(
        "pbx-01", "nft", "list", "set", "inet", "f2b-table", "addr-set-aiphone-voice", check=False))
    assert banned


def test_sip_attacks_fire_their_detection_rules(voice_lab):
    """Issue 16's live replay of the SIP rules: what the edge really wrote during this module (the second lab host's
    wrong passwords, the controller's call flood, and the ordinary traffic before them: registrations, calls, the
    controller's two wrong passwords) loaded into SQLite and queried with the committed compiled queries."""
    queries = json.loads((REPO_ROOT / "detections" / "compiled" / "sqlite" / "queries.json").read_text())
    journal = voice_lab.exec("pbx-01", "journalctl", "-o", "json", "--no-pager", "SYSLOG_IDENTIFIER=kamailio")
    db = events.load_sqlite(events.parse_journal_json(journal, ZoneInfo("UTC")))
    client_address = voice_lab.address("sip-client")
    failures = dict(db.execute("SELECT src_ip, COUNT(*) FROM logs WHERE SYSLOG_IDENTIFIER = 'kamailio' AND "
                               "MESSAGE LIKE '%AUTH: failed %' GROUP BY src_ip").fetchall())
    assert failures.get(client_address) == 5, failures             # the fifth failure bans: no sixth line
    others = {ip: n for ip, n in failures.items() if ip != client_address}
    assert others and all(n < 5 for n in others.values()), others   # the controller's ordinary mistakes: below it
    brute = {json.loads(row[1])["src_ip"] for row in db.execute(queries["sip_registration_bruteforce"]).fetchall()}
    assert brute == {client_address}, brute
    columns = [c[1] for c in db.execute("PRAGMA table_info(logs)").fetchall()]
    pike = [dict(zip(columns, row, strict=True)) for row in db.execute(queries["sip_flood_pike"]).fetchall()]
    # the flood came from the controller, the source of those two wrong passwords; the second host never flooded
    assert {row["src_ip"] for row in pike} == set(others) and len(others) == 1, (pike, others)
