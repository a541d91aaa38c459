"""The IOS-XE command line of a lab switch: exec and privileged exec commands, configuration mode, pipes, paging.

Commands are matched word by word with IOS abbreviations (``sh ver``, ``conf t``, ``wr``); anything the lab does
not model answers ``% Invalid input detected at '^' marker.`` with the marker under the first word it could not
match, as IOS does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from lab.ios import faults, show
from lab.ios.config import INCOMPLETE, INVALID, ConfigError, ConfigSession
from lab.sshdevice import SessionClosed, Terminal

if TYPE_CHECKING:
    from lab.ios.switch import IOSSwitch

log = logging.getLogger(__name__)
Handler = Callable[["IOSCli", list[str]], Awaitable[str]]


@dataclass(frozen=True)
class Command:
    words: tuple[str, ...]
    handler: Handler
    privilege: int = 15
    takes_args: bool = False


COMMANDS: list[Command] = []


def command(words: str, privilege: int = 15, takes_args: bool = False) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        COMMANDS.append(Command(tuple(words.split()), handler, privilege, takes_args))
        return handler
    return register


class Logout(Exception):
    """The user ended the session (exit / logout / reload)."""


class IOSCli:
    commands: ClassVar[list[Command]] = COMMANDS

    def __init__(self, device: IOSSwitch, term: Terminal, username: str) -> None:
        self.device = device
        self.term = term
        self.username = username
        self.privilege = device.privilege_of(username)
        self.config: ConfigSession | None = None
        self.changed = False
        self.config_lines = 0   # configuration lines received in this session (fault close_after_lines)

    # -- session loop -----------------------------------------------------------------------------------------
    def prompt(self) -> str:
        hostname = self.device.running.hostname
        if self.config is not None:
            return f"{hostname}({self.config.prompt_mode})#"
        return hostname + ("#" if self.privilege >= 15 else ">")

    async def run(self) -> None:
        motd = self.device.running.value("banner motd")
        if motd:
            self.term.write("\n" + motd[2:-2].strip("\n") + "\n\n")
        await self.device.respond_delay()      # slow_responses: the first prompt is an answer too
        while True:
            if self.config is None or not self.config.in_banner:
                self.term.write(self.prompt())
            line = await self.term.readline()
            await self.device.respond_delay()
            try:
                await self.execute(line)
            except Logout:
                return
            except (SessionClosed, ConnectionError):
                raise
            except Exception:  # a simulator bug: say so on the session and in the lab log, keep the session
                log.exception("%s: command %r failed", self.device.name, line)
                self.term.write("%Error: internal error of the lab simulator (see the lab log)\n")

    async def run_once(self, line: str) -> None:
        self.privilege = max(self.privilege, 1)
        with contextlib.suppress(Logout):
            await self._exec(line, 0)  # no prompt precedes an exec request's command

    async def execute(self, line: str) -> None:
        if self.config is not None:
            await self._config_line(line)
            return
        await self._exec(line, len(self.prompt()))

    async def _exec(self, line: str, caret_offset: int) -> None:
        """Run one exec command (with its `| include …` filter) and page its output."""
        text = " ".join(line.split())
        if not text:
            return
        command_text, _, pipe = text.partition(" | ")
        output = await self.dispatch(command_text, caret_offset)
        if output and pipe:
            output = _apply_pipe(output, pipe)
        if output:
            await self.term.page(output)

    async def dispatch(self, text: str, caret_offset: int) -> str:
        words = text.split()
        found = self._find(words)
        if isinstance(found, str):
            return found + "\n\n" if found.startswith("%") else _marker(caret_offset + int(found))
        cmd, args = found
        return await cmd.handler(self, args)

    def _find(self, words: list[str]) -> tuple[Command, list[str]] | str:
        """The command and its arguments, or an error: IOS text, or the column of the ^ marker as a string."""
        candidates = []
        best_depth = 0
        for cmd in self.commands:
            if cmd.privilege > self.privilege:
                continue
            depth = 0
            for word, typed in zip(cmd.words, words, strict=False):
                if not word.startswith(typed.lower()):
                    break
                depth += 1
            best_depth = max(best_depth, depth)
            if depth == len(cmd.words) and (len(words) == depth or cmd.takes_args):
                candidates.append(cmd)
            elif depth == len(words) < len(cmd.words):
                best_depth = max(best_depth, depth)
                candidates.append(None)  # an incomplete prefix of this command
        complete = [cmd for cmd in candidates if cmd is not None]
        if complete:
            longest = max(len(cmd.words) for cmd in complete)
            winners = {cmd.words: cmd for cmd in complete if len(cmd.words) == longest}
            if len(winners) > 1 and not any(w == tuple(words[:longest]) for w in winners):
                return f'% Ambiguous command:  "{" ".join(words)}"'
            cmd = winners.get(tuple(words[:longest])) or next(iter(winners.values()))
            return cmd, words[len(cmd.words):]
        if candidates:
            return INCOMPLETE
        return str(len(" ".join(words[:best_depth])) + (1 if best_depth else 0))

    # -- configuration mode -----------------------------------------------------------------------------------
    async def _config_line(self, line: str) -> None:
        assert self.config is not None
        stripped = line.strip()
        if stripped.startswith("do ") and not self.config.in_banner:
            await self._exec(stripped[3:], len(self.prompt()) + 3)
            return
        self.config_lines += bool(stripped)
        if not self.config.in_banner:
            await faults.hold(self.device, stripped)
        faulty = None if self.config.in_banner else faults.line_fault(self.device, stripped)
        if faulty is not None:
            output = faulty
        elif stripped == "end" and self.device.fault("no_end") is not None:
            output = _marker(len(self.prompt()))
        else:
            try:
                output = self.config.apply(line)
                if not stripped.startswith(("end", "exit")) and stripped:
                    self.changed = True
            except ConfigError as error:
                output = (_marker(len(self.prompt()) + error.column) if error.message == INVALID
                          else error.message + "\n")
        if output:
            self.term.write(output.rstrip("\n") + "\n")
        self.device.check_acl_references(stripped)
        if faults.close_now(self.device, self.config_lines):
            self.device.record_cut(self.config_lines, stripped)
            raise SessionClosed(f"fault close_after_lines after {stripped!r}")
        if self.config.done:
            self.config = None
            if self.changed:
                self.device.config_changed(self.username)
            self.changed = False

    # -- shared helpers ---------------------------------------------------------------------------------------
    async def confirm(self, question: str) -> bool:
        """IOS [confirm]: Enter or y proceeds, anything else aborts."""
        self.term.write(question)
        key = await self.term.read_key()
        self.term.write("\n")
        return key in "\r\nyY"

    async def ask(self, question: str) -> str:
        self.term.write(question)
        return (await self.term.readline()).strip()


def _marker(column: int) -> str:
    return " " * column + "^\n" + INVALID + "\n\n"


def _apply_pipe(output: str, pipe: str) -> str:
    kind, _, pattern = pipe.partition(" ")
    lines = output.split("\n")
    try:
        regex = re.compile(pattern)
    except re.error:
        return INVALID + "\n"
    if "include".startswith(kind) and kind:
        return "\n".join(line for line in lines if regex.search(line)) + "\n"
    if "exclude".startswith(kind) and kind:
        return "\n".join(line for line in lines if not regex.search(line)) + "\n"
    if "begin".startswith(kind) and kind:
        for index, line in enumerate(lines):
            if regex.search(line):
                return "\n".join(lines[index:])
        return ""
    if "section".startswith(kind) and kind:
        out, keep = [], False
        for line in lines:
            if not line.startswith(" "):
                keep = bool(regex.search(line))
            if keep:
                out.append(line)
        return "\n".join(out) + ("\n" if out else "")
    if "count".startswith(kind) and kind:
        return f"Number of lines which match regexp = {sum(1 for line in lines if regex.search(line))}\n"
    return INVALID + "\n"


# -- user exec ------------------------------------------------------------------------------------------------
@command("enable", privilege=0, takes_args=True)
async def _enable(cli: IOSCli, args: list[str]) -> str:
    if cli.privilege >= 15:
        return ""
    for _ in range(3):
        cli.term.write("Password: ")
        password = await cli.term.readline(echo=False)
        if cli.device.check_enable(password):
            cli.privilege = 15
            return ""
    return "% Bad secrets\n\n"


@command("disable", privilege=0)
async def _disable(cli: IOSCli, args: list[str]) -> str:
    cli.privilege = 1
    return ""


@command("exit", privilege=0)
@command("logout", privilege=0)
@command("quit", privilege=0)
async def _exit(cli: IOSCli, args: list[str]) -> str:
    raise Logout()


@command("terminal length", privilege=0, takes_args=True)
async def _terminal_length(cli: IOSCli, args: list[str]) -> str:
    if len(args) != 1 or not args[0].isdigit() or int(args[0]) > 512:
        return _marker(len(cli.prompt()) + len("terminal length "))
    cli.term.length = int(args[0])
    return ""


@command("terminal width", privilege=0, takes_args=True)
async def _terminal_width(cli: IOSCli, args: list[str]) -> str:
    if len(args) != 1 or not args[0].isdigit() or int(args[0]) > 512:
        return _marker(len(cli.prompt()) + len("terminal width "))
    cli.term.width = int(args[0])
    return ""


@command("terminal monitor", privilege=0)
@command("terminal no monitor", privilege=0)
async def _terminal_monitor(cli: IOSCli, args: list[str]) -> str:
    return ""


@command("show privilege", privilege=0)
async def _show_privilege(cli: IOSCli, args: list[str]) -> str:
    return f"Current privilege level is {cli.privilege}\n"


@command("show version", privilege=0)
async def _show_version(cli: IOSCli, args: list[str]) -> str:
    return show.show_version(cli.device)


@command("show clock", privilege=0)
async def _show_clock(cli: IOSCli, args: list[str]) -> str:
    return show.show_clock()


@command("show inventory", privilege=0)
async def _show_inventory(cli: IOSCli, args: list[str]) -> str:
    return show.show_inventory(cli.device)


# -- privileged exec: show ------------------------------------------------------------------------------------
@command("show running-config", takes_args=True)
async def _show_running(cli: IOSCli, args: list[str]) -> str:
    sw = cli.device
    text = sw.running.render(sw.version)
    if args:
        if args[0] not in ("interface", "all") and not "interface".startswith(args[0]):
            return _marker(len(cli.prompt()) + len("show running-config "))
        if args[0] != "all":
            try:
                name = ConfigSession(sw.running).resolve_interface(" ".join(args[1:]))
            except ConfigError:
                return _marker(len(cli.prompt()) + len("show running-config interface "))
            body = "\n".join(sw.running._render_node(sw.running.nodes[f"interface {name}"],
                                                       f"interface {name}", "config", 0))
            return f"Building configuration...\n\nCurrent configuration : {len(body) + 1} bytes\n!\n{body}\nend\n\n"
    return f"Building configuration...\n\nCurrent configuration : {len(text)} bytes\n{text}\n"


@command("show startup-config")
async def _show_startup(cli: IOSCli, args: list[str]) -> str:
    text = cli.device.startup_text()
    if not text:
        return "startup-config is not present\n"
    return f"Using {len(text)} out of 2097152 bytes\n{text}\n"


@command("show vlan brief")
@command("show vlan")
async def _show_vlan(cli: IOSCli, args: list[str]) -> str:
    return show.show_vlan_brief(cli.device)


@command("show interfaces status")
async def _show_int_status(cli: IOSCli, args: list[str]) -> str:
    return show.show_interfaces_status(cli.device)


@command("show interfaces switchport")
async def _show_int_switchport(cli: IOSCli, args: list[str]) -> str:
    return show.show_interfaces_switchport(cli.device)


@command("show interfaces", takes_args=True)
async def _show_interface(cli: IOSCli, args: list[str]) -> str:
    """`show interfaces <name> switchport|status` (the full `show interfaces` is not modelled)."""
    column = len(cli.prompt()) + len("show interfaces ")
    if len(args) < 2 or not any(word.startswith(args[-1].lower()) and len(args[-1]) >= 2
                                for word in ("switchport", "status")):
        return _marker(column)
    try:
        name = ConfigSession(cli.device.running).resolve_interface(" ".join(args[:-1]), column)
    except ConfigError as error:
        return _marker(error.column)
    if name not in cli.device.interfaces_list:
        return _marker(column)
    if "switchport".startswith(args[-1].lower()):
        return show.show_interfaces_switchport(cli.device, name)
    return show.show_interfaces_status(cli.device, name)


@command("show ip access-lists", takes_args=True)
@command("show access-lists", takes_args=True)
async def _show_acls(cli: IOSCli, args: list[str]) -> str:
    return show.show_ip_access_lists(cli.device, args[0] if args else None)


@command("show snmp user")
async def _show_snmp_user(cli: IOSCli, args: list[str]) -> str:
    users = cli.device.running.snmp_users
    if not (users and users.table) and not cli.device.running.lines_under("snmp-server"):
        return "%SNMP agent not enabled\n"
    return users.show() if users else ""


@command("show boot")
@command("show bootvar")
async def _show_boot(cli: IOSCli, args: list[str]) -> str:
    return show.show_boot(cli.device)


@command("show install summary")
async def _show_install(cli: IOSCli, args: list[str]) -> str:
    return show.show_install_summary(cli.device)


@command("show logging")
async def _show_logging(cli: IOSCli, args: list[str]) -> str:
    return show.show_logging(cli.device)


@command("show ip ssh")
async def _show_ip_ssh(cli: IOSCli, args: list[str]) -> str:
    return show.show_ip_ssh(cli.device)


@command("show flash:")
@command("dir", takes_args=True)
async def _dir(cli: IOSCli, args: list[str]) -> str:
    target = args[0] if args else "flash:"
    match = re.fullmatch(r"(?:flash|bootflash):/?(\S*)", target)
    if len(args) > 1 or not match:
        return _marker(len(cli.prompt()) + len("dir "))
    return show.dir_flash(cli.device, match.group(1) or None)


@command("verify", takes_args=True)
async def _verify(cli: IOSCli, args: list[str]) -> str:
    if len(args) < 2 or args[0] not in ("/md5", "/sha512"):
        return _marker(len(cli.prompt()) + len("verify "))
    return show.verify_hash(cli.device, args[0][1:], args[1], args[2] if len(args) > 2 else None)


# -- privileged exec: actions ---------------------------------------------------------------------------------
@command("configure terminal")
async def _configure_terminal(cli: IOSCli, args: list[str]) -> str:
    cli.config = ConfigSession(cli.device.running)
    return "Enter configuration commands, one per line.  End with CNTL/Z.\n"


@command("configure replace", takes_args=True)
async def _configure_replace(cli: IOSCli, args: list[str]) -> str:
    sw = cli.device
    if sw.fault("no_configure_replace") is not None:
        return _marker(len(cli.prompt()) + len("configure "))
    if not args or not re.fullmatch(r"(?:flash|bootflash):/?\S+", args[0]) or args[1:] not in ([], ["force"]):
        return _marker(len(cli.prompt()) + len("configure replace "))
    try:
        path = sw.flash_path(args[0])
    except ValueError:
        return _marker(len(cli.prompt()) + len("configure replace "))
    if not path.is_file():
        return f"%Error opening {args[0]} (No such file or directory)\n"
    if not args[1:] and not await cli.confirm("This will apply all necessary additions and deletions\n"
                                 "to replace the current running configuration with the\n"
                                 "contents of the specified configuration file, which is\n"
                                 "assumed to be a complete configuration, not a partial\n"
                                 "configuration. Enter Y if you are sure you want to proceed. ? [no]: "):
        return ""
    config, refused = sw.read_config(path.read_text(errors="replace"))
    if refused:
        return ("%The following commands are not supported or rejected by the device:\n"
                + "\n".join(refused) + "\nRollback aborted.\n")
    sw.running = config
    sw.config_changed(cli.username)
    return "Total number of passes: 1\nRollback Done\n\n"


async def _save(cli: IOSCli) -> str:
    cli.device.write_startup(cli.device.running)
    cli.device.save_state(cli.device.state)
    return faults.save_answer(cli.device) or "Building configuration...\n[OK]\n"


@command("write memory")
@command("write")
async def _write(cli: IOSCli, args: list[str]) -> str:
    return await _save(cli)


@command("copy", takes_args=True)
async def _copy(cli: IOSCli, args: list[str]) -> str:
    sw = cli.device
    if len(args) != 2:
        return INCOMPLETE + "\n\n" if len(args) < 2 else _marker(len(cli.prompt()) + len("copy "))
    source, target = args
    if "running-config".startswith(source) and "startup-config".startswith(target):
        answer = await cli.ask("Destination filename [startup-config]? ")
        if answer not in ("", "startup-config"):
            return "%Error opening " + answer + " (Permission denied)\n"
        return await _save(cli)
    if "running-config".startswith(source) and re.fullmatch(r"(?:flash|bootflash):/?\S+", target):
        path = sw.flash_path(target)
        await cli.ask(f"Destination filename [{path.name}]? ")
        if sw.fault("copy_flash_error") is not None:
            return faults.COPY_FLASH_ERROR + "\n"
        text = sw.running.render(sw.version)
        if len(text) > sw.flash_free():
            return f"%Error writing flash:/{path.name} (No space left on device)\n"
        path.write_text(text)
        return f"{len(text)} bytes copied in 0.012 secs\n"
    return _marker(len(cli.prompt()) + len("copy "))


@command("delete", takes_args=True)
async def _delete(cli: IOSCli, args: list[str]) -> str:
    force = "/force" in args
    files = [arg for arg in args if arg != "/force"]
    if len(files) != 1:
        return _marker(len(cli.prompt()) + len("delete "))
    try:
        path = cli.device.flash_path(files[0])
    except ValueError:
        return _marker(len(cli.prompt()) + len("delete "))
    if not force:
        await cli.ask(f"Delete filename [{path.name}]? ")
        if not await cli.confirm(f"Delete flash:/{path.name}? [confirm]"):
            return ""
    if not path.is_file():
        return f"%Error deleting flash:/{path.name} (No such file or directory)\n"
    path.unlink()
    return ""


@command("reload", takes_args=True)
async def _reload(cli: IOSCli, args: list[str]) -> str:
    sw = cli.device
    if args:
        return _marker(len(cli.prompt()) + len("reload "))
    if sw.state.get("modified"):
        while True:
            answer = await cli.ask("\nSystem configuration has been modified. Save? [yes/no]: ")
            if answer.lower() in ("y", "yes"):
                cli.term.write(await _save(cli))
                break
            if answer.lower() in ("n", "no"):
                break
            cli.term.write("% Please answer 'yes' or 'no'.\n")
    if not await cli.confirm("Proceed with reload? [confirm]"):
        return ""
    await asyncio.sleep(0.05)  # let the newline reach the client before the session drops
    sw.spawn(sw.reload("Reload Command"))
    raise Logout()


# -- IOS-XE install mode --------------------------------------------------------------------------------------
def _install_file(cli: IOSCli, args: list[str]) -> tuple[str, list[str]] | str:
    if len(args) < 2 or args[0] != "file" or not re.fullmatch(r"(?:flash|bootflash):/?\S+", args[1]):
        return _marker(len(cli.prompt()) + len("install add "))
    return args[1].split(":", 1)[1].lstrip("/"), args[2:]


@command("install add", takes_args=True)
async def _install_add(cli: IOSCli, args: list[str]) -> str:
    sw = cli.device
    parsed = _install_file(cli, args)
    if isinstance(parsed, str):
        return parsed
    image, rest = parsed
    rest = [word for word in rest if word not in ("prompt-level", "none")]
    if rest not in ([], ["activate"], ["activate", "commit"]):
        return _marker(len(cli.prompt()) + len(" ".join(["install add", *args[:2]])) + 1)
    out = f"install_add_activate_commit: START {show.show_clock().strip()}\n"
    identity = sw.image_identity(image)
    if identity is None or identity[:2] != (sw.platform, sw.model):
        return out + (f"FAILED: install_add : Image validation failed for flash:{image}: "
                      "not a valid image for this platform [lab]\n")
    install = sw.state.setdefault("install", {})
    install["added"] = image
    sw.save_state(sw.state)
    if "activate" not in rest:
        return out + "SUCCESS: install_add\n"
    return out + await _activate(cli, image, commit="commit" in rest, prompt="prompt-level" not in args)


async def _activate(cli: IOSCli, image: str, commit: bool, prompt: bool) -> str:
    sw = cli.device
    if sw.state.get("modified"):  # IOS-XE refuses to activate over unsaved changes [I]
        return ("  [1]  R0 FAILED: System configuration has been modified. Please save configuration and resubmit "
                "command.\nFAILED: install_activate\n")
    if prompt and not await cli.confirm("This operation may require a reload of the system. "
                                        "Do you want to proceed? [y/n]"):
        return "FAILED: install_activate : aborted by user\n"
    install = sw.state.setdefault("install", {})
    install.update(pending=image, pending_commit=commit)
    if install.get("committed") is None and sw.state.get("boot_mode") != "INSTALL":
        install["committed"] = None if commit else sw.state["image"]
    (sw.flash_dir / "packages.conf").write_text(f"#! /usr/binos/bin/packages_conf.sh\nboot: flash:{image}\n")
    session = ConfigSession(sw.running)
    session.apply("no boot system")
    session.apply("boot system flash:packages.conf")
    sw.write_startup(sw.running)
    sw.save_state(sw.state)
    cli.term.write("--- Starting Activate ---\nSUCCESS: install_add_activate_commit\n")
    await asyncio.sleep(0.05)
    sw.spawn(sw.reload("Reload Command (install activate)"))
    raise Logout()


@command("install activate", takes_args=True)
async def _install_activate(cli: IOSCli, args: list[str]) -> str:
    sw = cli.device
    install = sw.state.get("install") or {}
    image = install.get("added")
    if args[:1] == ["file"]:
        parsed = _install_file(cli, args)
        if isinstance(parsed, str):
            return parsed
        image = parsed[0]
    if not image:
        return "FAILED: install_activate : no added image to activate\n"
    return await _activate(cli, image, commit=False, prompt="prompt-level" not in args)


@command("install commit")
async def _install_commit(cli: IOSCli, args: list[str]) -> str:
    install = cli.device.state.setdefault("install", {})
    install["committed"] = install.get("activated") or cli.device.state["image"]
    cli.device.save_state(cli.device.state)
    return "install_commit: START\nSUCCESS: install_commit\n"


@command("install rollback to committed", takes_args=True)
async def _install_rollback(cli: IOSCli, args: list[str]) -> str:
    install = cli.device.state.get("install") or {}
    committed = install.get("committed")
    if not committed:
        return "FAILED: install_rollback : no committed installation to roll back to\n"
    return await _activate(cli, committed, commit=True, prompt="prompt-level" not in args)


@command("install remove inactive", takes_args=True)
async def _install_remove_inactive(cli: IOSCli, args: list[str]) -> str:
    sw = cli.device
    install = sw.state.get("install") or {}
    keep = {sw.state["image"], install.get("committed"), install.get("activated"), "packages.conf"}
    removed = []
    for path in sorted(sw.flash_dir.iterdir()):
        if path.is_file() and path.suffix == ".bin" and path.name not in keep:
            removed.append(path.name)
    if removed and "prompt-level" not in args and not await cli.confirm(
            "Do you want to remove the above files? [y/n]"):
        return "install_remove: aborted\n"
    for name in removed:
        (sw.flash_dir / name).unlink()
    return "install_remove: START\n" + "".join(f"Deleting file flash:{n} ... done.\n" for n in removed) + \
        "SUCCESS: install_remove\n"


__all__ = ["Command", "IOSCli", "Logout", "SessionClosed", "command"]
