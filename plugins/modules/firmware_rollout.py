#!/usr/bin/python
"""Ansible module: staged firmware rollout over many switches or phones, gated by the site's maintenance windows."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: firmware_rollout
short_description: Upgrade switches and VoIP phones to the site's firmware baselines in canary + batches
description:
  - Reads the running firmware of every device (in parallel), compares it with the site policy's
    C(firmware_baselines), and upgrades the outdated ones in a canary batch (per model) followed by batches;
    a batch whose failure rate passes I(max_fail_percentage) stops the rollout (the canary batch stops it at the
    first failure).
  - >-
    Per device: pre-checks, image staged and its checksum verified (non-disruptive, any time), then, only inside
    a maintenance window with enough time left for the device's reboot, activate, reboot, post-checks; any failure
    after the reboot restores the previous image and configuration and the device is reported failed.
  - Phones in a call are never rebooted; they are retried every I(busy_retry_seconds), at most I(busy_retry_max)
    times and while the window still fits, then reported C(skipped_busy).
  - >-
    Before each reboot a C(firmware_attempt) record with result C(started) (device, from, to, attempt and run id,
    what the post-checks need) is written and fsynced. A run that finds such an attempt without an end (the run
    was killed) first runs the post-checks and records C(upgraded) "completed after interruption" or C(failed)
    (the device is recovered), and only then judges the device.
  - Every attempt is recorded in the site's audit trail (start, end, device, from/to version, checksum, result,
    operator, forced-override reason).
  - >-
    Check mode is the plan: which devices would change, in which batch, the estimated duration and whether it fits
    the window. Nothing is staged or changed.
  - Runs on the controller once per rollout (C(run_once) on localhost), not once per device, so
    that canaries, batches and busy retries see the whole fleet.
version_added: "0.1.0"
author: aiphone-hardening contributors
extends_documentation_fragment:
  - aiphone.hardening.maintenance_force
options:
  policy:
    description: Site policy file (baselines, maintenance windows, timezone, site name).
    type: path
    required: true
  devices:
    description: Devices to consider (usually built from an inventory group); devices without a baseline are reported.
    type: list
    elements: dict
    required: true
    suboptions:
      name: {description: "Inventory name.", type: str, required: true}
      platform: {description: "Site-policy platform (cisco_ios, poly, yealink, cisco_mpp).", type: str, required: true}
      model: {description: "Model as in the site policy.", type: str, required: true}
      host: {description: "Address of the device.", type: str, required: true}
      port: {description: "Management port (SSH or HTTP).", type: int}
      username: {description: "Login (Poly always uses C(Polycom)).", type: str}
      password: {description: "Login password.", type: str, no_log: true}
      enable_secret: {description: "IOS enable secret.", type: str, no_log: true}
      reboot_seconds: {description: "Typical reboot time; the window must fit 3 times it.", type: float}
      sip_port: {description: "Yealink SIP port for the check-sync NOTIFY.", type: int}
      sip_user: {description: "Yealink SIP account user the NOTIFY is addressed to (default the name).", type: str}
  firmware_dir:
    description: Controller directory holding the baseline images (checked against their sha256 before use).
    type: path
    required: true
  known_hosts_file:
    description: The site's known_hosts; unknown or changed SSH host keys are refused, never added.
    type: path
  provisioning:
    description: The provisioning server phones fetch firmware from (required when phones are in the rollout).
    type: dict
    suboptions:
      url: {description: "URL as phones see it.", type: str}
      dir: {description: "Directory of the server writable from the controller.", type: path}
      upload_url: {description: "Alternative to dir: HTTP PUT endpoint (C(<upload_url><file>)).", type: str}
      token: {description: "Bearer token of the upload endpoint.", type: str, no_log: true}
  canary:
    description: Canary batch size per model, a count (C(1)) or a percentage (C(5%)).
    type: str
    default: "1"
  batch_size:
    description: Size of the following batches, a count or a percentage of the outdated devices.
    type: str
    default: "25%"
  max_fail_percentage:
    description: Stop the rollout after a batch with a higher failure rate.
    type: float
    default: 0
  parallel:
    description: Devices upgraded at the same time within a batch.
    type: int
    default: 64
  busy_retry_seconds:
    description: Pause between retries of phones that are in a call.
    type: float
    default: 60
  busy_retry_max:
    description:
      - Retries of a phone that is in a call, forced or not; the retries also end with the window (a forced run
        too, when inside one). A phone still busy is reported C(skipped_busy) (recorded), never rebooted.
    type: int
    default: 10
  run_id:
    description: This run's id, carried by every record (default C($AIPHONE_RUN_ID), set by the site lock).
    type: str
  timeout:
    description: Per-request / SSH timeout in seconds.
    type: int
    default: 30
  audit_dir:
    description: Root of the audit trails (records go to C(<audit_dir>/<site>/)).
    type: path
    default: audit
  backup_dir:
    description: Controller directory receiving each switch's configuration before its upgrade.
    type: path
  operator:
    description: Who runs the rollout (recorded). Defaults to C($AIPHONE_OPERATOR) or the user.
    type: str
  fail_on_device_failure:
    description: Fail the task when a device failed (the summary is returned either way).
    type: bool
    default: true
  progress_file:
    description:
      - File that receives one line after every batch while the rollout runs - C(HH:MM:SS batch k of n: done d,
        failed f, remaining r; about s s left) - for an operator to follow (C(tail -f)); the lines are also returned
        in C(progress).
    type: path
  rollback:
    description:
      - Roll each device back to the firmware it ran before its last upgrade instead of bringing it to the
        baseline - the version from the site's audit trail (newest C(firmware_attempt) C(upgraded) that was not a
        rollback), the build from O(rollback_builds) or from the checksum an earlier upgrade to that version
        recorded (matched in O(firmware_dir)). Same procedure, windows and force rules as an upgrade; the attempt is
        recorded with C(rollback=true). A device whose previous build is unknown fails the task (nothing changes on
        it). See plugins/module_utils/firmware/rollback.py.
    type: bool
    default: false
  rollback_builds:
    description: Known previous builds for O(rollback), shaped like firmware baselines.
    type: list
    elements: dict
    default: []
    suboptions:
      platform: {description: Site-policy platform., type: str, required: true}
      model: {description: Model as in the site policy., type: str, required: true}
      version: {description: Version the device reports., type: str, required: true}
      image: {description: Image file name (in O(firmware_dir))., type: str, required: true}
      sha256: {description: sha256 of the image., type: str, required: true}
notes:
  - Supports check mode (the plan) and diff mode (versions before/after per device).
"""

