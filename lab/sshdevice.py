"""SSH transport shared by the lab's CLI devices (IOS-XE switch, 9800 WLC): asyncssh server, terminal, flash.

One asyncssh listener per device, all on the lab's single event loop. What a device *says* lives in its
subclass (:meth:`SSHDevice.run_shell`); this module handles what every SSH box does the same way: host key
persisted in the device's state dir, password logins, an interactive terminal that echoes like a router's vty
(typed-ahead lines are echoed when read, CR, LF or CRLF end a line, ``--More--`` paging), SCP into ``flash:``
with the flash size enforced, and going unreachable during a reload.
"""

from __future__ import annotations

import abc
import asyncio
import errno
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import asyncssh

from lab.device import SimDevice

log = logging.getLogger(__name__)

FLASH_PREFIXES = (b"flash:", b"bootflash:")
MORE = " --More-- "
_ERASE_MORE = "\b" * len(MORE) + " " * len(MORE) + "\b" * len(MORE)


class SessionClosed(Exception):
    """The client went away (EOF or connection lost)."""


class Terminal:
    """Line discipline of a vty: echo, line assembly, paging. Text in, text out (CRLF on the wire)."""

    def __init__(self, process: asyncssh.SSHServerProcess) -> None:
        self._process = process
        self._pending = ""
        self._after_cr = False
        self.length = 24
        self.width = 80

    def write(self, text: str) -> None:
        self._process.stdout.write(text.replace("\r\n", "\n").replace("\n", "\r\n"))

    async def _more_input(self) -> None:
        data = await self._process.stdin.read(4096)
        if not data:
            raise SessionClosed()
        self._pending += data

    async def readline(self, echo: bool = True) -> str:
        """The next line typed (without its line end); echoed as it is consumed unless ``echo`` is False.

        The echo of what one packet brought is written at once (as a device does), not one SSH message per
        character."""
        line: list[str] = []
        echoed: list[str] = []
        while True:
            if not self._pending:
                if echoed:
                    self.write("".join(echoed))
                    echoed.clear()
                while not self._pending:
                    await self._more_input()
            char, self._pending = self._pending[0], self._pending[1:]
            if char == "\n" and self._after_cr:  # CRLF is one line end
                self._after_cr = False
                continue
            self._after_cr = char == "\r"
            if char in "\r\n":
                self.write("".join(echoed) + "\n")
                return "".join(line)
            if char in "\x08\x7f":
                if line:
                    line.pop()
                    if echo:
                        echoed.append("\b \b")
            elif char == "\x1a":  # Ctrl-Z: IOS treats it as `end`
                self.write("".join(echoed) + "^Z\n")
                return "\x1a"
            elif char == "\x03":
                self.write("".join(echoed) + "^C\n")
                return ""
            elif char.isprintable() or char == "\t":
                line.append(char)
                if echo:
                    echoed.append(char)

    async def read_key(self) -> str:
        """One keystroke, not echoed (for --More-- and [confirm])."""
        while not self._pending:
            await self._more_input()
        char, self._pending = self._pending[0], self._pending[1:]
        if char == "\n" and self._after_cr:
            self._after_cr = False
            return await self.read_key()
        self._after_cr = char == "\r"
        return char

    async def page(self, text: str) -> None:
        """Write command output, pausing at ``--More--`` every screen unless `terminal length 0`."""
        lines = text.split("\n")
        if self.length <= 0 or len(lines) < self.length:
            self.write(text)
            return
        shown = 0
        screen = self.length - 1
        while shown < len(lines):
            chunk = lines[shown:shown + screen]
            shown += len(chunk)
            self.write("\n".join(chunk) + ("\n" if shown < len(lines) else ""))
            if shown >= len(lines):
                return
            self.write(MORE)
            key = await self.read_key()
            self.write(_ERASE_MORE)
            if key == " ":
                screen = self.length - 1
            elif key in "\r\n":
                screen = 1
            else:
                self.write("\n")
                return


