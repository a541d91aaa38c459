# -*- coding: utf-8 -*-
"""SNMPv3 key rotation logic against a recording stand-in session: new keys pushed and read back, or the old keys
restored when the read-back or the save fails (the device behaviour itself is covered by the lab tests)."""

from __future__ import annotations

import pytest

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import CommandRejected
from ansible_collections.aiphone.hardening.plugins.module_utils.network.snmp import SnmpUser
from ansible_collections.aiphone.hardening.plugins.module_utils.ops.rotation import RotationFailed, rotate_snmp_keys

OLD = [SnmpUser("nms", "NMS", "sha", "aes-128", "Old-Auth-Key-1", "Old-Priv-Key-1")]
NEW = [SnmpUser("nms", "NMS", "sha", "aes-128", "NewAuthKey2026abcdefghij", "NewPrivKey2026abcdefghij")]
SHOWN = {"user_name": "nms", "group_name": "NMS", "authentication_protocol": "SHA", "privacy_protocol": "AES128"}


class Session:
    """Records pushes; `users_after_push` is what `show snmp user` reports after each push (in order)."""

    name = "sw-test"

    def __init__(self, users_after_push: list[list[dict]], save_fails: bool = False):
        self.users = [SHOWN]
        self.after = list(users_after_push)
        self.save_fails = save_fails
        self.pushed: list[list[str]] = []
        self.saved = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def get_snmp_users(self):
        return self.users

    def push(self, lines):
        self.pushed.append(lines)
        self.users = self.after.pop(0)

    def save(self):
        if self.save_fails:
            raise CommandRejected("write memory did not confirm", device=self.name)
        self.saved = True


def test_new_keys_pushed_read_back_and_saved():
    session = Session([[SHOWN]])
    result = rotate_snmp_keys(lambda _password: session, OLD, NEW)
    assert session.pushed == [[NEW[0].cli()]] and session.saved
    assert "show snmp user" in result.notes[0]


@pytest.mark.parametrize("after, save_fails", [([[], [SHOWN]], False), ([[SHOWN], [SHOWN]], True)])
def test_failed_read_back_or_save_restores_the_old_keys(after, save_fails):
    session = Session(after, save_fails=save_fails)
    with pytest.raises(RotationFailed, match="keeps its old SNMPv3 keys"):
        rotate_snmp_keys(lambda _password: session, OLD, NEW)
    assert session.pushed == [[NEW[0].cli()], [OLD[0].cli()]] and not session.saved


def test_failed_restore_is_named_loudly():
    session = Session([[], []])
    with pytest.raises(RotationFailed, match="RESTORING THE OLD SNMPv3 KEYS FAILED"):
        rotate_snmp_keys(lambda _password: session, OLD, NEW)


def test_users_not_converged_are_refused_before_any_push():
    session = Session([])
    session.users = [dict(SHOWN, privacy_protocol="DES")]
    with pytest.raises(RotationFailed, match=r"converge with playbooks/network\.yml first"):
        rotate_snmp_keys(lambda _password: session, OLD, NEW)
    assert session.pushed == []
