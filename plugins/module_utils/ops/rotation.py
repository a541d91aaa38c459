# -*- coding: utf-8 -*-
"""Rotate a device's local login without ever being locked out.

A local user has one secret, so "verify the new credential before the old one is removed" means: keep the
session opened with the OLD secret, change the secret in the running configuration, open a SECOND session with
the NEW secret; only when that login works is the change saved (and the vault updated). When it fails, the old
session restores the pre-change configuration (`configure replace` of the flash backup) and the device keeps
its old secret; nothing was saved, so even a reload brings the old one back.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import (
    AuthenticationFailed,
    DriverError,
    VerificationFailed,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.registry import (
    driver_for,
    has_capability,
    platforms_with,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.guard import check_lines, check_value
from ansible_collections.aiphone.hardening.plugins.module_utils.network.snmp import snmp_user_problems

USER_LINE = re.compile(r"^username (?P<user>\S+)(?: privilege (?P<privilege>\d+))?\s")


class RotationFailed(DriverError):
    """The device refused or could not prove the new credential; it keeps the old one."""


@dataclass
class RotationResult:
    device_backup: str | None = None
    old_credential_refused: bool = False
    notes: list[str] = field(default_factory=list)


def user_privilege(running_config: str, username: str) -> str | None:
    """'' when `username` exists without an explicit privilege, its privilege level, or None when absent."""
    for line in running_config.splitlines():
        match = USER_LINE.match(line)
        if match and match.group("user") == username:
            return match.group("privilege") or ""
    return None


def ios_secret_line(username: str, privilege: str, new_secret: str) -> str:
    """`username … secret` with a type 9 (scrypt) hash, as the CIS benchmark asks."""
    check_value(username, "name", "username")
    check_value(new_secret, "psk", "new secret")   # kind psk: printable, no injection characters, never echoed
    level = f" privilege {privilege}" if privilege else ""
    return f"username {username}{level} algorithm-type scrypt secret {new_secret}"


def login_works(make_driver, password: str) -> bool:
    try:
        with make_driver(password) as session:
            session.get_facts()
        return True
    except AuthenticationFailed:
        return False


def plan_ios_login(make_driver, username: str) -> str:
    """Check mode: open a session with the current secret and make sure the user exists; returns its privilege."""
    with make_driver(None) as session:
        privilege = user_privilege(session.get_config(), username)
    if privilege is None:
        raise RotationFailed(f"user {username!r} is not configured on the device; nothing to rotate")
    return privilege


def rotate_ios_login(make_driver, username: str, new_secret: str) -> RotationResult:
    """Change `username`'s secret on an IOS / IOS-XE device (switch, WLC) and prove it with a new session.

    `make_driver(password)` returns an unopened config driver; `password=None` means the current credential.
    """
    result = RotationResult()
    with make_driver(None) as session:
        running = session.get_config()
        privilege = user_privilege(running, username)
        if privilege is None:
            raise RotationFailed(f"user {username!r} is not configured on the device; nothing to rotate")
        lines = check_lines([ios_secret_line(username, privilege, new_secret)])
        # The driver's own commit() verifies by read-back, which cannot see a hashed secret: the proof here is
        # a login. Same primitives, same backup/restore as every other change.
        result.device_backup = session.backup(running)
        try:
            session.push(lines)
            if not login_works(make_driver, new_secret):
                raise VerificationFailed(f"{session.name}: a new session with the new secret was refused",
                                         device=session.name)
        except DriverError as failure:
            session.rollback()
            raise RotationFailed(f"{session.name}: rotation undone, the device keeps its old secret: {failure}",
                                 device=session.name) from failure
        session.save()
    result.old_credential_refused = not login_works(make_driver, None)
    if not result.old_credential_refused:
        result.notes.append("the OLD secret still logs in (another AAA source or a second user entry?)")
    return result


# -- phones: admin password ---------------------------------------------------------------------------------------
# A phone has one admin password and no "configure replace": the change is asked for over a session opened with the
# OLD password, proved by NEW logins, and the old one must then be refused. Yealink and Cisco MPP apply it after a
# provisioning fetch, so the proof is polled for up to `settle_seconds`.


class RotationUncertain(RotationFailed):
    """After the change neither the old nor the new password logs in: the new value must not be thrown away."""


def plan_phone_login(make_driver) -> None:
    """Check mode: the current password logs in."""
    with make_driver(None) as session:
        session.get_facts()


def _wait_for_login(make_driver, password: str, settle_seconds: float, poll: float) -> bool:
    deadline = time.monotonic() + settle_seconds
    while True:
        try:
            if login_works(make_driver, password):
                return True
        except DriverError:        # busy re-provisioning or rebooting: try again until the deadline
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll)


def rotate_phone_password(make_driver, new_password: str, settle_seconds: float = 120,
                          poll: float = 1.0) -> RotationResult:
    """Change a phone's admin password (driver.change_admin_password) and prove it with new logins.

    Raises RotationFailed when the phone still takes its old password (it keeps it), RotationUncertain when
    neither password logs in afterwards.
    """
    check_value(new_password, "psk", "new password")
    result = RotationResult()
    with make_driver(None) as session:       # AuthenticationFailed here: the old password does not work either
        try:
            session.change_admin_password(new_password)
            applied = _wait_for_login(make_driver, new_password, settle_seconds, poll)
        finally:                              # never leave the value on the provisioning server
            result.notes.extend(session.clear_password_staging())
    if not applied:
        name = session.name
        if _wait_for_login(make_driver, None, 0, poll):
            raise RotationFailed(f"{name}: the new password did not log in within {settle_seconds:.0f}s; "
                                 f"the phone keeps its old password", device=name)
        raise RotationUncertain(f"{name}: neither the old nor the new password logs in after the change", device=name)
    result.old_credential_refused = not _wait_for_login(make_driver, None, 0, poll)
    if not result.old_credential_refused:
        result.notes.append("the OLD password still logs in (the phone did not apply the change fully?)")
    return result

# ---------------------------------------------------------------------------------------------------------------
# SNMPv3 user keys (switches)
# ---------------------------------------------------------------------------------------------------------------
SNMP_PROOF_NOTE = ("IOS cannot show SNMPv3 keys back: the new keys were proved by `show snmp user` (user, group and "
                   "protocols re-created) only; poll the switch from the NMS with the new keys")


def plan_snmp_keys(make_driver, current: list) -> None:
    """Check mode: the current login works and the switch has the policy's users (group and protocols)."""
    with make_driver(None) as session:
        _require_policy_users(session, current)