class FlashSFTPServer(asyncssh.SFTPServer):
    """The device's ``flash:`` as seen by SCP: flat, size-limited, with transfer faults."""

    def __init__(self, chan: asyncssh.SSHServerChannel, device: SSHDevice) -> None:
        self._device = device
        super().__init__(chan, chroot=str(device.flash_dir).encode())
        self._failed: set[int] = set()

    def map_path(self, path: bytes) -> bytes:
        for prefix in FLASH_PREFIXES:
            path = path.removeprefix(prefix)
        name = path.strip(b"/")
        if b"/" in name or name in (b".", b".."):
            raise asyncssh.SFTPNoSuchFile("flash: has no sub-directories in the lab")
        return super().map_path(b"/" + name)

    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> object:
        local = Path(self.map_path(path).decode())
        if local.exists() and local.stat().st_nlink > 1:  # never write through a hard link to a shared image
            local.unlink()
        return super().open(path, pflags, attrs)

    def write(self, file_obj: object, offset: int, data: bytes) -> int:
        device = self._device
        drop = device.fault("drop_mid_transfer")
        if drop is not None and offset + len(data) > int(drop.get("after_bytes", 1024)):
            log.info("%s: fault drop_mid_transfer: cutting the connection at %d bytes", device.name, offset)
            self.connection.abort()
            raise asyncssh.SFTPConnectionLost("connection dropped (lab fault)")
        current = os.fstat(file_obj.fileno()).st_size  # type: ignore[attr-defined]
        growth = max(0, offset + len(data) - current)
        if growth > device.flash_free():
            self._failed.add(id(file_obj))
            raise asyncssh.SFTPFailure(f"%Error writing flash: (No space left on device) - {device.flash_free()}"
                                       " bytes free")
        return super().write(file_obj, offset, data)

    def close(self, file_obj: object) -> None:
        path = Path(os.readlink(f"/proc/self/fd/{file_obj.fileno()}"))  # type: ignore[attr-defined]
        super().close(file_obj)
        if id(file_obj) in self._failed:  # IOS removes what it could not finish writing
            path.unlink(missing_ok=True)
        elif self._device.fault("corrupt_image") is not None:
            self._device.corrupt_flash_file(path.name)


class _SSHServer(asyncssh.SSHServer):
    def __init__(self, device: SSHDevice) -> None:
        self._device = device

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._device.connections.add(conn)
        self._conn = conn

    def connection_lost(self, exc: Exception | None) -> None:
        self._device.connections.discard(self._conn)

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def kbdint_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return False

    async def validate_password(self, username: str, password: str) -> bool:
        device = self._device
        if device.fault("auth_failure") is not None:
            log.info("%s: fault auth_failure: refusing %s", device.name, username)
            return False
        return device.check_password(username, password)


