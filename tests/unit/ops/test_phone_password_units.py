# -*- coding: utf-8 -*-
"""Offline parts of phone admin password rotation: the Yealink provisioning lines, the lab phones' password
parameters (a change takes effect only as the vendor's rules say, and survives a restart), the rotation's
proof logic with scripted drivers (new login must work, old must then be refused)."""

from __future__ import annotations

import pytest

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import (
    AuthenticationFailed,
    ConnectionFailed,
    InvalidValue,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.yealink import with_password, without_password
from ansible_collections.aiphone.hardening.plugins.module_utils.ops.rotation import (
    RotationFailed,
    RotationUncertain,
    rotate_phone_password,
)
from lab.device import Credentials
from lab.phones.cisco_mpp import CiscoMppPhone
from lab.phones.poly import PolyPhone
from lab.phones.yealink import YealinkPhone

NEW = "Zq7NewPasswordValue12345"


def test_yealink_password_line_replaces_only_the_admin_account():
    site = b"#!version:1.0.0.1\nstatic.security.user_password = user:u1\nstatic.security.user_password = admin:old\n"
    staged = with_password(site, "admin", NEW).decode()
    assert staged.count("admin:") == 1 and f"static.security.user_password = admin:{NEW}" in staged
    assert "user:u1" in staged
    restored, had = without_password(site, "admin")
    assert had and b"admin:" not in restored and b"user:u1" in restored
    assert without_password(None, "admin") == (None, False)


def phone(cls, tmp_path, **options):
    return cls("p1", {"poly": "VVX450", "yealink": "T54W", "cisco_mpp": "CP-8841-3PCC"}[cls.platform], "1.0",
               "127.0.0.1", 0, tmp_path / "p1", Credentials("admin", "OldPassword12345"), **options)


def test_lab_poly_needs_device_set_and_the_set_flag(tmp_path):
    poly = phone(PolyPhone, tmp_path)
    poly.set_params({"device.auth.localAdminPassword": NEW})
    assert poly.credentials.password == "OldPassword12345"
    poly.set_params({"device.set": "1", "device.auth.localAdminPassword.set": "1",
                     "device.auth.localAdminPassword": NEW})
    assert poly.credentials.password == NEW
    assert "device.auth.localAdminPassword" not in poly.params          # config/get never shows it
    assert phone(PolyPhone, tmp_path).credentials.password == NEW       # survives a restart


def test_lab_yealink_takes_only_its_admin_login(tmp_path):
    yealink = phone(YealinkPhone, tmp_path)
    yealink.set_params({"static.security.user_password": f"user:{NEW}"})
    assert yealink.credentials.password == "OldPassword12345"
    yealink.set_params({"static.security.user_password": f"admin:{NEW}"})
    assert yealink.credentials.password == NEW


def test_lab_mpp_admin_passwd_and_unsafe_values(tmp_path):
    mpp = phone(CiscoMppPhone, tmp_path)
    mpp.set_params({"Admin_Password": "bad;value"})
    assert mpp.credentials.password == "OldPassword12345"
    mpp.set_params({"Admin_Passwd": NEW})              # the SPA5xx name: unknown on an MPP phone
    assert mpp.credentials.password == "OldPassword12345" and "Admin_Passwd" not in mpp.params
    mpp.set_params({"Admin_Password": "alllowercase1"})   # 2 classes: refused (8-127 chars, 3 of 4 classes)
    assert mpp.credentials.password == "OldPassword12345"
    mpp.set_params({"Admin_Password": NEW})
    assert mpp.credentials.password == NEW and "Admin_Password" not in mpp.params


class ScriptedPhone:
    """A phone driver whose password applies after `delay_logins` failed new-login attempts (or never)."""

    def __init__(self, state: dict, password: str | None):
        self.state, self.password, self.name = state, password, "phone-x"

    def __enter__(self):
        given = "OldPassword12345" if self.password is None else self.password   # None: the inventory's value
        if self.state.get("pending") is not None:
            self.state["delay_logins"] -= 1
            if self.state["delay_logins"] < 0:
                self.state["current"], self.state["pending"] = self.state["pending"], None
            else:
                raise ConnectionFailed("re-provisioning", self.name)
        if given != self.state["current"] or self.state.get("locked"):
            raise AuthenticationFailed("refused", self.name)
        return self

    def __exit__(self, *exc):
        return False

    def get_facts(self):
        return {"os_version": "1"}

    def change_admin_password(self, new):
        if self.state["applies"]:
            self.state["pending"] = new
        else:
            self.state["locked"] = self.state["lock_on_change"]

    def clear_password_staging(self):
        self.state["cleared"] = True
        return []


def factory(**state):
    state = {"current": "OldPassword12345", "applies": True, "delay_logins": 2, "lock_on_change": False, **state}
    return state, (lambda password: ScriptedPhone(state, password))


def test_rotation_waits_for_the_new_login_then_checks_the_old_is_refused():
    state, make = factory()
    result = rotate_phone_password(make, NEW, settle_seconds=5, poll=0.01)
    assert state["current"] == NEW and state["cleared"] and result.old_credential_refused


def test_phone_ignoring_the_change_keeps_its_old_password():
    state, make = factory(applies=False)
    with pytest.raises(RotationFailed, match="keeps its old password"):
        rotate_phone_password(make, NEW, settle_seconds=0.05, poll=0.01)
    assert state["cleared"] and state["current"] == "OldPassword12345"


def test_neither_password_working_is_uncertain():
    _state, make = factory(applies=False, lock_on_change=True)
    with pytest.raises(RotationUncertain):
        rotate_phone_password(make, NEW, settle_seconds=0.05, poll=0.01)


def test_hostile_new_password_is_refused_before_any_connection():
    _state, make = factory()
    with pytest.raises(InvalidValue):
        rotate_phone_password(make, "abc;reboot", settle_seconds=0)
