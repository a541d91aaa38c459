"""OpenWrt ``wifi-iface`` sections → hostapd configuration, as OpenWrt renders it, checked by the real hostapd.

The rendering follows OpenWrt's own scripts (read through the immortalwrt mirror):
``package/network/services/hostapd/files/hostapd.sh`` (``hostapd_set_bss_options``,
``hostapd_append_wpa_key_mgmt``, ``hostapd_prepare_device_config``) and netifd's ``scripts/netifd-wireless.sh``
(``wireless_vif_parse_encryption``): encryption → wpa / auth type / cipher; sae and wpa3 default to PMF required
(``ieee80211w=2``), sae-mixed to PMF optional (1) with ``sae_require_mfp=1`` and ``sae_pwe=2``; ``key`` → ``wpa_psk``
(64 characters) or ``wpa_passphrase`` (8-63); ``isolate`` → ``ap_isolate``; ``network`` → ``bridge=br-<network>``;
``list hostapd_bss_options`` lines are appended verbatim.

Differences, on purpose: a value holding a control character (a newline would inject hostapd lines) is refused
instead of written; WEP, 802.11r and WPS are not modelled.

The check runs Debian's upstream hostapd with ``driver=none`` (it parses the file and starts the BSS with no radio).
Adaptations needed for that, and only those: one BSS per run (driver=none cannot add a second BSS), no regulatory
domain (``country_code`` keeps driver=none in COUNTRY_UPDATE), ``channel=auto`` → a fixed channel, file paths moved to a
scratch directory, and ``dynamic_own_ip_addr`` dropped (an OpenWrt patch; upstream hostapd does not know it).
"""

from __future__ import annotations

import asyncio
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

HOSTAPD = "hostapd"
CHECK_TIMEOUT = 5.0
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
OPENWRT_ONLY_KEYS = ("dynamic_own_ip_addr",)
NO_DRIVER_SKIPPED_KEYS = ("country_code", "ieee80211d", "ieee80211h", "country3", "local_pwr_constraint",
                          "spectrum_mgmt_required")
ERRORS_FOUND = re.compile(r"\d+ errors? found in configuration file")


class RenderError(Exception):
    """A wifi-iface OpenWrt itself would not set up (its wireless_setup_vif_failed reasons) or the lab refuses."""


@dataclass(frozen=True)
class Encryption:
    wpa: int
    auth_type: str
    cipher: str


@dataclass(frozen=True)
class RenderedBss:
    """One access point interface: its name and the hostapd configuration (radio lines + BSS lines)."""

    section: str
    ifname: str
    radio_lines: tuple[str, ...]
    bss_lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join((*self.radio_lines, *self.bss_lines)) + "\n"


def parse_encryption(encryption: str) -> Encryption:
    """netifd-wireless.sh ``wireless_vif_parse_encryption``: wpa version, auth type and pairwise cipher."""
    enc = encryption or "none"
    cipher = "CCMP"
    if re.search(r"(tkip\+aes|tkip\+ccmp|aes\+tkip|ccmp\+tkip)$", enc):
        cipher = "CCMP TKIP"
    elif enc.endswith("ccmp256"):
        cipher = "CCMP-256"
    elif enc.endswith("gcmp256") or enc.startswith("wpa3-192"):
        cipher = "GCMP-256"
    elif enc.endswith(("tkip",)) or enc in ("wpa", "psk"):
        cipher = "TKIP"

    if re.match(r"^(wpa2|wpa3|psk3|owe|dpp)", enc) or "psk2" in enc or "sae" in enc:
        wpa = 2
    elif re.match(r"^wpa.*mixed", enc) or re.search(r"psk.*mixed", enc):
        wpa = 3
    elif enc.startswith("wpa") or "psk" in enc:
        wpa = 1
    else:
        return Encryption(0, "wep" if "wep" in enc else "none", "")
    if cipher == "TKIP":  # TKIP alone is prohibited by the WFA: OpenWrt turns it into WPA1+2 CCMP/TKIP
        wpa, cipher = 3, "CCMP TKIP"

    for prefix, auth in (("owe", "owe"), ("wpa3-192", "eap192"), ("wpa3-mixed", "eap-eap2"), ("wpa3", "eap2"),
                         ("psk3-mixed", "psk-sae"), ("sae-mixed", "psk-sae"), ("psk3", "sae"), ("sae", "sae")):
        if enc.startswith(prefix):
            return Encryption(wpa, auth, cipher)
    if "psk" in enc:
        return Encryption(wpa, "psk", cipher)
    if "wpa" in enc or "8021x" in enc:
        return Encryption(wpa, "eap", cipher)
    return Encryption(wpa, "none", cipher)


