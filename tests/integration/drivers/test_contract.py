# -*- coding: utf-8 -*-
"""The driver contract (drivers/base.py), run for EVERY registered driver against the lab (napalm's
base/test/getters.py, on a real simulator instead of recorded output): one test per platform for the family
contract, one per (platform, capability) the registry declares. A declared capability without a check here fails,
so a new capability comes with its contract test; a registered platform without a lab device fails too.

The offline half (every driver implements every contract method of its capabilities with the declared signature)
is tests/unit/drivers/test_contract_signatures.py, which `make test-unit` runs.

The lab is the session's (`lab` fixture). A check that changes a device undoes it and proves the undo: the forced
rollback of commit(verify), push + rollback; the on-device backups it made are deleted again.
"""

from __future__ import annotations

import json
import re
import typing

import pytest
import yaml
from netmiko import ConnectHandler

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.base import DeviceFacts
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import (
    AuthenticationFailed,
    InvalidValue,
    VerificationFailed,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.phone_http import hardening_gaps, model_key
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.registry import (
    CAPABILITIES,
    DRIVERS,
    supported_platforms,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.firmware.contract import Target
from ansible_collections.aiphone.hardening.plugins.module_utils.network.guard import check_lines
from ansible_collections.aiphone.hardening.plugins.module_utils.network.iosconfig import (
    config_differences,
    parse_running_config,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.wireless import parse_uci_show, ssid_intents
from ansible_collections.aiphone.hardening.plugins.module_utils.ops.vault_file import read_vault_vars
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import load_site_policy
from lab.topology import VAULT_FILE, VAULT_PASSWORD_FILE

pytestmark = pytest.mark.timeout(240)

CONFIG_NOISE = re.compile(r"^(Building configuration|Current configuration|! Last configuration change|"
                          r"! NVRAM config last updated|ntp clock-period|Using \d+ out of \d+ bytes)")
MARK = "aiphone-contract"


# -- the lab device of each platform and its driver ----------------------------------------------------------------
def inventory(lab) -> dict:
    return yaml.safe_load(lab.inventory_file.read_text())["all"]


def device_of(lab, platform: str) -> str:
    names = sorted(name for group in inventory(lab)["children"].values() for name, host_vars in
                   (group.get("hosts") or {}).items() if host_vars.get("platform") == platform)
    assert names, f"the lab has no {platform} device: every registered driver must run against the lab"
    return names[0]


def make_driver(lab, platform: str, password: str | None = None):
    name = device_of(lab, platform)
    host_vars, site_vars = lab.host_vars(name), inventory(lab)["vars"]
    options = {"provisioning_url": site_vars.get("aiphone_provisioning_url"),
               "provisioning_dir": site_vars.get("aiphone_provisioning_dir"), "sip_port": host_vars.get("sip_port"),
               "model": host_vars.get("model"), "backup_dir": None}
    return DRIVERS[platform][0](
        host=host_vars["ansible_host"], port=int(host_vars["ansible_port"]),
        username=host_vars.get("ansible_user") or lab.credentials.username,
        password=lab.credentials.password if password is None else password, timeout=15,
        known_hosts_file=str(lab.known_hosts), name=name, enable_secret=lab.credentials.enable_secret,
        **{key: value for key, value in options.items() if value})


def body(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines() if line.strip() and not CONFIG_NOISE.match(line)]


def delete_backup(lab, name: str, backup: str | None) -> None:
    """Remove an on-device backup a check made (the session lab stays as it was)."""
    if not backup:
        return
    with ConnectHandler(**lab.netmiko(name)) as session:
        session.enable()
        session.send_command_timing(f"delete /force {backup}")
        assert backup.split(":", 1)[1] not in session.send_command(f"dir {backup.split(':', 1)[0]}:")


def status_of(lab, platform: str) -> dict:
    return lab.control.status()[device_of(lab, platform)]


# -- the family contract: every driver -------------------------------------------------------------------------------
FACT_TYPES = typing.get_type_hints(DeviceFacts)


@pytest.mark.parametrize("platform", supported_platforms())
def test_session_and_facts(lab, platform):
    """open/close (as a context manager, close twice is harmless), get_facts() typed as DeviceFacts and as the
    device reports itself, a wrong password is AuthenticationFailed."""
    status = status_of(lab, platform)
    driver = make_driver(lab, platform)
    with driver as dev:
        facts = dev.get_facts()
    driver.close()
    assert set(facts) <= set(FACT_TYPES), f"keys outside DeviceFacts: {set(facts) - set(FACT_TYPES)}"
    for key, value in facts.items():
        assert isinstance(value, FACT_TYPES[key]), f"{key}={value!r} is not {FACT_TYPES[key].__name__}"
    assert facts["platform"] == platform == driver.platform
    assert model_key(facts["model"]) == model_key(status["model"])
    assert facts["os_version"].startswith(status["version"]) or status["version"] in facts["os_version"]
    with pytest.raises(AuthenticationFailed):
        make_driver(lab, platform, password="Not-The-Lab-Password-1").open()


def test_every_declared_capability_has_a_contract_check():
    assert set(CAPABILITIES) == set(CAPABILITY_CHECKS)


# -- one check per capability -----------------------------------------------------------------------------------------
def harmless_candidate(running: str) -> list[str]:
    """A change that touches nothing in use: a VLAN nobody uses (IOS-XE), the SSID of an existing wifi-iface
    (UCI; the forced rollback puts it back)."""
    current = parse_uci_show(running) if running.startswith("wireless.") else None
    if current is None:
        return ["vlan 3999", f" name {MARK}"]
    iface = next(name for name, options in current.items() if options.get(".type") == "wifi-iface")
    return [f"uci set wireless.{iface}.ssid={MARK}"]


def check_config(lab, platform: str) -> None:
    """get_config; load_candidate refuses injection; commit() of nothing does nothing; commit(verify) hands the
    read-back to verify and a problem it returns rolls the change back (read back equal); rollback() without a
    backup of this session refuses; controller_address is the lab's loopback."""
    with make_driver(lab, platform) as dev:
        running = dev.get_config()
        assert running.strip() and isinstance(dev.get_config("startup"), str)
        assert dev.controller_address() == "127.0.0.1"
        assert dev.backup_file is None and dev.rolled_back is False
        with pytest.raises(InvalidValue):
            dev.load_candidate(["vlan 10\nreload"])
        dev.commit()
        assert dev.backup_file is None and body(dev.get_config()) == body(running)
        with pytest.raises(VerificationFailed):
            dev.rollback()
        seen: list[str] = []

        def refuse(after: str) -> list[str]:
            seen.append(after)
            return [f"{MARK}: refused by the caller's check"]

        dev.load_candidate(harmless_candidate(running))
        try:
            with pytest.raises(VerificationFailed) as failure:
                dev.commit(verify=refuse)
        finally:
            backup = dev.backup_file
    try:
        assert len(seen) == 1 and MARK in seen[0], "verify() did not get the read-back with the change in it"
        assert f"{MARK}: refused by the caller's check" in failure.value.problems
        assert dev.rolled_back
        with make_driver(lab, platform) as again:
            assert body(again.get_config()) == body(running)
    finally:
        delete_backup(lab, device_of(lab, platform), backup)


def check_snmp(lab, platform: str) -> None:
    """get_snmp_users: one record per user `show snmp user` lists, with the keys the modules compare."""
    with make_driver(lab, platform) as dev:
        users = dev.get_snmp_users()
    with ConnectHandler(**lab.netmiko(device_of(lab, platform))) as session:
        session.enable()
        listed = session.send_command("show snmp user").count("User name:")
    assert isinstance(users, list) and len(users) == listed
    for user in users:
        assert {"user_name", "group_name", "authentication_protocol", "privacy_protocol"} <= set(user)


def check_device_backup(lab, platform: str) -> None:
    """backup(running) -> the newest of backups(); restore() of it reads back as the config backed up; save()
    makes startup = running."""
    with make_driver(lab, platform) as dev:
        running = dev.get_config()
        backup = dev.backup(running)
        try:
            assert isinstance(backup, str) and backup and backup == dev.backup_file
            assert dev.backups()[-1] == backup
            dev.restore(backup)
            assert body(dev.get_config()) == body(running)
            dev.save()      # backed-up configs are IOS-style CLI text: compared as iosconfig parses it
            startup, now = ("\n".join(body(dev.get_config(source))) for source in ("startup", "running"))
            assert config_differences(parse_running_config(startup), parse_running_config(now)) == []
        finally:
            delete_backup(lab, dev.name, backup)


def check_login_secret(lab, platform: str) -> None:
    """After backup(): push() applies lines unchecked, rollback() brings the config back (read back)."""
    with make_driver(lab, platform) as dev:
        running = dev.get_config()
        backup = dev.backup(running)
        try:
            dev.push(check_lines(["vlan 3998", f" name {MARK}-push"]))
            assert f"name {MARK}-push" in dev.get_config()
            dev.rollback()
            assert dev.rolled_back and body(dev.get_config()) == body(running)
        finally:
            delete_backup(lab, dev.name, backup)


def check_admin_password(lab, platform: str) -> None:
    """change_admin_password (to the value it has: the lab phone stays as it was), staging cleared with notes,
    and a NEW session logs in with it."""
    with make_driver(lab, platform) as dev:
        try:
            dev.change_admin_password(lab.credentials.password)
        finally:
            notes = dev.clear_password_staging()
    assert isinstance(notes, list) and all(isinstance(note, str) for note in notes)
    with make_driver(lab, platform) as again:
        assert again.get_facts()["os_version"]


def check_phone_hardening(lab, platform: str) -> None:
    """harden() provisions the documented parameters and proves them; hardening_read_back() then holds them."""
    cls = DRIVERS[platform][0]
    assert cls.hardening and all(isinstance(k, str) and isinstance(v, str) for k, v in cls.hardening.items())
    with make_driver(lab, platform) as dev:
        outcome = dev.harden()
    assert {"changed", "settings", "verified_by", "not_covered"} <= set(outcome)
    with make_driver(lab, platform) as again:
        read_back = again.hardening_read_back()
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in read_back.items())
    assert hardening_gaps(cls.hardening, read_back) == []


def lab_intents(lab):
    policy = load_site_policy(str(lab.inventory_file.parent / "site_policy.yml"))
    return policy, ssid_intents(policy, read_vault_vars(str(VAULT_FILE), str(VAULT_PASSWORD_FILE)))


def check_wireless(lab, platform: str) -> None:
    """wireless_plan of the device's config: guarded commands the driver takes, findings as text, the same plan
    twice (pure); key_change_problems of an unchanged config is a list of text."""
    policy, intents = lab_intents(lab)
    with make_driver(lab, platform) as dev:
        text = dev.get_config()
        commands, findings = dev.wireless_plan(intents, text, enable_radios=True, rotate_keys=False)
        assert (commands, findings) == dev.wireless_plan(intents, text, enable_radios=True, rotate_keys=False)
        dev.load_candidate(commands)
        problems = dev.key_change_problems(text, text, [s.name for s in policy.wireless.ssids])
    assert all(isinstance(item, str) for item in [*commands, *findings, *problems])


def check_firmware(lab, platform: str) -> None:
    """get_firmware as the lab reports it; reboot_timeout > 0; is_busy a bool; precheck against the site's
    baseline (non-disruptive); resume_evidence JSON-ready."""
    status = status_of(lab, platform)
    policy = yaml.safe_load((lab.inventory_file.parent / "site_policy.yml").read_text())
    baseline = next(b for b in policy["firmware_baselines"]
                    if b["platform"] == platform and model_key(b["model"]) == model_key(status["model"]))
    target = Target.from_baseline(baseline, str(lab.run_dir / "firmware"))
    with make_driver(lab, platform) as dev:
        firmware = dev.get_firmware()
        assert {"version", "image", "model"} <= set(firmware)
        assert model_key(firmware["model"]) == model_key(status["model"])
        assert firmware["version"] == status["version"] or status["version"] in firmware["version"]
        assert dev.reboot_timeout > 0 and isinstance(dev.is_busy(), bool)
        try:
            assert isinstance(dev.precheck(target), dict)
            evidence = dev.resume_evidence(target)
        finally:
            delete_backup(lab, dev.name, getattr(dev, "backup_file", None))
    assert json.loads(json.dumps(evidence)) == evidence and evidence["image"] == target.image


CAPABILITY_CHECKS = {
    "config": check_config, "snmp": check_snmp, "device_backup": check_device_backup,
    "login_secret": check_login_secret,
    "admin_password": check_admin_password, "phone_hardening": check_phone_hardening, "wireless": check_wireless,
    "firmware": check_firmware,
}


@pytest.mark.parametrize(("platform", "capability"), [(platform, capability) for platform in supported_platforms()
                                                      for capability in sorted(DRIVERS[platform][1])])
def test_capability(lab, platform, capability):
    CAPABILITY_CHECKS[capability](lab, platform)
