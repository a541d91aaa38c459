#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Converge Wi-Fi access points / controllers to WPA3 per the site policy's `wireless.ssids`."""

from __future__ import annotations

DOCUMENTATION = r"""
module: wireless_config
short_description: WPA3 SSIDs from the site policy on OpenWrt access points and Cisco Catalyst 9800 controllers
description:
  - One SSID per zone of C(wireless.ssids), mapped to the zone's network/VLAN, WPA3-SAE (or WPA3-Enterprise
    with the policy's RADIUS server), PMF required, SAE hash-to-element, guest client isolation.
  - WPA3-Enterprise on a Catalyst 9800 adds a RADIUS server (the policy's first C(radius_servers) entry, an IPv4
    address), a server group and the dot1x method list the WLAN authenticates against (AKM 802.1X-SHA256, PMF
    required); on OpenWrt C(encryption wpa3) with C(auth_server) / C(auth_port) / C(auth_secret).
  - On a Catalyst 9800 the VLAN comes from a policy profile per zone, bound to the WLAN in a policy tag;
    client isolation is the WLAN's peer-to-peer blocking (C(peer-blocking drop)).
  - WPA2/WPA3 transition only for an SSID with C(transition=true) in the policy; it is then returned in
    C(findings) for the audit.
  - Reads the device, sends only the difference (check mode sends nothing), backs the configuration up first,
    reads it back after the change and restores the backup on any failure. Changes are refused outside the
    maintenance windows unless O(force=true) with O(force_reason).
  - Secrets come from O(secrets) (vault variables named by the policy's C(psk_var) / C(secret_var)); they are
    never returned - commands and diffs show them masked.
  - O(state=rendered) and O(state=parsed) connect to nothing, as the cisco.ios resource modules - the commands the
    policy gives the device's platform (for a device holding none of our objects - an OpenWrt AP with the radios
    O(radios) - or for a given O(running_config)), or a configuration as structured facts. Rendered commands need
    no secret (a missing one is stood in for) and show every secret masked.
version_added: "1.0.0"
author: aiphone-hardening contributors
extends_documentation_fragment:
  - aiphone.hardening.site_policy_device
  - aiphone.hardening.offline_states
  - aiphone.hardening.device_connection
  - aiphone.hardening.maintenance_force
  - aiphone.hardening.config_change_records
options:
  device: {description: Name of the AP / WLC in the policy's C(devices) list., type: str, required: true}
  backup_dir:
    description: Directory for the timestamped pre-change backups (required with O(state=merged)).
    type: path
  secrets:
    description:
      - Vault variable name -> value, for every C(psk_var) / C(secret_var) the policy names (required with
        O(state=merged)).
    type: dict
  radios:
    description: With O(state=rendered) and no O(running_config), the OpenWrt radios (C(wifi-device)) to render for.
    type: list
    elements: str
    default: [radio0, radio1]
  enable_radios: {description: Enable the AP's radios (OpenWrt C(wifi-device disabled=0))., type: bool, default: true}
  rotate_keys:
    description: Send the PSKs (and the RADIUS secret) even to existing C9800 WLANs (the controller shows keys
      encrypted, so they are otherwise only set when a WLAN or the RADIUS server is created). The credentials
      playbook sets this when rotating.
    type: bool
    default: false
  c9800_policy_tag:
    description:
      - C9800 policy tag that maps each SSID's WLAN profile to its zone's policy profile (C(aiphone-<zone>),
        C(vlan <zone VLAN>)). APs without a tag of their own use C(default-policy-tag); a site that assigns its
        own tag to its APs (C(ap <mac>) / C(policy-tag <tag>)) names that tag here.
      - Only the mappings of the policy's WLANs are managed in the tag; other mappings are left alone.
    type: str
    default: default-policy-tag
"""

EXAMPLES = r"""
- name: WPA3 on the access point
  aiphone.hardening.wireless_config:
    policy_file: "{{ aiphone_policy_file }}"
    device: "{{ inventory_hostname }}"
    host: "{{ ansible_host }}"
    port: "{{ ansible_port }}"
    username: "{{ ansible_user }}"
    password: "{{ ansible_password }}"
    known_hosts_file: "{{ aiphone_known_hosts_file }}"
    backup_dir: "{{ aiphone_backup_dir }}"
    secrets:
      vault_wifi_staff_psk: "{{ vault_wifi_staff_psk }}"
  no_log: true

- name: The commands the policy gives the WLC, for review (no device contacted, no secret needed)
  aiphone.hardening.wireless_config:
    policy_file: inventories/lab/site_policy.yml
    device: wlc-01
    state: rendered
  register: wlc_lines           # wlc_lines.rendered, secrets shown as ********

- name: An AP's saved `uci show wireless` as facts (no device contacted)
  aiphone.hardening.wireless_config:
    policy_file: inventories/lab/site_policy.yml
    device: ap-01
    state: parsed
    running_config: "{{ lookup('ansible.builtin.file', 'backups/ap-01.uci') }}"
  register: ap_facts            # ap_facts.parsed.ssids
"""

