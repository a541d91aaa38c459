"""AWX/AAP as code: the schedule rules fire when the windows open (expanded by dateutil, as AWX expands them), every
window opening gets exactly one job, the surveys are valid AWX survey specs whose variables the roles declare, and
every job template names a playbook of this repository (offline: no controller can run here)."""

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ansible_collections.aiphone.hardening.plugins.module_utils import schedule

rrule = pytest.importorskip("dateutil.rrule")

ROOT = Path(__file__).resolve().parents[3]
CONTROLLER = yaml.safe_load((ROOT / "awx" / "controller.yml").read_text())
SURVEY_TYPES = {"text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect"}
POLICY = {
    "site": {"name": "remote", "timezone": "America/Chicago"},
    "maintenance": {"windows": [
        {"name": "weekend", "days": ["sat", "sun"], "start": "01:00", "duration": "4h"},
        {"name": "weeknight", "days": ["tue", "thu"], "start": "22:30", "duration": "2h"},
    ]},
}


def expand(rule: str, after: dt.datetime, count: int) -> list[dt.datetime]:
    """What AWX does with a schedule's rrule: dateutil's rrulestr, then the next ``count`` instants."""
    found, cursor = [], after
    parsed = rrule.rrulestr(rule.replace(" RRULE:", "\nRRULE:"))
    while len(found) < count:
        cursor = parsed.after(cursor)
        found.append(cursor.astimezone(dt.UTC))
    return found


def until(instants, horizon: dt.datetime) -> list[dt.datetime]:
    return sorted(instant for instant in instants if instant < horizon)


def test_every_window_opening_runs_exactly_one_job_at_the_right_time():
    site_schedule = schedule.site_schedule(POLICY)
    after = dt.datetime(2027, 1, 4, tzinfo=dt.UTC)        # January: no DST change inside the 8 weeks
    horizon = after + dt.timedelta(weeks=8)
    fired = until((instant for entry in schedule.awx_window_schedules(site_schedule)
                   for instant in expand(entry["rrule"], after, 20)), horizon)
    openings = until((dt.datetime.fromisoformat(run["start"]).astimezone(dt.UTC)
                      for runs in schedule.next_runs(POLICY, after, 20).values() for run in runs), horizon)
    assert len(openings) == 8 * 4
    assert fired == openings                              # same instants, and never two jobs at one opening


def test_the_first_day_of_the_first_window_is_the_weekly_hardening():
    entries = schedule.awx_window_schedules(schedule.site_schedule(POLICY))
    assert [(e["name"], e["kind"]) for e in entries] == [("weekend", "hardening_weekly"), ("weekend", "firmware"),
                                                         ("weeknight", "firmware")]
    assert entries[0]["rrule"].endswith("BYDAY=SA") and entries[1]["rrule"].endswith("BYDAY=SU")
    assert entries[0]["rrule"].startswith("DTSTART;TZID=America/Chicago:20240101T010000 ")
    assert entries[2]["label"] == "window weeknight firmware"


def test_rules_follow_the_site_wall_clock_across_dst():
    (entry,) = [e for e in schedule.awx_window_schedules(schedule.site_schedule(POLICY)) if e["kind"] == "firmware"
                and e["name"] == "weeknight"]
    fired = expand(entry["rrule"], dt.datetime(2027, 3, 1, tzinfo=dt.UTC), 6)
    local = {f.astimezone(schedule.site_schedule(POLICY).zone).strftime("%H:%M") for f in fired}
    assert local == {"22:30"} and {f.hour for f in fired} == {3, 4}     # UTC-6 before, UTC-5 after 2027-03-14


@pytest.mark.parametrize("template", CONTROLLER["awx_job_templates"], ids=lambda t: t["key"])
def test_templates_name_repository_playbooks_and_valid_surveys(template):
    assert (ROOT / template["playbook"]).is_file()
    if not template["survey"]:
        return
    survey = json.loads((ROOT / "awx" / "surveys" / template["survey"]).read_text())
    assert set(survey) == {"name", "description", "spec"}
    declared = {}
    for spec_file in (ROOT / "roles").glob("*/meta/argument_specs.yml"):
        declared.update(yaml.safe_load(spec_file.read_text())["argument_specs"]["main"]["options"])
    for question in survey["spec"]:
        assert {"question_name", "variable", "type", "required"} <= set(question)
        assert question["type"] in SURVEY_TYPES
        assert question["variable"] in declared, question["variable"]
        if question["type"] == "multiplechoice":
            assert question["default"] in question["choices"]
            assert declared[question["variable"]]["type"] == "bool"
        else:
            assert not question["required"]             # scheduled runs answer nothing: no required free text
    variables = [q["variable"] for q in survey["spec"]]
    assert all(f"{v}_reason" in variables for v in variables if v.endswith("_force"))


def test_configure_playbook_passes_ansible_syntax_check():
    done = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "--syntax-check",
                           "-i", str(ROOT / "inventories" / "lab"), str(ROOT / "playbooks" / "awx_configure.yml")],
                          cwd=ROOT, capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