def rotate_snmp_keys(make_driver, current: list, new: list) -> RotationResult:
    """Re-key the policy's SNMPv3 users (`current` -> `new`, network.snmp.SnmpUser lists) on an IOS switch.

    IOS replaces a user's keys in place (there is no second key to keep meanwhile), so the old keys stay known:
    when the new users cannot be read back, the old keys are sent again and the switch keeps them. The running
    config is saved only after the read-back succeeded.
    """
    result = RotationResult(notes=[SNMP_PROOF_NOTE])
    with make_driver(None) as session:
        _require_policy_users(session, current)
        try:
            session.push(check_lines([user.cli() for user in new]))
            problems = snmp_user_problems(new, session.get_snmp_users())
            if problems:
                raise VerificationFailed(f"{session.name}: read-back does not show: {'; '.join(problems)}",
                                         device=session.name)
            session.save()
        except DriverError as failure:
            _restore_snmp_keys(session, current, failure)
            raise RotationFailed(f"{session.name}: rotation undone, the switch keeps its old SNMPv3 keys: {failure}",
                                 device=session.name) from failure
    return result


def _require_policy_users(session, users: list) -> None:
    problems = [p for p in snmp_user_problems(users, session.get_snmp_users()) if not p.startswith("no ")]
    if problems:
        raise RotationFailed(f"{session.name}: the SNMPv3 users differ from the policy ({'; '.join(problems)}); "
                             "converge with playbooks/network.yml first", device=session.name)


def _restore_snmp_keys(session, old: list, failure: DriverError) -> None:
    try:
        session.push(check_lines([user.cli() for user in old]))
        if snmp_user_problems(old, session.get_snmp_users()):
            raise VerificationFailed("the old users do not read back", device=session.name)
    except DriverError as restore_failure:
        raise RotationFailed(f"{session.name}: {failure} -- AND RESTORING THE OLD SNMPv3 KEYS FAILED: "
                             f"{restore_failure}; set them by hand (nothing was saved)", device=session.name) \
            from failure


# ---------------------------------------------------------------------------------------------------------------
# Which rotation a device gets: its driver's capability (drivers.registry), never its platform name
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Credential:
    """One kind of device credential and the steps that rotate it (`make(password)` -> an unopened driver)."""

    name: str                                                        # for messages and the audit trail
    check: Callable[[str, str], None]                                # (username, new value): refuse before connecting
    plan: Callable[[Callable, str], None]                            # check mode: (make, username)
    rotate: Callable[[Callable, str, str, float], RotationResult]    # (make, username, new value, settle seconds)
    finish_interrupted: Callable[[Callable, str], None]              # (make, value the device took) after a cut run


def _check_login_secret(username: str, new_secret: str) -> None:
    ios_secret_line(username, "15", new_secret)


def _check_admin_password(username: str, new_password: str) -> None:
    check_value(new_password, "psk", "new password")


def _save_with(make_driver, value: str) -> None:
    with make_driver(value) as session:      # an interrupted run may have stopped before `write memory`
        session.save()


LOGIN_SECRET = Credential(
    name="local admin secret",
    check=_check_login_secret,
    plan=plan_ios_login,
    rotate=lambda make, username, new, settle: rotate_ios_login(make, username, new),
    finish_interrupted=_save_with,
)
ADMIN_PASSWORD = Credential(
    name="phone admin password",
    check=_check_admin_password,
    plan=lambda make, username: plan_phone_login(make),
    rotate=lambda make, username, new, settle: rotate_phone_password(make, new, settle),
    finish_interrupted=lambda make, value: None,      # a phone applies (and keeps) the value itself
)
# capability -> the credential a platform with it has (first match; a platform declares at most one of them)
CREDENTIALS = {"login_secret": LOGIN_SECRET, "admin_password": ADMIN_PASSWORD}


def credential_of(platform: str) -> tuple[type, Credential]:
    """(driver class, credential) of a platform; ValueError when it has no rotatable credential."""
    for capability, credential in CREDENTIALS.items():
        if has_capability(platform, capability):
            return driver_for(platform, capability), credential
    driver_for(platform)     # an unknown platform: its own message
    known = sorted({p for capability in CREDENTIALS for p in platforms_with(capability)})
    raise ValueError(f"platform {platform!r} has no credential the toolkit rotates; platforms that have one: "
                     f"{', '.join(known)}")
