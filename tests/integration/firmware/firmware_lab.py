"""A firmware test site on 127.0.0.1: real lab phones (HTTP/SIP simulators) + the lab provisioning server on a
background event loop, a firmware store of real lab images, and a site policy whose baselines carry their sha256.

Used by the phone firmware tests and by bench/firmware_bench.py (which scales it to hundreds of phones).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from ansible_collections.aiphone.hardening.plugins.module_utils.firmware.procedure import Gate
from ansible_collections.aiphone.hardening.plugins.module_utils.firmware.rollout import (
    DeviceSpec,
    Rollout,
    RolloutOptions,
    registry_factory,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.maintenance_window import (
    MaintenanceSchedule,
    Window,
)
from lab.device import Credentials
from lab.firmware_images import image_filename, make_image
from lab.phones.cisco_mpp import CiscoMppPhone
from lab.phones.harness import BackgroundLoop, start_phone, wait_for
from lab.phones.poly import PolyPhone
from lab.phones.yealink import YealinkPhone
from lab.provisioning import ProvisioningServer

PASSWORD = "lab-Phone-admin-7"
IMAGE_SIZE = 8192
# platform -> (simulator class, model, old version, baseline version, image file name as the vendor names it)
PHONES = {
    "poly": (PolyPhone, "VVX450", "6.3.1.8427", "6.4.6.2000", "3111-49950-001.sip.ld"),
    "yealink": (YealinkPhone, "T54W", "96.85.0.5", "96.86.0.70", "T54W-96.86.0.70.rom"),
    "cisco_mpp": (CiscoMppPhone, "CP-8841-3PCC", "sip88xx.11-3-7MPP0001-609", "sip88xx.12-0-4MPP0001-41",
                  "sip88xx.12-0-4MPP0001-41.loads"),
}
REST_USER = {"poly": "Polycom"}


def window_schedule(opened_ago: dt.timedelta = dt.timedelta(hours=1),
                    closes_in: dt.timedelta = dt.timedelta(hours=2)) -> MaintenanceSchedule:
    """A UTC schedule with one window around now (the lab's clock is the real one)."""
    now = dt.datetime.now(dt.UTC)
    start = (now - opened_ago).replace(second=0, microsecond=0)
    return MaintenanceSchedule("UTC", [Window("lab-now", frozenset({start.weekday()}), start.time(),
                                              now + closes_in - start)])


def policy_dict(schedule_windows: list[dict] | None = None) -> dict:
    baselines = [{"platform": platform, "model": model, "version": new, "image": image,
                  "sha256": hashlib.sha256(make_image(platform, model, new, IMAGE_SIZE)).hexdigest()}
                 for platform, (_cls, model, _old, new, image) in PHONES.items()]
    return {"site": {"name": "fwlab", "timezone": "UTC"}, "firmware_baselines": baselines,
            "maintenance": {"windows": schedule_windows or []}}


@dataclass
class PhoneLab:
    root: Path
    bg: BackgroundLoop
    prov: ProvisioningServer
    firmware_dir: Path
    phones: dict = field(default_factory=dict)          # name -> simulator
    policy: dict = field(default_factory=policy_dict)

    def add(self, platform: str, name: str, reboot_seconds: float = 0.5, version: str | None = None):
        cls, model, old, _new, _image = PHONES[platform]
        options = {"reboot_seconds": reboot_seconds, "provisioning_url": self.prov.url}
        if platform == "yealink":
            options.update(action_uri_limit_ip="127.0.0.1", notify_reboot_enable=False, show_action_uri_option=False)
        phone = start_phone(self.bg, cls, name, model, version or old, self.root / name,
                            Credentials(REST_USER.get(platform, "admin"), PASSWORD), **options)
        self.phones[name] = phone
        return phone

    def spec(self, name: str, **options) -> DeviceSpec:
        phone = self.phones[name]
        connection = {"host": phone.host, "port": phone.port, "username": REST_USER.get(phone.platform, "admin"),
                      "password": PASSWORD, "timeout": 5, "provisioning_url": self.prov.url,
                      "provisioning_dir": str(self.prov.root), "reboot_seconds": phone.reboot_seconds,
                      **options}
        if phone.platform == "yealink":
            connection.update(sip_port=phone.sip_port, sip_user=phone.params["account.1.user_name"])
        return DeviceSpec(name, phone.platform, phone.model, connection)

    def rollout(self, names=None, gate: Gate | None = None, records=None, **options) -> Rollout:
        specs = [self.spec(name) for name in (names or self.phones)]
        return Rollout(specs, self.policy, gate or Gate(window_schedule()),
                       RolloutOptions(**{"busy_retry_seconds": 0.5, **options}), registry_factory,
                       firmware_dir=str(self.firmware_dir), record=records.append if records is not None else None)

    def version(self, name: str) -> str:
        return self.bg.call(lambda: self.phones[name].version)

    def set_fault(self, name: str, fault: str, **params) -> None:
        self.bg.call(self.phones[name].set_fault, fault, **params)

    def clear_fault(self, name: str, fault: str | None = None) -> None:
        self.bg.call(self.phones[name].clear_fault, fault)

    def wait_reachable(self, name: str, timeout: float = 10.0) -> bool:
        """Clearing no_return_after_reload is the lab's power cycle: wait for the phone to answer again."""
        return wait_for(lambda: self.bg.call(lambda: self.phones[name].reachable), timeout)

    def stop(self) -> None:
        for phone in self.phones.values():
            self.bg.run(phone.stop())
        self.bg.run(self.prov.stop())


def start_phone_lab(root: Path, bg: BackgroundLoop) -> PhoneLab:
    prov = ProvisioningServer(root / "provisioning")
    bg.run(prov.start())
    firmware_dir = root / "firmware"
    firmware_dir.mkdir()
    for platform, (_cls, model, _old, new, image) in PHONES.items():
        (firmware_dir / image).write_bytes(make_image(platform, model, new, IMAGE_SIZE))
    prov.stage("000000000000.cfg", b'<?xml version="1.0"?><APPLICATION APP_FILE_PATH="" CONFIG_FILES="site.cfg"/>')
    prov.stage("site.cfg", b'<polycomConfig><reg reg.1.address="lab@pbx.lab"/></polycomConfig>')
    return PhoneLab(root, bg, prov, firmware_dir)


__all__ = ["PHONES", "PhoneLab", "image_filename", "start_phone_lab", "window_schedule"]


# -- switches ---------------------------------------------------------------------------------------------------
SWITCH_MODEL, SWITCH_OLD, SWITCH_NEW = "C9300-24P", "17.6.4", "17.9.5"
SWITCH_CREDENTIALS = Credentials("admin", "lab-Switch-admin-7", "lab-Enable-7")


def switch_baseline(image_size: int = IMAGE_SIZE) -> dict:
    return {"platform": "cisco_ios", "model": SWITCH_MODEL, "version": SWITCH_NEW,
            "image": image_filename("cisco_ios", SWITCH_MODEL, SWITCH_NEW),
            "sha256": hashlib.sha256(make_image("cisco_ios", SWITCH_MODEL, SWITCH_NEW, image_size)).hexdigest()}


@dataclass
class SwitchLab:
    """IOS-XE switch simulators (real SSH + SCP) next to a phone lab; the site's known_hosts in ``root``."""

    phone_lab: PhoneLab
    switches: dict = field(default_factory=dict)

    @property
    def known_hosts(self) -> Path:
        return self.phone_lab.root / "known_hosts"

    def add(self, name: str, reload_seconds: float = 1.0, **options):
        from lab.ios.switch import IOSSwitch

        lab = self.phone_lab
        switch = IOSSwitch(name, SWITCH_MODEL, SWITCH_OLD, "127.0.0.1", 0, lab.root / name, SWITCH_CREDENTIALS,
                           reload_seconds=reload_seconds, image_size=IMAGE_SIZE,
                           images_dir=str(lab.root / "lab-images"), **options)
        lab.bg.run(switch.start())
        self.switches[name] = switch
        store = lab.firmware_dir / switch_baseline()["image"]
        if not store.exists():
            store.write_bytes(make_image("cisco_ios", SWITCH_MODEL, SWITCH_NEW, IMAGE_SIZE))
        self.write_known_hosts()
        return switch

    def write_known_hosts(self) -> None:
        lines = [f"[{sw.host}]:{sw.port} {self.phone_lab.bg.call(sw.public_host_key)}" for sw in self.switches.values()]
        self.known_hosts.write_text("\n".join(lines) + "\n")

    def spec(self, name: str, **options) -> DeviceSpec:
        switch = self.switches[name]
        connection = {"host": switch.host, "port": switch.port, "username": SWITCH_CREDENTIALS.username,
                      "password": SWITCH_CREDENTIALS.password, "enable_secret": SWITCH_CREDENTIALS.enable_secret,
                      "known_hosts_file": str(self.known_hosts), "timeout": 10,
                      "reboot_seconds": switch.reload_seconds + 1, "backup_dir": str(self.phone_lab.root / "backups"),
                      **options}
        return DeviceSpec(name, "cisco_ios", SWITCH_MODEL, connection)

    def rollout(self, names=None, gate: Gate | None = None, records=None, **options) -> Rollout:
        lab = self.phone_lab
        policy = self.site_policy()
        specs = [self.spec(name) for name in (names or self.switches)]
        return Rollout(specs, policy, gate or Gate(window_schedule()),
                       RolloutOptions(**{"busy_retry_seconds": 0.5, "canary": "1", "batch_size": "1", **options}),
                       registry_factory, firmware_dir=str(lab.firmware_dir),
                       record=records.append if records is not None else None)

    def site_policy(self) -> dict:
        lab = self.phone_lab
        return {**lab.policy, "firmware_baselines": [*lab.policy["firmware_baselines"], switch_baseline()]}

    def state(self, name: str) -> dict:
        switch = self.switches[name]
        return self.phone_lab.bg.call(lambda: {"version": switch.version, "image": switch.state["image"],
                                               "startup": switch.startup_text(),
                                               "running": switch.running.render(switch.version),
                                               "flash": sorted(p.name for p in switch.flash_dir.iterdir()),
                                               "reachable": switch.reachable})

    def presented_key(self, name: str) -> str | None:
        """The host key the switch's SSH server presents right now (None while it does not answer)."""
        import paramiko

        switch = self.switches[name]
        try:
            with paramiko.Transport((switch.host, switch.port)) as transport:
                transport.start_client(timeout=5)
                return transport.get_remote_server_key().get_base64()
        except (OSError, EOFError, paramiko.SSHException):
            return None

    def wait_for(self, predicate, timeout: float = 10.0) -> bool:
        return wait_for(predicate, timeout)

    def stop(self) -> None:
        for switch in self.switches.values():
            self.phone_lab.bg.run(switch.stop())
