"""Automated checks of the compliance checklist: one named function per check, each a pure function of a Context.

A check answers PASS / FAIL with what it saw, or NO_EVIDENCE when the state it needs was not read in this run (an
unreachable host, a playbook part skipped) - which never counts as passing. Evidence comes from:
  policy     the validated site policy (intent)
  inventory  this run's version inventory (plugins/module_utils/inventory)
  trail      the site's audit trail (records + verify report)
  evidence   state read back by playbooks/audit.yml: evidence["hosts"][host] (nftables ruleset, sshd -T, PAM, apt,
             accounts, TLS listeners, log forwarding, retention timer), evidence["switches"][switch] (violations
             of aiphone.hardening.network_policy_verify)
  inventory_dir  the site's inventory files (credentials in plain text)
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import yaml

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail
from ansible_collections.aiphone.hardening.plugins.module_utils.compliance import nft_verdict, voice
from ansible_collections.aiphone.hardening.plugins.module_utils.detections import evidence as detection_evidence
from ansible_collections.aiphone.hardening.plugins.module_utils.network import config_change
from ansible_collections.aiphone.hardening.plugins.module_utils.privacy import stored_data
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import SitePolicy, parse_duration

PASS, FAIL, NO_EVIDENCE = "pass", "fail", "no_evidence"
LOGIN_SHELL_EXCLUDES = ("nologin", "false", "sync", "halt", "shutdown")
VAULTED = re.compile(r"^\s*(\{\{.*\}\}|\$ANSIBLE_VAULT;)", re.DOTALL)


@dataclass
class Outcome:
    status: str
    detail: str
    findings: list[str] = field(default_factory=list)


@dataclass
class Context:
    policy: SitePolicy
    inventory: dict
    trail_records: list[dict]
    trail_report: audit_trail.VerifyReport | None
    evidence: dict
    inventory_dir: str | None = None
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    def linux_hosts(self) -> list[str]:
        return [d.name for d in self.policy.devices_on(["linux"])]

    def switches(self) -> list[str]:
        return [d.name for d in self.policy.devices_on(["cisco_ios"])]

    def host_evidence(self, host: str) -> dict | None:
        return (self.evidence.get("hosts") or {}).get(host)


CHECKS: dict[str, Callable[[Context], Outcome]] = {}


def check(name: str):
    def register(func):
        CHECKS[name] = func
        return func
    return register


# ------------------------------------------------------------------------------------------------ helpers
def per_host(ctx: Context, hosts: list[str], key: str, judge: Callable[[str, object], str | None],
             what: str) -> Outcome:
    """Apply `judge(host, evidence[key]) -> problem or None` to every host; missing evidence is NO_EVIDENCE."""
    if not hosts:
        return Outcome(NO_EVIDENCE, f"the site policy lists no host to check for {what}")
    problems, missing = [], []
    for host in hosts:
        evidence = ctx.host_evidence(host) or {}
        if evidence.get(key) is None:
            missing.append(host)
            continue
        problem = judge(host, evidence[key])
        if problem:
            problems.append(f"{host}: {problem}")
    if problems:
        return Outcome(FAIL, f"{what}: {len(problems)} of {len(hosts)} host(s) fail", problems + _missing(missing))
    if missing:
        return Outcome(NO_EVIDENCE, f"{what}: not read from {', '.join(missing)}", _missing(missing))
    return Outcome(PASS, f"{what}: all {len(hosts)} host(s) pass")


def _missing(hosts: list[str]) -> list[str]:
    return [f"{h}: not read in this run (unreachable or skipped)" for h in hosts]


def admins(policy: SitePolicy) -> set[str]:
    return {p.username for p in policy.people if "admin" in p.roles}


def automation_account(policy: SitePolicy) -> str | None:
    return policy.automation_account


# ------------------------------------------------------------------------------------------------ network
@check("hosts.firewall_default_deny")
def firewall_default_deny(ctx: Context) -> Outcome:
    """The effective verdict of every input base chain (nft_verdict) against the policy's allowed (zone, service)."""
    zones = {d.name: d.zone for d in ctx.policy.devices}

    def judge(host, ruleset):
        try:
            data = json.loads(ruleset) if isinstance(ruleset, str) else ruleset
            found = nft_verdict.openings(data, ctx.policy, zones[host])
        except (ValueError, nft_verdict.NftJsonError) as exc:
            return f"the nftables ruleset read back cannot be evaluated: {exc}"
        return "; ".join(nft_verdict.describe(found)) or None
    return per_host(ctx, ctx.linux_hosts(), "nft_ruleset", judge,
                    "input path (every base chain, in priority order) opens only what the policy allows")


