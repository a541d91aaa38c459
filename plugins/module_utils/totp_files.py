# -*- coding: utf-8 -*-
"""TOTP secret files of pam_google_authenticator (MFA-01), one per person, root-only: the totp_enrolment module's
logic. The file format is the one libpam-google-authenticator writes: the base32 secret on line 1, then `" KEYWORD
args` option lines, some of which carry pam's own state after their arguments (kept untouched).

    result = enrol(params, check_mode)      # EnrolmentRefused: bad input, nothing written
"""

from __future__ import annotations

import base64
import os
import pwd
import re
import secrets
import tempfile

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


class EnrolmentRefused(ValueError):
    """Bad input or an unsafe secret directory: nothing was written (the message never holds a secret)."""


def check_input(params: dict) -> list[dict]:
    """[{"name", "secret" (normalised base32 or None: generate)}] of `users`; EnrolmentRefused names the key."""
    users, seen = [], set()
    given = params["secrets"]
    unknown = sorted(set(given) - set(params["users"]))
    if unknown:
        raise EnrolmentRefused(f"secrets given for people who are not listed in users: {', '.join(unknown)}")
    for name in params["users"]:
        if not NAME.fullmatch(name or ""):
            raise EnrolmentRefused(f"user name {name!r}: must be a Linux user name ([a-z_][a-z0-9_-]*, at most 32)")
        if name in seen:
            raise EnrolmentRefused(f"user {name} is listed twice")
        seen.add(name)
        secret = str(given.get(name) or "").replace(" ", "").upper() or None
        if secret is not None and not SECRET.fullmatch(secret):
            raise EnrolmentRefused(f"the TOTP secret given for {name} is not base32 of at least {MIN_SECRET_CHARS} "
                                   "characters (A-Z, 2-7); the secret itself is not shown")
        users.append({"name": name, "secret": secret})
    for key, low, high in (("window_size", 1, 21), ("rate_limit", 1, 10), ("rate_limit_seconds", 15, 600)):
        if not low <= params[key] <= high:
            raise EnrolmentRefused(f"{key}={params[key]}: must be between {low} and {high}")
    return users


def ensure_directory(directory: str, check_mode: bool) -> bool:
    """The secret directory exists, owned by root, mode 0700 (a symlink or a file there is refused)."""
    if os.path.isdir(directory) and not os.path.islink(directory):
        changed = (os.stat(directory).st_mode & 0o777) != 0o700 or os.stat(directory).st_uid != 0
        if changed and not check_mode:
            os.chown(directory, 0, 0)
            os.chmod(directory, 0o700)
        return changed
    if os.path.lexists(directory):
        raise EnrolmentRefused(f"{directory} exists and is not a directory (or is a symlink): refusing to use it")
    if not check_mode:
        os.makedirs(directory, mode=0o700, exist_ok=True)
    return True


def enrol(params: dict, check_mode: bool) -> dict:
    """The module's whole task: one secret file per listed user (kept when unchanged, pam state included);
    {"changed", "diff", "enrolled", "created", "generated", "rekeyed", "updated", "missing_accounts", "stale"}.
    Raises EnrolmentRefused before anything is written."""
    users = check_input(params)
    directory = params["directory"]
    wanted = wanted_options(params)
    result = {key: [] for key in ("enrolled", "created", "generated", "rekeyed", "updated", "missing_accounts",
                                  "stale")}
    changed = ensure_directory(directory, check_mode)
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
            if not check_mode:
                write_private(path, content)
        result["enrolled"].append(user["name"])
    listed = {user["name"] for user in users}
    if os.path.isdir(directory):
        result["stale"] = sorted(name for name in os.listdir(directory)
                                 if not name.startswith(".") and name not in listed)
    if params["remove_stale"] and result["stale"]:
        changed = True
        if not check_mode:
            for name in result["stale"]:
                os.unlink(os.path.join(directory, name))
    diff = {"before": "", "after": "".join(f"{key}: {', '.join(result[key])}\n"
                                           for key in ("created", "rekeyed", "updated") if result[key])}
    return {"changed": changed, "diff": diff, **result}
