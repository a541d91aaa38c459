# -*- coding: utf-8 -*-
"""Cisco IOS / IOS-XE configuration driver (netmiko `cisco_ios`), also the base of the Catalyst 9800 WLC driver.

Life cycle (napalm verbs): load_candidate(lines) -> compare() -> commit() [flash backup, push, read back, verify,
save] / discard(); rollback() = `configure replace flash:<backup> force`. The lines are IOS config text with
children indented by one space; they come from `network.iosconfig.diff_config`, so only differences are sent.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.base import ConfigDriver, DeviceFacts
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.cisco_ios_firmware import CiscoIOSFirmwareMixin
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import (
    CommandRejected,
    ConnectionFailed,
    UnexpectedOutput,
    VerificationFailed,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.ssh import local_address, netmiko_connect
from ansible_collections.aiphone.hardening.plugins.module_utils.network.guard import check_lines
from ansible_collections.aiphone.hardening.plugins.module_utils.network.iosconfig import (
    parse_running_config,
    verify_applied,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.snmp import parse_snmp_users

# How IOS refuses a line; read-back verification is still what decides success.
IOS_ERROR_PATTERN = r"% ?(?:Invalid|Incomplete|Ambiguous|Unknown|Unrecognized|Bad|Error)|\^\s*$"
CONFIG_NOISE = re.compile(r"^(Building configuration|Current configuration|! Last configuration change|"
                          r"! NVRAM config last updated|ntp clock-period)")


def _uptime_seconds(parsed: dict) -> int | None:
    units = {"uptime_years": 365 * 86400, "uptime_weeks": 7 * 86400, "uptime_days": 86400,
             "uptime_hours": 3600, "uptime_minutes": 60}
    if not any(parsed.get(key) for key in units):
        return None
    return sum(int(parsed.get(key) or 0) * seconds for key, seconds in units.items())


def config_body(text: str) -> list[str]:
    """Config lines without the volatile header lines (to compare a restored config with its backup)."""
    return [line.rstrip() for line in text.splitlines() if line.strip() and not CONFIG_NOISE.match(line)]


def _batches(lines: list[str]) -> list[list[str]]:
    """Banners go alone: netmiko turns off per-line echo verification for a whole batch holding one, which makes
    every line wait for an idle timeout (seconds each) instead of its echo."""
    batches: list[list[str]] = []
    for line in lines:
        if line.startswith("banner ") or not batches or batches[-1][0].startswith("banner "):
            batches.append([line])
        else:
            batches[-1].append(line)
    return batches


class IOSXEConfigDriver(ConfigDriver):
    """Session + candidate life cycle for IOS-XE CLIs."""

    device_type = "cisco_ios"
    vendor = "Cisco"
    backup_filesystem = "flash:"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.connection = None          # netmiko BaseConnection once open (the firmware mixin uses it)
        self._candidate: list[str] = []
        self.backup_file: str | None = None   # flash:<name> of the last pre-change backup
        self.sent: list[str] = []             # every config line actually sent in this session
        self.rolled_back = False              # a failed commit was undone (and the restore verified)
        self._before: str | None = None       # running config when the backup was taken

    # -- session ------------------------------------------------------------------------------------------------
    def open(self) -> None:
        self.connection = netmiko_connect(
            self.device_type, self.host, self.port, self.username, self.password, self.known_hosts_file,
            self.name, timeout=self.timeout, secret=self.options.get("enable_secret") or "")
        if not self.connection.check_enable_mode():
            self.connection.enable()

    def close(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(Exception):
                self.connection.disconnect()
            self.connection = None

    def controller_address(self) -> str | None:
        return local_address(self.connection)

    def _show(self, command: str, **kwargs):
        try:
            return self.connection.send_command(command, read_timeout=max(self.timeout, 30), **kwargs)
        except OSError as exc:
            raise ConnectionFailed(f"{self.name}: session lost during {command!r}: {exc}", device=self.name) from exc

    # -- facts --------------------------------------------------------------------------------------------------
    def get_facts(self) -> DeviceFacts:
        parsed = self._show("show version", use_textfsm=True)
        if not isinstance(parsed, list) or not parsed:
            raise UnexpectedOutput(f"{self.name}: `show version` did not parse with ntc-templates", device=self.name)
        version = parsed[0]
        facts: DeviceFacts = {"vendor": self.vendor, "platform": self.platform,
                              "hostname": version.get("hostname", ""), "os_version": version.get("version", "")}
        optional = {"model": (version.get("hardware") or [None])[0], "serial": (version.get("serial") or [None])[0],
                    "image": version.get("running_image"), "last_reboot_reason": version.get("reload_reason"),
                    "mac_address": (version.get("mac_address") or [None])[0],
                    "uptime_seconds": _uptime_seconds(version)}
        facts.update({key: value for key, value in optional.items() if value not in (None, "")})
        return facts

    def get_config(self, source: str = "running") -> str:
        if source not in ("running", "startup"):
            raise ValueError(f"source must be 'running' or 'startup', not {source!r}")
        return self._show(f"show {source}-config")

    def get_snmp_users(self) -> list[dict]:
        """SNMPv3 users as `show snmp user` lists them (ntc-templates records: user_name, group_name,
        authentication_protocol, privacy_protocol, ...); IOS never shows them in the running config."""
        try:
            return parse_snmp_users(self._show("show snmp user"))
        except UnexpectedOutput as exc:
            raise UnexpectedOutput(f"{self.name}: {exc}", device=self.name) from exc

    # -- candidate life cycle -----------------------------------------------------------------------------------
    def load_candidate(self, lines: list[str]) -> None:
        self._candidate = list(check_lines(lines))

    def compare(self) -> str:
        return "\n".join(self._candidate)

    def discard(self) -> None:
        self._candidate = []

    def commit(self, verify=None) -> None:
        """Back up to flash, push the candidate, read back; any failure restores the backup and re-raises.

        `verify(running_text) -> list[str]` may add checks of the whole intent (problems -> VerificationFailed).
        """
        if not self._candidate:
            return
        self._before = self.get_config()
        self.backup_file = self.backup_to_flash()
        with self.restored_on_failure(by_hand=f"; restore {self.backup_file} by hand"):
            self._push(self._candidate)
            running = self.get_config()
            problems = verify_applied(self._candidate, parse_running_config(running))
            problems += verify(running) if verify else []
            if problems:
                raise VerificationFailed(f"{self.name}: read-back does not show: {'; '.join(problems[:10])}",
                                         device=self.name)
        self.save()
        self._candidate = []

    def _push(self, lines: list[str]) -> None:
        from netmiko.exceptions import ConfigInvalidException
        try:
            for batch in _batches([line.strip() for line in lines]):
                self.connection.send_config_set(batch, error_pattern=IOS_ERROR_PATTERN,
                                                read_timeout=max(self.timeout, 30), exit_config_mode=False)
        except ConfigInvalidException as exc:
            raise CommandRejected(f"{self.name}: device refused a line: {str(exc).strip()[-400:]}",
                                  device=self.name) from exc
        except OSError as exc:
            raise ConnectionFailed(f"{self.name}: session lost during the push: {exc}", device=self.name) from exc
        finally:
            self.sent += lines
            if self.connection.check_config_mode():
                self.connection.exit_config_mode()

    def _send_exec(self, command: str, timeout: int = 60) -> str:
        """An exec command that may ask for confirmation ("Destination filename [x]?"): accept the default."""
        output = self.connection.send_command(command, expect_string=r"\?\s*$|#\s*$", strip_prompt=False,
                                              read_timeout=max(self.timeout, timeout))
        if output.rstrip().endswith("?"):
            output += self.connection.send_command("\n", expect_string=r"#\s*$", strip_prompt=False,
                                                   read_timeout=max(self.timeout, timeout))
        return output

    def backup_to_flash(self) -> str:
        name = f"{self.backup_filesystem}aiphone-backup-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}.cfg"
        output = self._send_exec(f"copy running-config {name}")
        if re.search(r"%\s?(Error|Invalid)", output):
            raise CommandRejected(f"{self.name}: backup to {name} failed: {output.strip()[-200:]}", device=self.name)
        return name

    def rollback(self) -> None:
        """Restore the pre-change backup with `configure replace` and check the result."""
        if not self.backup_file:
            raise VerificationFailed(f"{self.name}: no backup taken in this session; nothing to roll back to",
                                     device=self.name)
        output = self._send_exec(f"configure replace {self.backup_file} force", timeout=120)
        if re.search(r"%\s?(Error|Invalid)|[Rr]ollback aborted|failed", output):
            raise VerificationFailed(f"{self.name}: configure replace failed: {output.strip()[-300:]}",
                                     device=self.name)
        if self._before is not None and \
                parse_running_config(self.get_config()) != parse_running_config(self._before):
            raise VerificationFailed(f"{self.name}: after configure replace the running config still differs "
                                     f"from the backup {self.backup_file}", device=self.name)
        self.rolled_back = True

    def save(self) -> None:
        output = self._send_exec("write memory")
        if "[OK]" not in output:
            raise CommandRejected(f"{self.name}: write memory did not confirm: {output.strip()[-200:]}",
                                  device=self.name)


class CiscoIOSDriver(CiscoIOSFirmwareMixin, IOSXEConfigDriver):
    """Catalyst switches running IOS / IOS-XE."""

    platform = "cisco_ios"


class CiscoWLC9800Driver(IOSXEConfigDriver):
    """Catalyst 9800 wireless controllers (IOS-XE CLI; WLAN configuration)."""

    platform = "cisco_wlc9800"
    backup_filesystem = "bootflash:"
