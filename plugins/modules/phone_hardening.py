#!/usr/bin/python
# -*- coding: utf-8 -*-
"""PRI-06: a desk phone holds its vendor's documented hardening parameters (SIP over TLS, SRTP, HTTPS web UI)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: phone_hardening
short_description: Provision and read back a desk phone's hardening parameters (SIP over TLS, SRTP, HTTPS web UI)
description:
  - Reads the phone's hardening parameters the way its vendor documents them - Poly C(config/get) of
    C(reg.1.server.1.transport) and C(sec.srtp.*), the Yealink per-MAC provisioning file (C(transport_type),
    C(srtp_encryption)), the Cisco MPP C(/admin/cfg.xml) (C(Enable_Protocol)) - and compares them with what the
    driver wants (docs/vendor-fidelity.md names each source).
  - With O(state=hardened) the missing parameters are provisioned through the vendor's path (REST C(config/set),
    or the per-MAC file plus the documented re-sync) and read back again; the task fails, naming the phone and each
    parameter, when the phone does not hold them afterwards.
  - O(state=audited) is read-only (the evidence of compliance check C(phones.hardened)); check mode is the plan
    (C(planned), C(diff)) and changes nothing.
  - Switching a phone's SIP transport to TLS makes it re-register over TLS, so the site's SIP server (the voice
    edge) must accept SIP over TLS before this runs. Outside the site's maintenance windows a change is refused
    unless O(force=true) with a O(force_reason) (recorded in the result).
  - Parameters no public vendor source documents are never guessed; they are returned in C(not_covered) to be
    checked by hand.
version_added: "1.1.0"
author: aiphone-hardening contributors
extends_documentation_fragment:
  - aiphone.hardening.maintenance_force
options:
  device: {description: Inventory / site-policy name of the phone., type: str, required: true}
  platform:
    description: Site-policy platform of the phone.
    type: str
    choices: [poly, yealink, cisco_mpp]
    required: true
  model: {description: Model of the phone as the site policy lists it., type: str}
  host: {description: Address of the phone's web server., type: str, required: true}
  port: {description: Port of the phone's web server., type: int}
  username: {description: Admin login of the phone (Poly's REST user is C(Polycom))., type: str, required: true}
  password: {description: Admin password (never logged)., type: str, required: true}
  timeout: {description: Seconds to wait for the phone., type: int, default: 30}
  provisioning:
    description: The site's provisioning server (Yealink and Cisco MPP are hardened through their per-MAC file).
    type: dict
    suboptions:
      url: {description: Provisioning server URL as the phones see it., type: str}
      dir: {description: Directory the server serves (when the controller writes it directly)., type: path}
      upload_url: {description: Upload URL when the directory is remote., type: str}
      token: {description: Bearer token of the upload URL (never logged)., type: str}
  sip_port: {description: Yealink only - the phone's SIP port for the check-sync NOTIFY., type: int}
  sip_user: {description: Yealink only - the SIP user the NOTIFY addresses., type: str}
  policy_file:
    description: The site policy; its maintenance windows gate O(state=hardened).
    type: path
    required: true
  state:
    description: C(hardened) provisions what is missing; C(audited) only reads it back.
    type: str
    choices: [hardened, audited]
    default: hardened
"""

EXAMPLES = r"""
- name: PRI-06 | PATCH | Desk phones take SIP over TLS, SRTP and HTTPS
  aiphone.hardening.phone_hardening:
    device: "{{ inventory_hostname }}"
    platform: "{{ platform }}"
    model: "{{ model }}"
    host: "{{ ansible_host }}"
    port: "{{ ansible_port }}"
    username: "{{ ansible_user | default('admin') }}"
    password: "{{ ansible_password }}"
    provisioning: {url: "{{ aiphone_provisioning_url }}", dir: "{{ aiphone_provisioning_dir }}"}
    policy_file: "{{ aiphone_site_policy_file }}"

- name: PRI-06 | AUDIT | Read the hardening parameters back
  aiphone.hardening.phone_hardening:
    device: "{{ inventory_hostname }}"
    platform: "{{ platform }}"
    host: "{{ ansible_host }}"
    username: admin
    password: "{{ ansible_password }}"
    policy_file: "{{ aiphone_site_policy_file }}"
    state: audited
"""

RETURN = r"""
gaps:
  description: "Each parameter the phone does not hold (after the change, when one was made): C(name: have X, want Y)."
  returned: always
  type: list
  elements: str
settings: {description: The hardening parameters as read back from the phone., returned: success, type: dict}
planned:
  description: The parameters set (or, in check mode, to be set) by this run, C(set name = value).
  returned: always
  type: list
  elements: str
not_covered:
  description: Hardening no public source of the vendor documents a parameter for (check by hand).
  returned: always
  type: list
  elements: str
verified_by:
  description: What the read-back came from (REST, provisioning file, cfg.xml).
  returned: success
  type: str
evidence:
  description: The input of compliance check C(phones.hardened) - C(platform), C(settings), C(not_covered).
  returned: success
  type: dict
forced: {description: The window refusal overridden and the recorded reason., returned: when forced, type: dict}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aiphone.hardening.plugins.module_utils.module_args import (
    FORCE_ARGS,
    FORCE_REQUIRED_IF,
    PHONE_PROVISIONING_ARGS,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.phones.hardening import harden_phone


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            device=dict(type="str", required=True),
            platform=dict(type="str", required=True, choices=["poly", "yealink", "cisco_mpp"]),
            model=dict(type="str"),
            host=dict(type="str", required=True),
            port=dict(type="int"),
            username=dict(type="str", required=True),
            password=dict(type="str", required=True, no_log=True),
            timeout=dict(type="int", default=30),
            **PHONE_PROVISIONING_ARGS,
            policy_file=dict(type="path", required=True),
            state=dict(type="str", choices=["hardened", "audited"], default="hardened"),
            **FORCE_ARGS,
        ),
        required_if=FORCE_REQUIRED_IF,
        supports_check_mode=True,
    )
    module.exit_json(**harden_phone(module))


if __name__ == "__main__":
    main()
