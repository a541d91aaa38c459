# -*- coding: utf-8 -*-
"""SSH session mechanics shared by the network drivers (netmiko for CLIs, paramiko for exec-style devices).

Host keys are checked against the site's known_hosts file only: an unknown or changed key is REFUSED, never
added (RejectPolicy; the user's ~/.ssh/known_hosts is not consulted either). Library exceptions are mapped to the
named driver exceptions so modules report what went wrong instead of matching strings.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import (
    AuthenticationFailed,
    ConnectionFailed,
    DriverError,
    HostKeyMismatch,
)

try:
    import paramiko
    from netmiko.exceptions import (
        NetmikoAuthenticationException,
        NetmikoBaseException,
        NetmikoTimeoutException,
        ReadTimeout,
    )
    from netmiko.ssh_dispatcher import platforms as NETMIKO_PLATFORMS
    from netmiko.ssh_dispatcher import ssh_dispatcher
    HAS_SSH_LIBS = True
    SSH_IMPORT_ERROR = None
    # What netmiko / paramiko / sockets raise when a session goes wrong half-way: a closed channel (OSError,
    # EOFError), a prompt that never came (ReadTimeout), a mode it could not enter or leave (ValueError).
    SESSION_ERRORS: tuple = (OSError, EOFError, ValueError, NetmikoBaseException, paramiko.SSHException)
except ImportError as exc:  # reported by the module with missing_required_lib
    HAS_SSH_LIBS = False
    SSH_IMPORT_ERROR = exc
    SESSION_ERRORS = (OSError, EOFError, ValueError)
    ReadTimeout = TimeoutError


def short_error(exc: BaseException, limit: int = 240) -> str:
    """One line of a library error: netmiko's "Pattern not detected ... Things you might try to fix this: ..."
    advice is cut, whitespace folded, the rest capped at `limit` characters."""
    text = re.split(r"\bThings you might try", str(exc), maxsplit=1)[0]
    text = " ".join(text.split()) or type(exc).__name__
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _session_problem(exc: BaseException) -> str:
    if isinstance(exc, ReadTimeout):
        return f"no answer in time (slow or hung device): {short_error(exc)}"
    if isinstance(exc, (EOFError, OSError)) or "closed" in str(exc).lower() or "socket" in str(exc).lower():
        return f"the session was closed: {short_error(exc)}"
    return f"{type(exc).__name__}: {short_error(exc)}"


@contextlib.contextmanager
def session_step(name: str, step: str):
    """Any library exception inside a step of a device session becomes ConnectionFailed naming device and step."""
    try:
        yield
    except DriverError:
        raise
    except SESSION_ERRORS as exc:
        raise ConnectionFailed(f"{name}: {step}: {_session_problem(exc)}", device=name) from exc


def _require_known_hosts(known_hosts_file: str | None, name: str) -> str:
    if not known_hosts_file:
        raise HostKeyMismatch(f"{name}: no known_hosts file given; unknown host keys are never accepted "
                              "(set aiphone_known_hosts_file)", device=name)
    if not os.path.isfile(known_hosts_file):
        raise HostKeyMismatch(f"{name}: known_hosts file {known_hosts_file} does not exist", device=name)
    return known_hosts_file


def _root_cause(exc: BaseException) -> BaseException:
    """netmiko re-raises paramiko's host key errors as NetmikoTimeoutException: look at what it wrapped."""
    while (exc.__cause__ or exc.__context__) is not None and not isinstance(exc, paramiko.BadHostKeyException):
        exc = exc.__cause__ or exc.__context__
    return exc