def _switch_violations(ctx: Context, kinds: Callable[[str], bool], what: str) -> Outcome:
    switches = ctx.switches()
    read = (ctx.evidence.get("switches") or {})
    problems, missing = [], []
    interrupted = config_change.open_changes(ctx.trail_records)
    for switch in switches:
        if switch in interrupted:     # what it holds is unknown until the next run reads it back and records it
            started = interrupted[switch]
            problems.append(f"{switch}: unreconciled: change {started.get('change_id')} of run "
                            f"{started.get('run_id')} was interrupted (no end record); run the playbook again")
            continue
        result = read.get(switch)
        if not result or result.get("error"):
            missing.append(switch)
            continue
        problems += [f"{switch}: {v.get('kind')}: {v.get('detail')}" for v in result.get("violations", [])
                     if kinds(v.get("kind", ""))]
    if problems:
        return Outcome(FAIL, f"{what}: {len(problems)} violation(s)", problems + _missing(missing))
    if missing or not switches:
        return Outcome(NO_EVIDENCE, f"{what}: switch configuration not read from {', '.join(missing) or 'any switch'}",
                       _missing(missing))
    return Outcome(PASS, f"{what}: {len(switches)} switch(es) read back, no violation")


@check("switches.acl_matches_policy")
def acl_matches_policy(ctx: Context) -> Outcome:
    return _switch_violations(ctx, lambda kind: kind != "vlan_mismatch", "switch ACLs enforce the policy's flows")


@check("switches.vlans_match_policy")
def vlans_match_policy(ctx: Context) -> Outcome:
    return _switch_violations(ctx, lambda kind: kind == "vlan_mismatch", "switch ports are in their policy VLANs")


@check("policy.dedicated_vlans")
def dedicated_vlans(ctx: Context) -> Outcome:
    zones = ctx.policy.zones
    by_purpose = {z.purpose: z for z in zones}
    missing = [p for p in ("voice", "ai") if p not in by_purpose]
    if missing:
        return Outcome(FAIL, f"no dedicated zone for {', '.join(missing)}")
    shared = [f"{z.name} uses VLAN {z.vlan} like {by_purpose[p].name}"
              for p in ("voice", "ai") for z in zones
              if z is not by_purpose[p] and z.vlan == by_purpose[p].vlan]
    if shared:
        return Outcome(FAIL, "voice/ai VLANs are shared", shared)
    return Outcome(PASS, f"voice on VLAN {by_purpose['voice'].vlan}, ai on VLAN {by_purpose['ai'].vlan}")


@check("policy.wifi_wpa3")
def wifi_wpa3(ctx: Context) -> Outcome:
    ssids = ctx.policy.wireless.ssids
    if not ssids:
        return Outcome(PASS, "the site has no Wi-Fi")
    weak = [s.name for s in ssids if not str(s.security or "").startswith("wpa3")]
    if weak:
        return Outcome(FAIL, "SSIDs without WPA3", weak)
    exceptions = [f"{s.name}: WPA2/WPA3 transition mode ({s.transition_reason or 'no reason given'})"
                  for s in ssids if s.transition]
    return Outcome(PASS, f"{len(ssids)} SSID(s) on WPA3" + (f", {len(exceptions)} conscious exception(s)"
                                                             if exceptions else ""), exceptions)


