# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inventory plugin aiphone.hardening.site_policy: the hosts of a site built from its site policy."""

from __future__ import annotations

DOCUMENTATION = r"""
name: site_policy
short_description: The hosts of a site, built from its site policy (cached)
version_added: 0.2.0
author: aiphone-hardening contributors
description:
  - Builds the inventory of one site from its C(site_policy.yml) - every device of C(devices) becomes a host with
    C(platform), C(model) and C(zone), in the group of its family (C(switches), C(wlcs), C(aps), C(phones),
    C(linux_hosts); the network devices and phones also in C(devices)) - so a site of 10,000 devices needs no
    10,000-host YAML inventory that Ansible parses on every run.
  - The policy is validated (JSON Schema and semantic checks) before any host is added; a refused policy fails
    the inventory with every problem named by file, line, key and value.
  - Connection details come from the policy's C(address) (C(ansible_host); the device name when it has none) and
    from an optional I(host_vars_file) (a DHCP lease table, a lab's port map) that adds or overrides variables per
    device. Values of that file are data, never templates; a device it names that the policy does not list is an
    error.
  - With caching on (Ansible's cache plugins, for example C(ansible.builtin.jsonfile)) a run reads the built
    hosts from the cache as long as the policy and I(host_vars_file) still hash to the digests stored with them;
    any change to either rebuilds (and re-validates) the inventory.
  - The inventory file's name must end in C(aiphone.yml) or C(aiphone.yaml), for example
    C(inventories/<site>/site.aiphone.yml); group_vars next to it apply as with any inventory source.
extends_documentation_fragment:
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
options:
  plugin:
    description: The name of this plugin; it makes the file an inventory source of this plugin.
    required: true
    type: str
    choices: [aiphone.hardening.site_policy]
  policy_file:
    description: The site policy; a relative path is taken from the inventory file's directory.
    type: str
    default: site_policy.yml
  host_vars_file:
    description:
      - "Optional YAML or JSON mapping of device name to a mapping of variables (for example C(ansible_host),
        C(ansible_port)); a relative path is taken from the inventory file's directory. Values are strings,
        numbers or booleans; a variable that names a secret (C(ansible_password) ...) is refused: secrets stay in
        the vault."
    type: str
  use_address:
    description: Set C(ansible_host) to the device's C(address) from the policy when it has one.
    type: bool
    default: true
  add_localhost:
    description:
      - Add C(localhost) with C(ansible_connection=ansible.builtin.local) and the playbook's Python (the
        controller-side plays of the toolkit run there).
    type: bool
    default: true
"""

EXAMPLES = r"""
# inventories/<site>/site.aiphone.yml
plugin: aiphone.hardening.site_policy
policy_file: site_policy.yml
host_vars_file: connections.yml     # optional: addresses from the DHCP reservations, ports ...
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/aiphone-inventory
cache_timeout: 86400
keyed_groups:
  - key: zone
    prefix: zone
"""

import hashlib
import json
import os
import re

import yaml
from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core < 2.19: inventory strings are templates anyway
    def trust_as_template(value):
        return value

try:
    from ansible_collections.aiphone.hardening.plugins.module_utils.audit_trail import is_secret_key
    from ansible_collections.aiphone.hardening.plugins.module_utils.compliance.site import FAST_LOADER, read_policy
    from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import PolicyError
except ImportError as exc:  # jsonschema / PyYAML missing on the controller
    IMPORT_ERROR = exc
else:
    IMPORT_ERROR = None

NAME = "aiphone.hardening.site_policy"
# The group of each platform's family (what the playbooks target), and which families are driven from the
# controller through a device driver (group `devices`, whose group_vars hold the device credentials).
FAMILY_GROUPS = {"cisco_ios": "switches", "cisco_wlc9800": "wlcs", "openwrt": "aps", "poly": "phones",
                 "yealink": "phones", "cisco_mpp": "phones", "linux": "linux_hosts"}