EXAMPLES = r"""
- name: Upgrade the phones, 5% per model first, then quarters
  aiphone.hardening.firmware_rollout:
    policy: "{{ aiphone_site_policy_file }}"
    firmware_dir: "{{ inventory_dir }}/firmware"
    provisioning: {url: "http://10.10.10.5/prov/", dir: /srv/provisioning}
    canary: "5%"
    batch_size: "25%"
    max_fail_percentage: 10
    devices:
      - {name: phone-101, platform: poly, model: VVX450, host: 10.10.20.21, password: "{{ vault_poly_admin }}"}
      - {name: phone-102, platform: yealink, model: T54W, host: 10.10.20.22, username: admin,
         password: "{{ vault_yealink_admin }}", sip_port: 5060, sip_user: "102"}
  run_once: true
"""

RETURN = r"""
devices:
  description: Every device - before/after version, target, result (compliant, planned, upgraded, failed, busy,
    deferred, not_started, no_baseline), reason, batch, duration, attempts, forced, recovered.
  type: list
  elements: dict
  returned: always
batches:
  description: Device names per batch (the canary batch first).
  type: list
  elements: list
  returned: always
counts:
  description: Number of devices per result.
  type: dict
  returned: always
estimated_seconds:
  description: Estimated duration (sequential batches, each as long as its slowest reboot).
  type: float
  returned: always
fits_window:
  description: Whether the estimate fits the time left in the window (or the next window when outside).
  type: bool
  returned: always
window:
  description: The window situation in words.
  type: str
  returned: always
stopped_reason:
  description: Why the rollout stopped early (empty when it did not).
  type: str
  returned: always
devices_failed:
  description: Whether any device failed (the task fails too unless I(fail_on_device_failure=false)).
  type: bool
  returned: always
not_attempted:
  description: Devices left as they were (not started after a stop, deferred by the window, skipped busy).
  type: list
  elements: str
  returned: always
reconciled:
  description: Attempts of interrupted runs finished in this run (post-checked or recovered), one per device.
  type: list
  elements: dict
  returned: always
progress:
  description: The progress lines told after every batch (also appended to I(progress_file)).
  type: list
  elements: str
  returned: always
  sample: ["02:10:04 batch 1 of 3 (canary): done 2, failed 0, remaining 3; about 84 s left"]
"""