@check("policy.guest_isolated")
def guest_isolated(ctx: Context) -> Outcome:
    guests = {z.name for z in ctx.policy.zones_with_purpose("guest")}
    if not guests:
        return Outcome(PASS, "no guest network")
    inward = [f"{f.src} -> {f.dst} ({f.service})" for f in ctx.policy.flows
              if f.src in guests and f.dst != "internet"]
    return Outcome(FAIL, "guest zone reaches internal zones", inward) if inward else \
        Outcome(PASS, "guest zone reaches only the internet")


# ------------------------------------------------------------------------------------------------ phones
PHONE_PLATFORMS = ("poly", "yealink", "cisco_mpp")


@check("phones.hardened")
def phones_hardened(ctx: Context) -> Outcome:
    """Each phone holds its vendor's hardening parameters (SIP over TLS, SRTP required, web UI HTTPS) as read back
    by the driver's ``harden()`` (evidence["phones"][name] = {"platform", "settings", "not_covered"})."""
    from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.phone_http import hardening_gaps
    from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.registry import get_driver

    phones = ctx.policy.devices_on(PHONE_PLATFORMS)
    if not phones:
        return Outcome(PASS, "the site has no desk phones")
    evidence = ctx.evidence.get("phones") or {}
    missing = [d.name for d in phones if d.name not in evidence]
    gaps = [f"{d.name}: {gap}" for d in phones if d.name in evidence
            for gap in hardening_gaps(get_driver(d.platform).hardening, evidence[d.name].get("settings") or {})]
    uncovered = sorted({f"{d.platform}: {item} (no documented parameter: check by hand)" for d in phones
                        if d.name in evidence for item in evidence[d.name].get("not_covered") or []})
    if gaps:
        return Outcome(FAIL, f"{len({g.split(':')[0] for g in gaps})} phone(s) not hardened", gaps + uncovered)
    if missing:
        return Outcome(NO_EVIDENCE, f"{len(missing)} phone(s) without a hardening read-back", missing + uncovered)
    return Outcome(PASS, f"all {len(phones)} phone(s) hold their hardening parameters", uncovered)


# ------------------------------------------------------------------------------------------------ updates
@check("inventory.firmware_baseline")
def firmware_baseline(ctx: Context) -> Outcome:
    devices = [d for d in ctx.inventory.get("devices", []) if d["platform"] != "linux"]
    if not devices:
        return Outcome(NO_EVIDENCE, "no device inventory in this run")
    outdated = [f"{d['name']}: {d['detail']}" for d in devices if d["status"] == "outdated"]
    unknown = [f"{d['name']}: {d['detail']}" for d in devices if d["status"] == "unknown_model"]
    unreachable = [f"{d['name']}: {d['status']} ({d['detail']})" for d in devices
                   if d["status"] in ("unreachable", "unparsed")]
    if outdated or unknown:
        return Outcome(FAIL, f"{len(outdated)} outdated, {len(unknown)} without an approved baseline",
                       outdated + unknown + unreachable)
    if unreachable:
        return Outcome(NO_EVIDENCE, f"{len(unreachable)} device(s) could not be read", unreachable)
    return Outcome(PASS, f"all {len(devices)} device(s) run their approved version")


@check("trail.intact")
def trail_intact(ctx: Context) -> Outcome:
    report = ctx.trail_report
    if report is None:
        return Outcome(NO_EVIDENCE, "the audit trail was not verified")
    if not report.ok:
        return Outcome(FAIL, report.summary())
    if report.records == 0:
        return Outcome(NO_EVIDENCE, "the audit trail is empty", report.warnings)
    return Outcome(PASS, f"{report.records} record(s), chain intact", report.warnings)


