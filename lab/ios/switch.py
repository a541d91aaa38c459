"""A Cisco Catalyst 9000 switch running IOS-XE: configuration, flash, boot and reload as the box does them."""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
import time
from pathlib import Path
from typing import Any

from lab import firmware_images
from lab.device import register_platform
from lab.ios import grammar, secrets
from lab.ios.cli import IOSCli
from lab.ios.config import ConfigSession, RunningConfig, parse_config
from lab.ios.snmp import SnmpUsers
from lab.sshdevice import SSHDevice, Terminal, after

log = logging.getLogger(__name__)

STARTUP_FILE = "nvram_startup-config"
PACKAGES_CONF = "packages.conf"
DEFAULT_CLIENT_ADDRESS = "10.10.10.100"  # where the lab's controller "stands" when a vty access-class is checked


def model_interfaces(model: str) -> list[str]:
    """Front-panel ports of a Catalyst 9200/9300 model: 24 or 48 access ports, 4 uplinks, the management port."""
    ports = 48 if "-48" in model else 24
    return (["GigabitEthernet0/0"] + [f"GigabitEthernet1/0/{n}" for n in range(1, ports + 1)]
            + [f"GigabitEthernet1/1/{n}" for n in range(1, 5)])


@register_platform
class IOSSwitch(SSHDevice):
    """Cisco IOS-XE switch (netmiko ``cisco_ios``, Ansible ``cisco.ios``).

    Options: ``reload_seconds`` (unreachable time of a reload, default 3), ``flash_capacity`` (bytes),
    ``image_size`` (lab build size), ``images_dir`` (shared lab builds), ``connected_ports`` ({port: peer}),
    ``client_address`` (source address used when a vty access-class is evaluated), ``serial``.
    """

    platform = "cisco_ios"
    supported_faults = SSHDevice.supported_faults | {"no_return_after_reload", "boots_old_version", "refuse_line",
                                                     "drop_line", "no_end", "write_answers_ok", "copy_flash_error",
                                                     "close_after_lines", "no_configure_replace",
                                                     "hold_line"}
    flash_capacity = 64 * 1024 * 1024
    model_family = "CAT9K_IOSXE"
    software_name = "Catalyst L3 Switch Software"
    flash_name = "flash"
    config_rules = grammar.RULES
    cli_class: type[IOSCli] = IOSCli

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.interfaces_list = self.physical_interfaces()
        self.reload_seconds = float(self.options.get("reload_seconds", 3))
        self.image_size = int(self.options.get("image_size", firmware_images.DEFAULT_IMAGE_SIZE))
        self.connected_ports: dict[str, str] = dict(self.options.get("connected_ports") or {})
        self.client_address = ipaddress.IPv4Address(self.options.get("client_address", DEFAULT_CLIENT_ADDRESS))
        self.state: dict[str, Any] = {}
        self.running = self.new_config()
        self.log_buffer: list[str] = []
        self._pending_boot: asyncio.TimerHandle | None = None
        self._hung = False     # a reload that never came back (fault no_return_after_reload)

    def physical_interfaces(self) -> list[str]:
        return model_interfaces(self.model)

    def new_config(self) -> RunningConfig:
        return self._with_snmp_users(RunningConfig(self.interfaces_list, self.config_rules,
                                                   self.validate_config_line))

    def read_config(self, text: str) -> tuple[RunningConfig, list[str]]:
        config, refused = parse_config(text, self.interfaces_list, self.config_rules, self.validate_config_line)
        return self._with_snmp_users(config), refused

    def _with_snmp_users(self, config: RunningConfig) -> RunningConfig:
        """SNMPv3 users live beside the configuration (they survive `configure replace` and reloads)."""
        if "mac" in self.state:
            config.snmp_users = SnmpUsers(self.state.setdefault("snmp_users", {}), self.snmp_engine_id)
        return config

    @property
    def snmp_engine_id(self) -> str:
        """IOS's default local engine ID: enterprise 9 (Cisco), format 3 (MAC address) [V: recorded output]."""
        return "800000090300" + self.state["mac"].replace(":", "").upper()

    def validate_config_line(self, mode: str, section: dict, text: str) -> None:
        """Device-specific refusal of a configuration line (raise ConfigError); switches have none."""

    # -- life cycle -------------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Power on: the boot loader picks the image, the startup config becomes the running config."""
        self.state = self.load_state()
        if not self.state:
            self._first_boot()
        self.version = self.state["version"]
        self.log_buffer = list(self.state.get("log", []))
        self.running = self.load_startup()
        self.load_image()
        await super().start()

    def _first_boot(self) -> None:
        image = firmware_images.image_filename(self.platform, self.model, self.version)
        self._stage_build(self.version, image)
        digest = hashlib.sha256(self.name.encode()).hexdigest()
        self.state = {
            "version": self.version, "image": image, "boot_mode": "BUNDLE", "install": {},
            "serial": self.options.get("serial") or "FOC" + digest[:8].upper(),
            "mac": ":".join(digest[i:i + 2] for i in range(8, 20, 2)),
            "booted_at": time.time(), "reload_reason": "Power On", "log": [],
        }
        config = self.factory_config(image)
        self.state["boot_var"] = [image]
        self.write_startup(config)
        self.save_state(self.state)

    def _stage_build(self, version: str, image: str) -> None:
        """Put the lab build of ``version`` on flash (shared file from the lab's image directory)."""
        images_dir = Path(self.options.get("images_dir") or self.state_dir / "images")
        images_dir.mkdir(parents=True, exist_ok=True)
        source = images_dir / f"{self.platform}-{self.model}-{version}-{self.image_size}.bin"
        if not source.exists():
            tmp = source.with_suffix(".tmp")
            tmp.write_bytes(firmware_images.make_image(self.platform, self.model, version, self.image_size))
            tmp.replace(source)
        self.install_flash_file(image, source)

    def factory_config(self, image: str) -> RunningConfig:
        """The configuration the lab ships: reachable over SSH, with the weaknesses a fresh install has."""
        config = self.new_config()
        session = ConfigSession(config)
        creds = self.credentials
        for line in [
            f"hostname {self.name}", "service timestamps debug datetime msec",
            "service timestamps log datetime msec", f"boot system flash:{image}",
            f"enable secret {creds.enable_secret or creds.password}",
            f"username {creds.username} privilege 15 secret {creds.password}",
            "ip domain name lab.example", "ip http server", "ip http secure-server", "ip ssh version 2",
            "snmp-server community public RO", "line con 0", "exec-timeout 0 0", "line vty 0 15",
            "login local", "transport input ssh telnet",
        ]:
            session.apply(line)
        return config

    # -- configuration storage --------------------------------------------------------------------------------
    def load_startup(self) -> RunningConfig:
        text = (self.state_dir / STARTUP_FILE).read_text() if (self.state_dir / STARTUP_FILE).exists() else ""
        config, refused = self.read_config(text)
        for line in refused:
            self.syslog(f"%PARSER-4-BADCFG: Unexpected end of configuration file or bad line: {line}")
        return config

    def write_startup(self, config: RunningConfig) -> None:
        (self.state_dir / STARTUP_FILE).write_text(config.render(self.version))
        self.state["modified"] = False

    def startup_text(self) -> str:
        path = self.state_dir / STARTUP_FILE
        return path.read_text() if path.exists() else ""

    def config_changed(self, username: str) -> None:
        self.state["modified"] = True
        self.state["changed"] = [time.time(), username]
        self.syslog(f"%SYS-5-CONFIG_I: Configured from console by {username} on vty0 (127.0.0.1)")

    def check_acl_references(self, command: str) -> None:
        """Lab probe, run after every configuration line: record any moment something referenced a missing ACL
        (status() shows them; the hitless ACL replacement test asserts there are none)."""
        dangling = self.running.dangling_acl_references()
        if dangling:
            events = self.state.setdefault("dangling_acl_events", [])
            shown = "snmp-server user ... (keys not kept)" if "snmp-server user" in command else command
            events.append({"command": shown, "references": dangling})
            del events[:-50]

    def record_cut(self, line_number: int, command: str) -> None:
        """Fault close_after_lines: keep the running config as it was when the session was cut (status() shows it:
        the test of a change stopped half-way looks at that state, not at the one after the rollback)."""
        self.state["cut"] = {"line": line_number, "command": command, "running": self.running.render(self.version)}
        self.save_state(self.state)

    def fault_log(self, message: str) -> None:
        log.info("%s: fault %s", self.name, message)

    def syslog(self, message: str) -> None:
        stamp = time.strftime("%b %d %H:%M:%S.000", time.gmtime())
        self.log_buffer.append(f"*{stamp}: {message}")
        del self.log_buffer[:-200]
        self.state["log"] = self.log_buffer
        self.save_state(self.state)

    # -- logins -----------------------------------------------------------------------------------------------
    def _user_entry(self, username: str) -> tuple[int, str, str] | None:
        """(privilege, type, stored secret) of a configured user."""
        line = self.running.value(f"username {username}")
        if line is None:
            return None
        words = line.split()
        privilege = int(words[words.index("privilege") + 1]) if "privilege" in words else 1
        kind, stored = words[-2], words[-1]
        return privilege, kind, stored

    def check_password(self, username: str, password: str) -> bool:
        entry = self._user_entry(username)
        return entry is not None and secrets.matches(entry[1], entry[2], password)

    def privilege_of(self, username: str) -> int:
        entry = self._user_entry(username)
        return entry[0] if entry else 1

    def check_enable(self, password: str) -> bool:
        line = self.running.value("enable secret") or self.running.value("enable password")
        if not line:
            return False
        kind, stored = line.split()[-2], line.split()[-1]
        return secrets.matches(kind, stored, password)

    def vty_refusal(self) -> str | None:
        """Why the vty lines refuse an SSH session from the controller, or None when they accept it."""
        lines = self.running.sections("line vty")
        vty = lines.get("line vty 0 4")
        children = vty.children if vty and vty.children else {}
        transport = children.get("transport input")
        if transport is not None and transport.line.split()[-1] not in ("ssh", "all") and "ssh" not in transport.line:
            return "transport input does not allow ssh"
        access_class = children.get("access-class")
        if access_class is not None:
            acl = access_class.line.split()[1]
            if not self.acl_permits(acl, self.client_address):
                return f"access-class {acl} denies {self.client_address}"
        return None

    def acl_permits(self, acl: str, address: ipaddress.IPv4Address) -> bool:
        """First-match evaluation of a standard/extended ACL for a TCP/22 packet from ``address``."""
        for prefix in ("ip access-list standard", "ip access-list extended"):
            node = self.running.nodes.get(f"{prefix} {acl}")
            if node is None or not node.children:
                continue
            for entry in node.children.values():
                words = entry.line.split()[1:]
                if words[0] == "remark":
                    continue
                action = words[0]
                rest = words[1:] if prefix.endswith("standard") else words[2:]
                if prefix.endswith("extended") and words[1] not in ("ip", "tcp"):
                    continue
                if _source_matches(rest, address):
                    return action == "permit"
            return False
        return True  # IOS permits everything through an access-class naming an ACL that does not exist

    # -- reload and firmware ----------------------------------------------------------------------------------
    def boot_candidates(self) -> tuple[list[str], str]:
        """(image files in boot order, boot mode) for the next reload: the `boot system` list; in install mode
        (`boot system flash:packages.conf`) the pending, else the activated install image."""
        boot = [line.split()[-1].split(":", 1)[1].lstrip("/") for line in self.running.lines_under("boot system")]
        if boot and boot[0] == PACKAGES_CONF:
            install = self.state.get("install") or {}
            return [install.get("pending") or install.get("activated") or self.state["image"]], "INSTALL"
        return boot or [self.state["image"]], "BUNDLE"

    def image_identity(self, name: str) -> tuple[str, str, str] | None:
        try:
            path = self.flash_path(name)
            return firmware_images.identify_image(path.read_bytes()) if path.is_file() else None
        except ValueError:
            return None

    async def reload(self, reason: str = "Reload Command") -> None:
        """Drop every session, stay unreachable for ``reload_seconds``, then boot the selected image."""
        log.info("%s: reloading (%s)", self.name, reason)
        self.state["reload_reason"] = reason
        self.save_state(self.state)
        await self.go_offline()
        self._pending_boot = after(self.reload_seconds, self.boot, self.spawn)

    def booting(self) -> bool:
        return self._pending_boot is not None or self._hung

    async def boot(self) -> None:
        """The end of a reload: load an image, then answer SSH again (unless the device never comes back)."""
        self._pending_boot = None
        self._hung = self.fault("no_return_after_reload") is not None
        if self._hung:
            log.info("%s: fault no_return_after_reload: staying down", self.name)
            return
        self.load_image()
        await self.listen()
        self.syslog(f"%SYS-5-RESTART: System restarted -- running {self.version} from flash:{self.state['image']}")

    def load_image(self) -> None:
        """What the boot loader does: the first valid image of the boot list, else the previous image again."""
        candidates, mode = self.boot_candidates()
        install = self.state.setdefault("install", {})
        chosen = None
        if self.fault("boots_old_version") is None:
            for image in candidates:
                identity = self.image_identity(image)
                if identity is not None and identity[:2] == (self.platform, self.model):
                    chosen = image, identity[2]
                    break
                self.syslog(f"%BOOT-3-IMAGE_INVALID: flash:{image} failed image validation, not booted [lab]")
        if chosen is None:  # nothing valid to boot (or the fault): the previous image comes up again
            chosen, mode = (self.state["image"], self.version), self.state.get("boot_mode", "BUNDLE")
            install.pop("pending_commit", None)
        if chosen[0] != candidates[0] and self.fault("boots_old_version") is None:
            self.state["reload_reason"] = (f"Image validation failed for flash:{candidates[0]}; booted "
                                           f"flash:{chosen[0]} instead")
        self.state.update(version=chosen[1], image=chosen[0], boot_mode=mode)
        if install.pop("pending", None) == chosen[0]:
            install["activated"] = chosen[0]
            if install.pop("pending_commit", False):
                install["committed"] = chosen[0]
        self.version = self.state["version"]
        self.state["booted_at"] = time.time()
        self.state["boot_count"] = self.state.get("boot_count", 0) + 1
        self.state["boot_var"] = [PACKAGES_CONF] if mode == "INSTALL" else candidates
        self.running = self.load_startup()
        self.save_state(self.state)

    def on_fault_changed(self, fault: str, active: bool) -> None:
        super().on_fault_changed(fault, active)
        if fault == "no_return_after_reload" and not active and not self.reachable and self._pending_boot is None:
            self.spawn(self.boot())

    async def stop(self) -> None:
        if self._pending_boot is not None:
            self._pending_boot.cancel()
        await super().stop()
        self.save_state(self.state)

    # -- sessions ---------------------------------------------------------------------------------------------
    async def run_shell(self, term: Terminal, username: str) -> None:
        refusal = self.vty_refusal()
        if refusal:
            log.info("%s: vty refuses the session: %s", self.name, refusal)
            return
        await self.cli_class(self, term, username).run()

    async def run_command(self, term: Terminal, username: str, command: str) -> None:
        if self.vty_refusal() is None:
            await self.cli_class(self, term, username).run_once(command)

    def inventory_vars(self) -> dict:
        return {
            "ansible_host": self.host, "ansible_port": self.port, "platform": self.platform, "model": self.model,
            "ansible_network_os": "cisco.ios.ios",
        }

    def status(self) -> dict:
        status = super().status()
        status.update(image=self.state.get("image"), boot_mode=self.state.get("boot_mode"),
                      dangling_acl_events=self.state.get("dangling_acl_events", []), cut=self.state.get("cut"),
                      held=self.state.get("held"),
                      boot_count=self.state.get("boot_count", 0),
                      reload_reason=self.state.get("reload_reason"), host_key=self.public_host_key()
                      if self._host_key else None)
        return status


def _source_matches(words: list[str], address: ipaddress.IPv4Address) -> bool:
    if not words:
        return False
    if words[0] == "any":
        return True
    if words[0] == "host":
        return ipaddress.IPv4Address(words[1]) == address
    base = int(ipaddress.IPv4Address(words[0]))
    wildcard = int(ipaddress.IPv4Address(words[1])) if len(words) > 1 and words[1].count(".") == 3 else 0
    return (int(address) & ~wildcard) == (base & ~wildcard)
