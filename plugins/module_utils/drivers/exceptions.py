# -*- coding: utf-8 -*-
"""Named failures of the driver layer, so modules report *what* went wrong instead of matching strings."""

from __future__ import annotations


class DriverError(Exception):
    """Base of every driver failure; `device` names the device when known."""

    def __init__(self, message: str, device: str | None = None, problems: list[str] | None = None):
        super().__init__(message)
        self.device = device
        self.problems = list(problems or [])   # every refused / missing item (a message shows the first ten)


class ConnectionFailed(DriverError):
    """The device did not answer (refused, timed out, dropped)."""


class AuthenticationFailed(DriverError):
    """The device refused the credentials."""


class HostKeyMismatch(DriverError):
    """The SSH host key is unknown or differs from the site's known_hosts (never auto-accepted)."""


class CommandRejected(DriverError):
    """The device refused a command or a configuration line (e.g. IOS `% Invalid input`)."""


class UnexpectedOutput(DriverError):
    """The device answered, but not in a shape the parser understands."""


class VerificationFailed(DriverError):
    """After a change, the state read back from the device does not match what was intended."""


class InsufficientSpace(DriverError):
    """Not enough free space on the device's storage for an image."""


class TransferFailed(DriverError):
    """A file transfer to the device failed or was cut."""


class ChecksumMismatch(DriverError):
    """A file on the device does not have the expected checksum."""


class DeviceBusy(DriverError):
    """The device refuses a disruptive action now (e.g. a phone in a call, Poly 4001)."""


class DeviceUnreachable(DriverError):
    """The device did not come back within the allowed time after a reload/reboot."""


class InvalidValue(DriverError):
    """A value destined for a device config failed validation (injection guard)."""