import datetime as dt
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail
from ansible_collections.aiphone.hardening.plugins.module_utils.firmware.policy import load_policy
from ansible_collections.aiphone.hardening.plugins.module_utils.firmware.procedure import Gate
from ansible_collections.aiphone.hardening.plugins.module_utils.firmware.records import (
    RECORD_KIND,
    append_record,
    default_operator,
    record_from_result,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.firmware.rollback import RollbackRollout
from ansible_collections.aiphone.hardening.plugins.module_utils.firmware.rollout import (
    DeviceSpec,
    Rollout,
    RolloutOptions,
    registry_factory,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.maintenance_window import MaintenanceSchedule
from ansible_collections.aiphone.hardening.plugins.module_utils.module_args import FORCE_ARGS, FORCE_REQUIRED_IF

DEVICE_OPTIONS = {
    "name": {"type": "str", "required": True},
    "platform": {"type": "str", "required": True},
    "model": {"type": "str", "required": True},
    "host": {"type": "str", "required": True},
    "port": {"type": "int"},
    "username": {"type": "str"},
    "password": {"type": "str", "no_log": True},
    "enable_secret": {"type": "str", "no_log": True},
    "reboot_seconds": {"type": "float"},
    "sip_port": {"type": "int"},
    "sip_user": {"type": "str"},
}
PROVISIONING_OPTIONS = {
    "url": {"type": "str"},
    "dir": {"type": "path"},
    "upload_url": {"type": "str"},
    "token": {"type": "str", "no_log": True},
}


def device_specs(params: dict) -> list[DeviceSpec]:
    provisioning = params["provisioning"] or {}
    shared = {"timeout": params["timeout"], "known_hosts_file": params["known_hosts_file"],
              "backup_dir": params["backup_dir"], "provisioning_url": provisioning.get("url") or "",
              "provisioning_dir": provisioning.get("dir") or "",
              "provisioning_upload_url": provisioning.get("upload_url") or "",
              "provisioning_token": provisioning.get("token") or ""}
    specs = []
    for device in params["devices"]:
        connection = {**shared, **{key: value for key, value in device.items()
                                   if key not in ("name", "platform", "model") and value is not None}}
        specs.append(DeviceSpec(device["name"], device["platform"], device["model"], connection))
    return specs


def version_diff(summary: dict) -> dict:
    lines = [(d["device"], d["before"] or "?", d["after"] or "?") for d in summary["devices"]]
    return {"before": "".join(f"{name}: {before}\n" for name, before, _after in lines),
            "after": "".join(f"{name}: {after}\n" for name, _before, after in lines)}


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "policy": {"type": "path", "required": True},
            "devices": {"type": "list", "elements": "dict", "required": True, "options": DEVICE_OPTIONS},
            "firmware_dir": {"type": "path", "required": True},
            "known_hosts_file": {"type": "path"},
            "provisioning": {"type": "dict", "options": PROVISIONING_OPTIONS},
            "canary": {"type": "str", "default": "1"},
            "batch_size": {"type": "str", "default": "25%"},
            "max_fail_percentage": {"type": "float", "default": 0.0},
            "parallel": {"type": "int", "default": 64},
            "busy_retry_seconds": {"type": "float", "default": 60.0},
            "busy_retry_max": {"type": "int", "default": 10},
            "run_id": {"type": "str"},
            "timeout": {"type": "int", "default": 30},
            **FORCE_ARGS,
            "audit_dir": {"type": "path", "default": "audit"},
            "backup_dir": {"type": "path"},
            "operator": {"type": "str"},
            "fail_on_device_failure": {"type": "bool", "default": True},
            "progress_file": {"type": "path"},
            "rollback": {"type": "bool", "default": False},
            "rollback_builds": {"type": "list", "elements": "dict", "default": [], "options": {
                key: {"type": "str", "required": True} for key in ("platform", "model", "version", "image", "sha256")}},
        },
        required_if=FORCE_REQUIRED_IF,
        supports_check_mode=True,
    )
    params = module.params
    operator = params["operator"] or default_operator()
    run_id = params["run_id"] or os.environ.get("AIPHONE_RUN_ID") or None
    try:
        policy = load_policy(params["policy"])
        gate = Gate(MaintenanceSchedule.from_policy(policy), force=params["force"],
                    force_reason=params["force_reason"] or "")
        site = (policy.get("site") or {}).get("name") or "site"

        def record(result: dict) -> None:
            append_record(params["audit_dir"], site, record_from_result(result, operator, params["force_reason"],
                                                                        rollback=params["rollback"], run_id=run_id))

        history = audit_trail.read_records(audit_trail.site_dir(params["audit_dir"], site), kind=RECORD_KIND)
        kind, extra = Rollout, {}
        if params["rollback"]:
            kind, extra = RollbackRollout, {"builds": params["rollback_builds"], "records": history}
        rollout = kind(device_specs(params), policy, gate,
                          RolloutOptions(canary=params["canary"], batch_size=params["batch_size"],
                                         max_fail_percentage=params["max_fail_percentage"],
                                         parallel=params["parallel"], busy_retry_seconds=params["busy_retry_seconds"],
                                         busy_retry_max=params["busy_retry_max"], check_mode=module.check_mode),
                          registry_factory, firmware_dir=params["firmware_dir"],
                          record=None if module.check_mode else record, history=history, **extra)
        progress: list[str] = []

        def tell(line: str) -> None:
            stamped = f"{dt.datetime.now(dt.UTC):%H:%M:%S} {line}"
            progress.append(stamped)
            if params["progress_file"]:
                with open(params["progress_file"], "a", encoding="utf-8") as handle:
                    handle.write(stamped + "\n")

        rollout.progress = tell
        summary = rollout.run()
        summary["progress"] = progress
    except (OSError, ValueError) as exc:
        module.fail_json(msg=f"firmware rollout not started: {exc}")
    summary["diff"] = version_diff(summary)
    unknown = [f"{d['device']}: {d['reason']}" for d in summary["devices"] if d["result"] == "no_baseline"]
    if params["rollback"] and unknown:
        module.fail_json(msg=f"firmware rollback: no previous build for {'; '.join(unknown)}", **summary)
    if summary["devices_failed"] and params["fail_on_device_failure"]:
        failed = [d["device"] for d in summary["devices"] if d["result"] == "failed"]
        module.fail_json(msg=f"firmware rollout: {len(failed)} device(s) failed: {', '.join(failed)}"
                             f"{'; stopped: ' + summary['stopped_reason'] if summary['stopped'] else ''}", **summary)
    module.exit_json(**summary)


if __name__ == "__main__":
    main()
