# -*- coding: utf-8 -*-
"""Strong generated credentials (Python's `secrets` CSPRNG).

The alphabet is letters and digits only: such a value passes the injection guard of every platform (IOS CLI
lines, UCI, phone parameters, HTTP Basic auth) without quoting, and 24 characters still carry ~143 bits.
"""

from __future__ import annotations

import secrets
import string

ALPHABET = string.ascii_letters + string.digits
MIN_LENGTH = 16
CLASSES = (string.ascii_lowercase, string.ascii_uppercase, string.digits)


def generate_password(length: int = 24) -> str:
    """A random password of `length` characters holding a lower-case letter, an upper-case letter and a digit
    (some device password policies insist on the three classes)."""
    if length < MIN_LENGTH:
        raise ValueError(f"a generated credential must have at least {MIN_LENGTH} characters, not {length}")
    while True:
        value = "".join(secrets.choice(ALPHABET) for _ in range(length))
        if all(any(c in group for c in value) for group in CLASSES):
            return value