def _map_error(exc: Exception, name: str, host: str, port: int | None) -> Exception:
    where = f"{name} ({host}:{port or 22})"
    original, exc = exc, _root_cause(exc)
    if isinstance(exc, paramiko.BadHostKeyException):
        return HostKeyMismatch(f"{where}: host key CHANGED since it was recorded in known_hosts; refusing to "
                               "connect (possible man-in-the-middle; re-verify the device before updating the file)",
                               device=name)
    if isinstance(exc, (paramiko.AuthenticationException, NetmikoAuthenticationException)):
        return AuthenticationFailed(f"{where}: authentication failed for the configured user", device=name)
    if isinstance(exc, paramiko.SSHException) and "known_hosts" in str(exc):
        return HostKeyMismatch(f"{where}: host key unknown (not in the site's known_hosts); refusing to connect",
                               device=name)
    if isinstance(exc, ReadTimeout):         # logged in, but the prompt never came (slow box, odd banner, pager)
        detail = " ".join(str(exc).split())[:200] or "ReadTimeout"
        return ConnectionFailed(f"{where}: logged in, but the device did not show its prompt in time ({detail}); "
                                "a slow device needs a larger `timeout` in the inventory", device=name)
    if isinstance(exc, ValueError) and "enable mode" in str(exc):
        return AuthenticationFailed(f"{where}: logged in, but privileged (enable) mode was refused; check the "
                                    "enable secret in the vault", device=name)
    if isinstance(exc, (NetmikoTimeoutException, socket.error, EOFError, paramiko.SSHException)):
        detail = " ".join(str(exc).split()) or type(exc).__name__
        return ConnectionFailed(f"{where}: {detail}", device=name)
    return original


_PROMPT_RECORDING: dict[type, type] = {}


def _prompt_recording(connection_class: type) -> type:
    """netmiko's class for a device type, remembering the last prompt find_prompt() read (`last_prompt`).

    netmiko's session preparation reads the prompt once (set_base_prompt -> find_prompt) and keeps only the
    hostname part; the prompt's last character says whether the login landed in privileged exec (`#`) or user
    exec (`>`), which a driver otherwise asks the device again (check_enable_mode: one more round trip per
    session)."""
    recording = _PROMPT_RECORDING.get(connection_class)
    if recording is None:
        class PromptRecording(connection_class):
            last_prompt = ""

            def find_prompt(self, *args, **kwargs):
                prompt = super().find_prompt(*args, **kwargs)
                self.last_prompt = prompt
                return prompt

        PromptRecording.__name__ = f"PromptRecording{connection_class.__name__}"
        recording = _PROMPT_RECORDING[connection_class] = PromptRecording
    return recording


def netmiko_connect(device_type: str, host: str, port: int | None, username: str, password: str,
                    known_hosts_file: str | None, name: str, timeout: int = 30, secret: str = "", **extra):
    """An open netmiko connection with strict host key checking (a netmiko BaseConnection of the class netmiko's
    ConnectHandler picks for `device_type`, which also keeps the login prompt as `last_prompt`)."""
    known_hosts = _require_known_hosts(known_hosts_file, name)
    if device_type not in NETMIKO_PLATFORMS:
        raise ValueError(f"netmiko has no device type {device_type!r}")
    params = dict(device_type=device_type, host=host, port=port or 22, username=username, password=password,
                  secret=secret, ssh_strict=True, system_host_keys=False, alt_host_keys=True,
                  alt_key_file=known_hosts, use_keys=False, allow_agent=False, conn_timeout=timeout,
                  auth_timeout=timeout, banner_timeout=timeout, **extra)
    try:
        return _prompt_recording(ssh_dispatcher(device_type))(**params)
    except Exception as exc:
        raise _map_error(exc, name, host, port) from exc


def in_privileged_exec(connection) -> bool | None:
    """From the prompt netmiko read at login: True in privileged exec (`#`), False in user exec (`>`), None when
    it was not recorded or ends otherwise (ask the device)."""
    prompt = (getattr(connection, "last_prompt", "") or "").rstrip()
    if prompt.endswith("#"):
        return True
    if prompt.endswith(">"):
        return False
    return None


def paramiko_connect(host: str, port: int | None, username: str, password: str, known_hosts_file: str | None,
                     name: str, timeout: int = 30):
    """An open paramiko SSHClient (exec channel devices such as OpenWrt) with strict host key checking."""
    known_hosts = _require_known_hosts(known_hosts_file, name)
    client = paramiko.SSHClient()
    client.load_host_keys(known_hosts)
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(host, port=port or 22, username=username, password=password, timeout=timeout,
                       auth_timeout=timeout, banner_timeout=timeout, look_for_keys=False, allow_agent=False)
    except Exception as exc:
        client.close()
        raise _map_error(exc, name, host, port) from exc
    return client


def local_address(connection) -> str | None:
    """The controller's address as the device sees it (for the VTY lock-out guard)."""
    try:
        return connection.remote_conn.get_transport().sock.getsockname()[0]
    except (AttributeError, OSError):
        return None
