# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Site policy `voice:` -> the voice edge's files (Kamailio 5.6, rtpengine 10.5, fail2ban 1.0). Pure, no I/O.

`render_edge(policy, listen_address=..., passwords=..., topoh_key=..., cert_file=..., key_file=...)` returns every
file the role `voice_edge` writes, as text:

- `kamailio.cfg`: SIP only on TLS `listen_address:5061` (plus an HTTP-only TCP socket on 127.0.0.1 for the
  Prometheus metrics); per-source pike limit and ban with an ALERT line; banned sources, scanners and malformed
  requests dropped without a reply; digest authentication for REGISTER and for INVITEs that do not come from the
  agent or a listed trunk, the same challenge for an unknown user and a wrong password, a ban after
  `limits.auth_failures` failures; offers without SRTP refused with 488; calls only to the agent's extensions (from
  the agent: only to registered phones); topology hiding; media through rtpengine.
- `tls.cfg`: `method = TLSv1.2+`, ECDHE + AEAD ciphers, the site certificate; the edge verifies the agent's
  certificate against `agent_ca_file`.
- `subscriber` + `version`: the db_text tables auth_db reads (HA1 = MD5(user:realm:password), never the password).
- `rtpengine.conf`: user-space forwarding (`table = -1`), the policy's media port range.
- `fail2ban_filter`, `fail2ban_jail`: our filter for the ALERT lines, a jail banning into an nftables set.

