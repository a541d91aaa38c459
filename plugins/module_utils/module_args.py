# -*- coding: utf-8 -*-
"""Argument specs shared by the modules; each matches a doc fragment of plugins/doc_fragments."""

from __future__ import annotations

# aiphone.hardening.device_connection
CONNECTION_ARGS = dict(
    host=dict(type="str", required=True),
    port=dict(type="int"),
    username=dict(type="str", required=True),
    password=dict(type="str", required=True, no_log=True),
    enable_secret=dict(type="str", no_log=True),
    known_hosts_file=dict(type="path", required=True),
    timeout=dict(type="int", default=30),
)

# aiphone.hardening.site_policy_device
POLICY_ARGS = dict(
    policy_file=dict(type="path", required=True),
    device=dict(type="str", required=True),
)

# aiphone.hardening.maintenance_force
FORCE_ARGS = dict(
    force=dict(type="bool", default=False),
    force_reason=dict(type="str"),
)
FORCE_REQUIRED_IF = [("force", True, ("force_reason",))]

# aiphone.hardening.audit_site
AUDIT_ARGS = dict(
    audit_dir=dict(type="path", default="audit"),
    site=dict(type="str", required=True),
)

# aiphone.hardening.credential_vault
ROTATION_ARGS = dict(
    vault_file=dict(type="path", required=True),
    vault_password_file=dict(type="path", required=True, no_log=False),
    audit_dir=dict(type="path", required=True),
    site=dict(type="str", required=True),
)

# state: merged (converge the device) / rendered (policy -> lines) / parsed (running_config -> facts), as the
# cisco.ios resource modules have them; the offline states connect to nothing, so the connection options and
# the backup directory are required only to converge (OFFLINE_REQUIRED_IF).
STATE_ARGS = dict(
    state=dict(type="str", choices=["merged", "rendered", "parsed"], default="merged"),
    running_config=dict(type="str"),
)
OFFLINE_CONNECTION_ARGS = {name: dict(spec, required=False) for name, spec in CONNECTION_ARGS.items()}
_CONNECTION_REQUIRED = tuple(name for name, spec in CONNECTION_ARGS.items() if spec.get("required"))
OFFLINE_REQUIRED_IF = [
    ("state", "merged", _CONNECTION_REQUIRED + ("backup_dir",)),
    ("state", "parsed", ("running_config",)),
]
