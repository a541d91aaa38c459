"""Maintenance windows: DST, blackout dates, midnight crossing, refusal messages (offline)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from ansible_collections.aiphone.hardening.plugins.module_utils.maintenance_window import (
    MaintenanceSchedule,
    Window,
    WindowError,
    parse_duration,
)

BERLIN = ZoneInfo("Europe/Berlin")
UTC = dt.UTC

POLICY = {
    "site": {"name": "lab", "timezone": "Europe/Berlin"},
    "maintenance": {
        "windows": [
            {"name": "sunday-night", "days": ["sun"], "start": "02:00", "duration": "3h"},
            {"name": "wednesday-night", "days": ["wed"], "start": "01:00", "duration": "90m"},
        ],
        "blackout_dates": ["2026-12-24", "2026-12-31"],
    },
}


def berlin(*args, fold=0):
    return dt.datetime(*args, tzinfo=BERLIN, fold=fold)


@pytest.fixture()
def schedule():
    return MaintenanceSchedule.from_policy(POLICY)


def test_inside_a_normal_window_reports_real_remaining_time(schedule):
    now = berlin(2026, 11, 29, 3, 15)                    # a Sunday
    current = schedule.current(now)
    assert current.name == "sunday-night"
    assert schedule.remaining(now) == dt.timedelta(minutes=105)
    assert current.end - current.start == dt.timedelta(hours=3)


def test_outside_names_the_next_window(schedule):
    now = berlin(2026, 11, 27, 20, 0)                    # Friday evening
    assert schedule.current(now) is None
    refusal = schedule.refusal(now)
    assert "outside every maintenance window" in refusal
    assert "sunday-night" in refusal and "2026-11-29 02:00" in refusal


def test_window_end_is_exclusive(schedule):
    assert schedule.current(berlin(2026, 11, 29, 5, 0)) is None
    assert schedule.current(berlin(2026, 11, 29, 4, 59, 59)) is not None


def test_spring_forward_window_keeps_its_wall_clock_end_and_holds_two_real_hours(schedule):
    # 2027-03-28: clocks jump 02:00 CET -> 03:00 CEST; "02:00" does not exist and means 03:00 CEST
    occ = schedule.next_window(berlin(2027, 3, 27, 12, 0))
    assert occ.start == dt.datetime(2027, 3, 28, 1, 0, tzinfo=UTC)   # = 03:00 CEST
    assert occ.local_end.strftime("%H:%M %Z") == "05:00 CEST"              # wall-clock end
    assert occ.end - occ.start == dt.timedelta(hours=2)
    assert schedule.remaining(dt.datetime(2027, 3, 28, 1, 30, tzinfo=UTC)) == dt.timedelta(minutes=90)


def test_fall_back_window_holds_four_real_hours(schedule):
    # 2026-10-25: clocks go back 03:00 CEST -> 02:00 CET; 02:00 happens twice, the window opens at the first
    occ = schedule.next_window(berlin(2026, 10, 24, 12, 0))
    assert occ.start == dt.datetime(2026, 10, 25, 0, 0, tzinfo=UTC)  # 02:00 CEST
    assert occ.end == dt.datetime(2026, 10, 25, 4, 0, tzinfo=UTC)    # 05:00 CET
    assert occ.end - occ.start == dt.timedelta(hours=4)
    # during the repeated hour (second 02:30, CET) we are still inside with 2.5 h left
    second_half_past_two = berlin(2026, 10, 25, 2, 30, fold=1)
    assert schedule.remaining(second_half_past_two) == dt.timedelta(hours=2, minutes=30)


def test_the_same_utc_instant_is_inside_in_winter_and_outside_in_summer(schedule):
    # 01:30 UTC is 02:30 CET (inside) in winter and 03:30 CEST (inside) in summer; 00:30 UTC is 01:30 CET (outside)
    # in winter but 02:30 CEST (inside) in summer: the window follows the wall clock, not UTC
    assert schedule.current(dt.datetime(2026, 12, 6, 0, 30, tzinfo=UTC)) is None
    assert schedule.current(dt.datetime(2026, 6, 7, 0, 30, tzinfo=UTC)) is not None


def test_blackout_date_drops_the_window_and_next_one_is_after_it():
    policy = {"site": {"timezone": "Europe/Berlin"},
              "maintenance": {"windows": [{"name": "nightly", "days": ["mon", "tue", "wed", "thu", "fri", "sat",
                                                                         "sun"], "start": "01:00", "duration": "2h"}],
                              "blackout_dates": ["2026-12-24"]}}
    schedule = MaintenanceSchedule.from_policy(policy)
    assert schedule.current(berlin(2026, 12, 24, 1, 30)) is None
    assert schedule.next_window(berlin(2026, 12, 23, 12, 0)).start == berlin(2026, 12, 25, 1, 0).astimezone(UTC)


def test_window_running_into_a_blackout_day_is_clipped_at_midnight():
    policy = {"site": {"timezone": "Europe/Berlin"},
              "maintenance": {"windows": [{"name": "late", "days": ["wed"], "start": "22:00", "duration": "5h"}],
                              "blackout_dates": ["2026-12-24"]}}
    schedule = MaintenanceSchedule.from_policy(policy)
    occ = schedule.current(berlin(2026, 12, 23, 23, 0))
    assert occ.end == berlin(2026, 12, 24, 0, 0).astimezone(UTC)
    assert schedule.current(berlin(2026, 12, 24, 0, 30)) is None


def test_window_crossing_midnight_is_found_the_next_day():
    policy = {"site": {"timezone": "America/New_York"},
              "maintenance": {"windows": [{"name": "sat-late", "days": ["sat"], "start": "23:00", "duration": "4h"}]}}
    schedule = MaintenanceSchedule.from_policy(policy)
    ny = ZoneInfo("America/New_York")
    occ = schedule.current(dt.datetime(2026, 11, 29, 1, 0, tzinfo=ny))   # Sunday 01:00
    assert occ is not None and occ.name == "sat-late"
    assert schedule.remaining(dt.datetime(2026, 11, 29, 1, 0, tzinfo=ny)) == dt.timedelta(hours=2)


def test_step_that_would_not_finish_is_refused_with_both_times(schedule):
    now = berlin(2026, 11, 29, 4, 50)                    # 10 min left
    assert schedule.fits(now, 600)
    assert not schedule.fits(now, 601)
    refusal = schedule.refusal(now, 900)
    assert "closes in 10m" in refusal and "15m" in refusal and "wednesday-night" in refusal
    status = schedule.status(now, 900)
    assert status["inside"] and not status["step_fits"] and status["remaining_seconds"] == 600


@pytest.mark.parametrize("entry, fragment", [
    ({"name": "w", "days": ["sunday", "xyz"], "start": "02:00", "duration": "1h"}, "days"),
    ({"name": "w", "days": [], "start": "02:00", "duration": "1h"}, "days"),
    ({"name": "w", "days": ["sun"], "start": "2am", "duration": "1h"}, "start"),
    ({"name": "w", "days": ["sun"], "start": "24:00", "duration": "1h"}, "start"),
    ({"name": "w", "days": ["sun"], "start": "02:00", "duration": "25h"}, "duration"),
    ({"name": "w", "days": ["sun"], "start": "02:00", "duration": "soon"}, "duration"),
])
def test_bad_windows_are_refused_naming_the_value(entry, fragment):
    with pytest.raises(WindowError, match=fragment):
        Window.from_policy(entry)


def test_bad_timezone_and_blackout_are_refused():
    with pytest.raises(WindowError, match="Mars/Olympus"):
        MaintenanceSchedule("Mars/Olympus", [])
    with pytest.raises(WindowError, match=r"24\.12\.2026"):
        MaintenanceSchedule("UTC", [], ["24.12.2026"])


def test_naive_times_are_refused(schedule):
    with pytest.raises(WindowError, match="naive"):
        schedule.current(dt.datetime(2026, 11, 29, 3, 0))


def test_durations():
    assert parse_duration("1h30m") == dt.timedelta(minutes=90)
    assert parse_duration("45s") == dt.timedelta(seconds=45)
    assert parse_duration(120) == dt.timedelta(minutes=2)
