"""The manager-readable HTML report: one self-contained file (inline CSS and SVG, no script, no external link).

Every value is HTML-escaped by Jinja2's autoescape: device-reported strings (hostnames, versions) are hostile.
"""

from __future__ import annotations

import jinja2

CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 640, 200, 36
STATUS_LABELS = {"fail": "Failing", "no_evidence": "Not proven", "pass": "Passing", "waived": "Waived",
                 "not_applicable": "Not applicable", "attested": "Attested", "awaiting_evidence": "Evidence awaited"}
STATE_LABELS = {"missing": "never attested", "expired": "expired", "future": "dated in the future"}
DEVICE_LABELS = {"compliant": "Compliant", "outdated": "Outdated", "unknown_model": "No baseline",
                 "unreachable": "Unreachable"}

TEMPLATE = r"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Security compliance - {{ report.site }} - {{ report.generated_at }}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2530;background:#f4f6f8}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:1.6em;margin:0 0 4px}h2{font-size:1.2em;margin:28px 0 10px;border-bottom:2px solid #d5dbe1;padding-bottom:4px}
.muted{color:#5b6673;font-size:.9em}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin-top:16px}
.card{background:#fff;border-radius:8px;padding:14px 18px;box-shadow:0 1px 3px rgba(0,0,0,.08);min-width:120px}
.card b{display:block;font-size:1.8em}
.score b{font-size:2.6em}.good{color:#1a7f37}.warn{color:#9a6700}.bad{color:#cf222e}
table{border-collapse:collapse;width:100%;background:#fff;border-radius:8px;overflow:hidden;font-size:.92em}
th,td{text-align:left;padding:7px 10px;border-bottom:1px solid #e6eaee;vertical-align:top}
th{background:#eef1f4;font-weight:600}
.pill{display:inline-block;padding:1px 8px;border-radius:10px;font-size:.85em;font-weight:600;white-space:nowrap}
.p-fail,.p-outdated{background:#ffebe9;color:#cf222e}.p-no_evidence,.p-unreachable,.p-unknown_model{background:#fff8c5;color:#7d4e00}
.p-pass,.p-compliant,.p-attested{background:#dafbe1;color:#1a7f37}.p-waived,.p-not_applicable{background:#eef1f4;color:#5b6673}
.p-awaiting_evidence{background:#ddf4ff;color:#0550ae}
tr.outdated td{background:#fff1f0}tr.unreachable td,tr.unknown_model td{background:#fffbe6}
.fix{background:#f0f6ff;border-left:3px solid #0969da;padding:6px 10px;margin-top:6px}
ul.findings{margin:4px 0 0 18px;padding:0}ul.findings li{margin:2px 0}
svg text{font-family:inherit;font-size:11px;fill:#5b6673}
</style></head>
<body><main>
<h1>Security compliance report - {{ report.site }}</h1>
<div class="muted">Generated {{ report.generated_at }} (run {{ report.run }}) by aiphone-hardening. Two numbers, never
mixed: the <b>automated checks</b> this run proved on the devices (an unproven check counts as not passing), and the
<b>evidence awaited</b> from people (attestations that are missing or expired: a to-do, not a hole found).</div>

<div class="cards">
  <div class="card score" id="automated-score"><span class="muted">Automated checks passing</span>
    <b class="{{ 'good' if a.percent >= 90 else 'warn' if a.percent >= 70 else 'bad' }}"><span id="automated-passed">{{ a.passed }}</span>/<span id="automated-total">{{ a.total }}</span></b>
    <span class="muted">{{ a.percent }}%</span></div>
  <div class="card"><span class="muted">Failing</span><b class="{{ 'bad' if a.failed else 'good' }}" id="automated-failed">{{ a.failed }}</b></div>
  <div class="card"><span class="muted">Not proven</span><b class="{{ 'warn' if a.no_evidence else 'good' }}" id="automated-no-evidence">{{ a.no_evidence }}</b></div>
  <div class="card score" id="evidence-awaited"><span class="muted">Evidence awaited</span>
    <b class="{{ 'warn' if e.awaiting else 'good' }}"><span id="evidence-awaiting">{{ e.awaiting }}</span>/<span id="evidence-total">{{ e.total }}</span></b>
    <span class="muted">{{ e.attested }} attested</span></div>
  <div class="card"><span class="muted">Devices outdated</span><b class="{{ 'bad' if inv.get('outdated') else 'good' }}">{{ inv.get('outdated', 0) }}</b></div>
  <div class="card"><span class="muted">Devices unreachable</span><b class="{{ 'warn' if inv.get('unreachable') else 'good' }}">{{ inv.get('unreachable', 0) }}</b></div>
</div>

<h2>Automated checks over time</h2>
{% if chart.points|length > 1 %}
<svg role="img" aria-label="Automated checks passing per run (percent)" width="{{ chart.width }}" height="{{ chart.height }}" viewBox="0 0 {{ chart.width }} {{ chart.height }}">
  {% for y in chart.grid %}<line x1="{{ chart.pad }}" x2="{{ chart.width - 8 }}" y1="{{ y.y }}" y2="{{ y.y }}" stroke="#e6eaee"/>
  <text x="4" y="{{ y.y + 4 }}">{{ y.label }}%</text>{% endfor %}
  <polyline fill="none" stroke="#0969da" stroke-width="2" points="{% for p in chart.points %}{{ p.x }},{{ p.y }} {% endfor %}"/>
  {% for p in chart.points %}<circle cx="{{ p.x }}" cy="{{ p.y }}" r="3.5" fill="#0969da"><title>{{ p.label }}: {{ p.percent }}%</title></circle>{% endfor %}
  <text x="{{ chart.pad }}" y="{{ chart.height - 6 }}">{{ chart.points[0].label }}</text>
  <text x="{{ chart.width - 8 }}" y="{{ chart.height - 6 }}" text-anchor="end">{{ chart.points[-1].label }}</text>
</svg>
{% else %}<p class="muted">The chart appears from the second run on (this is the first report of the site).</p>{% endif %}

<h2>What to fix first (automated checks)</h2>
{% set open = report["items"] | selectattr("status", "in", ["fail", "no_evidence"]) | list %}
{% if not open %}<p class="good">Every automated check passes.</p>{% endif %}
<table>
<tr><th>Item</th><th>Status</th><th>What we found</th></tr>
{% for item in open %}
<tr id="item-{{ item.id }}"><td><b>{{ item.id }}</b><br>{{ item.title }}</td>
<td><span class="pill p-{{ item.status }}">{{ labels[item.status] }}</span></td>
<td>{{ item.detail }}
  {% set findings = item.checks | map(attribute="findings") | sum(start=[]) %}
  {% if findings %}<ul class="findings">{% for f in findings[:8] %}<li>{{ f }}</li>{% endfor %}
  {% if findings|length > 8 %}<li>... and {{ findings|length - 8 }} more (compliance.json)</li>{% endif %}</ul>{% endif %}
  {% if item.quick_fix or item.fix %}<div class="fix">
    {% if item.quick_fix %}<b>Quick fix ({{ item.quick_fix.error }}):</b> {{ item.quick_fix.fix }}<br>{% endif %}
    {% if item.fix %}<b>With the toolkit:</b> {{ item.fix }}{% endif %}</div>{% endif %}
</td></tr>
{% endfor %}
</table>

<h2>Evidence awaited (attestations)</h2>
<p class="muted">Each line is a check a person does and records in the site's <code>attestations.yml</code>
(type, who, when, evidence); it stays valid for the period shown, then is due again.</p>
{% if not report.evidence_awaited %}<p class="good">Every attestation is current.</p>{% endif %}
<table id="evidence-table">
<tr><th>Item</th><th>What to attest</th><th>By whom</th><th>How often</th><th>Last attestation</th></tr>
{% for w in report.evidence_awaited %}
<tr id="awaited-{{ w.id }}"><td><b>{{ w.id }}</b><br>{{ w.title }}</td>
<td>{{ w.what }}<br><span class="muted">type: <code>{{ w.type }}</code></span></td>
<td>{{ w.owner }}{% if w.people %}<br><span class="muted">{{ w.people | join(", ") }}</span>{% endif %}</td>
<td>every {{ w.every_days }} days</td>
<td><span class="pill p-awaiting_evidence">{{ state_labels.get(w.state, w.state) }}</span>
{% if w.last %}<br>{{ w.last.who }}, {{ w.last.when }}{% if w.expired_on %}<br><span class="muted">expired {{ w.expired_on }}</span>{% elif w.last.expires %}<br><span class="muted">valid until {{ w.last.expires }}</span>{% endif %}{% endif %}</td></tr>
{% endfor %}
</table>

<h2>All checklist items</h2>
<table>
<tr><th>Item</th><th>Area</th><th>Proven by</th><th>Status</th><th>Proof</th></tr>
{% for item in report["items"] %}
<tr class="item" data-id="{{ item.id }}"><td><b>{{ item.id }}</b> {{ item.title }}</td><td>{{ item.area }}</td>
<td>{{ "automated checks" if item.kind == "automated" else "attestation" }}</td>
<td><span class="pill p-{{ item.status }}">{{ labels[item.status] }}</span></td><td>{{ item.detail }}</td></tr>
{% endfor %}
</table>

<h2>Device versions</h2>
<p class="muted">{{ devices|length }} device(s) read {{ inventory.collected_at|default("(no inventory in this run)") }}. Outdated rows are highlighted.</p>
<table>
<tr><th>Device</th><th>Platform / model</th><th>Running</th><th>Approved</th><th>Status</th><th>Since</th><th>Changed by</th></tr>
{% for d in devices %}
<tr class="{{ d.status }}"><td>{{ d.name }}{% if d.serial %}<br><span class="muted">{{ d.serial }}</span>{% endif %}</td>
<td>{{ d.platform }}<br><span class="muted">{{ d.model or "" }}</span></td>
<td>{{ d.version or "-" }}{% set before = d.get("previous_versions") and d.previous_versions[-1] or (d.changed_by or {}).get("from_version") %}{% if before %}<br><span class="muted">before: {{ before }}</span>{% endif %}{% if d.kernel %}<br><span class="muted">kernel {{ d.kernel }}</span>{% endif %}</td>
<td>{{ d.baseline_version or "-" }}</td>
<td><span class="pill p-{{ d.status }}">{{ device_labels[d.status] }}</span>{% if d.status != "compliant" %}<br><span class="muted">{{ d.detail }}</span>{% endif %}</td>
<td>{{ (d.first_seen or "")[:10] }}</td>
<td>{% if d.changed_by %}{{ d.changed_by.operator }}<br><span class="muted">{{ (d.changed_by.time or "")[:16] }}</span>{% endif %}</td></tr>
{% endfor %}
</table>
{% if report.audit_trail %}<p class="muted">Audit trail: {{ report.audit_trail.records }} record(s),
{{ "chain intact" if report.audit_trail.ok else "BROKEN at line %s" % report.audit_trail.first_broken.line }}.</p>{% endif %}
</main></body></html>
"""  # noqa: E501 - HTML reads better unwrapped

_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
_TEMPLATE = _ENV.from_string(TEMPLATE)
DEVICE_ORDER = {"outdated": 0, "unreachable": 1, "unknown_model": 2, "compliant": 3}


def chart(report: dict) -> dict:
    """Points of the score-over-time line (earlier runs + this one), scaled into the SVG box."""
    runs = report["history"] + [{"run": report["run"], "generated_at": report["generated_at"],
                                 "percent": report["score"]["automated"]["percent"]}]
    inner_w, inner_h = CHART_WIDTH - CHART_PAD - 8, CHART_HEIGHT - 40
    step = inner_w / max(1, len(runs) - 1)
    points = [{"x": round(CHART_PAD + i * step, 1), "y": round(10 + inner_h * (1 - r["percent"] / 100.0), 1),
               "percent": r["percent"], "label": r["generated_at"][:10]} for i, r in enumerate(runs)]
    grid = [{"y": round(10 + inner_h * (1 - v / 100.0), 1), "label": v} for v in (0, 50, 100)]
    return {"points": points, "grid": grid, "width": CHART_WIDTH, "height": CHART_HEIGHT, "pad": CHART_PAD}


def render_html(report: dict, inventory: dict) -> str:
    devices = sorted(inventory.get("devices", []), key=lambda d: (DEVICE_ORDER.get(d["status"], 9), d["name"]))
    return _TEMPLATE.render(report=report, a=report["score"]["automated"], e=report["score"]["evidence"],
                            inv=inventory.get("summary", {}), inventory=inventory, devices=devices, chart=chart(report),
                            labels=STATUS_LABELS, state_labels=STATE_LABELS, device_labels=DEVICE_LABELS)
