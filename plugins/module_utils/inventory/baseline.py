"""Compare what a device runs with the approved baseline of the site policy.

Status of each device (one of STATUSES):
  compliant      runs the baseline version of its platform/model
  outdated       runs another version (older, or newer than approved: `direction` says which)
  unknown_model  no baseline for its platform/model (or the device reports another model than the policy lists)
  unreachable    could not be read (the reason is in `error`)
  unparsed       answered, but in a shape the parser does not understand (the first lines are quoted in `detail`)

Model, serial and version come from the device only: what it did not report is a finding (`missing`), never
filled in from the site policy.
"""

from __future__ import annotations

import re

COMPLIANT, OUTDATED, UNKNOWN_MODEL, UNREACHABLE, UNPARSED = ("compliant", "outdated", "unknown_model", "unreachable",
                                                             "unparsed")
STATUSES = (COMPLIANT, OUTDATED, UNKNOWN_MODEL, UNREACHABLE, UNPARSED)
# what a read that reached the device but could not understand it raises (drivers.exceptions.UnexpectedOutput)
UNPARSED_ERRORS = ("UnexpectedOutput",)
REPORTED_FACTS = {"model": "model", "serial": "serial number", "os_version": "software version"}


def missing_facts(facts: dict) -> list[str]:
    """Findings: the identity facts the device did not report (empty counts as not reported)."""
    return [f"the device did not report its {label}" for key, label in REPORTED_FACTS.items()
            if not str(facts.get(key) or "").strip()]


def version_key(version: str) -> tuple[int, ...]:
    """Numeric parts of a version string: "17.09.05" and "17.9.5" compare equal, "17.9.4" < "17.9.5"."""
    return tuple(int(part) for part in re.findall(r"\d+", str(version)))


def compare_versions(running: str, approved: str) -> str:
    """"same", "older" or "newer" (or "different" when the strings carry no comparable numbers)."""
    if str(running).strip() == str(approved).strip():
        return "same"
    a, b = version_key(running), version_key(approved)
    if not a or not b:
        return "different"
    return "same" if a == b else "older" if a < b else "newer"


def model_key(model: str | None) -> str:
    """A model as compared: blanks and case are not significant (Poly reports `"VVX 450"`, policies say
    `VVX450`; `C9300-24P` vs `c9300-24p`)."""
    return re.sub(r"\s+", "", str(model or "")).lower()


def baselines_by_model(policy: dict) -> dict[tuple[str, str], dict]:
    return {(b["platform"], model_key(b["model"])): b for b in policy.get("firmware_baselines", [])}


def assess(name: str, platform: str, policy_model: str | None, facts: dict | None, error: str | None,
           baselines: dict[tuple[str, str], dict], error_type: str | None = None) -> dict:
    """Status, baseline and explanation of one device."""
    if error is not None:
        status = UNPARSED if error_type in UNPARSED_ERRORS else UNREACHABLE
        return {"status": status, "baseline_version": None, "detail": error}
    facts = facts or {}
    if not facts.get("model"):
        baseline = baselines.get((platform, model_key(policy_model)))
        return {"status": UNKNOWN_MODEL, "baseline_version": baseline and baseline["version"],
                "detail": "the device did not report its model" + (
                    f" (the site policy lists {policy_model!r}; not assumed)" if policy_model else "")}
    reported_model = facts["model"]
    baseline = baselines.get((platform, model_key(reported_model))) or baselines.get((platform,
                                                                                       model_key(policy_model)))
    if policy_model and not _same_model(facts["model"], policy_model):
        return {"status": UNKNOWN_MODEL, "baseline_version": baseline and baseline["version"],
                "detail": f"device reports model {facts['model']!r}, the site policy lists {policy_model!r}"}
    if baseline is None:
        return {"status": UNKNOWN_MODEL, "baseline_version": None,
                "detail": f"no approved baseline for {platform}/{reported_model} in firmware_baselines"}
    version = facts.get("os_version")
    if not version:
        return {"status": UNKNOWN_MODEL, "baseline_version": baseline["version"],
                "detail": "the device did not report a version"}
    direction = compare_versions(version, baseline["version"])
    if direction == "same":
        return {"status": COMPLIANT, "baseline_version": baseline["version"], "detail": "runs the approved version"}
    return {"status": OUTDATED, "baseline_version": baseline["version"], "direction": direction,
            "detail": f"runs {version}, approved {baseline['version']} ({direction} than approved)"
            if direction != "different" else f"runs {version}, approved {baseline['version']}"}


def _same_model(reported: str, listed: str) -> bool:
    """Vendors print model strings with different case and blanks (`C9300-24P` vs `c9300-24p`, `VVX 450`)."""
    return model_key(reported) == model_key(listed)
