"""What the lab serves: devices built from a site policy, and the Ansible inventory that points at them.

``--size small`` serves the committed lab site (``inventories/lab/site_policy.yml``); ``--size N`` generates a site
of N devices (access switches with 24 phones each, a core switch, a WLC, the Linux hosts), writes its policy next
to its inventory in the run directory, and serves that.
"""

from __future__ import annotations

import copy
import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lab import firmware_images
from lab.device import Credentials, LabError

REPO_ROOT = Path(__file__).resolve().parent.parent
LAB_SITE = REPO_ROOT / "inventories" / "lab"
LAB_POLICY = LAB_SITE / "site_policy.yml"
VAULT_FILE = LAB_SITE / "group_vars" / "all" / "vault.yml"
VAULT_PASSWORD_FILE = LAB_SITE / "vault-password.txt"
DEFAULT_BASE_PORT = 42000
LOOPBACK = "127.0.0.1"

# Inventory group of each policy platform (the groups every playbook targets).
GROUPS = {"cisco_ios": "switches", "cisco_wlc9800": "wlcs", "openwrt": "aps", "poly": "phones", "yealink": "phones",
          "cisco_mpp": "phones", "linux": "linux_hosts"}
PHONE_MODELS = [("poly", "VVX450"), ("yealink", "T54W"), ("cisco_mpp", "CP-8841-3PCC")]
PORTS_PER_ACCESS_SWITCH = 24


@dataclass
class DeviceSpec:
    name: str
    platform: str
    model: str
    version: str
    port: int
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Topology:
    policy: dict
    devices: list[DeviceSpec]
    linux_hosts: list[str]
    # the AI agent test target (lab/ai_agent.py) when the policy has ai_agent: its port (0: a free one)
    ai_agent_port: int | None = None


def load_policy(path: Path) -> dict:
    """The validated site policy as a mapping (the project's loader validates; plain YAML only if it is not
    importable). The lab reads the data as written (`SitePolicy.raw`), not the toolkit's model: it generates and
    rewrites policies, and a simulator must not share the code it is there to test."""
    try:
        from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import (
            PolicyError,
            load_site_policy,
        )
    except ImportError:
        return yaml.safe_load(Path(path).read_text())
    try:
        return load_site_policy(str(path)).raw
    except PolicyError as error:
        details = "; ".join(f"{issue.path}: {issue.message}" for issue in error.errors)
        raise LabError(f"site policy {path} is invalid: {details}") from error


def _lab_vault() -> dict:
    from ansible.constants import DEFAULT_VAULT_ID_MATCH
    from ansible.parsing.vault import VaultLib, VaultSecret

    secret = VaultSecret(VAULT_PASSWORD_FILE.read_bytes().strip())
    return yaml.safe_load(VaultLib([(DEFAULT_VAULT_ID_MATCH, secret)]).decrypt(VAULT_FILE.read_bytes()))


def lab_credentials() -> Credentials:
    """The lab's device login, read from the lab vault (simulated devices only)."""
    data = _lab_vault()
    return Credentials(data["vault_lab_username"], data["vault_lab_password"], data["vault_lab_enable_secret"])


def lab_ai_agent_token(policy: dict) -> str:
    """The bearer token the lab AI agent expects: the lab vault's variable the policy names (ai_agent.auth)."""
    variable = ((policy.get("ai_agent") or {}).get("auth") or {}).get("token_var", "vault_ai_agent_token")
    data = _lab_vault()
    if variable not in data:
        raise LabError(f"the lab vault has no {variable} (the AI agent's token, ai_agent.auth.token_var)")
    return str(data[variable])


def ai_agent_port(policy: dict, base_port: int) -> int | None:
    """Where the lab AI agent listens: the port of the policy's ai_agent.url on the fixed ports (`make demo`), a
    free port with --base-port 0 (the run copy of the policy is then rewritten to the served URL)."""
    agent = policy.get("ai_agent")
    if not agent:
        return None
    if not base_port:
        return 0
    from urllib.parse import urlsplit
    return urlsplit(agent["url"]).port or 80


