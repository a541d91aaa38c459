#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: totp_enrolment
short_description: Enrol a set of people for TOTP (pam_google_authenticator secret files) in one call
description:
  - Keeps one pam_google_authenticator secret file per person in a root-only directory (PAM reads it with
    C(secret=<directory>/${USER} user=root)), so people cannot read, change or delete their own second factor.
  - A person with a secret in O(users) gets that secret (from the vault); a person without one gets a secret generated
    on the host (160 random bits) the first time, kept afterwards. Secrets are never returned or logged.
  - Option lines (TOTP_AUTH, WINDOW_SIZE, RATE_LIMIT, DISALLOW_REUSE) are kept as configured; the state that
    pam_google_authenticator writes into the file (used codes, rate-limit timestamps) is preserved while they match.
  - Files of people no longer listed are reported in RV(stale), and removed only with O(remove_stale=true).
version_added: 0.1.0
author: aiphone-hardening contributors
options:
  users:
    description: Login names of the people to enrol (accounts that do not exist are reported, not enrolled).
    type: list
    elements: str
    required: true
  secrets:
    description:
      - Base32 TOTP secrets (at least 26 characters) from the vault, by login name. People without one get a
        secret generated on the host.
    type: dict
    default: {}
  directory:
    description: Root-only directory of the secret files.
    type: path
    default: /var/lib/aiphone-hardening/mfa
  window_size:
    description: Codes accepted around the current one (clock skew); 3 means the previous, current and next.
    type: int
    default: 3
  rate_limit:
    description: At most this many login attempts per O(rate_limit_seconds).
    type: int
    default: 3
  rate_limit_seconds:
    description: Rate limit period.
    type: int
    default: 30
  remove_stale:
    description: Remove the files of people not in O(users).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
  diff_mode:
    support: partial
    details: The diff names the people whose file is created, re-keyed or updated, never a secret.
"""

EXAMPLES = r"""
- name: Enrol the site's people (vault secrets where given, generated otherwise)
  aiphone.hardening.totp_enrolment:
    users: [ita, sofia]
    secrets: "{{ vault_totp_secrets }}"   # e.g. {ita: JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP}
"""

RETURN = r"""
enrolled:
  description: People with a secret file after this run.
  returned: always
  type: list
  elements: str
created:
  description: People whose secret file was created (generated secrets must be handed over out of band).
  returned: always
  type: list
  elements: str
generated:
  description: People whose new secret was generated on the host (read it as root from O(directory)/<name>).
  returned: always
  type: list
  elements: str
rekeyed:
  description: People whose secret was replaced by the one given in O(users).
  returned: always
  type: list
  elements: str
updated:
  description: People whose option lines were corrected.
  returned: always
  type: list
  elements: str
missing_accounts:
  description: Listed people without an account on the host (not enrolled).
  returned: always
  type: list
  elements: str
stale:
  description: Secret files of people not listed (removed when O(remove_stale=true)).
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aiphone.hardening.plugins.module_utils.totp_files import EnrolmentRefused, enrol


def main():
    module = AnsibleModule(
        argument_spec={
            "users": {"type": "list", "elements": "str", "required": True},
            "secrets": {"type": "dict", "default": {}, "no_log": True},
            "directory": {"type": "path", "default": "/var/lib/aiphone-hardening/mfa"},
            "window_size": {"type": "int", "default": 3},
            "rate_limit": {"type": "int", "default": 3},
            "rate_limit_seconds": {"type": "int", "default": 30},
            "remove_stale": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    try:
        result = enrol(module.params, module.check_mode)
    except EnrolmentRefused as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
