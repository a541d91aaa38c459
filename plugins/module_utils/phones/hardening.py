# -*- coding: utf-8 -*-
"""PRI-06 on a desk phone: its vendor's documented hardening parameters (SIP over TLS, SRTP required, web UI over
HTTPS), read back, planned, provisioned (docs/vendor-fidelity.md).

The parameters and how each vendor takes them are the driver's (``hardening``, ``harden()``,
``hardening_read_back()``, ``not_covered``); this is the one sequence every platform goes through, for the module
(state hardened) and for the audit (state audited, read-only).

    module.exit_json(**harden_phone(module))      # the phone_hardening module's whole run
"""

from __future__ import annotations

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.exceptions import (
    DriverError,
    VerificationFailed,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.phone_http import hardening_gaps
from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.registry import driver_for
from ansible_collections.aiphone.hardening.plugins.module_utils.network.module_common import (
    enforce_window,
    load_policy,
    provisioning_options,
)

HARDENED, AUDITED = "hardened", "audited"


def phone_hardening(make_driver, state: str, check_mode: bool) -> dict:
    """Read the phone's hardening parameters; with ``state=hardened`` (and not in check mode) provision the missing
    ones and prove them by the driver's read-back. Returns the module result: ``changed``, ``gaps`` (what the phone
    does not hold, as ``parameter: have X, want Y``), ``settings`` (as read back), ``not_covered`` (what no
    vendor source documents: checked by hand), ``evidence`` (the compliance check's input) and ``diff``.
    Raises DriverError (named device) on connection, refusal or a read-back that disagrees."""
    with make_driver() as driver:
        before = driver.hardening_read_back()
        gaps = hardening_gaps(driver.hardening, before)
        result = {"changed": False, "gaps": gaps, "settings": before, "not_covered": list(driver.not_covered),
                  "verified_by": "read-back", "planned": [], "platform": driver.platform}
        wanted = {**before, **driver.hardening}
        result["diff"] = {"before": _lines(before), "after": _lines(wanted if state == HARDENED else before),
                          "before_header": f"{driver.name} hardening parameters",
                          "after_header": f"{driver.name} hardening parameters"}
        if state == HARDENED and gaps:
            result["planned"] = [f"set {name} = {value}" for name, value in driver.hardening.items()
                                 if before.get(name) != value]
            result["changed"] = True
            if not check_mode:
                done = driver.harden()
                after = done.get("settings") or driver.hardening_read_back()
                left = hardening_gaps(driver.hardening, after)
                if left:
                    raise VerificationFailed(f"{driver.name}: after provisioning the phone still does not hold: "
                                             + "; ".join(left), device=driver.name)
                result.update(changed=bool(done.get("changed", True)), settings=after, gaps=[],
                              verified_by=done.get("verified_by") or "read-back")
    result["evidence"] = {"platform": result["platform"], "settings": result["settings"],
                          "not_covered": result["not_covered"]}
    return result


def _lines(settings: dict) -> str:
    return "".join(f"{name} = {value}\n" for name, value in sorted(settings.items()))


def driver_factory(params: dict):
    """`make()`: an unopened driver of the phone (capability phone_hardening); ValueError for another platform."""
    cls = driver_for(params["platform"], "phone_hardening")
    options = provisioning_options(params)
    return lambda: cls(host=params["host"], port=params["port"], username=params["username"],
                       password=params["password"], timeout=params["timeout"], name=params["device"], **options)


def harden_phone(module) -> dict:
    """The module's run: plan (a read-only pass), the maintenance window when something would change, then the
    change; fails the module naming the device."""
    p = module.params
    policy = load_policy(module)
    window: dict = {}
    try:
        result = phone_hardening(driver_factory(p), p["state"], check_mode=True)
        if p["state"] == HARDENED and result["changed"]:
            enforce_window(module, policy, p, window, f"hardening {p['device']}")
            if not module.check_mode:
                result = phone_hardening(driver_factory(p), p["state"], check_mode=False)
    except DriverError as exc:
        module.fail_json(msg=f"{p['device']}: {exc}" if p["device"] not in str(exc) else str(exc),
                         problems=getattr(exc, "problems", []), **window)
    except ValueError as exc:        # a platform without the phone_hardening capability
        module.fail_json(msg=f"{p['device']}: {exc}", **window)
    return {**result, **window}