def rewrite_ai_agent_url(policy_copy: Path, url: str) -> None:
    """Point the run copy of the policy at the URL the lab AI agent really serves (a free port)."""
    data = yaml.safe_load(policy_copy.read_text())
    if (data.get("ai_agent") or {}).get("url") == url:
        return
    data["ai_agent"]["url"] = url
    policy_copy.write_text("---\n# The lab site policy, its ai_agent.url set to the port this lab run serves.\n"
                           + yaml.safe_dump(data, sort_keys=False, width=120))


def _baselines(policy: dict) -> dict[tuple[str, str], str]:
    return {(b["platform"], b["model"]): b["version"] for b in policy.get("firmware_baselines", [])}


def _connected_ports(policy: dict) -> dict[str, dict[str, str]]:
    """{switch: {interface: peer}} from the devices' switch_port / uplink entries."""
    ports: dict[str, dict[str, str]] = {}
    for device in policy.get("devices", []):
        for key in ("switch_port", "uplink"):
            link = device.get(key)
            if link:
                ports.setdefault(link["switch"], {})[link["interface"]] = device["name"]
        if device.get("uplink"):
            local = device["uplink"].get("local_interface", "GigabitEthernet1/1/1")
            ports.setdefault(device["name"], {})[local] = device["uplink"]["switch"]
    return ports


LOOPBACK_CONTROLLER = "127.0.0.1"


def build_topology(policy: dict, base_port: int = DEFAULT_BASE_PORT, **options: Any) -> Topology:
    """Device specs for every simulated device of ``policy``; ``base_port`` 0 lets the OS pick free ports."""
    baselines = _baselines(policy)
    connected = _connected_ports(policy)
    devices, linux = [], []
    for device in policy.get("devices", []):
        platform, model = device["platform"], device["model"]
        if platform == "linux":
            linux.append(device["name"])
            continue
        version = firmware_images.start_version(platform, model, baselines.get((platform, model)))
        port = base_port + 1 + len(devices) if base_port else 0
        extra = dict(options)
        if device["name"] in connected:
            extra["connected_ports"] = connected[device["name"]]
        if platform == "yealink":
            # as a site admin provisions it: Action URI accepted from the management station (here, the controller)
            extra.setdefault("action_uri_limit_ip", LOOPBACK_CONTROLLER)
            # and with the settings the toolkit relies on already applied (its drivers provision them too); the
            # factory defaults (both 1) are modelled and tested in tests/integration/lab/test_phones_yealink.py
            extra.setdefault("notify_reboot_enable", False)
            extra.setdefault("show_action_uri_option", False)
        devices.append(DeviceSpec(device["name"], platform, model, version, port, extra))
    return Topology(policy, devices, linux, ai_agent_port(policy, base_port))


def generate_policy(size: int, base: dict | None = None) -> dict:
    """A site of ``size`` simulated devices built on the lab site: its zones, services, flows and baselines, a
    core switch, a WLC, the two Linux hosts, and access switches with 24 phones each."""
    policy = copy.deepcopy(base if base is not None else yaml.safe_load(LAB_POLICY.read_text()))
    fixed = [d for d in policy["devices"] if d["platform"] in ("linux", "cisco_wlc9800") or d["name"] == "sw-core-01"]
    simulated_fixed = len([d for d in fixed if d["platform"] != "linux"])
    remaining = size - simulated_fixed
    if remaining < 2:
        raise LabError(f"--size {size} is too small for a generated site; use --size small or at least "
                       f"{simulated_fixed + 2}")
    switches = max(1, math.ceil(remaining / (PORTS_PER_ACCESS_SWITCH + 1)))
    phones = remaining - switches
    devices = list(fixed)
    core = next(d for d in fixed if d["name"] == "sw-core-01")
    for index in range(switches):
        devices.append({"name": f"sw-access-{index + 1:03d}", "platform": "cisco_ios", "model": "C9200L-24P-4G",
                        "zone": "mgmt", "address": f"10.10.10.{32 + index}" if index < 200 else None,
                        "uplink": {"switch": core["name"], "interface": f"GigabitEthernet1/0/{3 + index}"}
                        if index < 20 else None})
    for index in range(phones):
        platform, model = PHONE_MODELS[index % len(PHONE_MODELS)]
        switch, port = divmod(index, PORTS_PER_ACCESS_SWITCH)
        devices.append({"name": f"phone-{index + 1:04d}", "platform": platform, "model": model, "zone": "voice",
                        "data_zone": "data", "switch_port": {"switch": f"sw-access-{switch + 1:03d}",
                                                             "interface": f"GigabitEthernet1/0/{port + 1}"}})
    policy["devices"] = [{k: v for k, v in d.items() if v is not None} for d in devices]
    policy["site"]["description"] = f"Generated lab site of {size} simulated devices"
    return policy


