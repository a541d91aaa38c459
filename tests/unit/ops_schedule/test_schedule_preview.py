"""scripts/schedule_preview.py: the next runs per site and window, with the calendar lines the timers get."""

from pathlib import Path

import pytest

from scripts import schedule_preview

ROOT = Path(__file__).resolve().parents[3]


def test_preview_lists_the_next_runs_of_every_site_across_the_spring_forward_night(capsys):
    status = schedule_preview.main([str(ROOT / "inventories" / "lab"), str(ROOT / "inventories" / "example_site"),
                                    "-n", "2", "--now", "2027-03-21T12:00+00:00", "--calendar"])
    out = capsys.readouterr().out
    assert status == 0
    assert "site lab (Europe/Berlin):" in out and "site example-clinic (America/Chicago):" in out
    assert "Sun 2027-03-28 03:00 +0200  for 120 min  (UTC 2027-03-28 01:00)" in out     # 02:00 does not exist
    assert "OnCalendar=2027-03-28 03:00:00 Europe/Berlin   (spring-forward night)" in out
    assert out.count("    Wed ") == 2


def test_a_refused_policy_is_reported_and_fails(tmp_path, capsys):
    bad = tmp_path / "site_policy.yml"
    bad.write_text((ROOT / "inventories" / "lab" / "site_policy.yml").read_text().replace("Europe/Berlin",
                                                                                         "Mars/Olympus"))
    assert schedule_preview.main([str(bad)]) == 1
    assert "Mars/Olympus" in capsys.readouterr().err


def test_bad_arguments_are_usage_errors():
    with pytest.raises(SystemExit) as stopped:
        schedule_preview.main([str(ROOT / "inventories" / "lab"), "--now", "next sunday"])
    assert stopped.value.code == 2
