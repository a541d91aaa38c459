# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the ssh_hardening and mfa_totp roles.

``sshd_effective``  the output of `sshd -T` -> {keyword: value}; keywords lower-case as sshd prints them, repeated
keywords (acceptenv, hostkey, listenaddress ...) joined with spaces in the order printed.
``mfa_people``  the site policy -> user names of the people who need MFA (all but `mfa: false` or `enabled: false`)
"""

from __future__ import annotations


def sshd_effective(output):
    settings = {}
    for line in str(output or "").splitlines():
        keyword, _sep, value = line.strip().partition(" ")
        if not keyword:
            continue
        settings[keyword] = f"{settings[keyword]} {value}" if keyword in settings else value
    return settings


def mfa_people(policy):
    people = (policy or {}).get("people") or []
    return [person["username"] for person in people
            if person.get("mfa", True) is not False and person.get("enabled", True) is not False]


class FilterModule:
    def filters(self):
        return {"sshd_effective": sshd_effective, "mfa_people": mfa_people}
