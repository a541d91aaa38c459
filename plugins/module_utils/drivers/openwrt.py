# -*- coding: utf-8 -*-
"""OpenWrt access point driver: UCI over SSH exec channels (paramiko), `wifi reload` to apply.

commit(): refuse if someone left staged UCI changes; stage the candidate `uci set/delete` commands; `uci commit
wireless`; `wifi reload` (OpenWrt renders hostapd configs; a refused config fails the reload); read back with
`uci show wireless` and check every value. Any failure restores the pre-change UCI state and reloads again.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.base import (
    ConfigDriver,
    DeviceFacts,
    WirelessConfig,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import (
    CommandRejected,
    ConnectionFailed,
    InvalidValue,
    UnexpectedOutput,
    VerificationFailed,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.ssh import paramiko_connect
from ansible_collections.aiphone.hardening.plugins.module_utils.network.guard import check_lines
from ansible_collections.aiphone.hardening.plugins.module_utils.network.wireless import openwrt_plan, parse_uci_show

ALLOWED_PREFIXES = ("uci set wireless.", "uci delete wireless.")


def restore_commands(backup: dict[str, dict[str, str]], current: dict[str, dict[str, str]]) -> list[str]:
    """uci commands that turn `current` back into `backup` (both from parse_uci_show)."""
    commands = [f"uci delete wireless.{name}" for name in current if name not in backup]
    for name, options in backup.items():
        have = current.get(name, {})
        if have.get(".type") != options.get(".type"):
            commands.append(f"uci set wireless.{name}={options['.type']}")
        commands += [f"uci set wireless.{name}.{key}={shlex.quote(value)}"
                     for key, value in options.items() if key != ".type" and have.get(key) != value]
        commands += [f"uci delete wireless.{name}.{key}" for key in have if key not in options]
    return commands


def expected_after(commands: list[str], before: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """The UCI state `commands` should produce (for the read-back check)."""
    state = {name: dict(options) for name, options in before.items()}
    for command in commands:
        words = shlex.split(command)
        path, _, value = words[2].partition("=")
        parts = path.split(".")
        if words[1] == "delete":
            if len(parts) == 2:
                state.pop(parts[1], None)
            else:
                state.get(parts[1], {}).pop(parts[2], None)
        elif len(parts) == 2:
            state.setdefault(parts[1], {})[".type"] = value
        else:
            state.setdefault(parts[1], {})[parts[2]] = value
    return state


class OpenWrtDriver(WirelessConfig, ConfigDriver):
    platform = "openwrt"
    vendor = "OpenWrt"

    @classmethod
    def wireless_plan(cls, intents: list, config_text: str, enable_radios: bool = True, rotate_keys: bool = False,
                      policy_tag: str = "default-policy-tag") -> tuple[list[str], list[str]]:
        """UCI shows keys as set, so every plan compares them (`rotate_keys` is implied); no policy tag here."""
        return openwrt_plan(intents, config_text, enable_radios)

    @classmethod
    def key_change_problems(cls, before: str, after: str, profiles: list[str]) -> list[str]:
        return []     # `uci show wireless` shows the key itself: the plan of the read-back already compares it

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.client = None
        self._candidate: list[str] = []
        self.backup_text: str | None = None
        self.rolled_back = False
        self.backup_file = None   # no on-device backup: the pre-change state is restored with uci commands

    def open(self) -> None:
        self.client = paramiko_connect(self.host, self.port, self.username, self.password, self.known_hosts_file,
                                       self.name, timeout=self.timeout)

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def controller_address(self) -> str | None:
        try:
            return self.client.get_transport().sock.getsockname()[0]
        except (AttributeError, OSError):
            return None

    def run(self, command: str) -> tuple[int, str, str]:
        try:
            _, stdout, stderr = self.client.exec_command(command, timeout=max(self.timeout, 30))
            out, err = stdout.read().decode(errors="replace"), stderr.read().decode(errors="replace")
            return stdout.channel.recv_exit_status(), out, err
        except OSError as exc:
            raise ConnectionFailed(f"{self.name}: session lost during {command.split()[0]}: {exc}",
                                   device=self.name) from exc

    def _checked_run(self, command: str, what: str) -> str:
        status, out, err = self.run(command)
        if status != 0:
            raise CommandRejected(f"{self.name}: {what} failed: {(err or out).strip()[-400:]}", device=self.name)
        return out

    def get_facts(self) -> DeviceFacts:
        try:
            board = json.loads(self._checked_run("ubus call system board", "ubus call system board"))
        except ValueError as exc:
            raise UnexpectedOutput(f"{self.name}: ubus call system board is not JSON", device=self.name) from exc
        release = board.get("release", {})
        facts: DeviceFacts = {"vendor": self.vendor, "platform": self.platform,
                              "hostname": board.get("hostname", ""), "model": board.get("model", ""),
                              "os_version": release.get("version", "")}
        if release.get("revision"):
            facts["image"] = release["revision"]
        return facts

    def get_config(self, source: str = "running") -> str:
        # UCI has no running/startup split that matters here: committed config is what `wifi reload` applies.
        return self._checked_run("uci show wireless", "uci show wireless")

    def load_candidate(self, lines: list[str]) -> None:
        for line in check_lines(lines):
            if not line.startswith(ALLOWED_PREFIXES):
                raise InvalidValue(f"{self.name}: refusing a non-UCI-wireless command: {line.split()[0]!r}")
        self._candidate = list(lines)

    def commit(self, verify: Callable[[str], list[str]] | None = None) -> None:
        if not self._candidate:
            return
        pending = self._checked_run("uci changes wireless", "uci changes")
        if pending.strip():
            raise CommandRejected(f"{self.name}: uncommitted UCI changes are pending (someone else's?); refusing "
                                  "to commit them along with ours. Inspect `uci changes wireless`.", device=self.name)
        self.backup_text = self.get_config()
        before = parse_uci_show(self.backup_text)
        with self.restored_on_failure():
            self._apply(self._candidate)
            after = parse_uci_show(self.get_config())
            if after != expected_after(self._candidate, before):
                raise VerificationFailed(f"{self.name}: `uci show wireless` does not show the intended values",
                                         device=self.name)
            problems = verify(self.get_config()) if verify else []
            if problems:
                raise VerificationFailed(f"{self.name}: read-back still differs: {len(problems)} command(s)",
                                         device=self.name, problems=problems)
        self._candidate = []

    def _apply(self, commands: list[str]) -> None:
        try:
            self._checked_run(" && ".join(commands), "staging the UCI changes")
        except CommandRejected:
            self.run("uci revert wireless")
            raise
        self._checked_run("uci commit wireless", "uci commit wireless")
        self._checked_run("wifi reload", "wifi reload (the access point refused the configuration)")

    def rollback(self) -> None:
        if self.backup_text is None:
            raise VerificationFailed(f"{self.name}: no backup taken in this session", device=self.name)
        self.run("uci revert wireless")
        backup = parse_uci_show(self.backup_text)
        commands = restore_commands(backup, parse_uci_show(self.get_config()))
        if commands:
            self._checked_run(" && ".join(commands), "restoring the previous UCI state")
            self._checked_run("uci commit wireless", "uci commit wireless (restore)")
        self._checked_run("wifi reload", "wifi reload (restore)")
        if parse_uci_show(self.get_config()) != backup:
            raise VerificationFailed(f"{self.name}: the restored UCI state differs from the backup", device=self.name)
        self.rolled_back = True
