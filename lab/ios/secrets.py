"""IOS password storage: type 9 (scrypt) secrets and type 7 reversible passwords.

Type 9 is ``$9$<14-char salt>$<43-char hash>``: scrypt (N=16384, r=1, p=1, 32 bytes) of the password with the salt,
base64-encoded in the crypt alphabet [I] (third-party descriptions of Cisco's format; only our own lab reads it).
Type 7 is the well-known Vigenere obfuscation that `service password-encryption` applies [I].
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets

_CRYPT = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_STD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_TO_CRYPT = str.maketrans(_STD, _CRYPT)
_TYPE7_KEY = "dsfd;kfoA,.iyewrkldJKDHSUBsgvca69834ncxv9873254k;fg87"


def _scrypt(password: str, salt: str) -> str:
    digest = hashlib.scrypt(password.encode(), salt=salt.encode(), n=16384, r=1, p=1, dklen=32)
    return base64.b64encode(digest).decode().rstrip("=").translate(_TO_CRYPT)


def type9(password: str, salt: str | None = None) -> str:
    salt = salt or "".join(secrets.choice(_CRYPT) for _ in range(14))
    return f"$9${salt}${_scrypt(password, salt)}"


@functools.lru_cache(maxsize=4096)
def _check9(hashed: str, password: str) -> bool:  # cached: scrypt costs ~50 ms and logins repeat
    parts = hashed.split("$")
    return len(parts) == 4 and hmac.compare_digest(_scrypt(password, parts[2]), parts[3])


def type7(password: str, seed: int = 2) -> str:
    return f"{seed:02d}" + "".join(f"{ord(ch) ^ ord(_TYPE7_KEY[(seed + i) % len(_TYPE7_KEY)]):02X}"
                                   for i, ch in enumerate(password))


def untype7(encoded: str) -> str:
    seed = int(encoded[:2])
    data = bytes.fromhex(encoded[2:])
    return "".join(chr(byte ^ ord(_TYPE7_KEY[(seed + i) % len(_TYPE7_KEY)])) for i, byte in enumerate(data))


def matches(kind: str, stored: str, password: str) -> bool:
    """Does ``password`` match a stored IOS credential of type ``kind`` ("0", "7", "9"; "5" is not modelled)?"""
    if kind == "9":
        return _check9(stored, password)
    if kind == "7":
        try:
            return hmac.compare_digest(untype7(stored), password)
        except ValueError:
            return False
    if kind == "0":
        return hmac.compare_digest(stored, password)
    return False