def wpa_key_mgmt(auth_type: str, ieee80211w: int) -> str:
    """hostapd.sh ``hostapd_append_wpa_key_mgmt`` (without 802.11r/FILS, which the lab does not model)."""
    pmf = ieee80211w > 0
    return {
        "psk": "WPA-PSK" + (" WPA-PSK-SHA256" if pmf else ""),
        "eap": "WPA-EAP" + (" WPA-EAP-SHA256" if pmf else ""),
        "eap192": "WPA-EAP-SUITE-B-192",
        "eap2": "WPA-EAP-SHA256",
        "eap-eap2": "WPA-EAP WPA-EAP-SHA256",
        "sae": "SAE",
        "psk-sae": "WPA-PSK" + (" WPA-PSK-SHA256" if pmf else "") + " SAE",
        "owe": "OWE",
    }[auth_type]


def _checked(section: str, options: dict) -> dict:
    for name, value in options.items():
        for item in value if isinstance(value, list) else [value]:
            if CONTROL_CHARS.search(str(item)):
                raise RenderError(f"{section}: option {name} contains a control character")
    return options


def _int(options: dict, name: str, default: int | None = None) -> int | None:
    value = options.get(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError:
        raise RenderError(f"option {name} must be a number, not {value!r}") from None


def render_radio(name: str, options: dict) -> list[str]:
    """hostapd.sh ``hostapd_prepare_device_config`` + the mac80211 basics (driver, band, channel, HT/VHT/HE)."""
    opts = _checked(name, options)
    band = opts.get("band") or {"11a": "5g", "11g": "2g", "11b": "2g"}.get(opts.get("hwmode", ""), "2g")
    hw_mode = "g" if band == "2g" else "a"
    lines = ["driver=nl80211"]
    if opts.get("country"):
        lines += [f"country_code={opts['country']}", "ieee80211d=1"]
        if hw_mode == "a":
            lines.append("ieee80211h=1")
    lines += [f"hw_mode={hw_mode}", f"beacon_int={_int(opts, 'beacon_int', 100)}"]
    channel = opts.get("channel", "auto")
    lines.append("channel=acs_survey" if channel == "auto" else f"channel={channel}")
    htmode = opts.get("htmode", "")
    if htmode.startswith(("HT", "VHT", "HE")):
        lines.append("ieee80211n=1")
    if htmode.startswith(("VHT", "HE")) and hw_mode == "a":
        lines.append("ieee80211ac=1")
    if htmode.startswith("HE"):
        lines.append("ieee80211ax=1")
    return lines


def render_bss(name: str, options: dict, ifname: str, macaddr: str = "00:00:00:00:00:00") -> list[str]:
    """hostapd.sh ``hostapd_set_bss_options`` for one wifi-iface in AP mode."""
    opts = _checked(name, options)
    enc = parse_encryption(opts.get("encryption", "none"))
    if enc.auth_type == "wep":
        raise RenderError(f"{name}: WEP is not modelled by the lab (and must not be used)")
    ieee80211w = _int(opts, "ieee80211w")
    sae_require_mfp = _int(opts, "sae_require_mfp")
    sae_pwe = _int(opts, "sae_pwe")
    if enc.auth_type in ("sae", "owe", "eap192", "eap2"):
        ieee80211w = 2 if ieee80211w is None else ieee80211w
    if enc.auth_type in ("psk-sae", "eap-eap2"):
        ieee80211w = 1 if ieee80211w is None else ieee80211w
    if enc.auth_type in ("sae", "owe", "eap192", "eap2", "psk-sae", "eap-eap2"):
        sae_require_mfp = 1 if sae_require_mfp is None else sae_require_mfp
        sae_pwe = 2 if sae_pwe is None else sae_pwe

    lines = [f"interface={ifname}", "ctrl_interface=/var/run/hostapd"]
    if _int(opts, "isolate", 0):
        lines.append(f"ap_isolate={_int(opts, 'isolate')}")
    lines += ["bss_load_update_period=60", "chan_util_avg_period=600", "disassoc_low_ack=1", "skip_inactivity_poll=0",
              "preamble=1", f"wmm_enabled={_int(opts, 'wmm', 1)}", f"ignore_broadcast_ssid={_int(opts, 'hidden', 0)}",
              "uapsd_advertisement_enabled=1", "utf8_ssid=1", "multi_ap=0",
              f"nas_identifier={macaddr.replace(':', '')}"]
    if sae_require_mfp is not None:
        lines.append(f"sae_require_mfp={sae_require_mfp}")
    if sae_pwe is not None:
        lines.append(f"sae_pwe={sae_pwe}")
    lines += _auth_lines(name, opts, enc, ifname)
    lines += ["auth_algs=1", f"wpa={enc.wpa}"]
    if enc.cipher:
        lines.append(f"wpa_pairwise={enc.cipher}")
    lines.append(f"ssid={opts.get('ssid', 'OpenWrt')}")
    if opts.get("network"):
        lines += [f"bridge=br-{opts['network']}", "wds_bridge="]
    if enc.wpa >= 1:
        lines += ["wpa_disable_eapol_key_retries=0", f"wpa_key_mgmt={wpa_key_mgmt(enc.auth_type, ieee80211w or 0)}"]
    if enc.wpa >= 2:
        okc = 1 if enc.auth_type in ("sae", "psk-sae", "owe") else 0
        lines.append(f"okc={okc}")
        if not okc:
            lines.append("disable_pmksa_caching=1")
        if ieee80211w is not None:
            lines.append(f"ieee80211w={ieee80211w}")
            if ieee80211w > 0:
                cipher = "BIP-GMAC-256" if enc.auth_type == "eap192" else "AES-128-CMAC"
                lines.append(f"group_mgmt_cipher={cipher}")
    extra = opts.get("hostapd_bss_options", [])
    lines += extra if isinstance(extra, list) else [extra]
    return lines


def _auth_lines(name: str, opts: dict, enc: Encryption, ifname: str) -> list[str]:
    if enc.auth_type in ("psk", "sae", "psk-sae"):
        key = str(opts.get("key", ""))
        if len(key) == 64:
            lines = [f"wpa_psk={key}"]
        elif 8 <= len(key) <= 63:
            lines = [f"wpa_passphrase={key}"]
        else:
            raise RenderError(f"{name}: INVALID_WPA_PSK (option key must be 8-63 characters or 64 hex digits)")
        return [*lines, f"wpa_psk_file=/var/run/hostapd-{ifname}.psk"]
    if enc.auth_type.startswith("eap"):
        servers = opts.get("auth_server") or opts.get("server") or []
        servers = servers if isinstance(servers, list) else [servers]
        if not servers:
            raise RenderError(f"{name}: WPA Enterprise needs option auth_server (the RADIUS server)")
        port = opts.get("auth_port") or opts.get("port") or "1812"
        secret = opts.get("auth_secret") or opts.get("key") or ""
        lines = []
        for server in servers:
            lines += [f"auth_server_addr={server}", f"auth_server_port={port}"]
            if secret:
                lines.append(f"auth_server_shared_secret={secret}")
        return [*lines, "dynamic_own_ip_addr=1", "ieee8021x=1"]
    return []


def render_wireless(sections: list[tuple[str, str, dict]]) -> list[RenderedBss]:
    """Render every enabled AP-mode wifi-iface of ``(type, name, options)`` sections; RenderError if one fails."""
    radios = {name: (index, opts) for index, (name, opts) in
              enumerate((n, o) for t, n, o in sections if t == "wifi-device")}
    counters: dict[str, int] = {}
    rendered = []
    for section_type, name, opts in sections:
        if section_type != "wifi-iface" or opts.get("mode", "ap") != "ap" or opts.get("disabled") == "1":
            continue
        radio = opts.get("device")
        if radio not in radios:
            raise RenderError(f"{name}: option device {radio!r} names no wifi-device section")
        index, radio_opts = radios[radio]
        if radio_opts.get("disabled") == "1":
            continue
        ifname = opts.get("ifname") or f"phy{index}-ap{counters.get(radio, 0)}"
        counters[radio] = counters.get(radio, 0) + 1
        rendered.append(RenderedBss(name, ifname, tuple(render_radio(radio, radio_opts)),
                                    tuple(render_bss(name, opts, ifname))))
    return rendered


def config_for_check(bss: RenderedBss, scratch: Path) -> str:
    """The rendering adapted to upstream hostapd with driver=none (see the module docstring)."""
    lines = []
    for line in bss.text.splitlines():
        key, _, value = line.partition("=")
        if key in OPENWRT_ONLY_KEYS or key in NO_DRIVER_SKIPPED_KEYS:
            continue
        if key == "driver":
            line = "driver=none"
        elif key == "channel" and value == "acs_survey":
            line = "channel=1" if "hw_mode=g" in bss.radio_lines else "channel=36"
        elif key == "ctrl_interface":
            line = f"ctrl_interface={scratch / 'ctrl'}"
        elif key == "wpa_psk_file":
            psk_file = scratch / Path(value).name
            psk_file.touch()
            line = f"wpa_psk_file={psk_file}"
        lines.append(line)
    return "\n".join(lines) + "\n"


async def hostapd_accepts(bss: RenderedBss, timeout: float = CHECK_TIMEOUT) -> tuple[bool, str]:
    """Run the real hostapd on ``bss`` until it enables the AP (accepted) or exits (refused, with its message)."""
    if shutil.which(HOSTAPD) is None:
        raise RuntimeError("hostapd is not installed (apt-get install hostapd): the lab cannot check Wi-Fi configs")
    with tempfile.TemporaryDirectory(prefix="lab-hostapd-") as scratch:
        conf = Path(scratch) / f"{bss.ifname}.conf"
        conf.write_text(config_for_check(bss, Path(scratch)))
        process = await asyncio.create_subprocess_exec(HOSTAPD, str(conf), stdout=asyncio.subprocess.PIPE,
                                                       stderr=asyncio.subprocess.STDOUT)
        output: list[str] = []
        try:
            accepted = await asyncio.wait_for(_read_until_enabled(process, output), timeout)
        except TimeoutError:
            accepted = False
            output.append(f"hostapd did not enable the AP within {timeout:g} s")
        finally:
            if process.returncode is None:
                process.terminate()
                await process.wait()
    message = "\n".join(line.replace(str(conf), f"{bss.ifname}.conf") for line in output)
    return accepted, message


async def _read_until_enabled(process: asyncio.subprocess.Process, output: list[str]) -> bool:
    assert process.stdout is not None
    async for raw in process.stdout:
        line = raw.decode(errors="replace").rstrip()
        output.append(line)
        if "AP-ENABLED" in line:
            return True
    await process.wait()
    return False


def refusal_summary(message: str) -> str:
    """The lines of hostapd's output that say why it refused (errors, not the teardown chatter)."""
    keep = [line for line in message.splitlines()
            if line.startswith("Line ") or ERRORS_FOUND.search(line) or "enabled, but" in line
            or "requires" in line or "Failed" in line or "did not enable" in line]
    return "\n".join(keep) or message