@check("trail.updates_documented")
def updates_documented(ctx: Context) -> Outcome:
    undocumented = []
    for device in ctx.inventory.get("devices", []):
        if device.get("previous_versions") and not device.get("changed_by"):
            undocumented.append(f"{device['name']}: now {device['version']} (first seen {device['first_seen']}), "
                                f"before {device['previous_versions'][-1]}: no change of ours recorded")
    if undocumented:
        return Outcome(FAIL, "versions changed outside the toolkit", undocumented)
    documented = sum(1 for r in ctx.trail_records if r.get("kind") in ("firmware_attempt", "package_update"))
    return Outcome(PASS, f"every version change is in the audit trail ({documented} update record(s))")


@check("policy.maintenance_windows")
def maintenance_windows(ctx: Context) -> Outcome:
    windows = (ctx.policy.raw.get("maintenance") or {}).get("windows", [])   # parsed by maintenance_window
    return Outcome(PASS, f"{len(windows)} maintenance window(s)", [w["name"] for w in windows]) if windows else \
        Outcome(FAIL, "no maintenance window in the site policy")


@check("trail.changes_in_windows")
def changes_in_windows(ctx: Context) -> Outcome:
    forced = [r for r in ctx.trail_records if r.get("kind") == "firmware_attempt" and r.get("forced")]
    unexplained = [f"seq {r['seq']}: {r.get('device')} forced without a reason" for r in forced
                   if not r.get("force_reason")]
    if unexplained:
        return Outcome(FAIL, "updates forced outside a window without a reason", unexplained)
    return Outcome(PASS, f"{len(forced)} forced update(s), each with a recorded reason",
                   [f"seq {r['seq']}: {r.get('device')}: {r.get('force_reason')}" for r in forced])


@check("hosts.unattended_upgrades")
def unattended_upgrades(ctx: Context) -> Outcome:
    def judge(host, apt_config):
        match = re.search(r'APT::Periodic::Unattended-Upgrade\s+"(\d+)"', apt_config)
        return None if match and match.group(1) != "0" else "APT::Periodic::Unattended-Upgrade is not enabled"
    return per_host(ctx, ctx.linux_hosts(), "apt_config", judge, "automatic security updates")


# ------------------------------------------------------------------------------------------------ privacy
@check("policy.retention_window")
def retention_window(ctx: Context) -> Outcome:
    retention = dict(ctx.policy.retention)
    problems, seen = [], []
    for data_class in ("recordings", "transcripts"):
        if data_class not in retention:
            problems.append(f"{data_class}: no retention set")
            continue
        days = parse_duration(str(retention[data_class])).days
        seen.append(f"{data_class}: {days} days")
        if not 30 <= days <= 90:
            problems.append(f"{data_class}: {days} days, outside 30-90")
    return Outcome(FAIL, "retention outside 30-90 days", problems) if problems else Outcome(PASS, ", ".join(seen))


@check("hosts.retention_timer")
def retention_timer(ctx: Context) -> Outcome:
    return per_host(ctx, ctx.linux_hosts(), "retention_timer",
                    lambda host, state: None if state == "active" else f"aiphone-retention.timer is {state}",
                    "automated deletion timer")


@check("hosts.tls_modern")
def tls_modern(ctx: Context) -> Outcome:
    return per_host(ctx, ctx.linux_hosts(), "tls_weak",
                    lambda host, weak: f"accepts old TLS on {', '.join(weak)}" if weak else None,
                    "listeners refuse TLS 1.0/1.1")


