# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the ssh_hardening and mfa_totp roles.

``sshd_effective``  the output of `sshd -T` -> {keyword: value}; keywords lower-case as sshd prints them, repeated
keywords (acceptenv, hostkey, listenaddress ...) joined with spaces in the order printed.
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


class FilterModule:
    def filters(self):
        return {"sshd_effective": sshd_effective}
