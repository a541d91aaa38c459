"""OpenWrt access point over SSH: a BusyBox-like shell with UCI semantics and a hostapd-checked ``wifi reload``.

What a driver can do, as on a real OpenWrt 23.05 AP:
``uci show|get|set|add|add_list|del_list|delete|commit|revert|changes|export`` (``-q`` quiet) on the ``wireless``
package - changes are staged (``uci changes``) until ``uci commit`` and lost by ``uci revert``; ``wifi``/``wifi reload``
renders every enabled wifi-iface the way OpenWrt's hostapd.sh does (lab/hostapd.py) and has the real hostapd check it:
a configuration hostapd refuses makes ``wifi reload`` fail with hostapd's own message and the previous configuration
stays active; ``cat /etc/config/wireless``, ``cat /etc/openwrt_release``, ``cat /var/run/hostapd-phy<N>.conf``,
``ubus call system board`` (model + firmware), ``logread``.
Lab deviations: ``wifi`` reports a refused config on stderr with exit status 1 and in ``logread`` (real OpenWrt
only logs it, and shows it in ``ubus call network.wireless status``, which the lab does not model); pipes and
redirections are not supported; sysupgrade and reboot are out of scope. Commands may be chained with ``;`` and
``&&`` (exec requests, as paramiko's exec_command sends them).
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import shlex
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, ClassVar

from lab.device import register_platform
from lab.hostapd import RenderError, hostapd_accepts, refusal_summary, render_wireless
from lab.sshdevice import SSHDevice, Terminal

PROMPT = "root@OpenWrt:~# "
NAME = re.compile(r"^[A-Za-z0-9_]+$")
ANONYMOUS_REF = re.compile(r"^@([A-Za-z0-9_-]+)\[(-?\d+)\]$")
PACKAGES = ("wireless",)

DEFAULT_WIRELESS = """
config wifi-device 'radio0'
\toption type 'mac80211'
\toption path 'platform/1e140000.pcie/pci0000:00/0000:00:00.0/0000:01:00.0'
\toption channel '1'
\toption band '2g'
\toption htmode 'HE20'
\toption disabled '1'

config wifi-iface 'default_radio0'
\toption device 'radio0'
\toption network 'lan'
\toption mode 'ap'
\toption ssid 'OpenWrt'
\toption encryption 'none'

config wifi-device 'radio1'
\toption type 'mac80211'
\toption path 'platform/1e140000.pcie/pci0000:00/0000:00:01.0/0000:02:00.0'
\toption channel '36'
\toption band '5g'
\toption htmode 'HE80'
\toption disabled '1'

