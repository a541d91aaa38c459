#!/usr/bin/python
"""Ansible module: the version inventory of a whole site in one invocation, reported per host."""

from __future__ import annotations

DOCUMENTATION = r"""
module: version_inventory
short_description: Read platform, model, serial and version of many devices at once and compare with the baseline
description:
  - Reads every device given in I(devices) through its platform driver (netmiko/TextFSM for Cisco, the phones'
    APIs ...) with a thread pool - one module invocation for the whole site, so 1,000 devices do not cost 1,000
    Ansible tasks - and reports each host separately in C(hosts).
  - Adds the Linux hosts' facts gathered by Ansible (I(linux_hosts)), compares every device with the approved
    C(firmware_baselines) of the site policy (C(compliant), C(outdated), C(unknown_model), C(unreachable),
    C(unparsed) - it answered in a shape the parser does not understand, its first lines quoted) and keeps the
    date each version was first seen, and who changed it when the change was ours (from the audit trail), in
    C(<audit_dir>/<site>/versions-state.json). Model, serial and version come from the device only; what it did
    not report is listed in the entry's C(missing).
  - Read-only on every device. Writes on the controller only - the state file, C(inventory.json) and
    C(inventory.csv) under I(report_dir), and an C(inventory_snapshot) record in the site's audit trail; in check
    mode it reads the devices and writes nothing.
version_added: 0.1.0
extends_documentation_fragment:
  - aiphone.hardening.audit_site
  - aiphone.hardening.check_mode_no_diff
options:
  policy:
    description: Path of the site's C(site_policy.yml).
    type: path
    required: true
  policy_sha256:
    description:
      - The C(sha256) M(aiphone.hardening.site_policy) returned when it validated I(policy) earlier in this run.
        When the file still hashes to it, it is not validated a second time; otherwise (or unset) it is.
    type: str
  audit_dir:
    description: Root directory of the audit trails and version state.
    type: path
    default: audit
  report_dir:
    description: Directory that receives C(inventory.json) and C(inventory.csv); nothing is written when unset.
    type: path
  device_hosts:
    description:
      - Inventory hosts to read (names, or the site policy's device entries with C(name) and C(platform)); their
        connection - C(ansible_host), C(ansible_port), C(ansible_user), C(ansible_password),
        C(aiphone_known_hosts_file) - is taken from the inventory by the action plugin, once per host. Added to
        I(devices).
    type: list
    elements: raw
  device_group:
    description: With I(device_hosts), only the hosts of this inventory group (default C(all)).
    type: str
  devices:
    description: Devices to read through their driver (switches, WLCs, access points, phones).
    type: list
    elements: dict
    default: []
    suboptions:
      name: {description: Inventory name (as in the site policy)., type: str, required: true}
      platform: {description: Site-policy platform (selects the driver)., type: str, required: true}
      host: {description: Address to connect to., type: str, required: true}
      port: {description: Port (driver default when unset)., type: int}
      username: {description: Login user., type: str, default: ""}
      password: {description: Login password., type: str, default: "", no_log: true}
      timeout: {description: Seconds per connection attempt and command., type: int, default: 30}
      known_hosts_file: {description: The site's SSH known_hosts (unknown keys are refused)., type: path}
  linux_hosts:
    description:
      - Facts of Linux hosts gathered by Ansible - C(name), C(kernel), C(os_release), C(os_version), C(model),
        C(hostname), C(uptime_seconds), C(packages) (name to version), or C(error) when the host was unreachable.
    type: list
    elements: dict
    default: []
  whole_site:
    description:
      - Report every device of the site policy; those not given in I(devices) or I(linux_hosts) are listed as
        C(unreachable). Set false when auditing only part of the site (one inventory group).
    type: bool
    default: true
  max_workers:
    description: Devices read at the same time.
    type: int
    default: 64
  record_snapshot:
    description: Append an C(inventory_snapshot) record to the site's audit trail.
    type: bool
    default: true
author: aiphone-hardening contributors
"""