Every value that reaches a file is checked here again (addresses parsed, numbers bounded, names matched against
the schema's patterns), so an unvalidated model cannot inject a line. docs/voice.md cites the module docs of every
parameter used.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re

from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import SitePolicy, UnknownName
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy_schema import (
    ABSOLUTE_PATH,
    DIALED_NUMBER,
    IDENTIFIER,
    NETWORK_HOST,
    SIP_USER,
)

__all__ = ["ALERT_TAG", "CIPHERS_TLS12", "SCANNER_AGENTS", "VoiceRenderError", "render_edge", "subscriber_ha1"]

ALERT_TAG = "aiphone-voice"
SIP_TLS_PORT = 5061
RTPENGINE_NG = ("127.0.0.1", 2223)
# TLS 1.2 suites: ECDHE key exchange, AEAD only (Mozilla "intermediate" minus the DHE suites). TLS 1.3 suites are
# OpenSSL's defaults (all AEAD). Kamailio passes `cipher_list` to SSL_CTX_set_cipher_list (tls module docs).
CIPHERS_TLS12 = ":".join((
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
))
# User-Agents of SIP scanners (lower case; matched on the lower-cased header): SIPVicious (svmap/svwar/svcrack send
# "friendly-scanner" by default), sipcli, sundayddr, VaxSIPUserAgent, pplsip, iWar, sip-scan, SIPScan - the
# default kamailio.cfg of 5.6 drops "friendly|scanner|sipcli|sipvicious|VaxSIPUserAgent|pplsip".
SCANNER_AGENTS = ("friendly-scanner", "sipvicious", "sipcli", "sundayddr", "vaxsipuseragent", "pplsip", "iwar",
                  "sip-scan", "sipscan", "scanner")
_HEX = re.compile(r"^[0-9a-f]{16,64}$")


class VoiceRenderError(ValueError):
    """The policy or the options cannot be rendered into a safe edge; the message says what to fix."""


def _match(pattern: str, value, what: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(pattern, value):
        raise VoiceRenderError(f"{what} {value!r} cannot be written into the edge's configuration")
    return value


def _ipv4(value, what: str) -> str:
    try:
        return str(ipaddress.IPv4Address(str(value)))
    except ValueError:
        raise VoiceRenderError(f"{what} {value!r} is not an IPv4 address") from None


def _int(value, what: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise VoiceRenderError(f"{what} {value!r}: must be a whole number from {low} to {high}")
    return value


def subscriber_ha1(username: str, realm: str, password: str) -> tuple[str, str]:
    """(ha1, ha1b) as auth_db reads them: MD5(user:realm:password), MD5(user@realm:realm:password) (RFC 2617)."""
    ha1 = hashlib.md5(f"{username}:{realm}:{password}".encode(), usedforsecurity=False).hexdigest()
    ha1b = hashlib.md5(f"{username}@{realm}:{realm}:{password}".encode(), usedforsecurity=False).hexdigest()
    return ha1, ha1b


def _media_range(policy: SitePolicy, voice) -> tuple[int, int]:
    try:
        service = policy.service(voice.media_service)
    except UnknownName as exc:
        raise VoiceRenderError(str(exc)) from None
    if service.protocol != "udp" or len(service.ports) != 1:
        raise VoiceRenderError(f"media service {voice.media_service!r}: one UDP port range is needed")
    low, high = service.ports[0]
    return _int(low, "RTP port", 1024, 65535), _int(high, "RTP port", 1024, 65535)


def _or(tests: list[str]) -> str:
    return " || ".join(tests) if tests else "0"


# --------------------------------------------------------------------------------------------------------------------
# kamailio.cfg
# --------------------------------------------------------------------------------------------------------------------
def _kamailio_cfg(policy: SitePolicy, voice, listen: str, topoh_key: str, debug: int) -> str:
    domain = _match(NETWORK_HOST, voice.sip_domain, "voice.sip_domain")
    agent = _ipv4(voice.agent.address, "voice.agent.address")
    agent_port = _int(voice.agent.port, "voice.agent.port", 1, 65535)
    extensions = [_match(DIALED_NUMBER, number, "agent extension") for number in voice.agent.extensions]
    trunks = [(_match(IDENTIFIER, t.name, "trunk name"), _ipv4(t.address, "trunk address")) for t in voice.trunks]
    limits = voice.limits
    pike_requests = _int(limits.pike_requests, "limits.pike_requests", 2, 10000)
    pike_interval = _int(limits.pike_interval, "limits.pike_interval", 1, 60)
    failures = _int(limits.auth_failures, "limits.auth_failures", 1, 100)
    ban = _int(limits.ban_seconds, "limits.ban_seconds", 10, 86400)
    metrics = _int(voice.metrics_port, "voice.metrics_port", 1024, 65535)
    if metrics == SIP_TLS_PORT:
        raise VoiceRenderError("voice.metrics_port must differ from the SIP TLS port")
    extension_test = _or([f'$rU == "{number}"' for number in extensions])
    trunk_test = _or([f'$si == "{address}"' for _, address in trunks])
    scanners = "|".join(SCANNER_AGENTS)
    site = _match(IDENTIFIER, policy.site.name, "site name")
    return f"""#!KAMAILIO
# Managed by aiphone.hardening (role voice_edge) from the site policy of {site}: do not edit, the next run
# overwrites it. What every part does and where each parameter is documented: docs/voice.md.
# Trunks: {", ".join(f"{name} {address}" for name, address in trunks) or "none"}.

####### Global parameters #########
debug={debug}
log_stderror=no
log_facility=LOG_LOCAL0
log_name="kamailio"
fork=yes
children=2
tcp_children=4
dns=no
rev_dns=no
use_dns_cache=off
auto_aliases=no
alias="{domain}"
server_signature=no
sip_warning=0
user_agent_header="User-Agent: SIP edge"
server_header="Server: SIP edge"

# SIP only over TLS on {SIP_TLS_PORT}; the TCP socket on the loopback serves only the Prometheus metrics (HTTP).
disable_tcp=no
enable_tls=yes
listen=tls:{listen}:{SIP_TLS_PORT}
listen=tcp:127.0.0.1:{metrics}
tcp_accept_no_cl=yes
tcp_connection_lifetime=3605
tcp_max_connections=4096
tls_max_connections=2048

####### Modules #########
loadmodule "tls.so"
loadmodule "kex.so"
loadmodule "corex.so"
loadmodule "tm.so"
loadmodule "tmx.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "sanity.so"
loadmodule "ctl.so"
loadmodule "db_text.so"
loadmodule "auth.so"
loadmodule "auth_db.so"
loadmodule "htable.so"
loadmodule "pike.so"
loadmodule "sdpops.so"
loadmodule "rtpengine.so"
loadmodule "topoh.so"
loadmodule "xhttp.so"
loadmodule "xhttp_prom.so"

modparam("tls", "config", "/etc/kamailio/tls.cfg")
modparam("ctl", "binrpc", "unix:/run/kamailio/kamailio_ctl")
modparam("tm", "failure_reply_mode", 3)
modparam("tm", "fr_timer", 10000)
modparam("tm", "fr_inv_timer", 60000)
modparam("rr", "enable_full_lr", 0)
modparam("rr", "append_fromtag", 1)
modparam("usrloc", "db_mode", 0)
modparam("registrar", "method_filtering", 1)
modparam("registrar", "max_expires", 3600)
modparam("auth_db", "db_url", "text:///etc/kamailio/aiphone-db")
modparam("auth_db", "calculate_ha1", 0)
modparam("auth_db", "password_column", "ha1")
modparam("auth_db", "use_domain", 0)
modparam("auth_db", "load_credentials", "")
modparam("sanity", "autodrop", 0)
# A source sending more than {pike_requests} requests in {pike_interval} s is blocked by pike and banned for {ban} s.
modparam("pike", "sampling_time_unit", {pike_interval})
modparam("pike", "reqs_density_per_unit", {pike_requests})
modparam("pike", "remove_latency", 4)
modparam("htable", "htable", "ipban=>size=10;autoexpire={ban};initval=0;updateexpire=0;")
modparam("htable", "htable", "authfail=>size=10;autoexpire={ban};initval=0;updateexpire=0;")
modparam("rtpengine", "rtpengine_sock", "udp:{RTPENGINE_NG[0]}:{RTPENGINE_NG[1]}")
modparam("topoh", "mask_key", "{topoh_key}")
modparam("topoh", "mask_callid", 1)
modparam("xhttp_prom", "xhttp_prom_stats", "all")
modparam("xhttp_prom", "prom_counter", "name=voice_calls; label=result;")
modparam("xhttp_prom", "prom_counter", "name=voice_auth_failures;")
modparam("xhttp_prom", "prom_counter", "name=voice_bans; label=reason;")
modparam("xhttp_prom", "prom_counter", "name=voice_scanner_drops;")

####### Routing #########
request_route {{
	# the loopback TCP socket takes HTTP for the metrics only (event_route[xhttp:request]), never SIP
	if (proto != TLS) {{
		exit;
	}}
	route(REQINIT);

	if (is_method("CANCEL")) {{
		if (t_check_trans()) {{
			route(RELAY);
		}}
		exit;
	}}
	if (!is_method("ACK")) {{
		if (t_precheck_trans()) {{
			t_check_trans();
			exit;
		}}
		t_check_trans();
	}}
	route(WITHINDLG);

	remove_hf("Route");
	if (is_method("OPTIONS") && uri == myself && $rU == $null) {{
		sl_send_reply("200", "Keepalive");
		exit;
	}}
	if (is_method("REGISTER")) {{
		route(AUTH);
		if (!save("location")) {{
			sl_reply_error();
		}}
		exit;
	}}
	if (!is_method("INVITE")) {{
		sl_send_reply("405", "Method Not Allowed");
		exit;
	}}
	route(CALLER);
	route(DESTINATION);
	route(SRTP_ONLY);
	record_route();
	prom_counter_inc("voice_calls", "1", "relayed");
	route(RELAY);
}}

# Banned sources, floods, scanners and malformed requests: dropped, no reply.
route[REQINIT] {{
	set_reply_no_connect();
	force_rport();
	if ($sht(ipban=>$si) > 0) {{
		exit;
	}}
	if (!({trunk_test} || $si == "{agent}")) {{
		if (!pike_check_req()) {{
			$sht(ipban=>$si) = 1;
			prom_counter_inc("voice_bans", "1", "pike");
			xlog("L_ALERT", "ALERT: {ALERT_TAG} ban=pike src=$si method=$rm\\n");
			exit;
		}}
	}}
	if ($(ua{{s.tolower}}) =~ "{scanners}") {{
		prom_counter_inc("voice_scanner_drops", "1");
		exit;
	}}
	if (!mf_process_maxfwd_header("10")) {{
		sl_send_reply("483", "Too Many Hops");
		exit;
	}}
	if (!sanity_check("17895", "7")) {{
		xlog("L_WARN", "{ALERT_TAG} malformed request from $si dropped\\n");
		exit;
	}}
}}

# Digest authentication: an unknown user and a wrong password get the same fresh challenge; after {failures}
# failures the source is banned for {ban} s.
route[AUTH] {{
	auth_check("{domain}", "subscriber", "1");
	$var(auth) = $rc;
	if ($var(auth) == 1) {{
		if (!is_method("REGISTER")) {{
			consume_credentials();
		}}
		return;
	}}
	if ($var(auth) == -2 || $var(auth) == -3 || $var(auth) == -8) {{
		# one line per failure, the shape detections/sigma/sip.yml (sip_auth_failure) reads
		xlog("L_WARN", "AUTH: failed $rm from $fu (IP:$si:$sp) code $var(auth)\\n");
		prom_counter_inc("voice_auth_failures", "1");
		$sht(authfail=>$si) = $sht(authfail=>$si) + 1;
		if ($sht(authfail=>$si) >= {failures}) {{
			$sht(ipban=>$si) = 1;
			prom_counter_inc("voice_bans", "1", "auth");
			xlog("L_ALERT", "ALERT: {ALERT_TAG} ban=auth src=$si failures=$sht(authfail=>$si)\\n");
			exit;
		}}
	}}
	auth_challenge("{domain}", "1");
	exit;
}}

# Who calls: the agent, a listed trunk (both by source address; TLS connections cannot be spoofed), or an
# authenticated user.
route[CALLER] {{
	$var(caller) = "user";
	if ($si == "{agent}") {{
		$var(caller) = "agent";
		return;
	}}
	if ({trunk_test}) {{
		$var(caller) = "trunk";
		return;
	}}
	route(AUTH);
}}

# Where to: no open relay, no toll fraud. The agent may call registered phones only; everyone else only the
# agent's extensions in this domain.
route[DESTINATION] {{
	if ($var(caller) == "agent") {{
		if (!lookup("location")) {{
			prom_counter_inc("voice_calls", "1", "refused_destination");
			sl_send_reply("404", "Not Found");
			exit;
		}}
		return;
	}}
	if (!(uri == myself && ({extension_test}))) {{
		prom_counter_inc("voice_calls", "1", "refused_destination");
		xlog("L_NOTICE", "{ALERT_TAG} refused destination $ru from $si ($var(caller))\\n");
		sl_send_reply("403", "Forbidden");
		exit;
	}}
	$du = "sip:{agent}:{agent_port};transport=tls";
}}

# SRTP only on the outside: an offer with plain RTP (or no offer) is refused with 488; media goes through rtpengine
# (calls from the agent get SRTP towards the phone).
route[SRTP_ONLY] {{
	if ($var(caller) == "agent") {{
		if (has_body("application/sdp")) {{
			rtpengine_manage("replace-origin replace-session-connection ICE=remove RTP/SAVP");
		}}
		return;
	}}
	if (!has_body("application/sdp") || sdp_with_transport_like("RTP/AVP") || !sdp_with_transport_like("SAVP")) {{
		prom_counter_inc("voice_calls", "1", "refused_media");
		xlog("L_NOTICE", "{ALERT_TAG} refused offer without SRTP from $si\\n");
		sl_send_reply("488", "Not Acceptable Here");
		exit;
	}}
	rtpengine_manage("replace-origin replace-session-connection ICE=remove");
}}

route[RELAY] {{
	if (is_method("INVITE|UPDATE")) {{
		t_on_reply("MANAGE_REPLY");
		t_on_failure("MANAGE_FAILURE");
	}}
	if (is_method("BYE|CANCEL")) {{
		rtpengine_manage();
	}}
	if (!t_relay()) {{
		sl_reply_error();
	}}
	exit;
}}

route[WITHINDLG] {{
	if (!has_totag()) {{
		return;
	}}
	if (loose_route()) {{
		if (is_method("ACK") && has_body("application/sdp")) {{
			rtpengine_manage("replace-origin replace-session-connection ICE=remove");
		}}
		route(RELAY);
		exit;
	}}
	if (is_method("ACK")) {{
		if (t_check_trans()) {{
			route(RELAY);
		}}
		exit;
	}}
	sl_send_reply("404", "Not here");
	exit;
}}

onreply_route[MANAGE_REPLY] {{
	if (status =~ "(183)|(2[0-9][0-9])" && has_body("application/sdp")) {{
		rtpengine_manage("replace-origin replace-session-connection ICE=remove");
	}}
}}

failure_route[MANAGE_FAILURE] {{
	rtpengine_manage();
}}

# HTTP on the loopback metrics socket only: GET /metrics (xhttp_prom); anything else 403.
event_route[xhttp:request] {{
	if ($Rp == {metrics} && $si == "127.0.0.1" && $(hu{{s.substr,0,8}}) == "/metrics") {{
		prom_dispatch();
		exit;
	}}
	xhttp_reply("403", "Forbidden", "text/plain", "forbidden\\n");
}}
"""


# --------------------------------------------------------------------------------------------------------------------
# tls.cfg, the db_text tables, rtpengine, fail2ban
# --------------------------------------------------------------------------------------------------------------------
def _tls_cfg(cert_file: str, key_file: str, agent_ca_file: str) -> str:
    cert = _match(ABSOLUTE_PATH, cert_file, "certificate file")
    key = _match(ABSOLUTE_PATH, key_file, "private key file")
    ca = _match(ABSOLUTE_PATH, agent_ca_file, "agent CA file")
    return f"""# Managed by aiphone.hardening (role voice_edge): TLS of the voice edge (tls module, docs/voice.md).
# TLS 1.2 or newer only (the module's default is TLSv1); ECDHE + AEAD suites for TLS 1.2.

[server:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
private_key = {key}
certificate = {cert}
cipher_list = {CIPHERS_TLS12}

# The edge as a client (towards the agent / PBX): TLS 1.2+, the agent's certificate verified against its CA.
[client:default]
method = TLSv1.2+
verify_certificate = yes
require_certificate = yes
ca_list = {ca}
cipher_list = {CIPHERS_TLS12}
"""


def _subscriber_table(voice, passwords: dict) -> str:
    realm = _match(NETWORK_HOST, voice.sip_domain, "voice.sip_domain")
    lines = ["id(int,auto) username(string) domain(string) password(string,null) ha1(string) ha1b(string) "]
    for number, user in enumerate(voice.users, start=1):
        name = _match(SIP_USER, user.username, "SIP user name")
        password = passwords.get(user.username)
        if not isinstance(password, str) or len(password) < 12:
            raise VoiceRenderError(f"SIP user {name}: its password ({user.password_var}) is missing or shorter than "
                                   "12 characters")
        ha1, ha1b = subscriber_ha1(name, realm, password)
        lines.append(f"{number}:{name}:{realm}::{ha1}:{ha1b}")
    return "\n".join(lines) + "\n"


# db_text's version table: auth_db checks that the subscriber table has version 7 (kamctl's dbtext files for 5.6).
VERSION_TABLE = "id(int,auto) table_name(string) table_version(int) \n0:version:1\n0:subscriber:7\n"


def _rtpengine_conf(listen: str, low: int, high: int) -> str:
    return f"""# Managed by aiphone.hardening (role voice_edge): rtpengine in user space (no kernel module, table = -1).
[rtpengine]
table = -1
interface = {listen}
listen-ng = {RTPENGINE_NG[0]}:{RTPENGINE_NG[1]}
port-min = {low}
port-max = {high}
timeout = 60
silent-timeout = 3600
tos = 184
log-level = 5
"""


FAIL2BAN_FILTER = f"""# Managed by aiphone.hardening (role voice_edge): the edge ALERT lines (docs/voice.md).
[Definition]
failregex = ALERT: {ALERT_TAG} ban=(?:pike|auth) src=<HOST>(?: |$)
ignoreregex =
journalmatch = SYSLOG_IDENTIFIER=kamailio
"""


def _fail2ban_jail(ban: int, port: int) -> str:
    return f"""# Managed by aiphone.hardening (role voice_edge): sources the edge bans are also banned in nftables.
[aiphone-voice]
enabled = true
backend = systemd
filter = aiphone-voice
maxretry = 1
findtime = {ban}
bantime = {ban}
banaction = nftables-allports
port = {port}
"""


def render_edge(policy: SitePolicy, *, listen_address: str, passwords: dict, topoh_key: str, cert_file: str,
                key_file: str, agent_ca_file: str, debug: int = 2) -> dict:
    """Every file of the edge as text (keys: kamailio_cfg, tls_cfg, subscriber, version, rtpengine_conf,
    fail2ban_filter, fail2ban_jail) plus `rtp_ports` (low, high); VoiceRenderError on anything unsafe."""
    voice = policy.voice
    if voice is None:
        raise VoiceRenderError("the site policy has no voice section")
    listen = _ipv4(listen_address, "listen address")
    if ipaddress.IPv4Address(listen).is_unspecified or ipaddress.IPv4Address(listen).is_loopback:
        raise VoiceRenderError(f"listen address {listen}: use the host's own address, not a wildcard or loopback")
    if not isinstance(topoh_key, str) or not _HEX.fullmatch(topoh_key):
        raise VoiceRenderError("the topoh mask key must be 16 to 64 lower-case hexadecimal characters")
    _int(debug, "debug level", -5, 4)
    low, high = _media_range(policy, voice)
    return {
        "kamailio_cfg": _kamailio_cfg(policy, voice, listen, topoh_key, debug),
        "tls_cfg": _tls_cfg(cert_file, key_file, agent_ca_file),
        "subscriber": _subscriber_table(voice, passwords or {}),
        "version": VERSION_TABLE,
        "rtpengine_conf": _rtpengine_conf(listen, low, high),
        "fail2ban_filter": FAIL2BAN_FILTER,
        "fail2ban_jail": _fail2ban_jail(voice.limits.ban_seconds, SIP_TLS_PORT),
        "rtp_ports": [low, high],
    }