# ------------------------------------------------------------------------------------------------ voice edge
def _voice_edge(ctx: Context, judge: Callable[[dict], list[str]], what: str) -> Outcome:
    """The edge host's evidence["voice"] (audit.yml) judged; NO_EVIDENCE without a voice section or a read-back."""
    if ctx.policy.voice is None:
        return Outcome(NO_EVIDENCE, f"{what}: the site policy has no voice section (no SIP edge is managed)")
    edge = ctx.policy.voice.edge
    evidence = (ctx.host_evidence(edge) or {}).get("voice")
    if not evidence or not evidence.get("kamailio_cfg"):
        return Outcome(NO_EVIDENCE, f"{what}: the edge's configuration was not read from {edge} in this run",
                       _missing([edge]))
    problems = judge(evidence)
    if problems:
        return Outcome(FAIL, f"{what}: {len(problems)} problem(s) on {edge}", [f"{edge}: {p}" for p in problems])
    return Outcome(PASS, f"{what}: {edge} passes")


@check("voice.sip_tls_only")
def voice_sip_tls_only(ctx: Context) -> Outcome:
    return _voice_edge(ctx, voice.sip_tls_only, "SIP only over TLS 1.2+ on 5061, nothing on 5060")


@check("voice.srtp_required")
def voice_srtp_required(ctx: Context) -> Outcome:
    return _voice_edge(ctx, voice.srtp_required, "offers without SRTP refused (488), media through rtpengine")


@check("voice.floods_banned")
def voice_floods_banned(ctx: Context) -> Outcome:
    failures = ctx.policy.voice.limits.auth_failures if ctx.policy.voice else 0
    return _voice_edge(ctx, lambda evidence: voice.floods_banned(evidence, failures),
                       "floods, scanners and password guessing banned with an ALERT line")


@check("voice.no_open_relay")
def voice_no_open_relay(ctx: Context) -> Outcome:
    agent = ctx.policy.voice.agent if ctx.policy.voice else None
    return _voice_edge(ctx, lambda evidence: voice.no_open_relay(evidence, agent.address, agent.extensions),
                       "calls only to the agent's extensions (no open relay, no toll fraud)")


# ------------------------------------------------------------------------------------------------ access
@check("hosts.sudo_least_privilege")
def sudo_least_privilege(ctx: Context) -> Outcome:
    allowed = admins(ctx.policy) | {automation_account(ctx.policy)}
    def judge(host, members):
        extra = sorted(set(members) - allowed)
        return f"sudo for {', '.join(extra)} (not admin in the access table)" if extra else None
    return per_host(ctx, ctx.linux_hosts(), "sudo_members", judge, "administrator rights per the access table")


@check("hosts.no_unknown_accounts")
def no_unknown_accounts(ctx: Context) -> Outcome:
    known = {p.username for p in ctx.policy.people} | {automation_account(ctx.policy)}

    def judge(host, accounts):
        locked = locked_accounts((ctx.host_evidence(host) or {}).get("locked_accounts", []))
        unknown = sorted(name for name, (_pw, uid, _gid, _gecos, _home, shell, *_rest) in accounts.items()
                         if int(uid) >= 1000 and name not in locked and name not in known
                         and not str(shell).endswith(LOGIN_SHELL_EXCLUDES))
        return f"active accounts not in the site policy: {', '.join(unknown)}" if unknown else None
    return per_host(ctx, ctx.linux_hosts(), "accounts", judge, "no unknown active accounts")


def locked_accounts(passwd_status_lines: list[str]) -> set[str]:
    """Accounts `passwd --status --all` reports as locked (L) or without password (NP is not locked)."""
    return {fields[0] for fields in (line.split() for line in passwd_status_lines)
            if len(fields) > 1 and fields[1] == "L"}


@check("hosts.ssh_mfa")
def ssh_mfa(ctx: Context) -> Outcome:
    def judge(host, mfa):
        methods = str(mfa.get("person_methods", "")).lower()
        if "keyboard-interactive" not in methods or methods.strip() == "any":
            return f"people log in with '{methods or 'unknown'}' (needs publickey,keyboard-interactive)"
        if not re.search(r"^\s*auth\s+\S+\s+pam_(google_authenticator|oath)\.so", mfa.get("pam_sshd", ""), re.M):
            return "no TOTP module in /etc/pam.d/sshd"
        return None
    return per_host(ctx, ctx.linux_hosts(), "ssh_mfa", judge, "SSH needs key + TOTP for people")


