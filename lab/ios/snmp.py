"""SNMPv3 users of a lab switch: kept outside the running configuration, as IOS keeps them.

IOS never prints ``snmp-server user`` lines in ``show running-config`` (the keys are localized to the engine ID,
RFC 3414, and cannot be shown); ``show snmp user`` lists name, engine ID, storage type, protocols and group.
The lab stores each user's *localized* keys (RFC 3414 A.2.2 password-to-key, SHA-1) so a test can prove which
passphrase a user was configured with, without the simulator ever keeping the passphrase itself. There is no SNMP
agent answering on UDP/161 in the lab.

Command forms follow the cisco.ios ``snmp_server`` resource module [V]:
``snmp-server user <name> <group> v3 auth {md5|sha} <pass> [priv {des|3des|aes {128|192|256}} <pass>] [access <acl>]``
and ``no snmp-server user <name> <group> v3``. The output format of ``show snmp user`` is the one ntc-templates'
``cisco_ios_show_snmp_user`` parses (recorded from devices) [V]; ``AES192``/``AES256`` spellings follow the same
pattern as ``AES128`` (cisco.ios parses ``AES`` + digits) [I].
"""

from __future__ import annotations

import hashlib
import re

from lab.ios.config import INCOMPLETE, INVALID, ConfigError

NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}"
USER_RE = re.compile(rf"snmp-server user (?P<name>{NAME}) (?P<group>{NAME})"
                     r" v3 auth (?P<auth>md5|sha) (?P<auth_key>\S{1,64})"
                     r"(?: priv (?P<priv>des|3des|aes (?:128|192|256)) (?P<priv_key>\S{1,64}))?"
                     r"(?: access (?P<access>[A-Za-z0-9][A-Za-z0-9_.-]*))?")
NO_USER_RE = re.compile(r"snmp-server user (\S+) (\S+)(?: v3)?(?: .*)?")
PRIV_NAMES = {"des": "DES", "3des": "3DES", "aes 128": "AES128", "aes 192": "AES192", "aes 256": "AES256"}
MIN_KEY_LENGTH = 8  # IOS refuses shorter SNMPv3 passwords [I]


def password_to_key(password: str, engine_id: str, algorithm: str) -> str:
    """RFC 3414 A.2: expand the password to 1 MiB, hash it, localize the digest to the engine ID (hex)."""
    data = password.encode()
    expanded = (data * (1048576 // len(data) + 1))[:1048576]
    digest = hashlib.new(algorithm, expanded).digest()
    return hashlib.new(algorithm, digest + bytes.fromhex(engine_id) + digest).hexdigest()


class SnmpUsers:
    """The users table of one switch, a dict living in the device's saved state (survives reloads)."""

    def __init__(self, table: dict, engine_id: str) -> None:
        self.table = table
        self.engine_id = engine_id

    def configure(self, body: str, negate: bool) -> str:
        if negate:
            match = NO_USER_RE.fullmatch(body)
            if not match:
                raise ConfigError(INCOMPLETE)
            name, group = match.groups()
            if self.table.get(name, {}).get("group") == group:
                del self.table[name]
            return ""
        match = USER_RE.fullmatch(body)
        if not match:
            raise ConfigError(INCOMPLETE if len(body.split()) < 6 else INVALID, _column(body))
        for key in ("auth_key", "priv_key"):
            if match.group(key) is not None and len(match.group(key)) < MIN_KEY_LENGTH:
                return f"% Password too short: the minimum length is {MIN_KEY_LENGTH} characters\n"
        algorithm = "md5" if match.group("auth") == "md5" else "sha1"
        user = {"group": match.group("group"), "auth": match.group("auth").upper(),
                "priv": PRIV_NAMES[match.group("priv")] if match.group("priv") else "None",
                "access": match.group("access"), "engine_id": self.engine_id,
                "auth_key": password_to_key(match.group("auth_key"), self.engine_id, algorithm)}
        if match.group("priv_key"):
            user["priv_key"] = password_to_key(match.group("priv_key"), self.engine_id, algorithm)
        self.table[match.group("name")] = user
        return ""

    def show(self) -> str:
        records = []
        for name, user in self.table.items():
            access = f" access-list: {user['access']}" if user.get("access") else ""
            records.append(f"User name: {name}\nEngine ID: {user['engine_id']}\n"
                           f"storage-type: nonvolatile        active{access}\n"
                           f"Authentication Protocol: {user['auth']}\nPrivacy Protocol: {user['priv']}\n"
                           f"Group-name: {user['group']}\n")
        return "\n" + "\n".join(records)


def _column(body: str) -> int:
    """Where the ^ marker goes: after the longest prefix the user form accepts."""
    words = body.split(" ")
    for count in range(len(words), 0, -1):
        prefix = " ".join(words[:count])
        if re.match(r"snmp-server user \S+ \S+ v3(?: auth (?:md5|sha)(?: \S+(?: priv)?)?)?$", prefix):
            return len(prefix) + 1
    return len("snmp-server user ")
