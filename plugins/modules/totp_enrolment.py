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

import base64
import os
import pwd
import re
import secrets
import tempfile

from ansible.module_utils.basic import AnsibleModule

NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
SECRET = re.compile(r"^[A-Z2-7]{26,128}$")
MIN_SECRET_CHARS = 26  # 130 bits; pyotp and RFC 4226 ask for at least 128 bits


def generate_secret() -> str:
    return base64.b32encode(secrets.token_bytes(20)).decode()  # 160 bits, 32 characters


def wanted_options(params: dict) -> dict[str, str]:
    """Option keyword -> its configured arguments (the part pam_google_authenticator must not change)."""
    return {
        "RATE_LIMIT": f"{params['rate_limit']} {params['rate_limit_seconds']}",
        "WINDOW_SIZE": str(params["window_size"]),
        "DISALLOW_REUSE": "",
        "TOTP_AUTH": "",
    }


def parse(text: str) -> tuple[str, dict[str, str]]:
    """(secret, {keyword: full option line}) of a secret file."""
    lines = text.splitlines()
    secret = lines[0].strip() if lines else ""
    options = {}
    for line in lines[1:]:
        if line.startswith('" '):
            keyword = line[2:].split(" ", 1)[0]
            options[keyword] = line
    return secret, options


def option_ok(keyword: str, line: str | None, arguments: str) -> bool:
    """RATE_LIMIT and DISALLOW_REUSE lines carry state after their arguments: compare the configured prefix."""
    if line is None:
        return False
    expected = f'" {keyword}' + (f" {arguments}" if arguments else "")
    return line == expected or line.startswith(expected + " ")


def render(secret: str, options: dict[str, str], wanted: dict[str, str]) -> str:
    lines = [secret]
    for keyword, arguments in wanted.items():
        line = options.get(keyword)
        lines.append(line if option_ok(keyword, line, arguments) else
                     f'" {keyword}' + (f" {arguments}" if arguments else ""))
    return "\n".join(lines) + "\n"


def write_private(path: str, content: str) -> None:
    directory = os.path.dirname(path)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".totp-")
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(content)
        os.chmod(temporary, 0o600)
        os.rename(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def check_input(module: AnsibleModule) -> list[dict]:
    users, seen = [], set()
    given = module.params["secrets"]
    unknown = sorted(set(given) - set(module.params["users"]))
    if unknown:
        module.fail_json(msg=f"secrets given for people who are not listed in users: {', '.join(unknown)}")
    for name in module.params["users"]:
        if not NAME.fullmatch(name or ""):
            module.fail_json(msg=f"user name {name!r}: must be a Linux user name ([a-z_][a-z0-9_-]*, at most 32)")
        if name in seen:
            module.fail_json(msg=f"user {name} is listed twice")
        seen.add(name)
        secret = str(given.get(name) or "").replace(" ", "").upper() or None
        if secret is not None and not SECRET.fullmatch(secret):
            module.fail_json(msg=f"the TOTP secret given for {name} is not base32 of at least {MIN_SECRET_CHARS} "
                                 "characters (A-Z, 2-7); the secret itself is not shown")
        users.append({"name": name, "secret": secret})
    params = module.params
    for key, low, high in (("window_size", 1, 21), ("rate_limit", 1, 10), ("rate_limit_seconds", 15, 600)):
        if not low <= params[key] <= high:
            module.fail_json(msg=f"{key}={params[key]}: must be between {low} and {high}")
    return users


def ensure_directory(module: AnsibleModule, directory: str) -> bool:
    if os.path.isdir(directory) and not os.path.islink(directory):
        changed = (os.stat(directory).st_mode & 0o777) != 0o700 or os.stat(directory).st_uid != 0
        if changed and not module.check_mode:
            os.chown(directory, 0, 0)
            os.chmod(directory, 0o700)
        return changed
    if os.path.lexists(directory):
        module.fail_json(msg=f"{directory} exists and is not a directory (or is a symlink): refusing to use it")
    if not module.check_mode:
        os.makedirs(directory, mode=0o700, exist_ok=True)
    return True


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
    users = check_input(module)
    directory = module.params["directory"]
    wanted = wanted_options(module.params)
    result = {key: [] for key in ("enrolled", "created", "generated", "rekeyed", "updated", "missing_accounts",
                                  "stale")}
    changed = ensure_directory(module, directory)
    for user in users:
        try:
            pwd.getpwnam(user["name"])
        except KeyError:
            result["missing_accounts"].append(user["name"])
            continue
        path = os.path.join(directory, user["name"])
        current = None
        if os.path.isfile(path):
            with open(path, encoding="ascii", errors="replace") as stream:
                current = stream.read()
        secret, options = parse(current or "")
        if current is None:
            result["created"].append(user["name"])
            if user["secret"] is None:
                result["generated"].append(user["name"])
            secret = user["secret"] or generate_secret()
        elif user["secret"] is not None and user["secret"] != secret:
            result["rekeyed"].append(user["name"])
            secret, options = user["secret"], {}  # a new secret starts with fresh state
        content = render(secret, options, wanted)
        if current is not None and content != current and user["name"] not in result["rekeyed"]:
            result["updated"].append(user["name"])
        if content != current:
            changed = True
            if not module.check_mode:
                write_private(path, content)
        result["enrolled"].append(user["name"])
    listed = {user["name"] for user in users}
    if os.path.isdir(directory):
        result["stale"] = sorted(name for name in os.listdir(directory)
                                 if not name.startswith(".") and name not in listed)
    if module.params["remove_stale"] and result["stale"]:
        changed = True
        if not module.check_mode:
            for name in result["stale"]:
                os.unlink(os.path.join(directory, name))
    diff = {"before": "", "after": "".join(f"{key}: {', '.join(result[key])}\n"
                                           for key in ("created", "rekeyed", "updated") if result[key])}
    module.exit_json(changed=changed, diff=diff, **result)


if __name__ == "__main__":
    main()
