"""The audit rules the replay loads for a lab container are the audit_logging role's own, minus what must not touch
the shared machine (kernel-wide settings, machine-wide syscall rules)."""

from __future__ import annotations

from tests.integration.detections.kernel_audit import role_rules


def test_the_role_rules_loaded_for_the_lab():
    rules = role_rules()
    assert "-w /srv/aiphone/recordings -p rwa -k aiphone_data" in rules
    assert "-w /etc/group -p wa -k identity" in rules
    assert any(r.startswith("-a always,exit") and "-F dir=/srv/aiphone/recordings" in r
               and r.endswith("-k aiphone_data_perm") for r in rules)
    assert not [r for r in rules if r.startswith(("-b", "-f", "-e", "--backlog"))]
    assert not [r for r in rules if r.endswith(("-k perm_mod", "-k privileged"))]
