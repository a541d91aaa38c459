"""The checklist as data (checklist/checklist.yml), the site's extensions, and manual attestations.

Site policy extension (`checklist:` in site_policy.yml):

    checklist:
      items: [{id: SITE-01, area: network, title: "...", attestation: camera_audit}]   # extra items
      attestation_types: {camera_audit: {owner: supervisor, max_age_days: 30, what: "..."}}
      waive: [{id: PRV-02, reason: "no regulated data", approved_by: omar}]            # listed, not scored

Attestations (`inventories/<site>/attestations.yml`):

    attestations:
      - {type: access_review, who: Omar Haddad, when: 2026-10-01, evidence: "ticket SEC-88", expires_after_days: 92}
"""

from __future__ import annotations

import datetime as dt
import os

import yaml

from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import SitePolicy

ITEM_KEYS = frozenset({"id", "area", "title", "checks", "attestation", "quick_fix", "fix", "applies_if"})
APPLIES_IF = frozenset({"regulated_data"})


class ChecklistError(ValueError):
    """The checklist, a site extension or the attestations file is wrong; the message names the entry."""


def load_checklist(path: str, policy: SitePolicy, known_checks: set[str]) -> dict:
    """The checklist merged with the site's extensions, every reference checked."""
    with open(path, encoding="utf-8") as handle:
        checklist = yaml.safe_load(handle)
    extension = policy.raw.get("checklist") or {}   # the site's extension: merged into the checklist as written
    checklist["items"] = list(checklist["items"]) + list(extension.get("items", []))
    checklist["attestation_types"] = {**checklist["attestation_types"], **extension.get("attestation_types", {})}
    checklist["waived"] = {w["id"]: w for w in extension.get("waive", [])}
    _validate(checklist, known_checks, path)
    return checklist


def _validate(checklist: dict, known_checks: set[str], path: str) -> None:
    problems, seen = [], set()
    for item in checklist["items"]:
        where = f"{path}: item {item.get('id', '?')}"
        unknown = set(item) - ITEM_KEYS
        if unknown:
            problems.append(f"{where}: unknown keys {sorted(unknown)}")
        if item.get("id") in seen:
            problems.append(f"{where}: duplicate id")
        seen.add(item.get("id"))
        if not item.get("title") or not (item.get("checks") or item.get("attestation")):
            problems.append(f"{where}: needs a title and checks and/or an attestation")
        problems += [f"{where}: unknown check {c!r}" for c in item.get("checks", []) if c not in known_checks]
        if item.get("attestation") and item["attestation"] not in checklist["attestation_types"]:
            problems.append(f"{where}: unknown attestation type {item['attestation']!r}")
        if item.get("quick_fix") and item["quick_fix"] not in checklist["quick_fixes"]:
            problems.append(f"{where}: unknown quick_fix {item['quick_fix']!r}")
        if item.get("applies_if") and item["applies_if"] not in APPLIES_IF:
            problems.append(f"{where}: applies_if must be one of {sorted(APPLIES_IF)}")
    for name, kind in checklist["attestation_types"].items():
        if not isinstance(kind, dict) or not kind.get("what") or not isinstance(kind.get("max_age_days"), int) \
                or kind["max_age_days"] < 1:
            problems.append(f"{path}: attestation type {name}: needs what and max_age_days (a whole number of days)")
    for waived_id, waiver in checklist["waived"].items():
        if waived_id not in seen or not waiver.get("reason"):
            problems.append(f"site policy checklist.waive {waived_id}: needs a known item id and a reason")
    if problems:
        raise ChecklistError("; ".join(problems))


def load_attestations(inventory_dir: str | None) -> list[dict]:
    path = os.path.join(inventory_dir, "attestations.yml") if inventory_dir else None
    if not path or not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle) or {}
    entries = data.get("attestations", [])
    for pos, entry in enumerate(entries):
        missing = [k for k in ("type", "who", "when", "evidence") if not entry.get(k)]
        if missing:
            raise ChecklistError(f"{path}: attestations[{pos}] ({entry.get('type', '?')}) lacks {', '.join(missing)}")
        if not isinstance(entry["when"], dt.date):
            raise ChecklistError(f"{path}: attestations[{pos}].when must be a date (YYYY-MM-DD), not "
                                 f"{entry['when']!r}")
    return entries


def judge_attestation(kind: str, types: dict, attestations: list[dict], today: dt.date) -> tuple[str, str, dict]:
    """(status, detail, latest attestation) of one attestation type: the newest one decides.

    status is "pass" (valid) or "fail" (missing, expired, dated in the future); the latest attestation's `state`
    says which: valid, missing, expired, future. The report turns this into "attested" / "awaiting evidence"."""
    entries = sorted((a for a in attestations if a["type"] == kind), key=lambda a: a["when"])
    if not entries:
        return "fail", f"no attestation '{kind}' ({types[kind]['what']})", {"type": kind, "state": "missing"}
    latest = entries[-1]
    when = latest["when"] if not isinstance(latest["when"], dt.datetime) else latest["when"].date()
    days = int(latest.get("expires_after_days") or types[kind]["max_age_days"])
    expires = when + dt.timedelta(days=days)
    public = {"type": kind, "who": latest["who"], "when": when.isoformat(), "evidence": latest["evidence"],
              "expires": expires.isoformat()}
    if when > today:
        return "fail", f"attestation '{kind}' is dated in the future ({when})", dict(public, state="future")
    if expires < today:
        return "fail", f"attestation '{kind}' by {latest['who']} on {when} expired on {expires}", \
            dict(public, state="expired")
    return "pass", f"attested by {latest['who']} on {when}, valid until {expires}", dict(public, state="valid")
