# -*- coding: utf-8 -*-
"""Cisco IOS / IOS-XE configuration driver (netmiko `cisco_ios`), also the base of the Catalyst 9800 WLC driver.

Life cycle (drivers.base.ConfigDriver): load_candidate(lines) -> commit() [flash backup, push, read back, verify,
save]; rollback() = `configure replace flash:<backup> force`. The lines are IOS config text with
children indented by one space; they come from `network.iosconfig.diff_config`, so only differences are sent.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import time
from collections.abc import Callable

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.base import (
    ConfigDriver,
    DeviceFacts,
    LocalLogin,
    SnmpUsers,
    WirelessConfig,
    change_failure,
    listed,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.cisco_ios_firmware import CiscoIOSFirmwareMixin
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import (
    CommandRejected,
    DriverError,
    UnexpectedOutput,
    VerificationFailed,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.ssh import (
    ReadTimeout,
    in_privileged_exec,
    local_address,
    netmiko_connect,
    session_step,
    short_error,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.guard import check_lines
from ansible_collections.aiphone.hardening.plugins.module_utils.network.iosconfig import (
    ACL_PHASE,
    change_phases,
    config_differences,
    parse_running_config,
    restore_commands,
    verify_applied,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.network.snmp import parse_snmp_users
from ansible_collections.aiphone.hardening.plugins.module_utils.network.wireless import (
    C9800_DEFAULT_POLICY_TAG,
    c9800_plan,
    c9800_stored_keys,
)

CONFIG_NOISE = re.compile(r"^(Building configuration|Current configuration|! Last configuration change|"
                          r"! NVRAM config last updated|ntp clock-period)")
# A configuration line is accepted only when the device answers it with nothing but the next prompt. The one
# exception are notices IOS prints for a line it did apply (Catalyst configuration guide, "Enabling PortFast"):
# they are removed, and whatever is left is a refusal.
ACCEPTED_NOTICES = {
    "spanning-tree portfast": re.compile(
        r"%\s?Warning: portfast should only be enabled on ports connected to a single\s+host\..*?Use with CAUTION"
        r"|%\s?Portfast (?:has been|will be) configured on \S+ but will only\s+have effect when the interface is"
        r" in a\s+non-trunking mode\.", re.S),
}
# The on-device backups the toolkit writes (backup_to_flash): the newest is the state before the last change.
BACKUP_NAME = re.compile(r"aiphone-backup-\d{8}T\d{6}\.cfg")
# `write memory`: "Building configuration..." then the confirmation, "[OK]" on IOS, "OK" on some images.
SAVE_CONFIRMATIONS = ("[OK]", "OK")


def _quote(text: str, limit: int = 200) -> str:
    """Device output as one quoted line for a message."""
    text = " | ".join(line.strip() for line in text.replace("\r", "").splitlines() if line.strip())
    return repr(text if len(text) <= limit else "..." + text[-limit:])


def _unexpected(line: str, answer: str) -> str:
    """What remains of the device's answer to `line` once known notices are removed ("" = accepted)."""
    for prefix, notice in ACCEPTED_NOTICES.items():
        if line == prefix or line.startswith(prefix + " "):
            answer = notice.sub("", answer)
    return answer.strip()


def _uptime_seconds(parsed: dict) -> int | None:
    units = {"uptime_years": 365 * 86400, "uptime_weeks": 7 * 86400, "uptime_days": 86400,
             "uptime_hours": 3600, "uptime_minutes": 60}
    if not any(parsed.get(key) for key in units):
        return None
    return sum(int(parsed.get(key) or 0) * seconds for key, seconds in units.items())


def config_body(text: str) -> list[str]:
    """Config lines without the volatile header lines (to compare a restored config with its backup)."""
    return [line.rstrip() for line in text.splitlines() if line.strip() and not CONFIG_NOISE.match(line)]


