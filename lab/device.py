"""The contract every simulated lab device implements, and the platform registry.

A device is one simulated box (switch, WLC, access point, phone) served from the lab's single asyncio event
loop on 127.0.0.1. The lab server builds devices from the site policy's ``devices`` list through
:data:`PLATFORMS` (keyed by the policy's ``platform`` value, as netmiko's dispatcher maps a device_type to a
class), starts them, and drives faults through :meth:`SimDevice.set_fault` / :meth:`SimDevice.clear_fault`.

Keep this module small and stable: other device families build on it.
"""

from __future__ import annotations

import abc
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

LOOPBACK_PREFIX = "127."

# Fault names shared by all device families; a device class lists the ones it models in ``supported_faults``.
FAULTS: dict[str, str] = {
    "auth_failure": "every login is refused, even with the right password",
    "host_key_change": "the device presents a new SSH host key (known_hosts checking must catch it)",
    "slow_responses": "every answer is delayed by params['delay'] seconds (default 2)",
    "drop_mid_transfer": "a file upload is cut after params['after_bytes'] bytes (default 1024)",
    "corrupt_image": "the next image written to flash is stored with damaged content",
    "insufficient_flash": "flash reports (and enforces) only params['free_bytes'] bytes free (default 1024)",
    "no_return_after_reload": "after a reload the device never becomes reachable again",
    "boots_old_version": "after a reload the device ignores the new image and boots the previous one",
    "busy_in_call": "the phone is in a call: safe reboots are postponed",
    "http_5xx": "every HTTP request answers params['status'] (default 500)",
    "poly_4001": "the Poly REST API answers Status 4001 (device busy)",
    # Configuration-session faults of IOS-style CLIs (lab/ios/faults.py says where each is seen on real boxes)
    "refuse_line": "config lines matching params['match'] (regex) are refused with params['answer'] "
                   "(default 'No such command', no %), not applied",
    "drop_line": "config lines matching params['match'] (regex) are accepted without a word but not applied",
    "no_end": "`end` is unknown in configuration mode (only `exit` leaves it)",
    "write_answers_ok": "`write memory` / `copy running-config startup-config` confirm with params['answer'] "
                        "(default 'OK') instead of [OK]",
    "copy_flash_error": "`copy running-config flash:<file>` answers 'Error opening running-config (Timed out)' "
                        "(no %) and writes nothing",
    "close_after_lines": "the session is closed right after the params['lines']-th configuration line (once)",
    "hold_line": "the first config line matching params['match'] (regex) gets no answer for params['seconds'] "
                 "(default 20), once; status() shows it under `held`",
    "no_configure_replace": "`configure replace` is not in this software (% Invalid input)",
}


class LabError(Exception):
    """A lab request that cannot be honoured; the message says what to change."""


@dataclass(frozen=True)
class Credentials:
    """Login of a simulated device. ``enable_secret`` is the privileged-exec password where the platform has one."""

    username: str
    password: str
    enable_secret: str | None = None

    def __repr__(self) -> str:  # never print secrets in logs or tracebacks
        return f"Credentials(username={self.username!r}, password=***, enable_secret=***)"


