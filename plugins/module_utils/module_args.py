# -*- coding: utf-8 -*-
"""Argument specs shared by the modules; each matches a doc fragment of plugins/doc_fragments."""

from __future__ import annotations

# aiphone.hardening.device_connection: one device's login ...
DEVICE_LOGIN_ARGS = dict(
    host=dict(type="str", required=True),
    port=dict(type="int"),
    username=dict(type="str", required=True),
    password=dict(type="str", required=True, no_log=True),
    enable_secret=dict(type="str", no_log=True),
)
# ... and how sessions are opened (a module driving several devices takes these once, the logins per device)
SESSION_ARGS = dict(
    known_hosts_file=dict(type="path", required=True),
    timeout=dict(type="int", default=30),
)
CONNECTION_ARGS = dict(**DEVICE_LOGIN_ARGS, **SESSION_ARGS)

# aiphone.hardening.site_policy_device (a module over several devices takes the policy file alone)
POLICY_FILE_ARGS = dict(
    policy_file=dict(type="path", required=True),
)
POLICY_ARGS = dict(
    **POLICY_FILE_ARGS,
    device=dict(type="str", required=True),
)

# aiphone.hardening.maintenance_force
FORCE_ARGS = dict(
    force=dict(type="bool", default=False),
    force_reason=dict(type="str"),
)
FORCE_REQUIRED_IF = [("force", True, ("force_reason",))]

# aiphone.hardening.config_change_records
CHANGE_RECORD_ARGS = dict(
    audit_dir=dict(type="path"),
    run_id=dict(type="str"),
    backup_vault_password_file=dict(type="path", no_log=False),
    backup_vault_id=dict(type="str"),
)

# aiphone.hardening.audit_site
AUDIT_ARGS = dict(
    audit_dir=dict(type="path", default="audit"),
    site=dict(type="str", required=True),
)

# aiphone.hardening.credential_vault: where new values are vaulted ...
VAULT_ARGS = dict(
    vault_file=dict(type="path", required=True),
    vault_password_file=dict(type="path", required=True, no_log=False),
)
# ... and the rotation recorded
ROTATION_ARGS = dict(
    **VAULT_ARGS,
    audit_dir=dict(type="path", required=True),
    site=dict(type="str", required=True),
)

# phones reached through the site's provisioning server (credential_rotate, phone_hardening): options of the driver
PHONE_PROVISIONING_ARGS = dict(
    provisioning=dict(type="dict", options=dict(
        url=dict(type="str"), dir=dict(type="path"), upload_url=dict(type="str"),
        token=dict(type="str", no_log=True))),
    sip_port=dict(type="int"),
    sip_user=dict(type="str"),
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
