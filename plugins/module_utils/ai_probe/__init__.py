"""Probe a site's AI agent for prompt injection (AI-02) and missing input validation (AI-01).

    probes.py     the phone-context probe set: what is sent through which caller field, and why
    detectors.py  what counts as a finding: a planted canary in a reply (garak's StringDetector), an invalid value
                  the agent accepted and used, a value the policy's own allow-list admits
    masking.py    canary values (and any card number) masked in every excerpt that leaves the run
    engine.py     the transport: garak's REST generator (rest.RestGenerator), one request per probe, rate-limited
    run.py        plan (check mode), run, findings and the audit-trail record

docs/ai_agent.md describes the policy section, the probes and the evidence.
"""
