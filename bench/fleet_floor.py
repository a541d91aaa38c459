"""The floor of the fleet inventory: a plain 64-thread script doing the same reads as the toolkit, nothing else.

What a competent admin would write without the toolkit: netmiko `ConnectHandler` + `show version` (parsed with
ntc-templates, as the toolkit parses it) for the switches and the WLC, one authenticated HTTP GET of each phone's
status page (Poly `device/info`, Yealink `phonecfg`, Cisco MPP `status.xml`), over a thread pool. No policy, no
baselines, no reports, no audit trail: the time a fleet read cannot go below on this machine.

    python bench/fleet_floor.py run/inventory/hosts.yml [--workers 64]   # prints "<read>/<total> <seconds>"

The toolkit's driver layer is not used (it is what is measured against this); the endpoints are the ones the
drivers read (drivers/poly.py, yealink.py, cisco_mpp.py), the credentials the lab's.
"""

from __future__ import annotations

import argparse
import base64
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "collections"), str(REPO)]

from lab.topology import lab_credentials

# platform -> (path of the facts page, fixed REST user or None for the inventory's ansible_user)
PHONE_PAGES = {"poly": ("/api/v1/mgmt/device/info", "Polycom"), "yealink": ("/servlet?phonecfg=get&fw=1", None),
               "cisco_mpp": ("/admin/status.xml", None)}
NETMIKO_TYPES = {"cisco_ios": "cisco_ios", "cisco_wlc9800": "cisco_ios"}
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def inventory_hosts(group: dict) -> dict[str, dict]:
    """Every host of a YAML inventory group and of its children."""
    hosts = dict((group or {}).get("hosts") or {})
    for child in ((group or {}).get("children") or {}).values():
        for name, host_vars in inventory_hosts(child).items():
            hosts.setdefault(name, host_vars or {})
    return hosts


def read_switch(host_vars: dict, username: str, password: str, secret: str, known_hosts: str) -> bool:
    from netmiko import ConnectHandler

    with ConnectHandler(device_type=NETMIKO_TYPES[host_vars["platform"]], host=host_vars["ansible_host"],
                        port=host_vars["ansible_port"], username=username, password=password, secret=secret,
                        ssh_strict=True, system_host_keys=False, alt_host_keys=True, alt_key_file=known_hosts,
                        use_keys=False, allow_agent=False) as session:
        parsed = session.send_command("show version", use_textfsm=True)
    return isinstance(parsed, list) and bool(parsed)


def read_phone(host_vars: dict, username: str, password: str) -> bool:
    path, rest_user = PHONE_PAGES[host_vars["platform"]]
    token = base64.b64encode(f"{rest_user or username}:{password}".encode()).decode()
    request = urllib.request.Request(f"http://{host_vars['ansible_host']}:{host_vars['ansible_port']}{path}",
                                     headers={"Authorization": f"Basic {token}"})
    with _OPENER.open(request, timeout=30) as response:
        return response.status == 200 and bool(response.read())


def floor(inventory_file: Path, workers: int) -> tuple[int, int]:
    everything = inventory_hosts(yaml.safe_load(inventory_file.read_text())["all"])
    known_hosts = str(inventory_file.parent.parent / "known_hosts")
    credentials = lab_credentials()
    hosts = [hv for hv in everything.values() if hv.get("platform") in (*PHONE_PAGES, *NETMIKO_TYPES)]

    def read(host_vars: dict) -> bool:
        username = host_vars.get("ansible_user", credentials.username)
        try:
            if host_vars["platform"] in NETMIKO_TYPES:
                return read_switch(host_vars, username, credentials.password, credentials.enable_secret,
                                   known_hosts)
            return read_phone(host_vars, username, credentials.password)
        except Exception:  # counted: the toolkit reports the same device as unreachable
            return False

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return sum(pool.map(read, hosts)), len(hosts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inventory", type=Path, help="the lab run's inventory/hosts.yml")
    parser.add_argument("--workers", type=int, default=64)
    args = parser.parse_args()
    started = time.monotonic()
    read, total = floor(args.inventory, args.workers)
    print(f"{read}/{total} {time.monotonic() - started:.3f}")
    return 0 if read == total else 1


if __name__ == "__main__":
    sys.exit(main())
