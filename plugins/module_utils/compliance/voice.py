# -*- coding: utf-8 -*-
"""The voice edge as read back from its host (playbooks/audit.yml, evidence["hosts"][edge]["voice"]), judged
against the site policy. Pure functions of text: the effective kamailio.cfg and tls.cfg, the listening sockets
(`ss -H -lntup`), rtpengine.conf and `fail2ban-client status aiphone-voice`.

Each judge returns the problems it found ([] = the edge does what the item asks). It reads the configuration the
way Kamailio does (only uncommented lines), so a commented-out defence is a missing one.
"""

from __future__ import annotations

import re

from ansible_collections.aiphone.hardening.plugins.module_utils.voice_edge_render import ALERT_TAG

__all__ = ["floods_banned", "no_open_relay", "sip_tls_only", "srtp_required"]

OK_METHODS = {"TLSv1.2+", "TLSv1.2", "TLSv1.3"}


def _live(text: str) -> str:
    """The lines Kamailio reads: `#` comments removed (`#!` preprocessor directives kept)."""
    return "\n".join(line for line in (text or "").splitlines() if not re.match(r"^\s*#(?!!)", line))


def _route(cfg: str, name: str) -> str | None:
    match = re.search(r"^route\[" + re.escape(name) + r"\]\s*\{\n(.*?)^\}", cfg, re.MULTILINE | re.DOTALL)
    return match.group(1) if match else None


def _sockets(listeners: str) -> list[tuple[str, str, str]]:
    """(protocol, local address:port, process) of each `ss -H -lntup` line."""
    found = []
    for line in (listeners or "").splitlines():
        fields = line.split()
        if len(fields) >= 5:
            process = re.search(r'users:\(\("([^"]+)"', line)
            found.append((fields[0], fields[4], process.group(1) if process else ""))
    return found


def sip_tls_only(evidence: dict) -> list[str]:
    """VOI-01: Kamailio listens only on TLS 5061 (and on the loopback for its metrics); nothing listens on 5060;
    every TLS profile says TLSv1.2 or newer."""
    problems = []
    cfg, tls = _live(evidence.get("kamailio_cfg")), _live(evidence.get("tls_cfg"))
    for listen in re.findall(r"^\s*listen\s*=\s*(\S+)", cfg, re.MULTILINE):
        if not (listen.startswith("tls:") and listen.endswith(":5061")) and not listen.startswith("tcp:127.0.0.1:"):
            problems.append(f"kamailio.cfg listens on {listen} (only tls:<address>:5061 is allowed)")
    for protocol, local, process in _sockets(evidence.get("listeners", "")):
        if local.rsplit(":", 1)[-1] == "5060":
            problems.append(f"{process or 'a process'} listens on {protocol} {local}")
        elif process == "kamailio" and not (local.endswith(":5061") and protocol == "tcp") \
                and not local.startswith("127.0.0.1:"):   # ss names a process only where it may read its fds
            problems.append(f"kamailio listens on {protocol} {local}")
    methods = re.findall(r"^\s*(?:tls_)?method\s*=\s*(\S+)", tls, re.MULTILINE)
    profiles = re.findall(r"^\s*\[(server|client):[^\]]+\]", tls, re.MULTILINE)
    if not profiles:
        problems.append("tls.cfg has no TLS profile")
    if len(methods) < len(profiles):
        problems.append("a TLS profile of tls.cfg sets no method (the tls module's default is TLSv1)")
    problems += [f"tls.cfg allows {method}" for method in methods if method not in OK_METHODS]
    if not any(protocol == "tcp" and local.endswith(":5061") for protocol, local, _ in
               _sockets(evidence.get("listeners", ""))):
        problems.append("nothing listens on 5061/tcp")
    return problems


def srtp_required(evidence: dict) -> list[str]:
    """VOI-02: offers without SRTP are refused with 488 before relaying; media goes through rtpengine in user
    space."""
    cfg = _live(evidence.get("kamailio_cfg"))
    problems = []
    media = _route(cfg, "SRTP_ONLY")
    if media is None or 'sdp_with_transport_like("RTP/AVP")' not in media or '"488"' not in media:
        problems.append("no route refuses an SDP offer with plain RTP/AVP with 488")
    if "route(SRTP_ONLY);" not in cfg.split("request_route", 1)[-1].split("route[", 1)[0]:
        problems.append("request_route does not run the SRTP check")
    if "rtpengine_manage(" not in cfg:
        problems.append("media is not relayed through rtpengine")
    if not re.search(r"^\s*table\s*=\s*-1\s*$", evidence.get("rtpengine_conf") or "", re.MULTILINE):
        problems.append("rtpengine.conf does not say table = -1 (user-space forwarding)")
    return problems


def floods_banned(evidence: dict, auth_failures: int) -> list[str]:
    """VOI-03: pike limits each source and bans it with an ALERT line; failed authentications ban; banned sources
    are dropped first; scanners are dropped; the fail2ban jail reads the ALERT lines."""
    cfg = _live(evidence.get("kamailio_cfg"))
    reqinit, auth = _route(cfg, "REQINIT") or "", _route(cfg, "AUTH") or ""
    problems = []
    if "pike_check_req()" not in reqinit or f"ALERT: {ALERT_TAG} ban=pike" not in reqinit:
        problems.append("no pike limit with a ban and an ALERT line in route[REQINIT]")
    elif reqinit.find("$sht(ipban=>$si)") > reqinit.find("pike_check_req()"):
        problems.append("banned sources are not dropped before anything else")
    if f"$sht(authfail=>$si) >= {auth_failures})" not in auth or f"ALERT: {ALERT_TAG} ban=auth" not in auth:
        problems.append(f"no ban after {auth_failures} failed authentications (policy voice.limits.auth_failures)")
    if not re.search(r'\$\(ua\{s\.tolower\}\) =~ "[^"]*friendly-scanner', reqinit):
        problems.append("scanner User-Agents are not dropped")
    if "initval=0" not in cfg:
        problems.append("the ban tables lack initval=0")
    if "Status for the jail: aiphone-voice" not in (evidence.get("fail2ban") or ""):
        problems.append("the fail2ban jail aiphone-voice is not running")
    return problems


def no_open_relay(evidence: dict, agent_address: str, extensions: tuple[str, ...]) -> list[str]:
    """VOI-04: every call goes to the agent's extensions in this domain (or from the agent to a registered phone);
    the only relay target is the agent."""
    cfg = _live(evidence.get("kamailio_cfg"))
    destination = _route(cfg, "DESTINATION")
    if destination is None:
        return ["no route[DESTINATION]: calls are not restricted"]
    problems = []
    configured = set(re.findall(r'\$rU == "(\d+)"', destination))
    if configured != set(extensions):
        problems.append(f"destinations {sorted(configured)} differ from the agent's extensions {sorted(extensions)}")
    if "uri == myself" not in destination or '"403"' not in destination:
        problems.append("calls outside this domain are not refused with 403")
    targets = set(re.findall(r'\$du\s*=\s*"sip:([^:";]+)', cfg))
    if targets != {agent_address}:
        problems.append(f"relay targets {sorted(targets)} are not only the agent {agent_address}")
    if "route(DESTINATION);" not in cfg:
        problems.append("request_route does not run the destination check")
    return problems
