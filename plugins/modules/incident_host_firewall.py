#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Incident rules on a Linux host: isolate it (all but the management path) and block sources (issue 8)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: incident_host_firewall
short_description: Isolate a Linux host or block source networks with an nftables table of its own
description:
  - Keeps the incident rules of a host in the nftables table C(inet aiphone_incident) (priority -10, before the
    site firewall) and their intent in O(state_file). The site firewall is never edited; when no rule is left the
    table and O(ruleset_file) are removed.
  - O(isolate=true) drops every packet except loopback, established flows and the management path
    (O(management_sources) to O(management_ports)); O(isolate=false) lifts it. O(block) / O(unblock) add and
    remove source addresses or networks, dropped in both directions and when forwarded.
  - Refuses (changing nothing) a request that would cut the operator off - the controller (from C(SSH_CLIENT))
    outside the management sources, or a blocked network overlapping them - and checks the script with
    C(nft -c) before loading it.
  - Idempotent; check mode reports the change and C(--diff) shows the state before and after.
version_added: "1.0.0"
author: aiphone-hardening contributors
options:
  isolate: {description: Isolate (true) or release (false) the host; omitted leaves it as it is., type: bool}
  management_sources:
    description: Networks that keep reaching the host while it is isolated (the controller, the jump host).
    type: list
    elements: str
    default: []
  management_ports: {description: TCP ports of the management path., type: list, elements: int, default: [22]}
  block: {description: Source addresses or networks to block., type: list, elements: str, default: []}
  unblock: {description: Blocked addresses or networks to release., type: list, elements: str, default: []}
  state_file: {description: JSON intent of the incident rules., type: path, default: /etc/aiphone/incident-state.json}
  ruleset_file:
    description: The nft script loaded (and reloaded at boot).
    type: path
    default: /etc/aiphone/incident.nft
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
"""

EXAMPLES = r"""
- name: Isolate the host, keeping SSH from the management network
  aiphone.hardening.incident_host_firewall:
    isolate: true
    management_sources: [10.10.10.0/24]

- name: Block an attacker's network
  aiphone.hardening.incident_host_firewall:
    block: [203.0.113.0/24]
"""

RETURN = r"""
state:
  description: The incident rules now in force (isolated, blocked, management_sources, management_ports).
  returned: always
  type: dict
"""

import json
import os
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aiphone.hardening.plugins.module_utils.ops.incident_nft import (
    TABLE,
    IncidentRuleError,
    is_active,
    lockout_problems,
    networks,
    ports,
    render,
)

EMPTY = {"isolated": False, "blocked": [], "management_sources": [], "management_ports": []}


def read_state(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            return {**EMPTY, **json.load(handle)}
    except FileNotFoundError:
        return dict(EMPTY)


def desired_state(current: dict, p: dict) -> dict:
    new = dict(current)
    if p["isolate"] is not None:
        new["isolated"] = p["isolate"]
        if p["isolate"]:
            new["management_sources"] = networks(p["management_sources"], "management_sources")
            new["management_ports"] = ports(p["management_ports"], "management_ports")
    blocked = set(current["blocked"]) | set(networks(p["block"], "block"))
    new["blocked"] = networks(blocked - set(networks(p["unblock"], "unblock")), "blocked")
    if not new["isolated"] and not new["blocked"]:
        new = dict(EMPTY)
    return new


def controller_address() -> str | None:
    client = os.environ.get("SSH_CLIENT", "").split()
    return client[0] if client else None


def write_file(path: str, text: str, mode: int = 0o600) -> None:
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path))
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


class Nft:
    def __init__(self, module: AnsibleModule):
        self.module = module
        self.binary = module.get_bin_path("nft", required=True)

    def table_loaded(self) -> bool:
        rc, _out, _err = self.module.run_command([self.binary, "list", "table", "inet", TABLE])
        return rc == 0

    def load(self, script: str) -> None:
        for args in (["-c", "-f", "-"], ["-f", "-"]):   # check, then load (atomic transaction)
            rc, _out, err = self.module.run_command([self.binary, *args], data=script, binary_data=True)
            if rc != 0:
                self.module.fail_json(msg=f"nft {' '.join(args)} refused the incident ruleset: {err.strip()}")

    def delete_table(self) -> None:
        rc, _out, err = self.module.run_command([self.binary, "delete", "table", "inet", TABLE])
        if rc != 0:
            self.module.fail_json(msg=f"nft delete table inet {TABLE} failed: {err.strip()}")


def run(module: AnsibleModule) -> dict:
    p = module.params
    current = read_state(p["state_file"])
    try:
        new = desired_state(current, p)
    except IncidentRuleError as exc:
        module.fail_json(msg=f"refused: {exc}")
    problems = lockout_problems(new, controller_address())
    if problems:
        module.fail_json(msg="refused, nothing changed: " + "; ".join(problems), state=current)
    nft = Nft(module)
    loaded = nft.table_loaded()
    script = render(new) if is_active(new) else None
    in_place = (loaded and read_text(p["ruleset_file"]) == script) if script else \
        not loaded and read_text(p["ruleset_file"]) is None
    changed = new != current or not in_place
    result = {"changed": changed, "state": new}
    if module._diff:
        result["diff"] = {"before": json.dumps(current, indent=1, sort_keys=True) + "\n",
                          "after": json.dumps(new, indent=1, sort_keys=True) + "\n"}
    if not changed or module.check_mode:
        return result
    if script:
        nft.load(script)
        write_file(p["ruleset_file"], script)
    else:
        if loaded:
            nft.delete_table()
        if os.path.exists(p["ruleset_file"]):
            os.unlink(p["ruleset_file"])
    write_file(p["state_file"], json.dumps(new, indent=1, sort_keys=True) + "\n")
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            isolate=dict(type="bool"),
            management_sources=dict(type="list", elements="str", default=[]),
            management_ports=dict(type="list", elements="int", default=[22]),
            block=dict(type="list", elements="str", default=[]),
            unblock=dict(type="list", elements="str", default=[]),
            state_file=dict(type="path", default="/etc/aiphone/incident-state.json"),
            ruleset_file=dict(type="path", default="/etc/aiphone/incident.nft"),
        ),
        supports_check_mode=True,
    )
    module.exit_json(**run(module))


if __name__ == "__main__":
    main()