EXAMPLES = r"""
- name: Version inventory of every network device and phone
  aiphone.hardening.version_inventory:
    site: lab
    policy: "{{ inventory_dir }}/site_policy.yml"
    report_dir: "{{ aiphone_report_dir }}"
    devices:
      - {name: sw-core-01, platform: cisco_ios, host: 127.0.0.1, port: 22001, username: admin,
         password: "{{ vault_switch_password }}"}
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
summary:
  description: Number of devices per status.
  returned: always
  type: dict
  sample: {"compliant": 7, "outdated": 1, "unknown_model": 2, "unreachable": 0, "unparsed": 0}
hosts:
  description:
    - Per device - status, version, baseline version and detail (what the per-host report prints). Every other
      field (model, serial, image, uptime, last reboot, first seen, changed by, packages ...) is in
      C(inventory.json); returning it for 1,000 devices would cost Ansible more than reading them.
  returned: always
  type: dict
  sample: {"sw-core-01": {"status": "outdated", "version": "17.9.4", "baseline_version": "17.9.5",
           "detail": "runs 17.9.4, approved 17.9.5 (older than approved)"}}
files:
  description: Report files written.
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail
from ansible_collections.aiphone.hardening.plugins.module_utils.compliance.site import load_policy_fast
from ansible_collections.aiphone.hardening.plugins.module_utils.inventory.build import (
    build_inventory,
    inventory_json,
    snapshot_record,
    write_inventory_files,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.inventory.collector import Target
from ansible_collections.aiphone.hardening.plugins.module_utils.module_args import AUDIT_ARGS
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import PolicyError

HOST_RESULT_KEYS = ("status", "version", "baseline_version", "detail")
DEVICE_OPTIONS = {
    "name": {"type": "str", "required": True},
    "platform": {"type": "str", "required": True},
    "host": {"type": "str", "required": True},
    "port": {"type": "int"},
    "username": {"type": "str", "default": ""},
    "password": {"type": "str", "default": "", "no_log": True},
    "timeout": {"type": "int", "default": 30},
    "known_hosts_file": {"type": "path"},
}


def main():
    module = AnsibleModule(
        argument_spec={
            **AUDIT_ARGS,
            "policy": {"type": "path", "required": True},
            "policy_sha256": {"type": "str"},
            "report_dir": {"type": "path"},
            "device_hosts": {"type": "list", "elements": "raw"},   # consumed by the action plugin
            "device_group": {"type": "str"},                       # consumed by the action plugin
            "devices": {"type": "list", "elements": "dict", "default": [], "options": DEVICE_OPTIONS},
            "linux_hosts": {"type": "list", "elements": "dict", "default": []},
            "whole_site": {"type": "bool", "default": True},
            "max_workers": {"type": "int", "default": 64},
            "record_snapshot": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        # devices and baselines as written (inventory records); validated once per run (policy_sha256)
        policy = load_policy_fast(params["policy"], params["policy_sha256"]).raw
    except PolicyError as exc:
        module.fail_json(msg=f"the site policy is invalid: {exc}",
                         errors=[str(e) for e in getattr(exc, "errors", [])])
    except OSError as exc:
        module.fail_json(msg=f"cannot read the site policy {params['policy']}: {exc}")
    if params["max_workers"] < 1:
        module.fail_json(msg="max_workers must be at least 1")
    targets = [Target(**device) for device in params["devices"]]
    secrets = [t.password for t in targets if t.password]
    try:
        site_directory = audit_trail.site_dir(params["audit_dir"], params["site"])
        inventory, state_changed = build_inventory(policy, targets, params["linux_hosts"], site_directory,
                                                   max_workers=params["max_workers"],
                                                   update_state=not module.check_mode,
                                                   whole_site=params["whole_site"])
        inventory = audit_trail.redact(inventory, secrets)     # once: the files and the record come from it
        files = {}
        if not module.check_mode:
            serialised = inventory_json(inventory)              # once: written, and hashed into the record
            if params["report_dir"]:
                files = write_inventory_files(params["report_dir"], inventory, serialised)
            if params["record_snapshot"]:
                audit_trail.append(site_directory, snapshot_record(inventory, serialised), secret_values=secrets)
    except (OSError, audit_trail.AuditTrailError) as exc:
        module.fail_json(msg=f"cannot write the inventory: {exc}")
    module.exit_json(changed=state_changed, summary=inventory["summary"], collected_at=inventory["collected_at"],
                     hosts={entry["name"]: {key: entry.get(key) for key in HOST_RESULT_KEYS}
                            for entry in inventory["devices"]}, files=files)


if __name__ == "__main__":
    main()
