# -*- coding: utf-8 -*-
"""JSON Schema (draft 2020-12) of the site policy, version 1.

Kept as Python so Ansible's module packager ships it with the modules; `make schema` writes it out as
docs/site_policy.schema.json for editors. Every string that ends up in a device CLI or config file has a pattern
that admits no newline, control character, `!`, `;`, `|`, backtick, quote, `?` or leading/trailing space.
"""

from __future__ import annotations

SCHEMA_VERSION = 1

SUPPORTED_PLATFORMS = ("linux", "cisco_ios", "cisco_wlc9800", "openwrt", "poly", "yealink", "cisco_mpp")
ZONE_PURPOSES = ("mgmt", "voice", "data", "guest", "ai", "servers")
PEOPLE_ROLES = ("supervisor", "agent", "billing", "compliance", "admin")
DATA_CLASSES = ("recordings", "transcripts", "metadata", "payment")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun", "daily")

# Patterns for values rendered into device configuration. Each has a human description for error messages.
IDENTIFIER = r"^[a-z][a-z0-9_-]{0,31}$"
HOSTNAME = r"^[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"
SAFE_TEXT = r"^[A-Za-z0-9]([A-Za-z0-9 _.,:/@+()=&-]{0,198}[A-Za-z0-9._)])?$"
PERSON_NAME = r"^[A-Za-z]([A-Za-z .-]{0,62}[A-Za-z.])?$"
SSID = r"^[A-Za-z0-9]([A-Za-z0-9 _.@+()-]{0,30}[A-Za-z0-9._)-])?$"
INTERFACE = r"^[A-Z][A-Za-z-]*[0-9]+(/[0-9]+){0,3}(\.[0-9]+)?$"
FILENAME = r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$"
VERSION = r"^[A-Za-z0-9][A-Za-z0-9._()-]{0,63}$"
USERNAME = r"^[a-z_][a-z0-9_-]{0,31}$"
VARIABLE = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
NETWORK_HOST = r"^[A-Za-z0-9]([A-Za-z0-9.:-]{0,251}[A-Za-z0-9])?$"
SHA256 = r"^[0-9a-fA-F]{64}$"
DURATION = r"^([0-9]+[mhdwy])+$"
TIME_OF_DAY = r"^[0-9]{2}:[0-9]{2}$"
DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
PORT_RANGE = r"^[0-9]{1,5}-[0-9]{1,5}$"
SNMP_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$"
# The AI agent's endpoint (ai_agent.url): http(s), a host, an optional port and a plain path - no credentials, query
# or fragment. The JSON path of its reply (ai_agent.response_field): `$.a.b[0]` or one top-level key.
AGENT_URL = r"^https?://[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(:[0-9]{1,5})?(/[A-Za-z0-9._~%/-]*)?$"
JSON_PATH = r"^(\$(\.[A-Za-z_][A-Za-z0-9_]{0,63}|\[[0-9]{1,4}\]){1,16}|[A-Za-z_][A-Za-z0-9_]{0,63})$"
HTTP_HEADER = r"^[A-Za-z][A-Za-z0-9-]{0,63}$"
CARD_NUMBER = r"^[0-9]([0-9 -]{10,22}[0-9])$"
SIP_USER = r"^[+]?[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$"   # distinct from SNMP_NAME: E.164 users may start with +
DIALED_NUMBER = r"^[0-9]{1,15}$"
ABSOLUTE_PATH = r"^/[A-Za-z0-9_./-]{1,254}$"