RETURN = r"""
rendered:
  description: The commands the policy gives the device (secrets masked) - C(uci) commands or C9800 CLI lines.
  returned: when state is rendered
  type: list
  elements: str
  sample: ["uci set wireless.aiphone_data_radio0=wifi-iface", "uci set wireless.aiphone_data_radio0.key=********"]
parsed:
  description:
    - The configuration as facts, keys and secrets left out. OpenWrt - C(radios) (name, disabled) and C(ssids)
      (section, managed, ssid, encryption, network, device, ...). C9800 - C(wlans) (profile, wlan_id, ssid,
      shutdown, security lines), C(policy_profiles) (name -> vlan, shutdown), C(policy_tags) (tag -> WLAN ->
      policy profile).
  returned: when state is parsed
  type: dict
commands:
  description: Commands sent (or that would be sent), secrets masked.
  returned: when state is merged
  type: list
  elements: str
findings:
  description: Transition-mode SSIDs and weak SSIDs not managed by the policy.
  returned: when state is merged or rendered
  type: list
  elements: str
backup_file: {description: Local path of the pre-change backup (mode 0600)., returned: when changed, type: str}
rolled_back: {description: A failed change was undone., returned: on failure after a change started, type: bool}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import (
    InvalidValue,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.module_args import (
    CHANGE_RECORD_ARGS,
    FORCE_ARGS,
    FORCE_REQUIRED_IF,
    OFFLINE_CONNECTION_ARGS,
    OFFLINE_REQUIRED_IF,
    POLICY_ARGS,
    STATE_ARGS,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network import offline
from ansible_collections.aiphone.hardening.plugins.module_utils.network.config_change import recorded_commit
from ansible_collections.aiphone.hardening.plugins.module_utils.network.guard import check_value
from ansible_collections.aiphone.hardening.plugins.module_utils.network.module_common import (
    device_session,
    enforce_window,
    load_policy,
    module_backup_vault,
    policy_device,
    require_ssh_libs,
    write_backup,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.switch_task import change_log, reconcile
from ansible_collections.aiphone.hardening.plugins.module_utils.network.wireless import (
    C9800_DEFAULT_POLICY_TAG,
    findings,
    mask,
    ssid_intents,
)


def plan(driver, intents, config_text: str, params: dict) -> tuple[list[str], list[str]]:
    return driver.wireless_plan(intents, config_text, enable_radios=params["enable_radios"],
                                rotate_keys=params["rotate_keys"], policy_tag=params["c9800_policy_tag"])


def run_offline(module: AnsibleModule) -> dict:
    """state rendered / parsed: no connection, no change."""
    p = module.params
    policy = load_policy(module)
    entry = policy_device(module, policy)
    try:
        if p["state"] == "parsed":
            return {"changed": False, "parsed": offline.wireless_parsed(entry.platform, p["running_config"])}
        check_value(p["c9800_policy_tag"], "name", "c9800_policy_tag")
        return {"changed": False, **offline.wireless_rendered(
            policy, entry.platform, p["secrets"], p["running_config"], radio_names=p["radios"],
            policy_tag=p["c9800_policy_tag"], enable_radios=p["enable_radios"])}
    except (InvalidValue, ValueError, KeyError) as exc:
        module.fail_json(msg=f"{p['device']}: {exc}")


def run(module: AnsibleModule) -> dict:
    p = module.params
    policy = load_policy(module)
    entry = policy_device(module, policy)
    try:
        intents = ssid_intents(policy, p["secrets"])   # validated before any connection
        check_value(p["c9800_policy_tag"], "name", "c9800_policy_tag")
    except (InvalidValue, KeyError) as exc:
        module.fail_json(msg=f"refused before connecting: {exc}")
    result: dict = {"changed": False, "commands": [], "findings": findings(policy)}
    log = change_log(module, policy)
    with device_session(module, entry.platform, result, mask=lambda text: mask(text, intents),
                        needs=("config", "wireless")) as driver:
        text = driver.get_config()
        reconcile(module, log, result, text, lambda started: lambda after: plan(
            driver, intents, after, dict(p, rotate_keys=False))[0], lambda line: mask(line, intents))
        commands, weak = plan(driver, intents, text, p)
        result.update(changed=bool(commands), commands=[mask(c, intents) for c in commands],
                      findings=result["findings"] + weak)
        if module._diff and commands:
            result["diff"] = {"before": mask(text, intents), "after": "\n".join(result["commands"]) + "\n",
                              "before_header": f"{p['device']} config", "after_header": "commands"}
        if not commands or module.check_mode:
            return result
        enforce_window(module, policy, p, result, f"changing {p['device']}")
        result["backup_file"] = write_backup(p["backup_dir"], p["device"], text,
                                             vault=module_backup_vault(module, policy.site.name))
        driver.load_candidate(commands)
        recorded_commit(log, driver, lambda: driver.commit(verify=lambda after: plan(
            driver, intents, after, dict(p, rotate_keys=False))[0]), result["commands"], text,
            result["backup_file"], sorted({c.split()[0] for c in result["commands"] if c.split()}),
            lambda line: mask(line, intents))
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            **POLICY_ARGS, **OFFLINE_CONNECTION_ARGS, **STATE_ARGS,
            backup_dir=dict(type="path"),
            secrets=dict(type="dict", no_log=True),
            radios=dict(type="list", elements="str", default=list(offline.DEFAULT_OPENWRT_RADIOS)),
            enable_radios=dict(type="bool", default=True),
            rotate_keys=dict(type="bool", default=False),
            c9800_policy_tag=dict(type="str", default=C9800_DEFAULT_POLICY_TAG),
            **FORCE_ARGS, **CHANGE_RECORD_ARGS,
        ),
        required_if=FORCE_REQUIRED_IF + OFFLINE_REQUIRED_IF + [("state", "merged", ("secrets",))],
        supports_check_mode=True,
    )
    if module.params["state"] != "merged":
        module.exit_json(**run_offline(module))
    require_ssh_libs(module)
    module.exit_json(**run(module))


if __name__ == "__main__":
    main()