config wifi-iface 'default_radio1'
\toption device 'radio1'
\toption network 'lan'
\toption mode 'ap'
\toption ssid 'OpenWrt'
\toption encryption 'none'
"""


class UciError(Exception):
    """A uci command that fails; the message is what uci prints."""


def quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


@dataclass
class Section:
    type: str
    name: str
    anonymous: bool = False
    options: dict[str, Any] = field(default_factory=dict)   # str, or list[str] for `list` options


def parse_package(text: str) -> list[Section]:
    """Sections of an /etc/config file."""
    sections: list[Section] = []
    for number, line in enumerate(text.splitlines(), 1):
        words = shlex.split(line, comments=True)
        if not words:
            continue
        keyword, args = words[0], words[1:]
        if keyword == "config" and len(args) in (1, 2):
            name = args[1] if len(args) == 2 else "cfg" + secrets.token_hex(3)
            sections.append(Section(args[0], name, anonymous=len(args) == 1))
        elif keyword in ("option", "list") and len(args) == 2 and sections:
            if keyword == "list":
                sections[-1].options.setdefault(args[0], []).append(args[1])
            else:
                sections[-1].options[args[0]] = args[1]
        else:
            raise UciError(f"uci: Parse error (invalid command) at line {number}")
    return sections


def render_package(sections: list[Section]) -> str:
    """/etc/config text, as uci commit writes it (uci file.c uci_export_package: a blank line before every section
    and one at the end; tests/conformance/openwrt/uci_add_list_config.result)."""
    out = []
    for section in sections:
        out.append(f"\nconfig {section.type}" + ("" if section.anonymous else f" {quote(section.name)}"))
        for name, value in section.options.items():
            for item in value if isinstance(value, list) else [value]:
                out.append(f"\t{'list' if isinstance(value, list) else 'option'} {name} {quote(item)}")
    return "\n".join(out) + "\n\n" if out else "\n"


class UciPackage:
    """One package (e.g. ``wireless``): committed sections plus the staged change list, as uci keeps them."""

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.committed = parse_package(text)
        self.changes: list[tuple[str, ...]] = []

    # -- the view uci commands see (committed + staged) -------------------------------------------------------
    def view(self) -> list[Section]:
        sections = copy.deepcopy(self.committed)
        for change in self.changes:
            self._apply(sections, change)
        return sections

    @staticmethod
    def _find(sections: list[Section], name: str) -> Section | None:
        return next((s for s in sections if s.name == name), None)

    def _apply(self, sections: list[Section], change: tuple[str, ...]) -> None:
        kind, section_name, *rest = change
        section = self._find(sections, section_name)
        if kind == "add":
            sections.append(Section(rest[0], section_name, anonymous=True))
        elif kind == "set_section":
            if section is None:
                sections.append(Section(rest[0], section_name))
            else:
                section.type = rest[0]
        elif kind == "set":
            section.options[rest[0]] = rest[1]
        elif kind == "add_list":
            current = section.options.get(rest[0], [])
            section.options[rest[0]] = ([current] if isinstance(current, str) else current) + [rest[1]]
        elif kind == "del_list":
            current = section.options.get(rest[0], [])
            section.options[rest[0]] = [item for item in current if item != rest[1]]
        elif kind == "delete" and rest:
            section.options.pop(rest[0], None)
        elif kind == "delete":
            sections.remove(section)

    def resolve(self, ref: str) -> Section:
        """A section by name or ``@type[index]`` (negative from the end); UciError when there is none."""
        sections = self.view()
        match = ANONYMOUS_REF.match(ref)
        if match:
            of_type = [s for s in sections if s.type == match.group(1)]
            index = int(match.group(2))
            if -len(of_type) <= index < len(of_type):
                return of_type[index]
        elif (section := self._find(sections, ref)) is not None:
            return section
        raise UciError("uci: Entry not found")

    # -- commands ---------------------------------------------------------------------------------------------
    def stage(self, *change: str) -> None:
        self._apply(self.view(), change)   # raises if the change cannot apply
        self.changes.append(change)

    def commit(self) -> None:
        self.committed = self.view()
        self.changes.clear()

    def show_lines(self, section_ref: str | None = None, option: str | None = None) -> list[str]:
        sections = [self.resolve(section_ref)] if section_ref else self.view()
        counters: dict[str, int] = {}
        lines = []
        for section in self.view():
            index = counters.get(section.type, 0)
            counters[section.type] = index + 1
            if section not in sections:
                continue
            label = f"{self.name}.@{section.type}[{index}]" if section.anonymous else f"{self.name}.{section.name}"
            if option is None:
                lines.append(f"{label}={section.type}")
            for name, value in section.options.items():
                if option is None or name == option:
                    items = value if isinstance(value, list) else [value]
                    lines.append(f"{label}.{name}=" + " ".join(quote(item) for item in items))
        if option is not None and not lines:
            raise UciError("uci: Entry not found")
        return lines

    def change_lines(self) -> list[str]:
        return [self._change_line(*change) for change in self.changes]

    def _change_line(self, kind: str, section: str, *rest: str) -> str:
        """One staged change the way ``uci changes`` prints it: every value quoted, a section's type too (uci cli.c
        uci_show_changes; tests/conformance/openwrt/uci_add_list_changes.result)."""
        target = f"{self.name}.{section}"
        if kind in ("add", "set_section"):
            return f"{target}={quote(rest[0])}"
        if kind == "delete":
            return f"-{target}" + (f".{rest[0]}" if rest else "")
        operator = {"set": "=", "add_list": "+=", "del_list": "-="}[kind]
        return f"{target}.{rest[0]}{operator}{quote(rest[1])}"

    def sections_for_render(self) -> list[tuple[str, str, dict]]:
        return [(s.type, s.name, dict(s.options)) for s in self.committed]


@dataclass
class Result:
    out: str = ""
    err: str = ""
    status: int = 0


@register_platform
class OpenWrtAP(SSHDevice):
    """An OpenWrt access point (the site policy's ``platform: openwrt``)."""

    platform = "openwrt"
    ssh_version: ClassVar[str] = "dropbear_2022.83"
    supported_faults = frozenset({"auth_failure", "host_key_change", "slow_responses"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        state = self.load_state()
        self.version = state.get("version", self.version)
        self.uci = {"wireless": UciPackage("wireless", state.get("wireless")
                                           or self.options.get("wireless") or DEFAULT_WIRELESS)}
        self.active_config: dict[str, str] = {}     # /var/run/hostapd-phyN.conf of the running hostapd
        self.syslog: deque[str] = deque(maxlen=200)

    def _persist(self) -> None:
        self.save_state({"version": self.version, "wireless": render_package(self.uci["wireless"].committed)})

    def check_password(self, username: str, password: str) -> bool:
        return username == self.credentials.username and password == self.credentials.password

    def inventory_vars(self) -> dict:
        return {"ansible_host": self.host, "ansible_port": self.port, "platform": self.platform,
                "model": self.model}

    # -- sessions ---------------------------------------------------------------------------------------------
    async def run_shell(self, term: Terminal, username: str) -> None:
        while True:
            term.write(PROMPT)
            line = (await term.readline()).strip()
            if line in ("exit", "logout", "\x1a"):
                return
            result = await self.execute(line)
            term.write(result.out + result.err)

    async def run_command(self, term: Terminal, username: str, command: str) -> None:
        result = await self.execute(command)
        process = term._process  # exec channels carry raw "\n" output and an exit status; the Terminal adds CRs
        process.stdout.write(result.out)
        process.stderr.write(result.err)
        process.exit(result.status)

    # -- the shell --------------------------------------------------------------------------------------------
    async def execute(self, command_line: str) -> Result:
        """Run a command line: simple commands joined by ``;`` / ``&&`` (stop at the first failure of ``&&``)."""
        await self.respond_delay()
        try:
            lexer = shlex.shlex(command_line, posix=True, punctuation_chars=";&|<>")
            lexer.whitespace_split = True
            tokens = list(lexer)
        except ValueError as exc:
            return Result(err=f"ash: syntax error: {exc}\n", status=2)
        total = Result()
        words: list[str] = []
        for token in [*tokens, ";"]:
            if token in (";", "&&"):
                if words:
                    result = await self.run_simple(words)
                    total.out, total.err, total.status = total.out + result.out, total.err + result.err, result.status
                    words = []
                    if token == "&&" and result.status != 0:
                        break
            elif set(token) <= set("|<>&"):
                return Result(err=f"ash: '{token}' (pipes, redirections, background jobs) is not supported by the "
                                  "lab shell\n", status=2)
            else:
                words.append(token)
        return total

    async def run_simple(self, words: list[str]) -> Result:
        command, args = words[0], words[1:]
        if command == "uci":
            return self.run_uci(args)
        if command == "wifi":
            return await self.run_wifi(args)
        if command == "cat":
            return self.run_cat(args)
        if command == "ubus" and args == ["call", "system", "board"]:
            return Result(out=json.dumps(self.board(), indent="\t") + "\n")
        if command == "logread":
            return Result(out="".join(line + "\n" for line in self.syslog))
        if command == "echo":
            return Result(out=" ".join(args) + "\n")
        if command == "sysupgrade":
            return Result(err="sysupgrade: not supported by the lab\n", status=1)
        return Result(err=f"ash: {command}: not found\n", status=127)

    # -- uci --------------------------------------------------------------------------------------------------
    def run_uci(self, args: list[str]) -> Result:
        quiet = "-q" in args
        args = [a for a in args if a != "-q"]
        try:
            return Result(out="".join(line + "\n" for line in self._uci(args)))
        except UciError as exc:
            return Result(err="" if quiet else f"{exc}\n", status=1)

    def _package(self, name: str) -> UciPackage:
        if name not in self.uci:
            raise UciError("uci: Entry not found")
        return self.uci[name]

    @staticmethod
    def _split(path: str) -> tuple[str, str | None, str | None]:
        parts = path.split(".", 2)
        if any(not part for part in parts):
            raise UciError("uci: Invalid argument")
        return parts[0], parts[1] if len(parts) > 1 else None, parts[2] if len(parts) > 2 else None

    def _uci(self, args: list[str]) -> list[str]:
        if not args:
            raise UciError("Usage: uci [<options>] <command> [<arguments>]")
        verb, rest = args[0], args[1:]
        if verb in ("show", "changes", "commit", "revert", "export"):
            names = [self._split(rest[0])] if rest else [(p, None, None) for p in PACKAGES]
            return [line for name, section, option in names for line in
                    self._package_verb(verb, self._package(name), section, option)]
        if verb == "add" and len(rest) == 2:
            package = self._package(rest[0])
            if not NAME.match(rest[1].replace("-", "_")):
                raise UciError("uci: Invalid argument")
            section_id = "cfg" + secrets.token_hex(3)
            package.stage("add", section_id, rest[1])
            return [section_id]
        if len(rest) != 1:
            raise UciError("uci: Invalid argument")
        target, _, value = rest[0].partition("=")
        name, section_ref, option = self._split(target)
        package = self._package(name)
        if section_ref is None or (option is not None and not NAME.match(option)):
            raise UciError("uci: Invalid argument")
        return self._section_verb(verb, package, section_ref, option, value, has_value="=" in rest[0])

    def _package_verb(self, verb: str, package: UciPackage, section: str | None, option: str | None) -> list[str]:
        if verb == "show":
            return package.show_lines(section, option)
        if verb == "changes":
            return package.change_lines()
        if verb == "export":
            return [f"package {package.name}", *render_package(package.view()).splitlines()]
        if verb == "commit":
            package.commit()
            self._persist()
        else:
            package.changes.clear()
        return []

    def _section_verb(self, verb: str, package: UciPackage, section_ref: str, option: str | None, value: str,
                      has_value: bool) -> list[str]:
        if verb == "get" and not has_value:
            section = package.resolve(section_ref)
            if option is None:
                return [section.type]
            if option not in section.options:
                raise UciError("uci: Entry not found")
            item = section.options[option]
            return [" ".join(item) if isinstance(item, list) else item]
        if verb == "set" and has_value and option is None:   # create a named section, or retype an existing one
            if not NAME.match(value.replace("-", "_")):
                raise UciError("uci: Invalid argument")
            try:
                name = package.resolve(section_ref).name
            except UciError:
                if not NAME.match(section_ref):
                    raise UciError("uci: Invalid argument") from None
                name = section_ref
            package.stage("set_section", name, value)
            return []
        section = package.resolve(section_ref)
        if verb == "set" and has_value:
            package.stage("set", section.name, option, value)
        elif verb in ("add_list", "del_list") and has_value and option is not None:
            package.stage(verb, section.name, option, value)
        elif verb == "delete" and not has_value:
            package.stage("delete", section.name, *([option] if option else []))
        else:
            raise UciError("uci: Invalid argument")
        return []

    # -- wifi -------------------------------------------------------------------------------------------------
    async def run_wifi(self, args: list[str]) -> Result:
        action = args[0] if args else "reload"
        if action == "down":
            self.active_config = {}
            return Result()
        if action not in ("reload", "up"):
            return Result(err=f"Usage: wifi [down|up|reload|status]\nunknown action {action}\n", status=1)
        try:
            rendered = render_wireless(self.uci["wireless"].sections_for_render())
        except RenderError as exc:
            self._log(f"netifd: wireless setup failed: {exc}")
            return Result(err=f"wifi: {exc}\n", status=1)
        for bss in rendered:
            accepted, message = await hostapd_accepts(bss)
            if not accepted:
                why = refusal_summary(message)
                self._log(f"hostapd: {bss.ifname}: configuration refused: {why}")
                return Result(err=f"wifi: hostapd refused the configuration of {bss.section} ({bss.ifname}):\n"
                                  f"{why}\n", status=1)
        self.active_config = self._per_phy(rendered)
        for bss in rendered:
            self._log(f"hostapd: {bss.ifname}: AP-ENABLED")
        return Result()

    @staticmethod
    def _per_phy(rendered) -> dict[str, str]:
        """/var/run/hostapd-phyN.conf as OpenWrt writes it: radio lines, first BSS as interface=, others as bss=."""
        files: dict[str, list[str]] = {}
        for bss in rendered:
            phy = bss.ifname.split("-")[0]
            if phy not in files:
                files[phy] = [*bss.radio_lines, "", *bss.bss_lines]
            else:
                files[phy] += ["", f"bss={bss.ifname}", *bss.bss_lines[1:]]
        return {phy: "\n".join(lines) + "\n" for phy, lines in files.items()}

    def _log(self, message: str) -> None:
        self.syslog.append(f"{time.strftime('%a %b %d %H:%M:%S %Y')} daemon.notice {message}")

    # -- files ------------------------------------------------------------------------------------------------
    def run_cat(self, args: list[str]) -> Result:
        out = []
        for path in args:
            text = self.file(path)
            if text is None:
                return Result(out="".join(out), err=f"cat: can't open '{path}': No such file or directory\n",
                              status=1)
            out.append(text)
        return Result(out="".join(out))

    def file(self, path: str) -> str | None:
        if path == "/etc/config/wireless":
            return render_package(self.uci["wireless"].committed)
        if path == "/etc/openwrt_release":
            release = self.board()["release"]
            return (f"DISTRIB_ID='OpenWrt'\nDISTRIB_RELEASE='{release['version']}'\n"
                    f"DISTRIB_REVISION='{release['revision']}'\nDISTRIB_TARGET='{release['target']}'\n"
                    f"DISTRIB_ARCH='mipsel_24kc'\nDISTRIB_DESCRIPTION='{release['description']}'\nDISTRIB_TAINTS=''\n")
        match = re.fullmatch(r"/var/run/hostapd-(phy\d+)\.conf", path)
        return self.active_config.get(match.group(1)) if match else None

    def board(self) -> dict:
        revision = "r0-lab"
        return {
            "kernel": "5.15.150", "hostname": "OpenWrt", "system": "MediaTek MT7621 ver:1 eco:3",
            "model": self.model, "board_name": self.model.lower().replace(" ", "-"), "rootfs_type": "squashfs",
            "release": {"distribution": "OpenWrt", "version": self.version, "revision": revision,
                        "target": "ramips/mt7621", "description": f"OpenWrt {self.version} {revision}"},
        }