# ------------------------------------------------------------------------------------------------ minimisation, logging
@check("policy.payment_last4")
def payment_last4(ctx: Context) -> Outcome:
    storage = ctx.policy.payment_card_storage
    return Outcome(PASS, f"payment_card_storage: {storage}") if storage in ("last4", "none") else \
        Outcome(FAIL, f"payment_card_storage is {storage!r}: keep only the last four digits")


@check("policy.siem_configured")
def siem_configured(ctx: Context) -> Outcome:
    siem = ctx.policy.siem
    return Outcome(PASS, f"SIEM {siem.host}:{siem.port} ({siem.protocol})") if siem and siem.host \
        else Outcome(FAIL, "no siem in the site policy")


@check("hosts.log_forwarding")
def log_forwarding(ctx: Context) -> Outcome:
    """A forwarding rule on every host; where the audit read the SIEM (evidence["siem"]: lines received per host
    and whether this run's marker line arrived), the lines must really have arrived."""
    siem = ctx.evidence.get("siem") or None

    def judge(host, files):
        if not files:
            return "no rsyslog rule forwards to the SIEM host"
        if siem is None:
            return None
        count = siem_lines(siem, host)
        if (siem.get("marker_rc") or {}).get(host) != 0:
            return (f"forwarding is configured, but this run's marker line did not reach the SIEM "
                    f"({siem.get('receiver')}; {count} line(s) received from this host)")
        return None
    outcome = per_host(ctx, ctx.linux_hosts(), "log_forwarding", judge, "logs forwarded to the SIEM")
    if outcome.status == PASS and siem is not None:
        received = [f"{host}: {siem_lines(siem, host)} line(s) received by the SIEM ({siem.get('receiver')}), "
                    "this run's marker among them" for host in ctx.linux_hosts()]
        return Outcome(PASS, outcome.detail + "; " + ", ".join(
            f"{host} {siem_lines(siem, host)} lines received" for host in ctx.linux_hosts()), received)
    if outcome.status == PASS:
        return Outcome(PASS, outcome.detail + " (rule present; delivery not checked: no SIEM receiver in the "
                       "inventory)", outcome.findings)
    return outcome


def siem_lines(siem: dict, host: str) -> int:
    """Lines the SIEM holds from `host`: the number `wc -l` printed (0 when its file is missing)."""
    match = re.match(r"\s*(\d+)", str((siem.get("counts") or {}).get(host) or ""))
    return int(match.group(1)) if match else 0


# ------------------------------------------------------------------------------------------------ credentials
@check("inventory.credentials_vaulted")
def credentials_vaulted(ctx: Context) -> Outcome:
    if not ctx.inventory_dir:
        return Outcome(NO_EVIDENCE, "the inventory directory was not given")
    plain = []
    for path in _inventory_files(ctx.inventory_dir):
        plain += [f"{os.path.relpath(path, ctx.inventory_dir)}: {key}" for key in _plain_secrets(path)]
    return Outcome(FAIL, "secrets in plain text (values not shown)", plain) if plain else \
        Outcome(PASS, "every secret-named variable is vaulted or a vault reference")


def _inventory_files(inventory_dir: str) -> list[str]:
    found = []
    for root, _dirs, files in os.walk(inventory_dir):
        found += [os.path.join(root, f) for f in sorted(files) if f.endswith((".yml", ".yaml"))
                  and f not in ("site_policy.yml", "attestations.yml")]
    return sorted(found)


class _VaultLoader(yaml.SafeLoader):
    """Reads `!vault` values as the marker string (they are encrypted: that is what we want to see)."""


_VaultLoader.add_constructor("!vault", lambda loader, node: "$ANSIBLE_VAULT;" + loader.construct_scalar(node))