# -- inventory ------------------------------------------------------------------------------------------------
def inventory(device_vars: dict[str, dict], linux_vars: dict[str, dict], run_dir: Path,
              site_vars: dict | None = None, siem_vars: dict[str, dict] | None = None) -> dict:
    """The Ansible inventory of a running lab: one group per device family, plus localhost (and the lab SIEM in
    `siem_receivers`, where the audit counts the lines each host's forwarding delivered)."""
    groups: dict[str, dict] = {group: {"hosts": {}} for group in dict.fromkeys(GROUPS.values())}
    for name, host_vars in device_vars.items():
        groups[GROUPS[host_vars["platform"]]]["hosts"][name] = host_vars
    for name, host_vars in linux_vars.items():
        groups["linux_hosts"]["hosts"][name] = {"platform": "linux", **host_vars}
    return {"all": {
        "vars": {"aiphone_known_hosts_file": str(run_dir / "known_hosts"), "aiphone_lab_run_dir": str(run_dir),
                 "aiphone_firmware_dir": str(run_dir / "firmware"), **(site_vars or {})},
        "hosts": {"localhost": {"ansible_connection": "ansible.builtin.local",
                                "ansible_python_interpreter": "{{ ansible_playbook_python }}"}},
        "children": {**{group: body for group, body in groups.items() if body["hosts"]},
                     **({"siem_receivers": {"hosts": siem_vars}} if siem_vars else {}),
                     # driven from the controller with the lab's device credentials (group_vars/devices.yml)
                     "devices": {"children": {group: {} for group, body in groups.items()
                                              if body["hosts"] and group != "linux_hosts"}}},
    }}


def write_firmware_store(run_dir: Path, policy: dict) -> Path:
    """The controller's firmware store for the lab: the baseline builds, as a vendor download would provide them."""
    from lab.firmware_images import make_image

    store = run_dir / "firmware"
    store.mkdir(parents=True, exist_ok=True)
    for baseline in policy.get("firmware_baselines", []):
        image = store / baseline["image"]
        if not image.exists():
            image.write_bytes(make_image(baseline["platform"], baseline["model"], str(baseline["version"])))
    return store


def write_inventory(run_dir: Path, policy_path: Path, device_vars: dict[str, dict],
                    linux_vars: dict[str, dict], site_vars: dict | None = None,
                    siem_vars: dict[str, dict] | None = None) -> Path:
    """Write ``run/inventory`` (hosts.yml, site_policy.yml, group_vars copied from the lab site); return hosts.yml."""
    target = run_dir / "inventory"
    target.mkdir(parents=True, exist_ok=True)
    group_vars = target / "group_vars"
    if group_vars.exists():
        shutil.rmtree(group_vars)
    shutil.copytree(LAB_SITE / "group_vars", group_vars)
    if Path(policy_path).resolve() != (target / "site_policy.yml").resolve():
        shutil.copyfile(policy_path, target / "site_policy.yml")
    hosts = target / "hosts.yml"
    hosts.write_text("---\n# Generated by `python -m lab up`: the devices this lab run serves.\n"
                     + yaml.safe_dump(inventory(device_vars, linux_vars, run_dir, site_vars, siem_vars),
                                     sort_keys=False, width=120))
    return hosts
