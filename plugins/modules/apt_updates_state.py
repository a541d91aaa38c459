#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Read-only: how fresh the package lists of every configured apt source are, and what `apt-get -s upgrade` would
install, the security updates named apart."""

from __future__ import annotations

DOCUMENTATION = r"""
module: apt_updates_state
short_description: Freshness of every configured apt source's lists, and the updates still pending
description:
  - Reads the configured sources as apt itself does (python3-apt C(SourceList), so C(sources.list), C(*.list) and
    deb822 C(*.sources) alike) and, for each source (URI + suite), whether its C(InRelease)/C(Release) file and at
    least one C(Packages) list exist under C(Dir::State::lists), and how old they are. A source without lists -
    e.g. a C(-security) suite added after the last C(apt-get update) - is C(stale), whatever the age of the others.
  - Runs C(apt-get -s upgrade) (a simulation, changes nothing) and parses its C(Inst) lines - C(Inst pkg [old]
    (new Label:Version/Suite, ... [arch])) - and its "kept back" list; updates whose origin matches
    I(security_pattern) are returned apart in C(security_pending).
  - Read-only, never reports a change; runs the same in check mode.
version_added: 0.1.0
options:
  max_age:
    description: Lists older than this many seconds make their source stale (0 - always stale).
    type: int
    default: 3600
  security_pattern:
    description: Regular expression an origin (C(Label:Version/Suite) of the simulation) matches when it is a
      security archive.
    type: str
    default: '(?i)(^|[:/-])security\b|-security$'
  refresh_stamp:
    description:
      - A file whose modification time is when every source was last fetched without an error (the
        security_updates role touches it after C(ansible.builtin.apt) C(update_cache), which fails when any source
        fails). A source that has lists is then as old as the newer of its C(InRelease)/C(Release) file and this
        stamp - apt keeps a Release file's date from the mirror's C(Last-Modified), so an unchanged suite looks old
        however recently it was checked. A source without lists is stale whatever the stamp says. Empty - the
        Release files alone.
    type: str
    default: /var/lib/apt/periodic/aiphone-hardening-lists-refreshed
  simulate:
    description: Also run C(apt-get -s upgrade) and return what is pending.
    type: bool
    default: true
author: aiphone-hardening contributors
notes:
  - Debian and Ubuntu (apt). The RHEL counterpart (C(dnf updateinfo list --security --available)) is in the
    security_updates role's C(verify_dnf.yml), written from the dnf documentation and untested here.
"""

EXAMPLES = r"""
- name: Which sources need their lists refreshed
  aiphone.hardening.apt_updates_state:
    max_age: 3600
    simulate: false
  register: lists

- name: Refresh when any source has no lists or old ones
  ansible.builtin.apt:
    update_cache: true
  when: lists.refresh_needed
"""

RETURN = r"""
sources:
  description: One entry per configured source (URI + suite).
  returned: always
  type: list
  elements: dict
  sample: [{"uri": "http://deb.debian.org/debian-security/", "suite": "bookworm-security", "release_file": null,
            "packages_lists": 0, "age_seconds": null, "stale": true, "reason": "no lists (never downloaded)"}]
stale_sources:
  description: "'URI suite: reason' of every stale source."
  returned: always
  type: list
  elements: str
refresh_needed:
  description: True when any source is stale.
  returned: always
  type: bool
pending:
  description: Every upgrade the simulation would install.
  returned: when simulate
  type: list
  elements: dict
  sample: [{"package": "libssl3", "installed": "3.0.11-1~deb12u2", "candidate": "3.0.17-1~deb12u2",
            "origins": ["Debian-Security:12/oldstable-security"], "security": true}]
security_pending:
  description: Names of the pending upgrades from a security origin, kept-back (held) ones included.
  returned: when simulate
  type: list
  elements: str
kept_back:
  description: Packages the simulation keeps back (held, or needing new or removed dependencies), with the origins
    of their candidate version.
  returned: when simulate
  type: list
  elements: dict
  sample: [{"package": "libssl3", "origins": ["Debian-Security:12/oldstable-security"], "security": true}]