def _plain_secrets(path: str) -> list[str]:
    with open(path, encoding="utf-8") as handle:
        head = handle.read(64)
        if head.startswith("$ANSIBLE_VAULT;"):
            return []
        handle.seek(0)
        try:
            data = yaml.load(handle, Loader=_VaultLoader)  # noqa: S506 - SafeLoader subclass
        except yaml.YAMLError:
            return [f"(unreadable YAML in {os.path.basename(path)})"]
    return sorted(set(_walk_plain(data, "")))


def _walk_plain(data, prefix: str):
    if isinstance(data, dict):
        for key, value in data.items():
            name = f"{prefix}{key}"
            secret = audit_trail.is_secret_key(key) or str(key).startswith("vault_")
            if secret and isinstance(value, str) and value and not VAULTED.match(value):
                yield name
            elif isinstance(value, (dict, list)):
                yield from _walk_plain(value, f"{name}.")
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _walk_plain(value, f"{prefix}{index}.")


# ------------------------------------------------------------------------------------------------ alerts (issue 16)
def _alerts_deployed_and_tested(ctx: Context, item: str) -> Outcome:
    """The item's detection rules are deployed on every host where the SIEM is configured, and their replay test
    passed recently; the findings list each alert with the attack that fired it and the date of that test."""
    if ctx.policy.siem is None or not ctx.policy.siem.host:
        return Outcome(FAIL, "no siem in the site policy: alerts have nowhere to run")
    outcome = per_host(ctx, ctx.linux_hosts(), "detections",
                       lambda host, manifest: detection_evidence.problem(manifest, item, ctx.now),
                       f"{item} alerts deployed and replay-tested")
    if outcome.status != PASS:
        return outcome
    first = ctx.host_evidence(ctx.linux_hosts()[0])["detections"]
    return Outcome(PASS, outcome.detail, detection_evidence.listing(first, item))


@check("hosts.alerts_deployed_tested")
def alerts_deployed_tested(ctx: Context) -> Outcome:
    return _alerts_deployed_and_tested(ctx, "LOG-02")


@check("hosts.credential_use_alerted")
def credential_use_alerted(ctx: Context) -> Outcome:
    return _alerts_deployed_and_tested(ctx, "CRD-02")


# ------------------------------------------------------------------------------------------------ stored data
def _stored_data(ctx: Context, key: str, judge: Callable[[object], tuple[str, str, list[str]]], what: str) -> Outcome:
    """Every Linux host's evidence[key] judged by plugins/module_utils/privacy/stored_data.py."""
    hosts = ctx.linux_hosts()
    if not hosts:
        return Outcome(NO_EVIDENCE, f"the site policy lists no host to check for {what}")
    verdicts = {}
    for host in hosts:
        evidence = (ctx.host_evidence(host) or {}).get(key)
        verdicts[host] = judge(evidence) if evidence is not None else \
            (NO_EVIDENCE, "not read in this run (unreachable or skipped)", [])
    findings = [f"{host}: {detail}" for host, (_s, detail, _f) in verdicts.items()] + \
        [f"{host}: {finding}" for host, (_s, _d, found) in verdicts.items() for finding in found]
    statuses = {status for status, _d, _f in verdicts.values()}
    status = FAIL if FAIL in statuses else NO_EVIDENCE if NO_EVIDENCE in statuses else PASS
    failing = [h for h, (s, _d, _f) in verdicts.items() if s != PASS]
    detail = f"{what}: all {len(hosts)} host(s) pass" if status == PASS else \
        f"{what}: {len(failing)} of {len(hosts)} host(s) {'fail' if status == FAIL else 'not proven'}"
    return Outcome(status, detail, findings)


@check("hosts.data_encrypted_at_rest")
def data_encrypted_at_rest(ctx: Context) -> Outcome:
    return _stored_data(ctx, "data_at_rest", stored_data.judge_at_rest,
                        "recordings, transcripts, metadata and payment data encrypted with AES-256 (LUKS2, fscrypt "
                        "or gocryptfs)")