CLI_SAFE_DESCRIPTIONS = {
    IDENTIFIER: "must be a lower-case identifier: a letter, then letters, digits, '-' or '_' (at most 32)",
    HOSTNAME: "must be a hostname: letters, digits and '-', starting with a letter (at most 63)",
    SAFE_TEXT: "contains characters that are not allowed in a device config: use letters, digits, spaces and "
               "_ . , : / @ + ( ) = & - (no newline, !, ;, |, backtick, quotes, ?; no leading/trailing space)",
    PERSON_NAME: "a person's name: letters, spaces, '.' and '-' only",
    SSID: "an SSID of at most 32 characters: letters, digits, spaces and _ . @ + ( ) - "
          "(no quotes, newline, !, ;, |, backtick; no leading/trailing space)",
    INTERFACE: "must be an interface name such as GigabitEthernet1/0/1",
    FILENAME: "must be a plain file name: letters, digits, '.', '_', '+', '-' (no path, no spaces)",
    VERSION: "must be a version string: letters, digits, '.', '_', '-', '(' and ')'",
    USERNAME: "must be a Linux user name: lower-case letters, digits, '-' or '_' (at most 32)",
    VARIABLE: "must be an Ansible variable name (letters, digits, '_')",
    NETWORK_HOST: "must be a host name or an IP address",
    SHA256: "must be a SHA-256 checksum: 64 hexadecimal digits",
    DURATION: "must be a duration such as 90d, 12w, 3h or 1h30m",
    TIME_OF_DAY: "must be a time of day as HH:MM",
    DATE: "must be a date as YYYY-MM-DD",
    PORT_RANGE: "a port range is written low-high, e.g. 10000-20000",
    SNMP_NAME: "an SNMP group or user name: letters, digits, '_', '.', '-' (at most 32)",
    AGENT_URL: "must be an http:// or https:// URL: host, optional port and path (no credentials, query or fragment)",
    JSON_PATH: "must be a JSON path such as $.reply or $.choices[0].text (or one top-level key)",
    HTTP_HEADER: "must be an HTTP header name: letters, digits and '-'",
    CARD_NUMBER: "a card number: 12 to 19 digits, optionally grouped with spaces or '-'",
    SIP_USER: "a SIP user name: an optional '+', then letters, digits, '_', '.', '-', starting with a letter or digit "
              "(at most 32)",
    DIALED_NUMBER: "an extension or number: digits only, at most 15 (E.164 length)",
    ABSOLUTE_PATH: "an absolute file path: letters, digits, '_', '.', '/', '-' (no spaces, no quotes)",
}


def _string(pattern: str, **extra) -> dict:
    return {"type": "string", "pattern": pattern, **extra}


def _object(properties: dict, required: tuple = (), **extra) -> dict:
    return {"type": "object", "properties": properties, "required": list(required),
            "additionalProperties": False, **extra}


def _list(items: dict, **extra) -> dict:
    return {"type": "array", "items": items, **extra}


VLAN_ID = {"type": "integer", "minimum": 2, "maximum": 4094}
PORT = {"oneOf": [{"type": "integer", "minimum": 1, "maximum": 65535}, _string(PORT_RANGE)]}
SWITCH_PORT = _object({"switch": _string(HOSTNAME), "interface": _string(INTERFACE)}, ("switch", "interface"))
# A switch's uplink: the far switch and its port, and (optional) this switch's own port toward it.
UPLINK = _object({"switch": _string(HOSTNAME), "interface": _string(INTERFACE),
                  "local_interface": _string(INTERFACE)}, ("switch", "interface"))

# SNMPv3 only (authPriv): one group, its users; keys come from vault variables (docs/network.md).
SNMP = _object({
    "group": _string(SNMP_NAME),
    "users": _list(_object({
        "name": _string(SNMP_NAME),
        "auth": {"enum": ["sha"]},
        "priv": {"enum": ["aes-128", "aes-192", "aes-256"]},
        "auth_key_var": _string(VARIABLE),
        "priv_key_var": _string(VARIABLE),
    }, ("name", "auth_key_var", "priv_key_var")), minItems=1),
}, ("group", "users"))