class SSHDevice(SimDevice):
    """A device managed over SSH. Subclasses implement :meth:`check_password` and :meth:`run_shell`."""

    ssh_version: ClassVar[str] = "Cisco-1.25"
    supported_faults = frozenset({"auth_failure", "host_key_change", "slow_responses", "drop_mid_transfer",
                                  "corrupt_image", "insufficient_flash"})
    flash_capacity: int = 16 * 1024 * 1024

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.flash_dir = self.state_dir / "flash"
        self.flash_dir.mkdir(exist_ok=True)
        self.flash_capacity = int(self.options.get("flash_capacity", self.flash_capacity))
        self.connections: set[asyncssh.SSHServerConnection] = set()
        self._listener: asyncssh.SSHAcceptor | None = None
        self._host_key: asyncssh.SSHKey | None = None
        self._tasks: set[asyncio.Task] = set()
        self._rekeying: asyncio.Task | None = None

    # -- SSH listener -----------------------------------------------------------------------------------------
    @property
    def host_key_path(self) -> Path:
        return self.state_dir / "ssh_host_ed25519_key"

    def _load_host_key(self, path: Path) -> asyncssh.SSHKey:
        if path.exists():
            return asyncssh.read_private_key(path)
        key = asyncssh.generate_private_key("ssh-ed25519")
        key.write_private_key(path)
        os.chmod(path, 0o600)
        return key

    def public_host_key(self) -> str:
        """``ssh-ed25519 AAAA...`` of the key the device presents now (for known_hosts)."""
        assert self._host_key is not None
        return self._host_key.export_public_key().decode().strip()

    async def start(self) -> None:
        self._host_key = self._load_host_key(self.host_key_path)
        await self.listen()

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.go_offline()

    async def listen(self) -> None:
        """Accept SSH connections (again). Port 0 picks a free port, kept for the next reload."""
        if self._listener is not None or not self.link_up:   # unplugged: stays unreachable (lab/links.py)
            return
        self._listener = await asyncssh.create_server(
            lambda: _SSHServer(self), self.host, self.port,
            server_host_keys=[self._host_key], server_version=self.ssh_version,
            process_factory=self._session, encoding="utf-8", errors="replace", line_editor=False,
            sftp_factory=lambda chan: FlashSFTPServer(chan, self), allow_scp=True,
            keepalive_interval=0, login_timeout=30, reuse_address=True)
        self.port = self._listener.get_port()
        self.reachable = True

    async def set_link(self, up: bool) -> None:
        self.link_up = up
        if not up:
            await self.go_offline()
        elif self._listener is None and not self.booting():
            await self.listen()

    def booting(self) -> bool:
        """True while a reload is under way or the device hangs in one (it then comes up by itself, or never)."""
        return False

    async def go_offline(self) -> None:
        """Stop listening and drop every session, as a box that is reloading or powered off."""
        listener = self._close_now()
        if listener is not None:
            await listener.wait_closed()

    def _close_now(self) -> asyncssh.SSHAcceptor | None:
        """The synchronous part of going offline: from here on, connection attempts are refused."""
        self.reachable = False
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        for conn in list(self.connections):
            conn.abort()
        self.connections.clear()
        return listener

    def on_fault_changed(self, fault: str, active: bool) -> None:
        if fault != "host_key_change" or self._host_key is None:
            return
        self._host_key = self._load_host_key(self.state_dir / "ssh_host_ed25519_key.changed" if active
                                             else self.host_key_path)
        if self._listener is not None or self._rekeying is not None:
            # restart the SSH server with the other key; refused until it is back. Restarts run one after the
            # other: a set then a clear in quick succession must end on the key of the last change.
            self._close_now()
            self._rekeying = self.spawn(self._listen_after(self._rekeying))

    async def _listen_after(self, previous: asyncio.Task | None) -> None:
        if previous is not None:
            await asyncio.gather(previous, return_exceptions=True)
        self._close_now()   # the previous restart listened with the key before this change
        await self.listen()
        if self._rekeying is asyncio.current_task():
            self._rekeying = None

    async def settled(self) -> None:
        if self._rekeying is not None:
            await asyncio.gather(self._rekeying, return_exceptions=True)

    def spawn(self, coro: Any) -> asyncio.Task:
        """Run ``coro`` in the background, keeping a reference until it is done."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- sessions ---------------------------------------------------------------------------------------------
    async def _session(self, process: asyncssh.SSHServerProcess) -> None:
        username = process.get_extra_info("username")
        term = Terminal(process)
        try:
            if process.command is not None:
                await self.run_command(term, username, process.command)
            else:
                await self.run_shell(term, username)
        except (SessionClosed, BrokenPipeError, ConnectionError, asyncssh.Error):
            pass
        except Exception:  # a simulator bug must show in the lab log, not kill the listener
            log.exception("%s: session of %s failed", self.name, username)
        finally:
            if not process.is_closing():
                process.exit(0)

    async def respond_delay(self) -> None:
        """Fault slow_responses: hold every answer back."""
        slow = self.fault("slow_responses")
        if slow is not None:
            await asyncio.sleep(float(slow.get("delay", 2)))

    @abc.abstractmethod
    def check_password(self, username: str, password: str) -> bool:
        """True when ``username`` may log in with ``password``."""

    @abc.abstractmethod
    async def run_shell(self, term: Terminal, username: str) -> None:
        """Serve an interactive session until the user logs out."""

    async def run_command(self, term: Terminal, username: str, command: str) -> None:
        """Serve an exec request (``ssh device 'show version'``); default: refuse it."""
        term.write("% exec requests are not supported by this device\n")

    # -- flash ------------------------------------------------------------------------------------------------
    def flash_used(self) -> int:
        return sum(entry.stat().st_size for entry in os.scandir(self.flash_dir) if entry.is_file())

    def flash_free(self) -> int:
        low = self.fault("insufficient_flash")
        if low is not None:
            return int(low.get("free_bytes", 1024))
        return max(0, self.flash_capacity - self.flash_used())

    def flash_path(self, name: str) -> Path:
        """Local path of ``flash:<name>`` (``flash:/x``, ``bootflash:x`` and ``x`` alike); ValueError if invalid."""
        for prefix in FLASH_PREFIXES:
            if name.encode().startswith(prefix):
                name = name[len(prefix):]
        name = name.strip("/")
        if not name or "/" in name or name in (".", ".."):
            raise ValueError(name)
        return self.flash_dir / name

    def corrupt_flash_file(self, name: str) -> None:
        """Damage one byte in the middle of a flash file (fault corrupt_image)."""
        path = self.flash_path(name)
        if path.stat().st_nlink > 1:  # damage this device's copy only, never the shared image
            data = path.read_bytes()
            path.unlink()
            path.write_bytes(data)
        with path.open("r+b") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(size // 2)
            byte = handle.read(1)
            handle.seek(size // 2)
            handle.write(bytes([(byte[0] ^ 0xFF) if byte else 0]))
        log.info("%s: fault corrupt_image: damaged flash:%s", self.name, name)

    def install_flash_file(self, name: str, source: Path) -> None:
        """Put a shared image on flash without copying it (hard link; copy across file systems)."""
        target = self.flash_path(name)
        if target.exists():
            return
        try:
            os.link(source, target)
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
                raise
            target.write_bytes(source.read_bytes())


def after(seconds: float, action: Callable[[], Any], spawn: Callable[[Any], Any]) -> asyncio.TimerHandle:
    """Call ``action`` in ``seconds``; a coroutine it returns is run with ``spawn``."""
    def fire() -> None:
        result = action()
        if asyncio.iscoroutine(result):
            spawn(result)

    return asyncio.get_running_loop().call_later(seconds, fire)
