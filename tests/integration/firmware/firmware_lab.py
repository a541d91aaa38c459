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
from lab.phones.harness import BackgroundLoop
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
            options["action_uri_limit_ip"] = "127.0.0.1"
        phone = cls(name, model, version or old, "127.0.0.1", 0, self.root / name,
                    Credentials(REST_USER.get(platform, "admin"), PASSWORD), **options)
        self.bg.run(phone.start())
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

    def power_cycle(self, name: str) -> None:
        """What a person on site does with a phone that never came back: unplug it and plug it in again."""
        phone = self.phones[name]
        if not self.bg.call(lambda: phone.reachable):
            self.bg.run(phone._come_up())

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
