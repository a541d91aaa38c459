# -*- coding: utf-8 -*-
"""Injection guard: every user value that ends up in a device CLI line goes through here first.

A value is hostile until proven otherwise: a newline would start a new command (`end`, `exit`, `no aaa ...`),
`!` and `#` are IOS comment / banner delimiters, `|` pipes output, quotes and backticks break UCI/shell quoting,
`;` chains shell commands on OpenWrt. We accept a narrow allowlist per kind of field instead of escaping.
"""

from __future__ import annotations

import re

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import InvalidValue

# Characters never allowed in any value, whatever its kind (named in the error so the user sees what to fix).
FORBIDDEN = {
    "\n": "newline", "\r": "carriage return", ";": "';'", "|": "'|'", "!": "'!'", "`": "backtick",
    '"': "double quote", "'": "single quote", "#": "'#'", "^": "'^'", "$": "'$'", "\\": "backslash",
    "{": "'{'", "}": "'}'", "<": "'<'", ">": "'>'", "&": "'&'", "?": "'?' (IOS help)",
}

# kind -> (regex the whole value must match, max length, human description)
KINDS = {
    # IOS object names: ACL names, VLAN names, hostnames, WLAN profile names
    "name": (r"[A-Za-z0-9][A-Za-z0-9_.-]*", 32, "letters, digits, '_', '.', '-' (starting with a letter or digit)"),
    # free text on one line: interface descriptions, banners
    "text": (r"[A-Za-z0-9 _.,:/()@+=*%-]*[A-Za-z0-9_.,:/()@+=*%-]", 200,
             "letters, digits, spaces and _ . , : / ( ) @ + = * % -"),
    # 802.11 SSIDs: at most 32 bytes; printable without the forbidden characters
    "ssid": (r"[A-Za-z0-9_.@+()-][A-Za-z0-9 _.@+()-]*", 32, "letters, digits, spaces and _ . @ + ( ) -"),
    "interface": (r"[A-Za-z][A-Za-z-]*[0-9]+(/[0-9]+)*(\.[0-9]+)?", 40, "an interface name like GigabitEthernet1/0/1"),
    # WPA passphrases: 8..63 printable ASCII (IEEE 802.11i), minus the forbidden characters
    "psk": (r"[\x21-\x7e]{8,63}", 63, "8 to 63 printable ASCII characters without spaces"),
    # SNMPv3 auth/priv passphrases: one CLI word, at least 8 characters (RFC 3414 recommends >= 8)
    "snmp_key": (r"[A-Za-z0-9_.,:/@+=%*-]{8,64}", 64, "8 to 64 letters, digits and _ . , : / @ + = % * -"),
}
SECRET_KINDS = ("psk", "snmp_key")

# Words that would end or leave configuration mode if they ever became a line of their own.
MODE_WORDS = {"end", "exit", "quit", "do", "reload", "write", "configure", "commit", "abort"}


def check_value(value, kind: str, field: str) -> str:
    """Return `value` as a str when it is safe for a CLI line of this `kind`; raise InvalidValue naming `field`."""
    if kind not in KINDS:
        raise ValueError(f"unknown value kind {kind!r}")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InvalidValue(f"{field}: expected a string, got {type(value).__name__}")
    text = str(value)
    pattern, max_len, description = KINDS[kind]
    if not text:
        raise InvalidValue(f"{field}: must not be empty")
    if len(text.encode()) > max_len:
        raise InvalidValue(f"{field}: {len(text.encode())} bytes, longer than the {max_len} allowed")
    bad = sorted({FORBIDDEN[c] for c in text if c in FORBIDDEN})  # names the character, never the value
    if bad:
        raise InvalidValue(f"{field}: contains {', '.join(bad)}, which could inject device commands")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        raise InvalidValue(f"{field}: contains control characters")
    if not re.fullmatch(pattern, text):
        shown = "the value" if kind in SECRET_KINDS else repr(text)   # a secret is never echoed
        raise InvalidValue(f"{field}: {shown} is not allowed; use {description}")
    if kind not in SECRET_KINDS and text.strip().lower() in MODE_WORDS:
        raise InvalidValue(f"{field}: {text!r} is a CLI mode keyword")
    return text


def check_lines(lines: list[str]) -> list[str]:
    """Last line of defence before anything is sent: one command per line, no control characters or comments."""
    for number, line in enumerate(lines, 1):
        if not isinstance(line, str) or not line.strip():
            raise InvalidValue(f"config line {number}: empty or not a string")
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in line):
            raise InvalidValue(f"config line {number}: contains a newline or control character")
        if line.lstrip().startswith("!") or "|" in line or line.strip().lower() in MODE_WORDS:
            raise InvalidValue(f"config line {number}: {line.strip()!r} would leave or confuse config mode")
    return lines
