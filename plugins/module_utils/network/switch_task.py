# -*- coding: utf-8 -*-
"""The switch_config module's run: policy -> rendered intent -> diff with the running config -> commands, pushed
through the driver's commit (backup, read-back of the whole intent, rollback on failure).

    module.exit_json(**run(module))
"""

from __future__ import annotations

import dataclasses
import ipaddress

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import (
    InvalidValue,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network import offline
from ansible_collections.aiphone.hardening.plugins.module_utils.network.acl import management_acl
from ansible_collections.aiphone.hardening.plugins.module_utils.network.config_change import (
    ChangeLog,
    recorded_commit,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.ios_render import (
    SwitchFacts,
    SwitchOptions,
    render_switch,
    switch_facts,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.iosconfig import (
    SectionChange,
    commands_of,
    diff_config,
    parse_running_config,
    unified_diff,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.module_common import (
    device_session,
    enforce_window,
    load_policy,
    module_backup_vault,
    policy_device,
    write_backup,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.snmp import (
    MASK,
    SnmpUser,
    plan_snmp_users,
    policy_snmp,
    snmp_user_problems,
    snmp_users,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import SitePolicy


def lockout_problem(policy: SitePolicy, options: SwitchOptions, controller: str | None) -> str | None:
    """The VTY ACL must let the controller running this task back in, or we would cut our own session."""
    if controller is None:
        return None
    try:
        address = ipaddress.ip_address(controller)
    except ValueError:
        return None
    sources = [entry.src for entry in management_acl(policy, options.management_sources) if entry.action == "permit"]
    if any(address in net for net in sources):
        return None
    return (f"the VTY access-class would not permit this controller ({controller}); add its network to "
            "management_sources, or run from the mgmt zone, so the change cannot lock you out")


def intent_problems(policy, device, options, snmp_check=None):
    """Read-back check of the whole intent; `snmp_check()` adds the SNMPv3 users (not in the running config)."""
    def check(running_text: str) -> list[str]:
        running = parse_running_config(running_text)
        intent = render_switch(policy, device, switch_facts(running), options)
        problems = commands_of(diff_config(intent.sections, intent.banners, running))
        return problems + (snmp_check() if snmp_check else [])
    return check


def snmp_wanted(policy: SitePolicy, p: dict, options: SwitchOptions) -> list[SnmpUser] | None:
    """The policy's SNMPv3 users with their keys, or None when this run does not manage them."""
    if "management" not in options.areas or not policy_snmp(policy):
        return None
    return snmp_users(policy, p["snmp_keys"])


def masker(users: list[SnmpUser] | None):
    secrets = [key for user in users or [] for key in (user.auth_key, user.priv_key)]

    def mask(text: str) -> str:
        for secret in secrets:
            text = text.replace(secret, MASK)
        return text
    return mask


def switch_options(p: dict) -> SwitchOptions:
    return SwitchOptions(management_sources=p["management_sources"], protected_interfaces=p["protected_interfaces"],
                         prune_vlans=p["prune_vlans"], layer3=p["layer3"], exec_timeout=p["exec_timeout"],
                         areas=tuple(p["areas"]))


def run_offline(module) -> dict:
    """state rendered / parsed: no connection, no change."""
    p = module.params
    try:
        if p["state"] == "parsed":
            return {"changed": False, "parsed": offline.switch_parsed(p["running_config"])}
        policy = load_policy(module)
        policy_device(module, policy)
        rendered = offline.switch_rendered(policy, p["device"], switch_options(p), p["running_config"])
        return {"changed": False, **rendered}
    except (InvalidValue, ValueError) as exc:
        module.fail_json(msg=f"{p['device']}: {exc}")


def change_log(module, policy: SitePolicy) -> ChangeLog:
    """The device's config_change records (network/config_change.py); without audit_dir nothing is recorded."""
    p = module.params
    if not p.get("audit_dir"):
        module.warn(f"{p['device']}: no audit_dir: this change has no intent record, and a run killed during it "
                    "is not reconciled by the next one")
    return ChangeLog(p.get("audit_dir"), policy.site.name, p["device"], p.get("run_id"))


def reconcile(module, log: ChangeLog, result: dict, running_text: str, remaining_for, mask) -> None:
    """Before planning: a change a killed run left without an end record is read back and recorded
    (`reconciled`: matches_intent / matches_backup / neither); check mode only reports it."""
    started = log.unfinished()
    if started is None:
        return
    if module.check_mode:
        result["unreconciled_change"] = {"change_id": started["change_id"], "run_id": started.get("run_id")}
        return
    record = log.reconcile(started, running_text, remaining_for(started), mask)
    result["reconciled_change"] = {key: record.get(key) for key in ("change_id", "outcome", "summary",
                                                                      "started_run_id")}
    module.warn(f"{log.device}: change {started['change_id']} of run {started.get('run_id')} was interrupted; "
                f"the device holds {record['outcome'].replace('_', ' ')} (recorded), now converging")


def run(module) -> dict:
    p = module.params
    policy = load_policy(module)
    entry = policy_device(module, policy)
    options = switch_options(p)
    try:  # every value is checked before any connection is made
        render_switch(policy, p["device"], SwitchFacts(), options)
        users = snmp_wanted(policy, p, options)
    except (InvalidValue, ValueError) as exc:
        module.fail_json(msg=f"refused before connecting: {exc}")
    result: dict = {"changed": False, "commands": [], "sections": [], "findings": []}
    mask = masker(users)
    needs = ("config",) if users is None else ("config", "snmp")
    log = change_log(module, policy)
    with device_session(module, entry.platform, result, mask=mask, needs=needs) as driver:
        running_text = driver.get_config()
        reconcile(module, log, result, running_text, lambda started: intent_problems(
            policy, p["device"], dataclasses.replace(options, areas=tuple(started.get("areas") or options.areas)),
            None if users is None else lambda: snmp_user_problems(users, driver.get_snmp_users())), mask)
        running = parse_running_config(running_text)
        intent = render_switch(policy, p["device"], switch_facts(running), options)
        changes = diff_config(intent.sections, intent.banners, running)
        commands = commands_of(changes)
        shown = list(commands)
        if users is not None:
            device_users = driver.get_snmp_users()
            result["snmp_users"] = device_users
            plan = plan_snmp_users(users, device_users, rotate=p["rotate_snmp_keys"])
            commands, shown = commands + plan.commands, shown + plan.display
            if plan.commands:
                changes.append(SectionChange("snmp-server user (show snmp user)", plan.display, plan.before,
                                             plan.after))
        result.update(changed=bool(commands), commands=shown, findings=intent.findings,
                      sections=[c.parent for c in changes])
        if module._diff and changes:
            before, after = unified_diff(changes)
            result["diff"] = {"before": before, "after": after, "before_header": f"{p['device']} running",
                              "after_header": f"{p['device']} intended"}
        if not commands or module.check_mode:
            return result
        problem = lockout_problem(policy, options, p["controller_address"] or driver.controller_address())
        if problem:
            module.fail_json(msg=problem, **result)
        enforce_window(module, policy, p, result, f"changing {p['device']}")
        result["backup_file"] = write_backup(p["backup_dir"], p["device"], running_text,
                                             vault=module_backup_vault(module, policy.site.name))
        driver.load_candidate(commands)
        snmp_check = None if users is None else lambda: snmp_user_problems(users, driver.get_snmp_users())
        try:
            recorded_commit(log, driver, lambda: driver.commit(
                verify=intent_problems(policy, p["device"], options, snmp_check),
                controller_backup=result["backup_file"]), [mask(c) for c in shown], running_text,
                result["backup_file"], result["sections"], mask, areas=list(options.areas))
        finally:
            result["device_backup"] = driver.backup_file
            if driver.backup_problem:
                result["device_backup_problem"] = driver.backup_problem
                module.warn(f"{p['device']}: no backup on the device ({driver.backup_problem}); the change went on "
                            f"with the controller-side backup {result['backup_file']} only")
        if users is not None:
            result["snmp_users"] = driver.get_snmp_users()
    return result