"""

import os
import re
import time

from ansible.module_utils.basic import AnsibleModule

INST = re.compile(r"^Inst (?P<package>\S+)(?: \[(?P<installed>[^\]]+)\])? \((?P<candidate>\S+) (?P<origins>.*?)"
                  r"(?: \[[^\]]+\])?\)(?: \[[^\]]*\])*\s*$")


def parse_simulation(output: str, security_pattern: str) -> tuple[list[dict], list[str]]:
    """(pending upgrades, kept-back package names) from the output of `apt-get -s upgrade`."""
    security = re.compile(security_pattern)
    pending, kept_back, in_kept = [], [], False
    for line in output.splitlines():
        if line.startswith("The following packages have been kept back"):
            in_kept = True
            continue
        if in_kept:
            if line.startswith(" "):
                kept_back += line.split()
                continue
            in_kept = False
        match = INST.match(line)
        if match:
            origins = [o.strip() for o in match["origins"].split(",") if o.strip()]
            pending.append({"package": match["package"], "installed": match["installed"],
                            "candidate": match["candidate"], "origins": origins,
                            "security": any(security.search(o) for o in origins)})
        elif line.startswith("Inst "):
            raise ValueError(f"unexpected line in apt-get -s upgrade: {line!r}")
    return pending, kept_back


def candidate_origins(packages: list[str]) -> dict[str, list[str]]:
    """{package: ["Label:Version/Archive", ...]} of the candidate version of each package (python3-apt), in the
    form the simulation prints, so that kept-back packages are judged by the same pattern."""
    import apt_pkg

    apt_pkg.init()
    cache = apt_pkg.Cache(None)
    depcache = apt_pkg.DepCache(cache)
    found = {}
    for name in packages:
        try:
            candidate = depcache.get_candidate_ver(cache[name.split(":")[0]])
        except KeyError:
            candidate = None
        found[name] = [f"{pf.label}:{pf.version}/{pf.archive}" for pf, _index in candidate.file_list
                       if pf.archive != "now"] if candidate else []
    return found


def judge_source(release_mtime: float | None, packages_lists: int, now: float, max_age: int,
                 refreshed: float | None = None) -> tuple[bool, str, int | None]:
    """(stale, reason, age in seconds) of one source; `refreshed` is the mtime of the refresh stamp, if any."""
    if release_mtime is None:
        return True, "no lists (never downloaded)", None
    if packages_lists == 0:
        return True, "a Release file but no Packages list", None
    checked = max(release_mtime, refreshed) if refreshed is not None else release_mtime
    age = int(max(now - checked, 0))
    what = f"lists {age} s old" if checked == release_mtime else f"lists checked {age} s ago"
    if max_age <= 0 or age > max_age:
        return True, f"{what} (limit {max_age} s)", age
    return False, what, age


def stamp_mtime(path: str) -> float | None:
    """The refresh stamp's mtime, None when there is none (or no stamp is used)."""
    if not path:
        return None
    try:
        return os.stat(path).st_mtime
    except FileNotFoundError:
        return None


def _sources(max_age: int, refreshed: float | None) -> list[dict]:
    import apt_pkg  # python3-apt: apt's own reading of the sources; the apt module needs it as well

    apt_pkg.init()
    lists_dir = apt_pkg.config.find_dir("Dir::State::lists")
    source_list = apt_pkg.SourceList()
    source_list.read_main_list()
    now = time.time()
    found = []
    for meta in source_list.list:
        base = meta.uri + (meta.dist if meta.dist.endswith("/") else f"dists/{meta.dist}/")
        release, mtime = None, None
        for name in ("InRelease", "Release"):
            path = os.path.join(lists_dir, apt_pkg.uri_to_filename(base + name))
            if os.path.exists(path):
                release, mtime = path, os.path.getmtime(path)
                break
        packages = sum(1 for index in meta.index_files if index.has_packages and index.exists)
        stale, reason, age = judge_source(mtime, packages, now, max_age, refreshed)
        found.append({"uri": meta.uri, "suite": meta.dist, "release_file": release, "packages_lists": packages,
                      "age_seconds": age, "stale": stale, "reason": reason})
    return found


def main():
    module = AnsibleModule(
        argument_spec={
            "max_age": {"type": "int", "default": 3600},
            "security_pattern": {"type": "str", "default": r"(?i)(^|[:/-])security\b|-security$"},
            "refresh_stamp": {"type": "str", "default": "/var/lib/apt/periodic/aiphone-hardening-lists-refreshed"},
            "simulate": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    p = module.params
    try:
        re.compile(p["security_pattern"])
    except re.error as exc:
        module.fail_json(msg=f"security_pattern {p['security_pattern']!r} is not a regular expression: {exc}")
    if p["refresh_stamp"] and not os.path.isabs(p["refresh_stamp"]):
        module.fail_json(msg=f"refresh_stamp {p['refresh_stamp']!r} must be an absolute path (or empty for none)")
    try:
        sources = _sources(p["max_age"], stamp_mtime(p["refresh_stamp"]))
    except ImportError:
        module.fail_json(msg="python3-apt is not installed on the host: install it (apt-get install python3-apt)")
    except (OSError, SystemError) as exc:
        module.fail_json(msg=f"cannot read the apt sources: {exc}")
    stale = [f"{s['uri']} {s['suite']}: {s['reason']}" for s in sources if s["stale"]]
    result = {"changed": False, "sources": sources, "stale_sources": stale, "refresh_needed": bool(stale)}
    if p["simulate"]:
        rc, out, err = module.run_command(["apt-get", "-s", "-o", "Debug::NoLocking=1", "upgrade"],
                                          environ_update={"LC_ALL": "C", "DEBIAN_FRONTEND": "noninteractive"})
        if rc != 0:
            module.fail_json(msg=f"apt-get -s upgrade failed (rc {rc}): {err.strip() or out.strip()}", **result)
        try:
            pending, kept_back = parse_simulation(out, p["security_pattern"])
        except ValueError as exc:
            module.fail_json(msg=str(exc), **result)
        security = re.compile(p["security_pattern"])
        held = [{"package": name, "origins": origins, "security": any(security.search(o) for o in origins)}
                for name, origins in (candidate_origins(kept_back) if kept_back else {}).items()]
        result.update(pending=pending, kept_back=held,
                      security_pending=[u["package"] for u in pending + held if u["security"]])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