class SimDevice(abc.ABC):
    """One simulated device.

    Subclasses set ``platform`` (the site-policy platform value) and ``supported_faults``, and implement
    :meth:`start`, :meth:`stop` and :meth:`inventory_vars`. ``version`` is the firmware the device is running now.
    Per-device state that must survive a restart or a reload goes through :meth:`load_state` / :meth:`save_state`
    (a JSON file in ``state_dir``).
    """

    platform: ClassVar[str]
    supported_faults: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, name: str, model: str, version: str, host: str, port: int, state_dir: Path,
                 credentials: Credentials, **options: Any) -> None:
        if not host.startswith(LOOPBACK_PREFIX):
            raise LabError(f"{name}: the lab binds only to 127.0.0.0/8, not {host!r}")
        self.name = name
        self.model = model
        self.version = version
        self.host = host
        self.port = port
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.credentials = credentials
        self.options = options
        self.faults: dict[str, dict] = {}
        self.reachable = False
        self.link_up = True   # False while the switch port it is plugged into does not carry it (lab/links.py)

    # -- life cycle -------------------------------------------------------------------------------------------
    @abc.abstractmethod
    async def start(self) -> None:
        """Start serving on ``host``:``port`` (port 0 = any free port; set ``self.port`` to the bound one)."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Stop serving and close every client connection."""

    # -- faults -----------------------------------------------------------------------------------------------
    def set_fault(self, fault: str, **params: Any) -> None:
        """Activate ``fault`` (a key of :data:`FAULTS` listed in ``supported_faults``) with its parameters."""
        if fault not in self.supported_faults:
            supported = ", ".join(sorted(self.supported_faults)) or "none"
            raise LabError(f"{self.name}: fault {fault!r} is not modelled by platform {self.platform} "
                           f"(supported: {supported})")
        self.faults[fault] = dict(params)
        self.on_fault_changed(fault, active=True)

    def clear_fault(self, fault: str | None = None) -> None:
        """Clear one fault, or every fault when ``fault`` is None."""
        for name in [fault] if fault else list(self.faults):
            if self.faults.pop(name, None) is not None:
                self.on_fault_changed(name, active=False)

    def fault(self, name: str) -> dict | None:
        """Parameters of an active fault, or None when it is not active."""
        return self.faults.get(name)

    def on_fault_changed(self, fault: str, active: bool) -> None:  # noqa: B027 - an optional hook
        """Hook for faults that act at once (e.g. a new host key); the default does nothing."""

    async def settled(self) -> None:  # noqa: B027 - an optional hook
        """Return once what the last fault change set off at once is in place (the control socket answers a
        set_fault / clear_fault only then, so a test never races a restart it caused)."""

    # -- link (lab/links.py) -------------------------------------------------------------------------------
    async def set_link(self, up: bool) -> None:
        """The switch port this device is plugged into starts / stops carrying it. Device families that model
        it stop accepting connections while the link is down; the default only records it."""
        self.link_up = up

    # -- reporting --------------------------------------------------------------------------------------------
    @abc.abstractmethod
    def inventory_vars(self) -> dict:
        """Ansible host vars for this device: at least ansible_host, ansible_port, platform, model."""

    def status(self) -> dict:
        """What ``python -m lab status`` shows for the device."""
        return {
            "name": self.name,
            "platform": self.platform,
            "model": self.model,
            "version": self.version,
            "host": self.host,
            "port": self.port,
            "reachable": self.reachable,
            "link_up": self.link_up,
            "faults": {name: dict(params) for name, params in self.faults.items()},
        }

    # -- persistence ------------------------------------------------------------------------------------------
    @property
    def state_file(self) -> Path:
        return self.state_dir / "state.json"

    def load_state(self) -> dict:
        """The persisted state, or {} for a device that never saved any."""
        try:
            return json.loads(self.state_file.read_text())
        except FileNotFoundError:
            return {}

    def save_state(self, state: dict) -> None:
        """Persist ``state`` atomically (a crash never leaves half a file)."""
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=1, sort_keys=True))
        os.replace(tmp, self.state_file)


PLATFORMS: dict[str, type[SimDevice]] = {}


def register_platform(cls: type[SimDevice]) -> type[SimDevice]:
    """Class decorator: make ``cls`` the simulator of its ``platform`` value."""
    if cls.platform in PLATFORMS and PLATFORMS[cls.platform] is not cls:
        raise LabError(f"platform {cls.platform!r} is already simulated by {PLATFORMS[cls.platform].__name__}")
    unknown = cls.supported_faults - FAULTS.keys()
    if unknown:
        raise LabError(f"{cls.__name__} lists unknown faults {sorted(unknown)}; add them to lab.device.FAULTS")
    PLATFORMS[cls.platform] = cls
    return cls


# Modules whose import registers platforms. Device families still being written are skipped until they land.
PLATFORM_MODULES = ("lab.ios", "lab.wlc9800", "lab.openwrt", "lab.phones")


def load_platforms() -> dict[str, type[SimDevice]]:
    """Import every device family that exists and return the registry."""
    import importlib

    for module in PLATFORM_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:  # a real missing dependency inside the module: do not hide it
                raise
    return PLATFORMS