@check("hosts.no_card_numbers_stored")
def no_card_numbers_stored(ctx: Context) -> Outcome:
    return _stored_data(ctx, "card_scan", stored_data.judge_card_scan,
                        "no full card number in stored data (scanned)")


@check("hosts.sensitive_data_masked")
def sensitive_data_masked(ctx: Context) -> Outcome:
    return _stored_data(ctx, "card_scan", lambda scan: stored_data.judge_card_scan(scan, ("cards", "ssns")),
                        "no unmasked card number or SSN in stored data (scanned)")


# ------------------------------------------------------------------------------------------------ AI agent (issue 17)
def _ai_probed(ctx: Context, item: str, what: str) -> Outcome:
    """The latest `ai_probe` record of the trail (playbooks/ai_probe.yml) for `item`: passed within the policy's
    evidence interval (ai_agent.evidence_interval, default 90 days), or its findings. A pass older than the interval
    is no longer evidence; a failure stays a failure until a later run passes."""
    agent = ctx.policy.ai_agent
    if agent is None:
        return Outcome(NO_EVIDENCE, f"{what}: the site policy has no ai_agent: section, so the agent cannot be "
                                    "probed (describe its endpoint: docs/ai_agent.md)")
    runs = [r for r in ctx.trail_records if r.get("kind") == "ai_probe" and item in (r.get("items") or {})]
    if not runs:
        return Outcome(NO_EVIDENCE, f"{what}: no probe run in the audit trail (run playbooks/ai_probe.yml)")
    latest = runs[-1]
    verdict = latest["items"][item]
    when = str(latest.get("probed_at") or latest.get("time") or "")
    try:
        probed = dt.datetime.fromisoformat(when.replace("Z", "+00:00"))
    except ValueError:
        return Outcome(NO_EVIDENCE, f"{what}: the probe record seq {latest.get('seq')} has no readable date")
    if probed.tzinfo is None:
        probed = probed.replace(tzinfo=dt.UTC)
    seen = (f"{latest.get('agent', '?')}, {verdict.get('probes', 0)} probe(s) on {probed.date()} "
            f"({latest.get('engine')})")
    if verdict.get("status") == FAIL:
        findings = [f"{f['probe']} [{f['field']}] {f['kind']}: {f['detail']}"
                    + (f" - reply: {f['excerpt']}" if f.get("excerpt") else "")
                    for f in latest.get("findings") or [] if f.get("checklist") == item]
        return Outcome(FAIL, f"{what}: {verdict.get('findings')} finding(s) - {seen}", findings)
    if verdict.get("status") != PASS:
        return Outcome(NO_EVIDENCE, f"{what}: the last probe run did not complete - {seen}",
                       list(latest.get("errors") or []))
    days = agent.evidence_interval_days()
    expires = probed + dt.timedelta(days=days)
    if ctx.now > expires:
        return Outcome(NO_EVIDENCE, f"{what}: last passed {probed.date()}, expired {expires.date()} (every {days} "
                                    "days): run playbooks/ai_probe.yml")
    skipped = [f"skipped: {s['probe']} ({s['reason']})" for s in latest.get("skipped") or []
               if s.get("checklist") == item]
    return Outcome(PASS, f"{what}: passed on {probed.date()}, valid until {expires.date()} - {seen}", skipped)


@check("ai.input_validation_probed")
def ai_input_validation_probed(ctx: Context) -> Outcome:
    return _ai_probed(ctx, "AI-01", "invalid callback numbers and appointment types refused by the agent and its "
                                    "allow-lists")


@check("ai.prompt_injection_probed")
def ai_prompt_injection_probed(ctx: Context) -> Outcome:
    return _ai_probed(ctx, "AI-02", "prompt-injection probes leak no canary")