class IOSXEConfigDriver(LocalLogin, ConfigDriver):
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
        self.backup_problem: str | None = None    # why there is no backup on the device (commit goes on)
        self.controller_backup: str | None = None  # the caller's controller-side copy of the running config
        self.replace_supported: bool | None = None  # does this software have `configure replace` (None: not tried)

    # -- session ------------------------------------------------------------------------------------------------
    def open(self) -> None:
        self.connection = netmiko_connect(
            self.device_type, self.host, self.port, self.username, self.password, self.known_hosts_file,
            self.name, timeout=self.timeout, secret=self.options.get("enable_secret") or "")
        with session_step(self.name, "entering privileged exec mode (`enable`)"):
            privileged = in_privileged_exec(self.connection)   # the login prompt: no round trip to ask again
            if privileged is None:
                privileged = self.connection.check_enable_mode()
            if not privileged:
                self.connection.enable()

    def close(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(Exception):
                self.connection.disconnect()
            self.connection = None

    def controller_address(self) -> str | None:
        return local_address(self.connection)

    def _show(self, command: str, **kwargs):
        with session_step(self.name, f"`{command}`"):
            return self.connection.send_command(command, read_timeout=self.timeout, **kwargs)

    # -- facts --------------------------------------------------------------------------------------------------
    def get_facts(self) -> DeviceFacts:
        text = self._show("show version")
        try:
            from ntc_templates.parse import parse_output
            parsed = parse_output(platform="cisco_ios", command="show version", data=text)
        except Exception as exc:  # textfsm's own error types
            raise UnexpectedOutput(f"{self.name}: `show version` did not parse ({short_error(exc)}); it begins: "
                                   f"{_quote(chr(10).join(text.splitlines()[:3]))}", device=self.name) from exc
        if not parsed:
            raise UnexpectedOutput(f"{self.name}: `show version` did not parse with ntc-templates; it begins: "
                                   f"{_quote(chr(10).join(text.splitlines()[:3]))}", device=self.name)
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

    # -- candidate life cycle -----------------------------------------------------------------------------------
    def load_candidate(self, lines: list[str]) -> None:
        self._candidate = list(check_lines(lines))

    def commit(self, verify: Callable[[str], list[str]] | None = None, controller_backup: str | None = None) -> None:
        """Back up, push the candidate (ACLs first, read back), read back, verify, save; a failure is rolled back
        on a fresh session and raised with the whole story (see base.change_failure).

        `verify(running_text) -> list[str]` may add checks of the whole intent (problems -> VerificationFailed).
        `controller_backup` is the controller-side copy of the running config the caller wrote before.
        """
        if not self._candidate:
            return
        self.controller_backup = controller_backup
        self._before = self.get_config()
        try:
            self.backup_file = self.backup_to_flash()
        except DriverError as exc:   # the change goes on: it is ordered so that a stop half-way is never weaker
            self.backup_file, self.backup_problem = None, str(exc).removeprefix(f"{self.name}: ")
        try:
            self.push(self._candidate)
            running = self.get_config()
            problems = verify_applied(self._candidate, parse_running_config(running))
            problems += verify(running) if verify else []
            if problems:
                raise VerificationFailed(f"{self.name}: the read-back does not show what was sent",
                                         device=self.name, problems=problems)
        except DriverError as failure:
            raise self._undo(failure) from failure
        self.save()
        self._candidate = []

    def _undo(self, failure: DriverError) -> DriverError:
        """Roll back on a fresh session (the old one may be dead or stuck in a sub-mode); the failure to raise."""
        try:
            self.close()
            self.open()
            self.rollback()
            rollback_error = None
        except DriverError as exc:
            rollback_error = str(exc)
        message = change_failure(self.name, str(failure), failure.problems, rollback_error, self.restore_advice())
        return type(failure)(message, device=self.name, problems=failure.problems)

    def restore_advice(self) -> str:
        """Exactly what to restore, and from where, when the automatic rollback did not work."""
        advice = []
        if self.backup_file and self.replace_supported is False:
            advice.append(f"{self.backup_file} is on the device (checked with `dir`) but this software has no "
                          "`configure replace`: compare it with `show running-config` and undo the differences")
        elif self.backup_file:
            advice.append(f"`configure replace {self.backup_file} force` on the device ({self.backup_file} was "
                          "written and checked with `dir` before the change)")
        else:
            advice.append(f"there is NO backup on the device ({self.backup_problem or 'none was taken'})")
        if self.controller_backup:
            advice.append(f"the controller-side backup {self.controller_backup} is the running config before the "
                          "change (compare, then paste the differing lines)")
        advice.append("this run did not write the startup config: `reload` without saving also returns to it")
        return "; ".join(advice)

    # -- the push -----------------------------------------------------------------------------------------------
    def push(self, lines: list[str]) -> None:
        """Send the lines in phases so that a session cut at any point leaves the switch no more open than before:
        ACL definitions, read back complete before anything references them; then the rest; then the removal of
        ACLs no longer used (iosconfig.change_phases)."""
        phases = change_phases(lines)
        for number, (phase, phase_lines) in enumerate(phases, 1):
            self._config_session(phase_lines, f"{phase} ({number}/{len(phases)})")
            if phase == ACL_PHASE and number < len(phases):
                missing = verify_applied(phase_lines, parse_running_config(self.get_config()))
                if missing:
                    raise VerificationFailed(f"{self.name}: the ACLs do not read back complete, so nothing was "
                                             "pointed at them", device=self.name, problems=missing)

    def _prompt_pattern(self) -> str:
        return re.escape(self.connection.base_prompt) + r"(?:\([^()\s]*\))?[#>]\s*$"

    def _read_until(self, pattern: str, timeout: float) -> str:
        """Read up to `pattern`; a channel the device closed is EOFError at once (netmiko's own read would wait for
        its timeout), no prompt in `timeout` seconds is ReadTimeout."""
        output, deadline = "", time.monotonic() + timeout
        channel = self.connection.remote_conn
        while True:
            output += self.connection.read_channel()
            if re.search(pattern, output):
                return output
            if getattr(channel, "closed", False) or getattr(channel, "eof_received", False):
                output += self.connection.read_channel()
                if re.search(pattern, output):
                    return output
                raise EOFError(f"the device closed the session (it had answered {_quote(output)})")
            if time.monotonic() > deadline:
                raise ReadTimeout(f"no prompt within {timeout} s (the device had answered {_quote(output)})")
            time.sleep(0.001)

    def _send_line(self, text: str, timeout: float | None = None) -> tuple[str, str]:
        """Send one line; (what the device answered besides the echo, the prompt that followed)."""
        pattern = self._prompt_pattern()
        self.connection.write_channel(text + self.connection.RETURN)
        output = self._read_until(pattern, timeout or self.timeout).replace("\r", "")
        match = list(re.finditer(pattern, output))[-1]
        body = output[:match.start()].split("\n")
        if body and " ".join(body[0].split()).endswith(" ".join(text.split())):
            body = body[1:]            # the echo of the line
        return "\n".join(body).strip(), match.group(0).strip()

    def _config_session(self, lines: list[str], phase: str) -> None:
        """One configuration-mode session; every line must be answered by the next prompt alone."""
        with session_step(self.name, f"{phase}: entering configuration mode"):
            answer, prompt = self._send_line("configure terminal")
        if "(config" not in prompt:
            raise CommandRejected(f"{self.name}: {phase}: `configure terminal` did not enter configuration mode "
                                  f"(answered {_quote(answer)}, prompt {prompt!r})", device=self.name)
        try:
            for index, line in enumerate(lines, 1):
                step = f"{phase}: line {index}/{len(lines)} {line.strip()!r}"
                with session_step(self.name, step):
                    answer, prompt = self._send_line(line.strip())
                self.sent.append(line)
                refusal = _unexpected(line.strip(), answer)
                if refusal:
                    rest = len(lines) - index
                    raise CommandRejected(f"{self.name}: {step}: the device did not accept it"
                                          + (f" ({rest} later lines of this step not sent)" if rest else ""),
                                          device=self.name, problems=[f"{line.strip()} -> {_quote(refusal)}"])
        except DriverError:
            with contextlib.suppress(DriverError):
                self._leave_config_mode(phase)
            raise
        self._leave_config_mode(phase)

    def _leave_config_mode(self, phase: str) -> None:
        """`end`; a CLI without it (older / IOS-like boxes) is walked out with `exit`."""
        with session_step(self.name, f"{phase}: leaving configuration mode"):
            answer, prompt = self._send_line("end")
            for _ in range(8):
                if "(config" not in prompt:
                    return
                answer, prompt = self._send_line("exit")
        raise CommandRejected(f"{self.name}: {phase}: neither `end` nor `exit` left configuration mode (last "
                              f"answer {_quote(answer)}, prompt {prompt!r})", device=self.name)

    def _send_exec(self, command: str, timeout: int = 60) -> str:
        """An exec command that may ask for confirmation ("Destination filename [x]?"): accept the default."""
        with session_step(self.name, f"`{command}`"):
            output = self.connection.send_command(command, expect_string=r"\?\s*$|#\s*$", strip_prompt=False,
                                                  read_timeout=max(self.timeout, timeout))
            if output.rstrip().endswith("?"):
                output += self.connection.send_command("\n", expect_string=r"#\s*$", strip_prompt=False,
                                                       read_timeout=max(self.timeout, timeout))
        return re.sub(self._prompt_pattern(), "", output.rstrip()).rstrip()

    def backup_to_flash(self) -> str:
        """`copy running-config <fs>:<name>`, proved by its "N bytes copied" and by `dir` listing the file."""
        name = f"{self.backup_filesystem}aiphone-backup-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}.cfg"
        output = self._send_exec(f"copy running-config {name}")
        if not re.search(r"\b\d+ bytes copied\b", output):
            raise CommandRejected(f"{self.name}: backup to {name} failed: the device answered {_quote(output)}",
                                  device=self.name)
        listing = self._show(f"dir {name}")
        if name.split(":", 1)[1] not in listing or re.search(r"Error|No such file", listing):
            raise CommandRejected(f"{self.name}: backup {name} is not on the device after the copy (`dir` answered "
                                  f"{_quote(listing)})", device=self.name)
        return name

    def backup(self, running: str) -> str:
        """Back up to flash (backup_to_flash); rollback() restores that file and compares the result with
        `running`, the config read just before."""
        self._before = running
        self.backup_file = self.backup_to_flash()
        return self.backup_file

    def backups(self) -> list[str]:
        listing = self._show(f"dir {self.backup_filesystem}")
        return [f"{self.backup_filesystem}{name}" for name in sorted(set(BACKUP_NAME.findall(listing)))]

    def restore(self, name: str) -> None:
        """`configure replace <name> force`, checked as rollback() checks it (the file's text is the reference)."""
        self.backup_file, self._before = name, None
        self.rollback()

    def restore_text(self, text: str) -> None:
        """Restore a whole configuration held by the controller (a decrypted backup): the inverse of the
        difference, pushed in the safe phases and read back, as rollback() without a flash file."""
        self.backup_file, self._before = None, text
        self.rollback()

    def rollback(self) -> None:
        """Restore the pre-change configuration: `configure replace` from the flash backup; on software without
        it (or without a backup on flash), the inverse of the change, computed from the config read before it
        (iosconfig.restore_commands) and pushed in the same safe phases. Either way the result is read back."""
        if not self.backup_file and self._before is None:
            raise VerificationFailed(f"{self.name}: no backup taken in this session; nothing to roll back to",
                                     device=self.name)
        how = self._configure_replace() if self.backup_file else None
        if how is None:
            if self._before is None:
                raise VerificationFailed(f"{self.name}: `configure replace` is not supported and the pre-change "
                                         "config was not read; nothing to roll back to", device=self.name)
            self.push(restore_commands(parse_running_config(self._before),
                                        parse_running_config(self.get_config())))
        if self._before is not None:
            differ = config_differences(parse_running_config(self._before), parse_running_config(self.get_config()))
            if differ:
                raise VerificationFailed(f"{self.name}: after the rollback the running config still differs from "
                                         f"the pre-change one in: {listed(differ)}", device=self.name,
                                         problems=differ)
        self.rolled_back = True

    def _configure_replace(self) -> str | None:
        """`configure replace <backup> force`; None when this software has no `configure replace`."""
        command = f"configure replace {self.backup_file} force"
        output = self._send_exec(command, timeout=120)
        if re.search(r"% ?Invalid input|% ?Unrecognized command|% ?Unknown command", output) and \
                "Rollback" not in output:
            self.replace_supported = False
            return None
        self.replace_supported = True
        if not re.search(r"Rollback Done", output, re.I) or re.search(r"%|[Rr]ollback aborted|failed|Error", output):
            raise VerificationFailed(f"{self.name}: `{command}` failed: the device answered {_quote(output)}",
                                     device=self.name)
        return command

    def save(self) -> None:
        """`write memory`, accepted only when the device confirms ([OK] / OK) and says nothing else."""
        output = self._send_exec("write memory")
        said = [line.strip() for line in output.replace("\r", "").splitlines()
                if line.strip() and not line.strip().startswith("Building configuration")]
        if len(said) != 1 or said[0] not in SAVE_CONFIRMATIONS:
            raise CommandRejected(f"{self.name}: the change is in the running config (read back and verified) but "
                                  f"`write memory` did not confirm: the device answered {_quote(output)}; save it "
                                  "by hand with `write memory` (a reload now would bring back the old startup "
                                  "config)", device=self.name)


class CiscoIOSDriver(CiscoIOSFirmwareMixin, SnmpUsers, IOSXEConfigDriver):
    """Catalyst switches running IOS / IOS-XE."""

    platform = "cisco_ios"

    def get_snmp_users(self) -> list[dict]:
        """SNMPv3 users as `show snmp user` lists them (ntc-templates records: user_name, group_name,
        authentication_protocol, privacy_protocol, ...); IOS never shows them in the running config."""
        try:
            return parse_snmp_users(self._show("show snmp user"))
        except UnexpectedOutput as exc:
            raise UnexpectedOutput(f"{self.name}: {exc}", device=self.name) from exc


class CiscoWLC9800Driver(WirelessConfig, IOSXEConfigDriver):
    """Catalyst 9800 wireless controllers (IOS-XE CLI; WLAN configuration)."""

    platform = "cisco_wlc9800"
    backup_filesystem = "bootflash:"

    @classmethod
    def wireless_plan(cls, intents: list, config_text: str, enable_radios: bool = True, rotate_keys: bool = False,
                      policy_tag: str = C9800_DEFAULT_POLICY_TAG) -> tuple[list[str], list[str]]:
        """The 9800 has no radios to enable here (the APs joined to it carry them): `enable_radios` is unused."""
        return c9800_plan(intents, config_text, rotate_keys, policy_tag)

    @classmethod
    def key_change_problems(cls, before: str, after: str, profiles: list[str]) -> list[str]:
        """The controller stores a WLAN key encrypted, so the plan cannot compare it: it must at least differ."""
        old, new = c9800_stored_keys(before), c9800_stored_keys(after)
        return [f"WLAN {profile}: stored key unchanged" for profile in profiles
                if new.get(profile) is None or new.get(profile) == old.get(profile)]