# The site's AI agent as the probe reaches it (plugins/module_utils/ai_probe, docs/ai_agent.md): its text/chat
# endpoint, the JSON request with placeholders ($INPUT: the caller's utterance; $CALLER_NAME, $CALLBACK_NUMBER,
# $APPOINTMENT_TYPE, $APPOINTMENT_NOTES: the caller fields), the reply's JSON path, the token's vault variable,
# the canaries the site planted, the allow-lists its agent must enforce.
AI_AGENT_PLACEHOLDERS = ("INPUT", "CALLER_NAME", "CALLBACK_NUMBER", "APPOINTMENT_TYPE", "APPOINTMENT_NOTES")
AI_AGENT = _object({
    "url": _string(AGENT_URL),
    "request_template": {"type": "object", "minProperties": 1},
    "response_field": _string(JSON_PATH),
    "auth": _object({"token_var": _string(VARIABLE), "header": _string(HTTP_HEADER),
                     "scheme": {"enum": ["Bearer", "Token", "none"]}}, ("token_var",)),
    "rate_limit_per_minute": {"type": "integer", "minimum": 1, "maximum": 6000},
    "timeout_seconds": {"type": "integer", "minimum": 1, "maximum": 120},
    "canaries": _object({"card_number": _string(CARD_NUMBER), "customer_name": _string(PERSON_NAME),
                         "system_prompt_phrase": _string(SAFE_TEXT, minLength=12)},
                        ("card_number", "customer_name", "system_prompt_phrase")),
    "allow_lists": _object({"callback_number": {"type": "string", "minLength": 3, "maxLength": 200},
                            "appointment_types": _list(_string(IDENTIFIER), minItems=1, uniqueItems=True)},
                           ("callback_number", "appointment_types")),
    "safe_mode_on_leak": {"type": "boolean"},
    "evidence_interval": _string(DURATION),
}, ("url", "request_template", "response_field", "canaries", "allow_lists"))
# The voice edge (Kamailio + rtpengine on one Linux host, docs/voice.md). Addresses are checked semantically.
VOICE = _object({
    "edge": _string(HOSTNAME),                       # the linux device that runs the edge
    "sip_domain": _string(NETWORK_HOST),
    "signalling_service": _string(IDENTIFIER),       # a tcp service on 5061: who reaches it is said by the flows
    "media_service": _string(IDENTIFIER),            # a udp service with one port range: rtpengine's ports
    "agent": _object({
        "address": {"type": "string"},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "extensions": _list(_string(DIALED_NUMBER), minItems=1, uniqueItems=True),
    }, ("address", "extensions")),
    "trunks": _list(_object({
        "name": _string(IDENTIFIER),
        "address": {"type": "string"},
        "description": _string(SAFE_TEXT),
    }, ("name", "address"))),
    "users": _list(_object({
        "username": _string(SIP_USER),
        "password_var": _string(VARIABLE),
    }, ("username", "password_var"))),
    "limits": _object({
        "pike_requests": {"type": "integer", "minimum": 2, "maximum": 10000},
        "pike_interval": {"type": "integer", "minimum": 1, "maximum": 60},
        "auth_failures": {"type": "integer", "minimum": 1, "maximum": 100},
        "ban_seconds": {"type": "integer", "minimum": 10, "maximum": 86400},
    }),
    "certificate": _object({
        "source": {"enum": ["self_signed", "files"]},
        "cert_file": _string(ABSOLUTE_PATH),
        "key_file": _string(ABSOLUTE_PATH),
    }, ("source",), **{"if": {"properties": {"source": {"const": "files"}}, "required": ["source"]},
                      "then": {"required": ["cert_file", "key_file"]}}),
    "metrics_port": {"type": "integer", "minimum": 1024, "maximum": 65535},
}, ("edge", "sip_domain", "signalling_service", "media_service", "agent"))

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://aiphone-hardening.invalid/schemas/site_policy.v1.json",
    "title": "aiphone-hardening site policy",
    **_object(
        {
            "schema_version": {"const": SCHEMA_VERSION},
            "site": _object({
                "name": _string(IDENTIFIER),
                "description": _string(SAFE_TEXT),
                "timezone": {"type": "string"},
                "regulated_data": _list({"enum": ["hipaa", "pci", "gdpr", "ccpa", "glba"]}, uniqueItems=True),
            }, ("name", "timezone")),
            "zones": _list(_object({
                "name": _string(IDENTIFIER),
                "vlan": VLAN_ID,
                "subnet": {"type": "string"},
                "gateway": {"type": "string"},
                "purpose": {"enum": list(ZONE_PURPOSES)},
                "description": _string(SAFE_TEXT),
            }, ("name", "vlan", "subnet", "gateway", "purpose")), minItems=1),
            "services": {
                "type": "object",
                "propertyNames": {"pattern": IDENTIFIER},
                "additionalProperties": _object(
                    {"protocol": {"enum": ["tcp", "udp", "icmp"]}, "ports": _list(PORT, minItems=1)},
                    ("protocol",),
                    **{"if": {"properties": {"protocol": {"enum": ["tcp", "udp"]}}},
                       "then": {"required": ["ports"]},
                       "else": {"not": {"required": ["ports"]}}},
                ),
                "minProperties": 1,
            },
            "flows": _list(_object({
                "from": _string(IDENTIFIER),
                "to": _string(IDENTIFIER),
                "service": _string(IDENTIFIER),
                "description": _string(SAFE_TEXT),
            }, ("from", "to", "service"))),
            "network": _object({
                "blackhole_vlan": VLAN_ID,
                "native_vlan": VLAN_ID,
                "prune_vlans": {"type": "boolean"},
                "ntp_servers": _list({"type": "string"}),
                "dns_servers": _list({"type": "string"}),
                "logging_hosts": _list({"type": "string"}),
                "banner": _string(SAFE_TEXT),
                "domain_name": _string(NETWORK_HOST),
                "snmp": SNMP,
                # the switch that routes between the zones: each zone's gateway is its SVI address there
                "l3_switch": _string(HOSTNAME),
            }),
            "siem": _object({
                "host": _string(NETWORK_HOST),
                "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                "protocol": {"enum": ["syslog-tls", "relp-tls", "splunk-hec", "cloudwatch"]},
                "ca_file": {"type": "string"},
                "peer_name": _string(NETWORK_HOST),
            }, ("host", "protocol")),
            "wireless": _object({
                "radius_servers": _list(_object({"host": _string(NETWORK_HOST),
                                                 "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                                                 "secret_var": _string(VARIABLE)}, ("host", "secret_var"))),
                "ssids": _list(_object({
                    "name": _string(SSID),
                    "zone": _string(IDENTIFIER),
                    "security": {"enum": ["wpa3-personal", "wpa3-enterprise"]},
                    "psk_var": _string(VARIABLE),
                    "isolate": {"type": "boolean"},
                    "hidden": {"type": "boolean"},
                    "transition": {"type": "boolean"},
                    "transition_reason": _string(SAFE_TEXT),
                }, ("name", "zone", "security"),
                    **{"if": {"properties": {"transition": {"const": True}}, "required": ["transition"]},
                       "then": {"required": ["transition_reason"]}})),
            }),
            "devices": _list(_object({
                "name": _string(HOSTNAME),
                "platform": {"enum": list(SUPPORTED_PLATFORMS)},
                "model": _string(SAFE_TEXT),
                "zone": _string(IDENTIFIER),
                "data_zone": _string(IDENTIFIER),
                "address": {"type": "string"},
                "switch_port": SWITCH_PORT,
                "uplink": UPLINK,
                "description": _string(SAFE_TEXT),
            }, ("name", "platform", "model", "zone"))),
            "firmware_baselines": _list(_object({
                "platform": {"enum": list(SUPPORTED_PLATFORMS)},
                "model": _string(SAFE_TEXT),
                "version": _string(VERSION),
                "image": _string(FILENAME),
                "sha256": _string(SHA256),
                "md5": _string(r"^[0-9a-fA-F]{32}$"),
                "size": {"type": "integer", "minimum": 1},
            }, ("platform", "model", "version", "image", "sha256"))),
            "maintenance": _object({
                "windows": _list(_object({
                    "name": _string(IDENTIFIER),
                    "days": _list({"enum": list(WEEKDAYS)}, minItems=1, uniqueItems=True),
                    "start": _string(TIME_OF_DAY),
                    "duration": _string(DURATION),
                }, ("name", "days", "start", "duration"))),
                "blackout_dates": _list(_string(DATE), uniqueItems=True),
            }),
            "retention": _object({data_class: _string(DURATION) for data_class in DATA_CLASSES}),
            "payment_card_storage": {"enum": ["none", "last4"]},
            "people": _list(_object({
                "username": _string(USERNAME),
                "full_name": _string(PERSON_NAME),
                "roles": _list({"enum": list(PEOPLE_ROLES)}, minItems=1, uniqueItems=True),
                "ssh_keys": _list({"type": "string", "pattern": r"^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|"
                                                                r"ssh-rsa|sk-ssh-ed25519@openssh.com) [A-Za-z0-9+/=]+"
                                                                r"( [A-Za-z0-9 _.@+-]{0,64})?$"}),
                "mfa": {"type": "boolean"},
                "enabled": {"type": "boolean"},
            }, ("username", "roles"))),
            "automation": _object({"account": _string(USERNAME)}, ("account",)),
            "ai_agent": AI_AGENT,
            "voice": VOICE,
            "checklist": {"type": "object",
                          "description": "site extensions of the compliance checklist (see docs/audit.md)"},
        },
        ("schema_version", "site", "zones", "services", "flows", "devices"),
    ),
}