DRIVEN_GROUPS = ("switches", "wlcs", "aps", "phones")
VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
CACHE_FORMAT = 1


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = NAME

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(("aiphone.yml", "aiphone.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        if IMPORT_ERROR:
            raise AnsibleParserError(f"{NAME} needs jsonschema and PyYAML on the controller: {IMPORT_ERROR}")
        self._read_config_data(path)
        base = os.path.dirname(os.path.abspath(path))
        policy_file = _relative_to(base, self.get_option("policy_file"))
        vars_option = self.get_option("host_vars_file")
        vars_file = _relative_to(base, vars_option) if vars_option else None
        digests = {"policy": _sha256_of(policy_file), "host_vars": _sha256_of(vars_file) if vars_file else None,
                   "use_address": self.get_option("use_address"), "format": CACHE_FORMAT}

        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache") and cache
        update_cache = self.get_option("cache") and not cache
        built = None
        if use_cache:
            try:
                cached = self._cache[cache_key]
            except KeyError:
                update_cache = True
            else:
                if isinstance(cached, dict) and cached.get("digests") == digests:
                    built = cached
                else:   # the policy or the host vars changed since: build (and validate) again
                    update_cache = True
        if built is None:
            built = build_hosts(policy_file, vars_file, self.get_option("use_address"), digests)
        if update_cache:
            self._cache[cache_key] = built
        self._populate(built)

    def _populate(self, built: dict) -> None:
        inventory = self.inventory
        for group in built["groups"]:
            inventory.add_group(group)
        for group, children in built["children"].items():
            for child in children:
                inventory.add_child(group, child)
        strict = self.get_option("strict")
        constructed = any(self.get_option(option) for option in ("compose", "groups", "keyed_groups"))
        for name, host_vars in built["hosts"].items():
            inventory.add_host(name, group=built["host_group"].get(name))
            for key, value in host_vars.items():
                inventory.set_variable(name, key, value)
            if constructed:
                self._set_composite_vars(self.get_option("compose"), host_vars, name, strict=strict)
                self._add_host_to_composed_groups(self.get_option("groups"), host_vars, name, strict=strict)
                self._add_host_to_keyed_groups(self.get_option("keyed_groups"), host_vars, name, strict=strict)
        if self.get_option("add_localhost"):
            inventory.add_host("localhost")
            inventory.set_variable("localhost", "ansible_connection", "ansible.builtin.local")
            inventory.set_variable("localhost", "ansible_python_interpreter",
                                   trust_as_template("{{ ansible_playbook_python }}"))


def _relative_to(base: str, path: str) -> str:
    path = os.path.expanduser(str(path))
    return path if os.path.isabs(path) else os.path.join(base, path)


def _sha256_of(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except OSError as exc:
        raise AnsibleParserError(f"{NAME}: cannot read {path}: {exc.strerror}") from None


def build_hosts(policy_file: str, vars_file: str | None, use_address: bool = True, digests: dict | None = None) -> dict:
    """The hosts and groups of the site (JSON-ready, what the cache stores): validated policy + host vars file."""
    try:
        policy, _ = read_policy(policy_file)
    except PolicyError as error:
        problems = "\n".join(f"  {issue}" for issue in error.errors) or f"  {error}"
        raise AnsibleParserError(f"{NAME}: the site policy {policy_file} is invalid:\n{problems}") from None
    extra = load_host_vars(vars_file, {device.name for device in policy.devices}) if vars_file else {}
    hosts, host_group = {}, {}
    members: dict[str, list[str]] = {}
    for device in policy.devices:
        host_vars = {"platform": device.platform, "model": device.model, "zone": device.zone}
        if use_address and device.address:
            host_vars["ansible_host"] = str(device.address)
        host_vars.update(extra.get(device.name, {}))
        hosts[device.name] = host_vars
        group = FAMILY_GROUPS.get(device.platform)
        if group is None:
            raise AnsibleParserError(f"{NAME}: device {device.name}: no inventory group for platform "
                                     f"{device.platform!r}")
        host_group[device.name] = group
        members.setdefault(group, []).append(device.name)
    groups = [group for group in dict.fromkeys(FAMILY_GROUPS.values()) if group in members]
    driven = [group for group in DRIVEN_GROUPS if group in members]
    return {"digests": digests or {}, "site": policy.site.name, "groups": groups + ["devices"],
            "children": {"devices": driven}, "hosts": hosts, "host_group": host_group}


def load_host_vars(path: str, known: set[str]) -> dict[str, dict]:
    """{device: {variable: value}} from a YAML/JSON mapping; every name a policy device, every value a scalar."""
    try:
        with open(path, "rb") as handle:
            data = yaml.load(handle, Loader=FAST_LOADER)  # noqa: S506 - a SafeLoader (JSON is YAML)
    except (OSError, yaml.YAMLError) as exc:
        raise AnsibleParserError(f"{NAME}: cannot read the host vars file {path}: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise AnsibleParserError(f"{NAME}: {path} must map device names to mappings of variables, not "
                                 f"{type(data).__name__}")
    problems = []
    for name, host_vars in data.items():
        if name not in known:
            problems.append(f"{name!r}: not a device of the site policy")
        elif not isinstance(host_vars, dict):
            problems.append(f"{name}: must be a mapping of variables, not {type(host_vars).__name__}")
        else:
            for key, value in host_vars.items():
                if not isinstance(key, str) or not VARIABLE_NAME.match(key):
                    problems.append(f"{name}.{key}: not a variable name")
                elif is_secret_key(key):
                    problems.append(f"{name}.{key}: a secret: keep it in the vault (group_vars), not in this "
                                    f"plain file (nor in the inventory cache built from it)")
                elif isinstance(value, (dict, list, tuple, set)) or value is None:
                    problems.append(f"{name}.{key}: must be a string, number or boolean, not "
                                    f"{json.dumps(value, default=str)[:60]}")
    if problems:
        raise AnsibleParserError(f"{NAME}: {path}:\n" + "\n".join(f"  {p}" for p in problems[:20])
                                 + (f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""))
    return {name: dict(host_vars) for name, host_vars in data.items()}
