# -*- coding: utf-8 -*-
"""SNMPv3 authPriv on IOS / IOS-XE switches (pure; no device access).

The policy's `network.snmp` names one group and its users; keys come from vault variables. What goes to the device
(command forms as the cisco.ios `snmp_server` resource module renders them [V]):

    ip access-list standard ACL-SNMP-MGMT            # SNMP only from the mgmt zone(s)
     permit 10.10.10.0 0.0.0.255
     deny any log
    snmp-server group <group> v3 priv access ACL-SNMP-MGMT
    snmp-server user <user> <group> v3 auth sha <auth key> priv aes 128 <priv key>

IOS never prints `snmp-server user` in the running config and cannot show a key back, so users are compared with
`show snmp user` (name, group, protocols): a user that exists with the right group and protocols is left alone;
its keys are re-sent only when a rotation asks for it. Users of the device not in the policy are removed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import InvalidValue, UnexpectedOutput
from ansible_collections.aiphone.hardening.plugins.module_utils.network.guard import check_value
from ansible_collections.aiphone.hardening.plugins.module_utils.network.iosconfig import AclState, Section, place_acl
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import SitePolicy, Snmp

SNMP_ACL = "ACL-SNMP-MGMT"
MASK = "********"
AUTH_CLI = {"sha": "sha"}
AUTH_SHOWN = {"sha": "SHA"}
PRIV_CLI = {"aes-128": "aes 128", "aes-192": "aes 192", "aes-256": "aes 256"}
PRIV_SHOWN = {"aes-128": "AES128", "aes-192": "AES192", "aes-256": "AES256"}  # AES192/256 by analogy [I]
AGENT_OFF = "SNMP agent not enabled"


@dataclass(frozen=True)
class SnmpUser:
    name: str
    group: str
    auth: str
    priv: str
    auth_key: str = field(repr=False)
    priv_key: str = field(repr=False)

    def cli(self, masked: bool = False) -> str:
        auth_key, priv_key = (MASK, MASK) if masked else (self.auth_key, self.priv_key)
        return (f"snmp-server user {self.name} {self.group} v3 auth {AUTH_CLI[self.auth]} {auth_key} "
                f"priv {PRIV_CLI[self.priv]} {priv_key}")

    def shown(self) -> dict:
        """How `show snmp user` (parsed by ntc-templates) reports this user."""
        return {"user_name": self.name, "group_name": self.group, "authentication_protocol": AUTH_SHOWN[self.auth],
                "privacy_protocol": PRIV_SHOWN[self.priv]}


def policy_snmp(policy: SitePolicy) -> Snmp | None:
    return policy.network.snmp


def key_vars(policy: SitePolicy) -> list[str]:
    """The vault variables the policy's SNMP users take their keys from (`SitePolicy.secret_vars("snmp")`)."""
    return policy.secret_vars("snmp")


def snmp_users(policy: SitePolicy, keys: dict) -> list[SnmpUser]:
    """The policy's users with their keys from `keys` (vault variable -> value); every value checked first."""
    snmp = policy_snmp(policy)
    if not snmp:
        return []
    group = check_value(snmp.group, "name", "network.snmp.group")
    users = []
    for user in snmp.users:
        name = check_value(user.name, "name", "network.snmp.users[].name")
        values = {}
        for key in ("auth_key_var", "priv_key_var"):
            var = getattr(user, key)
            if keys.get(var) in (None, ""):
                raise InvalidValue(f"network.snmp.users[{name}].{key}: vault variable {var} is not defined")
            values[key] = check_value(keys[var], "snmp_key", f"vault variable {var}")
        if values["auth_key_var"] == values["priv_key_var"]:
            raise InvalidValue(f"network.snmp.users[{name}]: the auth and priv keys must differ")
        users.append(SnmpUser(name, group, user.auth, user.priv,
                              values["auth_key_var"], values["priv_key_var"]))
    return users


def snmp_sections(policy: SitePolicy, acls: AclState | None = None) -> list[Section]:
    """The SNMP ACL and group (running-config lines): SNMP answers only the mgmt zone(s)."""
    snmp = policy_snmp(policy)
    if not snmp:
        return []
    group = check_value(snmp.group, "name", "network.snmp.group")
    mgmt = [zone.network for zone in policy.zones_with_purpose("mgmt")]
    entries = [f"permit {net.network_address} {net.hostmask}" for net in mgmt] + ["deny any log"]
    acl = place_acl("standard", SNMP_ACL, entries, acls or AclState())
    return acl.before + [Section(None, [f"snmp-server group {group} v3 priv access {acl.name}"],
                                 owned=("snmp-server group",))] + acl.after


def parse_snmp_users(text: str) -> list[dict]:
    """`show snmp user` -> ntc-templates records; an agent that is not enabled has no users."""
    if AGENT_OFF in text:
        return []
    from ntc_templates.parse import parse_output
    try:
        return parse_output(platform="cisco_ios", command="show snmp user", data=text)
    except Exception as exc:  # textfsm's own error types; the message names the line it could not read
        raise UnexpectedOutput(f"`show snmp user` did not parse: {exc}") from exc


@dataclass
class SnmpUserPlan:
    commands: list[str]      # to send (with keys)
    display: list[str]       # the same, keys masked
    before: list[str]        # `show snmp user` summary lines, for --diff
    after: list[str]


def _summary(record: dict) -> str:
    return (f"{record['user_name']} group {record['group_name']} auth {record['authentication_protocol']} "
            f"priv {record['privacy_protocol']}")


def plan_snmp_users(users: list[SnmpUser], device_users: list[dict], rotate: bool = False) -> SnmpUserPlan:
    """Commands that bring the device's users to `users`; `rotate` re-sends the keys of every user."""
    wanted = {user.name: user for user in users}
    current = {record["user_name"]: record for record in device_users}
    plan = SnmpUserPlan([], [], [], [])
    for name, record in current.items():
        if name not in wanted or (wanted[name].group != record["group_name"]):
            line = f"no snmp-server user {name} {record['group_name']} v3"
            plan.commands.append(line)
            plan.display.append(line)
            plan.before.append(_summary(record))
    for user in users:
        record = current.get(user.name)
        if record is not None and _matches(user, record) and not rotate:
            continue
        plan.commands.append(user.cli())
        plan.display.append(user.cli(masked=True))
        if record is not None and _summary(record) not in plan.before:
            plan.before.append(_summary(record))
        plan.after.append(_summary(user.shown()) + (" (new keys)" if rotate else ""))
    return plan


def _matches(user: SnmpUser, record: dict) -> bool:
    shown = user.shown()
    return all(record.get(key) == value for key, value in shown.items())


def snmp_user_problems(users: list[SnmpUser], device_users: list[dict]) -> list[str]:
    """Read-back check: every policy user present with its group and protocols, and no other user."""
    current = {record["user_name"]: record for record in device_users}
    problems = [f"snmp-server user {user.name} ({_summary(user.shown())})" for user in users
                if user.name not in current or not _matches(user, current[user.name])]
    wanted = {user.name for user in users}
    problems += [f"no snmp-server user {name}" for name in current if name not in wanted]
    return problems
