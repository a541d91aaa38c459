"""Firmware steps of Cisco IOS / IOS-XE switches, mixed into `cisco_ios.CiscoIOSDriver`.

The sequence of vendor-facts.md (as pyntc / ntc-ansible / Cisco's guides do it) [V]:
  cleanup   first of all, debris of an interrupted run: transient lines this driver adds only for a transfer
            (`ip scp server enable`) that are in the running but not in the startup config are removed, and a
            file under the target image's name whose size is not the image's (a cut transfer) is deleted - so
            the pre-check's `write memory` and backup never persist them.
  precheck  `dir flash:` free >= image size (+5%), running config saved (`write memory`) and backed up to flash
            (`copy running-config flash:<backup>`), interfaces that are up noted for the post-check.
  stage     `ip scp server enable` only while transferring; netmiko `file_transfer()` (SCP; skipped when the MD5
            already matches), then `verify /sha512 flash:<image> <sha512>`: the controller's copy matched the
            baseline sha256 first, so its sha512 is the value the device must compute.
  activate  bundle mode: `no boot system`, `boot system flash:<new>`, `boot system flash:<old>` (fallback),
            `write memory`, `reload`; install mode (running from packages.conf): `install add file flash:<new>
            activate prompt-level none` WITHOUT commit, so that it can be rolled back.
  wait      SSH answers again after having gone down (host key still checked against known_hosts).
  postcheck version = baseline, uptime reset, interfaces up as before, configuration unchanged (boot lines
            aside); install mode: `install commit`.
  recover   `configure replace flash:<backup> force` (restores the boot lines too) + `write memory`; install mode
            `install rollback to committed`; reload into the previous image when the device runs another one.

Uses from the host driver: `self.connection` (netmiko), `open()`/`close()`, `get_facts()`, `get_config()`,
`save()`, `backup()`, `rollback()` with `backup_file` (see cisco_ios.IOSXEConfigDriver).
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from typing import ClassVar

from ansible_collections.aiphone.hardening.plugins.module_utils import audit_trail
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.base import FirmwareDriver
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import (
    AuthenticationFailed,
    ChecksumMismatch,
    CommandRejected,
    DeviceUnreachable,
    DriverError,
    HostKeyMismatch,
    InsufficientSpace,
    TransferFailed,
    UnexpectedOutput,
    VerificationFailed,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.firmware.contract import Target, check_local_image

FLASH_FREE = re.compile(r"(\d+) bytes total \((\d+) bytes free\)")
DIR_ENTRY = re.compile(r"^\s*\d+\s+\S+\s+(\d+)\s+.*\s(\S+)\s*$")
SPACE_MARGIN = 0.05
INSTALL_MODE_IMAGE = "packages.conf"
# Lines the firmware steps add for the duration of one step and remove afterwards; never saved by the toolkit.
TRANSIENT_LINES = ("ip scp server enable",)
FATAL_ON_RECONNECT = (HostKeyMismatch, AuthenticationFailed)


def normalize_version(version: str) -> str:
    """IOS-XE prints 17.09.05 in one place and 17.9.5 in another (17.07.01prd16 / 17.7.1prd16 for a build with a
    suffix): compare without the leading zeros of each part."""
    return ".".join(re.sub(r"^0+(?=\d)", "", part) for part in version.strip().split("."))


def file_digest(path: str, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class CiscoIOSFirmwareMixin(FirmwareDriver):
    # typical reload of a Catalyst 9000 incl. image expansion [I]; the inventory overrides it per device
    model_reboot_seconds: ClassVar[dict[str, int]] = {"C9300-24P": 600, "C9300-48P": 600,
                                                      "C9200L-24P-4G": 480, "C9200L-48P-4G": 480}

    # -- reading ----------------------------------------------------------------------------------------------
    @property
    def reboot_seconds(self) -> float:
        configured = self.options.get("reboot_seconds")
        return float(configured) if configured else self.model_reboot_seconds.get(self.options.get("model", ""), 600)

    def get_firmware(self) -> dict:
        facts = self.get_facts()
        image = str(facts.get("image", "")).split(":", 1)[-1].lstrip("/")
        self._fw_facts = {"version": normalize_version(facts.get("os_version", "")), "image": image,
                          "model": facts.get("model", ""), "uptime_seconds": facts.get("uptime_seconds")}
        return dict(self._fw_facts)

    def close(self) -> None:
        self._fw_facts = None            # facts are per session: the next one may follow a reload
        super().close()

    def _firmware_now(self) -> dict:
        """The firmware read earlier in this session (a session never spans a reload), else a fresh read."""
        return dict(getattr(self, "_fw_facts", None) or self.get_firmware())

    def flash_status(self) -> tuple[int, dict[str, int]]:
        """(bytes free, {file: size}) from `dir flash:`."""
        output = self._show("dir flash:")
        match = FLASH_FREE.search(output)
        if not match:
            raise UnexpectedOutput(f"`dir flash:` shows no 'bytes free' line: {output.strip()[-200:]}", self.name)
        files = {m.group(2): int(m.group(1)) for m in map(DIR_ENTRY.match, output.splitlines()) if m}
        return int(match.group(2)), files

    def interfaces_up(self) -> set[str]:
        rows = self._show("show interfaces status", use_textfsm=True)
        if not isinstance(rows, list):
            raise UnexpectedOutput("`show interfaces status` did not parse with ntc-templates", self.name)
        return {row.get("port") or row.get("interface", "") for row in rows if row.get("status") == "connected"}

    def install_mode(self, before: dict) -> bool:
        return before.get("image") == INSTALL_MODE_IMAGE

    # -- cleanup ----------------------------------------------------------------------------------------------
    def clear_transient(self) -> list[str]:
        """Remove the TRANSIENT_LINES an interrupted run left in the running config (present there, absent from
        the startup config: the toolkit never saves them); returns the lines removed. Call before any save."""
        running = set(self.get_config().splitlines())
        startup = set(self.get_config("startup").splitlines())
        debris = [line for line in TRANSIENT_LINES if line in running and line not in startup]
        if debris:
            self._config([f"no {line}" for line in debris])
        self.transient_removed = debris
        return debris

    def _clear_partial_image(self, target: Target, files: dict[str, int]) -> bool:
        """Delete a cut copy of the target image (its name, another size) left by an interrupted transfer."""
        if target.image not in files or files[target.image] == target.size:
            return False
        output = self.connection.send_command_timing(f"delete /force flash:{target.image}", read_timeout=30)
        if re.search(r"%\s?(Error|Invalid)", output):
            raise CommandRejected(f"could not delete the partial flash:{target.image}: {output.strip()[-200:]}",
                                  self.name)
        return True

    # -- steps ------------------------------------------------------------------------------------------------
    def precheck(self, target: Target) -> dict:
        debris = self.clear_transient()
        facts = self._firmware_now()
        if facts["model"] and facts["model"] != target.model:
            raise VerificationFailed(f"the switch reports model {facts['model']!r}, the baseline is for "
                                     f"{target.model!r}", self.name)
        check_local_image(target, self.name)
        free, files = self.flash_status()
        partial = self._clear_partial_image(target, files)
        if partial:
            free, files = self.flash_status()
        needed = 0 if files.get(target.image) == target.size else int(target.size * (1 + SPACE_MARGIN))
        if free < needed:
            raise InsufficientSpace(f"flash: has {free} bytes free, {target.image} needs {needed} (size + 5%); "
                                    "remove unused images (IOS-XE: `install remove inactive`)", self.name)
        self.save()
        self._fw_config = self.get_config()
        self._fw_config_digest = self._config_digest(self._fw_config)
        self.backup(self._fw_config)                     # rollback() restores it and compares with _fw_config
        self._fw_interfaces = self.interfaces_up()
        self._fw_uptime = facts.get("uptime_seconds")
        backup_dir = self.options.get("backup_dir")
        if backup_dir:        # for reading: the recovery restores the flash copy; secrets masked here
            audit_trail.write_redacted(os.path.join(backup_dir, f"{self.name}-before-firmware.cfg"),
                                       self._fw_config, [self.options.get(k) for k in ("password", "enable_secret")])
        return {"flash_free": free, "backup": self.backup_file, "interfaces_up": len(self._fw_interfaces),
                "transient_removed": debris, "partial_image_removed": partial}

    def resume_evidence(self, target: Target) -> dict:
        """What a later run's post-check / recovery needs after an interruption (names and digests, no secret)."""
        return {"image": target.image, "backup_file": self.backup_file, "uptime_seconds": self._fw_uptime,
                "interfaces_up": sorted(self._fw_interfaces), "config_sha256": self._fw_config_digest}

    def restore_evidence(self, evidence: dict) -> None:
        self.clear_transient()
        self.backup_file = evidence.get("backup_file")
        self._fw_uptime = evidence.get("uptime_seconds")
        self._fw_interfaces = set(evidence.get("interfaces_up") or [])
        self._fw_config_digest = evidence.get("config_sha256")
        self._before = None                  # the text is not kept across runs; the digest is

    def stage(self, target: Target) -> dict:
        from netmiko import file_transfer

        scp_was_on = "ip scp server enable" in self.get_config().splitlines()
        if not scp_was_on:
            self._config(["ip scp server enable"])
        try:
            outcome = file_transfer(self.connection, source_file=target.path, dest_file=target.image,
                                    file_system="flash:", direction="put", overwrite_file=True,
                                    socket_timeout=max(self.timeout, 30))
        except ValueError as exc:
            self._discard_partial(target)
            error = InsufficientSpace if "space" in str(exc).lower() else ChecksumMismatch
            raise error(f"transfer of {target.image}: {exc}", self.name) from None
        except Exception as exc:    # scp / paramiko / socket errors: the copy was cut
            self._discard_partial(target)
            raise TransferFailed(f"transfer of {target.image} cut: {exc or type(exc).__name__}", self.name) from None
        finally:
            if not scp_was_on and self.connection is not None:
                self._config(["no ip scp server enable"])
        self.verify_on_device(target)
        return dict(outcome)

    def verify_on_device(self, target: Target) -> None:
        expected = file_digest(target.path, "sha512")
        output = self._long(f"verify /sha512 flash:{target.image} {expected}")
        if "Verified" not in output:
            self._discard_partial(target)
            raise ChecksumMismatch(f"`verify /sha512 flash:{target.image}` does not match the baseline image: "
                                   f"{output.strip()[-200:]}", self.name)

    def activate(self, target: Target) -> None:
        before = self._firmware_now()
        self._fw_before = before
        self._fw_activated_at = time.monotonic()
        if self.install_mode(before):
            self._send_reloading(f"install add file flash:{target.image} activate prompt-level none")
            return
        self._config(["no boot system", f"boot system flash:{target.image}",
                      *([f"boot system flash:{before['image']}"] if before.get("image") else [])])
        self.save()
        self._send_reloading("reload")

    def wait_until_back(self, timeout: float) -> None:
        """Reconnect once the switch went down and came back (or its uptime restarted)."""
        self.close()
        deadline = time.monotonic() + timeout
        poll = min(1.0, max(0.2, self.reboot_seconds / 40))
        went_down = False
        while time.monotonic() < deadline:
            try:
                self.open()
            except FATAL_ON_RECONNECT:
                raise
            except Exception:
                went_down = True
                time.sleep(poll)
                continue
            uptime = self.get_firmware().get("uptime_seconds")
            before_uptime = getattr(self, "_fw_uptime", None)
            if went_down or (uptime is not None and before_uptime and uptime < before_uptime):
                return
            self.close()      # still the session before the reload took effect
            time.sleep(poll)
        raise DeviceUnreachable(f"SSH did not answer within {timeout:.0f}s after the reload", self.name)

    def postcheck(self, target: Target, before: dict) -> dict:
        now = self.get_firmware()
        if now["version"] != normalize_version(target.version):
            reason = self.get_facts().get("last_reboot_reason", "")
            raise VerificationFailed(f"after the reload the switch runs {now['version']}, not {target.version}"
                                     f"{f' ({reason})' if reason else ''}", self.name)
        lost = self._fw_interfaces - self.interfaces_up()
        if lost:
            raise VerificationFailed(f"interfaces up before the upgrade are down now: {', '.join(sorted(lost))}",
                                     self.name)
        if self._config_digest(self.get_config()) != self._fw_config_digest:
            raise VerificationFailed("the running configuration differs from the one saved before the upgrade",
                                     self.name)
        if self.install_mode(before):
            self._expect(self._long("install commit"), "SUCCESS", "install commit")
        return now

    def recover(self, target: Target, before: dict) -> dict:
        """Back to the image and configuration of before: raises DeviceUnreachable when the switch is gone."""
        self._reconnect(self.reboot_timeout)
        install = self.install_mode(before)
        if self.get_firmware()["version"] != before["version"]:
            if install:
                self._send_reloading("install rollback to committed prompt-level none")
            else:
                self._config(["no boot system", f"boot system flash:{before['image']}"])
                self.save()
                self._send_reloading("reload")
            self.wait_until_back(self.reboot_timeout)
        if not install:
            self.rollback()      # configure replace from the backup, on the image it was taken on
            self.save()
        now = self.get_firmware()
        if now["version"] != before["version"]:
            raise VerificationFailed(f"recovery left the switch on {now['version']}, not {before['version']}",
                                     self.name)
        return now

    # -- helpers ----------------------------------------------------------------------------------------------
    def _config(self, lines: list[str]) -> None:
        output = self.connection.send_config_set(lines, read_timeout=max(self.timeout, 30))
        if re.search(r"% ?(Invalid|Incomplete|Ambiguous)", output):
            raise CommandRejected(f"the switch refused {lines}: {output.strip()[-200:]}", self.name)

    def _long(self, command: str) -> str:
        """A command that may run for minutes on real gear (verify of a 1 GB image, install commit)."""
        try:
            return self.connection.send_command(command, read_timeout=max(self.timeout, 600))
        except OSError as exc:
            raise DeviceUnreachable(f"session lost during {command!r}: {exc}", self.name) from None

    def _send_reloading(self, command: str) -> None:
        """Send a command that ends in a reload, answer its prompts as they appear (no fixed waits: the wait for
        the switch must see it go down); the session dropping is the expected end."""
        # install operations end with SUCCESS/FAILED before the reload (netmiko does not notice a closed channel)
        prompt = (rf"\[confirm\]|\[yes/no\]|\[y/n\]|(?:SUCCESS|FAILED): install_\w+|"
                  rf"{re.escape(self.connection.base_prompt)}[#>]\s*$")
        try:
            output = self.connection.send_command(command, expect_string=prompt, read_timeout=max(self.timeout, 900),
                                                  strip_prompt=False)
            if "[yes/no]" in output:          # unsaved changes: the boot lines were saved just before
                output = self.connection.send_command("no", expect_string=prompt, read_timeout=30,
                                                      strip_prompt=False)
            if re.search(r"FAILED|% ?(Invalid|Error)", output):
                raise CommandRejected(f"`{command}` failed: {output.strip()[-300:]}", self.name)
            if "[y/n]" in output:
                self.connection.write_channel("y")
            elif "[confirm]" in output:
                self.connection.write_channel("\n")
        except DriverError:
            raise
        except Exception:  # noqa: S110 - netmiko/paramiko errors as the switch drops the session to reload
            pass
        finally:
            time.sleep(0.1)                   # let the answer leave before the session is closed
            self.close()

    def _reconnect(self, timeout: float) -> None:
        if self.connection is not None:
            try:
                self.connection.find_prompt()
                return
            except Exception:
                self.close()
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.open()
                return
            except FATAL_ON_RECONNECT:
                raise
            except Exception as exc:
                if time.monotonic() > deadline:
                    raise DeviceUnreachable(f"no SSH answer within {timeout:.0f}s: {exc}", self.name) from None
                time.sleep(min(2.0, max(0.2, self.reboot_seconds / 20)))

    def _discard_partial(self, target: Target) -> None:
        """Remove a half-copied or damaged image so that flash holds only complete, verified files."""
        try:
            self._reconnect(self.timeout)
            self.connection.send_command_timing(f"delete /force flash:{target.image}", read_timeout=30)
        except Exception:
            return

    def _expect(self, output: str, marker: str, what: str) -> None:
        if marker not in output:
            raise CommandRejected(f"{what} failed: {output.strip()[-300:]}", self.name)

    @classmethod
    def _config_digest(cls, text: str) -> str:
        return hashlib.sha256("\n".join(cls._config_body(text)).encode()).hexdigest()

    @staticmethod
    def _config_body(text: str) -> list[str]:
        # the host driver's normaliser (imported here: cisco_ios imports this module)
        from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.cisco_ios import config_body

        # the boot lines change on purpose, and the `version` line follows the running image
        return [line for line in config_body(text) if not line.startswith(("boot system", "version "))]

