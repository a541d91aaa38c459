#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Read what holds each data directory and whether it is encrypted with AES-256 (checklist PRI-03)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: data_at_rest_facts
short_description: Say, for each data directory, what encrypts it at rest and whether that is AES-256
description:
  - For each data directory (by default C(<data_root>/<class>) for the site policy's data classes) finds the mount
    that holds it in C(/proc/self/mountinfo) and reads how it is encrypted. A gocryptfs mount passes with
    AES-256-GCM (or AES-SIV-512), read from the C(gocryptfs.conf) of its cipher directory; an fscrypt policy passes
    with AES-256-XTS contents; a device-mapper device whose chain reaches a LUKS mapping passes when
    C(cryptsetup luksDump) of the LUKS device says C(aes-xts-plain64) with a 512-bit key. Anything weaker is a
    finding; plain storage is a failure naming the directory, the mount point, the filesystem and the device.
  - The rules are in C(plugins/module_utils/privacy/at_rest.py). Read-only; never reports a change.
options:
  data_root:
    description: Directory holding one sub-directory per data class (as the access_roles and data_retention roles).
    type: path
    default: /srv/aiphone
  classes:
    description: Data classes checked under O(data_root).
    type: list
    elements: str
    default: [recordings, transcripts, metadata, payment]
  directories:
    description: Directories to check instead of O(data_root)/O(classes), each C({name, path}).
    type: list
    elements: dict
    suboptions:
      name: {description: Name in the report (the data class)., type: str, required: true}
      path: {description: Absolute path., type: path, required: true}
  luks_devices:
    description: Block devices or LUKS image files whose header is checked directly (e.g. a LUKS volume prepared for
      the data before it is mounted).
    type: list
    elements: path
    default: []
  fail_on_finding:
    description: Fail when a directory or device is not encrypted with AES-256.
    type: bool
    default: false
author: aiphone-hardening
"""

EXAMPLES = r"""
- name: PRI-03 | What encrypts the data directories
  aiphone.hardening.data_at_rest_facts:
    data_root: /srv/aiphone
  register: at_rest
"""

RETURN = r"""
data_at_rest:
  description: One verdict per directory (status pass, fail, missing or unknown) and per device of O(luks_devices).
  returned: always
  type: list
  elements: dict
  sample: [{name: recordings, path: /srv/aiphone/recordings, status: pass, method: gocryptfs, cipher: AES-256-GCM,
            key_bits: 256, mount_point: /srv/aiphone/recordings, fstype: fuse.gocryptfs,
            source: /srv/aiphone/.recordings.crypt, detail: "..."}]
findings:
  description: The detail of every verdict that is not a pass.
  returned: always
  type: list
  elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aiphone.hardening.plugins.module_utils.privacy import at_rest


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "data_root": {"type": "path", "default": "/srv/aiphone"},
            "classes": {"type": "list", "elements": "str",
                        "default": ["recordings", "transcripts", "metadata", "payment"]},
            "directories": {"type": "list", "elements": "dict",
                            "options": {"name": {"type": "str", "required": True},
                                        "path": {"type": "path", "required": True}}},
            "luks_devices": {"type": "list", "elements": "path", "default": []},
            "fail_on_finding": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    params = module.params
    directories = params["directories"] if params["directories"] is not None else [
        {"name": c, "path": os.path.join(params["data_root"], c)} for c in params["classes"]]
    relative = [d["path"] for d in directories if not os.path.isabs(d["path"])]
    if relative:
        module.fail_json(msg=f"data_at_rest_facts: directories must be absolute paths: {', '.join(relative)}")
    try:
        probe = at_rest.Probe()
        verdicts = [v.as_dict() for v in at_rest.check_directories(directories, probe)]
    except (OSError, ValueError) as exc:
        module.fail_json(msg=f"data_at_rest_facts: cannot read the mount table: {exc}")
    for device in params["luks_devices"]:
        status, detail, dump = at_rest.check_luks_device(device, probe)
        verdicts.append({"name": device, "path": device, "status": status, "method": f"luks{dump.get('version', '')}",
                         "detail": detail, "cipher": dump.get("cipher"), "key_bits": dump.get("key_bits"),
                         "mount_point": None, "fstype": None, "source": device})
    findings = [v["detail"] for v in verdicts if v["status"] != at_rest.PASS]
    result = {"changed": False, "data_at_rest": verdicts, "findings": findings}
    if params["fail_on_finding"] and findings:
        module.fail_json(msg="data_at_rest_facts: " + "; ".join(findings), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
