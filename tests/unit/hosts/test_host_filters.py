"""Filters of the host roles: sshd -T parsing and who needs MFA."""

from __future__ import annotations

from ansible_collections.aiphone.hardening.plugins.filter.ssh_hardening import mfa_people, sshd_effective


def test_sshd_effective_keeps_first_words_and_joins_repeats():
    output = "port 22\nacceptenv LANG\nacceptenv LC_*\nauthenticationmethods publickey,keyboard-interactive\n\n"
    assert sshd_effective(output) == {"port": "22", "acceptenv": "LANG LC_*",
                                      "authenticationmethods": "publickey,keyboard-interactive"}


def test_mfa_people_skips_opt_outs_and_disabled_accounts():
    policy = {"people": [{"username": "ita"}, {"username": "lena", "mfa": False},
                         {"username": "omar", "enabled": False}, {"username": "marc", "mfa": True}]}
    assert mfa_people(policy) == ["ita", "marc"]
    assert mfa_people({}) == []
