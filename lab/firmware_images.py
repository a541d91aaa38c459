"""Deterministic firmware "builds" for the simulated devices.

A lab image is what a real vendor image is to its device: a file the device recognises by content. Layout::

    AIPHONE-LAB-FIRMWARE/1\\n
    {"model": ..., "platform": ..., "size": ..., "version": ...}\\n
    sig=<hex HMAC-SHA256(lab key, header line + padding)>\\n
    <deterministic padding up to ``size`` bytes>

The same (platform, model, version, size) always gives the same bytes, so the sha256 of a build is stable and the
site policy's ``firmware_baselines`` can name it. Any damaged byte breaks the signature: the device refuses it.
The signing key protects simulated devices only.
"""

from __future__ import annotations

import hashlib
import hmac
import json

MAGIC = b"AIPHONE-LAB-FIRMWARE/1\n"
LAB_SIGNING_KEY = b"aiphone-lab firmware signing key - simulated devices only"
DEFAULT_IMAGE_SIZE = 256 * 1024
_MIN_SIZE = 512

# The builds the lab knows per (platform, model), oldest first. The lab starts every device on the build just
# before its site-policy baseline, so there is always something to upgrade and something for the audit to flag.
KNOWN_BUILDS: dict[tuple[str, str], tuple[str, ...]] = {
    ("cisco_ios", "C9300-24P"): ("17.6.4", "17.9.5", "17.12.3"),
    ("cisco_ios", "C9300-48P"): ("17.6.4", "17.9.5", "17.12.3"),
    ("cisco_ios", "C9200L-24P-4G"): ("17.6.4", "17.9.5", "17.12.3"),
    ("cisco_ios", "C9200L-48P-4G"): ("17.6.4", "17.9.5", "17.12.3"),
    ("cisco_wlc9800", "C9800-L-C"): ("17.6.4", "17.9.5", "17.12.3"),
    ("openwrt", "Ubiquiti UniFi 6 Lite"): ("22.03.5", "23.05.3", "23.05.5"),
    ("poly", "VVX450"): ("6.3.1.8427", "6.4.6.2000"),
    ("yealink", "T54W"): ("96.85.0.5", "96.86.0.70"),
    ("cisco_mpp", "CP-8841-3PCC"): ("sip88xx.11-3-7MPP0001-609", "sip88xx.12-0-4MPP0001-41"),
}


def make_image(platform: str, model: str, version: str, size: int = DEFAULT_IMAGE_SIZE) -> bytes:
    """The bytes of one build, padded to exactly ``size`` bytes."""
    header = json.dumps({"platform": platform, "model": model, "version": version, "size": size},
                        sort_keys=True).encode() + b"\n"
    fixed = len(MAGIC) + len(header) + len(b"sig=") + 64 + 1
    if size < max(fixed, _MIN_SIZE):
        raise ValueError(f"image size {size} is too small (minimum {max(fixed, _MIN_SIZE)} bytes)")
    padding = hashlib.shake_256(header).digest(size - fixed)
    signature = hmac.new(LAB_SIGNING_KEY, header + padding, hashlib.sha256).hexdigest().encode()
    return MAGIC + header + b"sig=" + signature + b"\n" + padding


def identify_image(data: bytes) -> tuple[str, str, str] | None:
    """(platform, model, version) of a valid lab image, or None when the content is not a genuine build."""
    if not data.startswith(MAGIC):
        return None
    header_end = data.find(b"\n", len(MAGIC)) + 1
    sig_end = data.find(b"\n", header_end) + 1
    if header_end <= 0 or sig_end <= 0 or not data[header_end:sig_end].startswith(b"sig="):
        return None
    header = data[len(MAGIC):header_end]
    try:
        meta = json.loads(header)
        expected = bytes.fromhex(data[header_end + 4:sig_end - 1].decode())
    except (ValueError, UnicodeDecodeError):
        return None
    actual = hmac.new(LAB_SIGNING_KEY, header + data[sig_end:], hashlib.sha256).digest()
    if not hmac.compare_digest(actual, expected) or meta.get("size") != len(data):
        return None
    return meta["platform"], meta["model"], meta["version"]


def image_sha256(platform: str, model: str, version: str, size: int = DEFAULT_IMAGE_SIZE) -> str:
    return hashlib.sha256(make_image(platform, model, version, size)).hexdigest()


def _iosxe_version_tag(version: str) -> str:
    """17.9.5 -> 17.09.05, the way Cisco spells versions in image file names."""
    major, minor, *rest = version.split(".")
    return ".".join([major, minor.zfill(2), *(part.zfill(2) for part in rest)])


def image_filename(platform: str, model: str, version: str) -> str:
    """The file name a vendor would give this build (Cisco's naming for Catalyst 9000 and 9800)."""
    if platform == "cisco_ios":
        family = "cat9k_lite_iosxe" if model.startswith("C9200") else "cat9k_iosxe"
        return f"{family}.{_iosxe_version_tag(version)}.SPA.bin"
    if platform == "cisco_wlc9800":
        return f"C9800-L-universalk9_wlc.{_iosxe_version_tag(version)}.SPA.bin"
    return f"{model.replace(' ', '_')}-{version}.bin"


def start_version(platform: str, model: str, baseline: str | None) -> str:
    """The build a lab device boots first: the one just before the baseline (or the oldest known)."""
    builds = KNOWN_BUILDS.get((platform, model))
    if not builds:
        raise ValueError(f"the lab knows no firmware builds for {platform} {model!r}; add them to KNOWN_BUILDS")
    if baseline in builds and builds.index(baseline) > 0:
        return builds[builds.index(baseline) - 1]
    return builds[0]
