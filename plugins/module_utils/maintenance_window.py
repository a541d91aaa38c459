"""Maintenance windows of a site: pure time arithmetic, no I/O.

A site policy declares windows in the site's own timezone::

    site: {timezone: Europe/Berlin}
    maintenance:
      windows:
        - {name: sunday-night, days: [sun], start: "02:00", duration: 3h}
      blackout_dates: ["2026-12-24"]

Semantics (chosen so that the people on site get what they read in the policy):

* ``start`` and ``start + duration`` are local wall-clock times: "sun 02:00 for 3h" is 02:00-05:00 on the wall clock
  every Sunday, whatever the UTC offset. On the spring-forward night the window therefore holds 2 real hours, on the
  fall-back night 4 (the arithmetic is done on real instants, so "how long remains" is always true elapsed time).
* A wall time that does not exist (inside the spring-forward gap) is read as PEP 495 does with ``fold=0``: shifted
  forward by the gap (02:30 -> 03:30 CEST). An ambiguous wall time (fall-back) means its first occurrence.
* ``days`` name the day the window *starts*; a window may run past midnight.
* A blackout date is a local calendar day with no maintenance at all: a window starting on it is dropped, a window
  running into it ends at the local midnight that starts it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_DURATION = dt.timedelta(hours=24)
# How far ahead next_window() looks: a year covers every weekly window plus any run of blackout dates.
SEARCH_HORIZON_DAYS = 370
_DURATION_RE = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_START_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class WindowError(ValueError):
    """The maintenance section of a policy cannot be understood; the message names the offending value."""


def parse_duration(text: str | int) -> dt.timedelta:
    """'3h', '90m', '1h30m', '45s' (or a number of seconds) -> timedelta."""
    if isinstance(text, int) and not isinstance(text, bool):
        return dt.timedelta(seconds=text)
    match = _DURATION_RE.match(str(text).strip())
    if not match or not any(match.groups()):
        raise WindowError(f"duration {text!r} is not like '3h', '90m' or '1h30m'")
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return dt.timedelta(hours=hours, minutes=minutes, seconds=seconds)


def format_duration(delta: dt.timedelta) -> str:
    """timedelta -> '2h05m' / '45m' / '30s' for messages."""
    total = int(delta.total_seconds())
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m"
    return f"{seconds}s"


@dataclass(frozen=True)
class Window:
    """A recurring weekly window as the policy declares it."""

    name: str
    days: frozenset[int]      # datetime.weekday() numbers, Monday = 0
    start: dt.time
    duration: dt.timedelta

    @classmethod
    def from_policy(cls, entry: dict) -> Window:
        name = entry.get("name", "?")
        days = entry.get("days") or []
        if [str(day).lower() for day in days] == ["daily"]:
            days = list(DAY_NAMES)
        unknown = [day for day in days if str(day).lower()[:3] not in DAY_NAMES]
        if not days or unknown:
            raise WindowError(f"window {name!r}: days {days!r} must be a non-empty list of {', '.join(DAY_NAMES)} "
                              f"(or just daily)")
        match = _START_RE.match(str(entry.get("start", "")))
        if not match:
            raise WindowError(f"window {name!r}: start {entry.get('start')!r} is not HH:MM (24 h)")
        duration = parse_duration(entry.get("duration", ""))
        if not dt.timedelta(0) < duration <= MAX_DURATION:
            raise WindowError(f"window {name!r}: duration {entry.get('duration')!r} must be over 0 and at most 24h")
        return cls(
            name=str(name),
            days=frozenset(DAY_NAMES.index(str(day).lower()[:3]) for day in days),
            start=dt.time(int(match.group(1)), int(match.group(2))),
            duration=duration,
        )


@dataclass(frozen=True)
class Occurrence:
    """One concrete opening of a window. ``start``/``end`` are UTC instants: Python compares and subtracts two
    datetimes of the *same* zone on the wall clock (ignoring DST folds), so all arithmetic stays in UTC and the
    site's zone is only used to display."""

    name: str
    start: dt.datetime
    end: dt.datetime
    zone: dt.tzinfo = dt.UTC

    def contains(self, now: dt.datetime) -> bool:
        return self.start <= _utc(now) < self.end

    def remaining(self, now: dt.datetime) -> dt.timedelta:
        """Real time left from ``now`` to the end (zero when over)."""
        return max(self.end - _utc(now), dt.timedelta(0))

    def describe(self) -> str:
        fmt = "%a %Y-%m-%d %H:%M %Z"
        return f"{self.name} ({self.local_start.strftime(fmt)} - {self.local_end.strftime(fmt)})"

    @property
    def local_start(self) -> dt.datetime:
        return self.start.astimezone(self.zone)

    @property
    def local_end(self) -> dt.datetime:
        return self.end.astimezone(self.zone)

    def as_dict(self) -> dict:
        return {"name": self.name, "start": self.local_start.isoformat(), "end": self.local_end.isoformat(),
                "duration_seconds": int((self.end - self.start).total_seconds())}


def _utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        raise WindowError("times must be timezone-aware (got a naive datetime)")
    return moment.astimezone(dt.UTC)


def _wall_to_instant(day: dt.date, wall: dt.time, zone: ZoneInfo) -> dt.datetime:
    """Local wall time -> UTC instant (fold=0: gaps shift forward, ambiguous times take the first occurrence)."""
    return dt.datetime.combine(day, wall).replace(tzinfo=zone, fold=0).astimezone(dt.UTC)


class MaintenanceSchedule:
    """The windows + blackout dates of one site; answers "inside now?", "how long left?", "when next?"."""

    def __init__(self, timezone: str, windows: Iterable[Window], blackout_dates: Iterable[dt.date | str] = ()):
        try:
            self.zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise WindowError(f"timezone {timezone!r} is not a known IANA zone (e.g. Europe/Berlin)") from None
        self.timezone = timezone
        self.windows = tuple(windows)
        self.blackout_dates = frozenset(_parse_date(day) for day in blackout_dates)

    @classmethod
    def from_policy(cls, policy: dict) -> MaintenanceSchedule:
        """Build from a (validated) site policy dict."""
        maintenance = policy.get("maintenance") or {}
        timezone = (policy.get("site") or {}).get("timezone") or maintenance.get("timezone")
        if not timezone:
            raise WindowError("site.timezone is missing: maintenance windows need the site's timezone")
        return cls(timezone,
                   [Window.from_policy(entry) for entry in maintenance.get("windows") or []],
                   maintenance.get("blackout_dates") or [])

    # -- occurrences ---------------------------------------------------------------------------------------
    def _occurrence(self, window: Window, day: dt.date) -> Occurrence | None:
        if day.weekday() not in window.days or day in self.blackout_dates:
            return None
        start = _wall_to_instant(day, window.start, self.zone)
        wall_end = dt.datetime.combine(day, window.start) + window.duration
        end = _wall_to_instant(wall_end.date(), wall_end.time(), self.zone)
        for offset in range(1, (wall_end.date() - day).days + 1):   # clip at a blackout day it runs into
            if day + dt.timedelta(days=offset) in self.blackout_dates:
                end = _wall_to_instant(day + dt.timedelta(days=offset), dt.time(0), self.zone)
                break
        return Occurrence(window.name, start, end, self.zone) if end > start else None

    def occurrences(self, first_day: dt.date, last_day: dt.date) -> Iterator[Occurrence]:
        """Every opening that starts on a local date in [first_day, last_day], in start order."""
        found = []
        day = first_day
        while day <= last_day:
            found.extend(occ for window in self.windows if (occ := self._occurrence(window, day)))
            day += dt.timedelta(days=1)
        return iter(sorted(found, key=lambda occ: (occ.start, occ.end)))

    # -- questions -----------------------------------------------------------------------------------------
    def current(self, now: dt.datetime) -> Occurrence | None:
        """The open window containing ``now`` (the one closing last if several overlap), else None."""
        local_day = _utc(now).astimezone(self.zone).date()
        # a window of at most 24 h that contains now started today or yesterday (local)
        candidates = [occ for occ in self.occurrences(local_day - dt.timedelta(days=1), local_day)
                      if occ.contains(now)]
        return max(candidates, key=lambda occ: occ.end, default=None)

    def next_window(self, now: dt.datetime) -> Occurrence | None:
        """The first opening that starts after ``now`` (None if there is none within a year)."""
        local_day = _utc(now).astimezone(self.zone).date()
        for occ in self.occurrences(local_day, local_day + dt.timedelta(days=SEARCH_HORIZON_DAYS)):
            if occ.start > _utc(now):
                return occ
        return None

    def remaining(self, now: dt.datetime) -> dt.timedelta:
        """Real time left in the current window (zero outside any window)."""
        current = self.current(now)
        return current.remaining(now) if current else dt.timedelta(0)

    def fits(self, now: dt.datetime, seconds: float) -> bool:
        """Would a disruptive step of ``seconds`` started now finish before the window closes?"""
        return self.remaining(now) >= dt.timedelta(seconds=seconds)

    def refusal(self, now: dt.datetime, seconds: float = 0) -> str | None:
        """None when a disruptive step of ``seconds`` may start now, else the reason, naming the next window."""
        current = self.current(now)
        upcoming = self.next_window(now)
        hint = f"next window: {upcoming.describe()}" if upcoming else "no window is scheduled within a year"
        if current is None:
            return f"outside every maintenance window of the site ({self.timezone}); {hint}"
        if not self.fits(now, seconds):
            return (f"the step needs about {format_duration(dt.timedelta(seconds=seconds))} but window "
                    f"{current.name} closes in {format_duration(current.remaining(now))}; {hint}")
        return None

    def status(self, now: dt.datetime, step_seconds: float = 0) -> dict:
        """Everything a module reports: inside?, remaining, current and next window, does the step fit."""
        current = self.current(now)
        upcoming = self.next_window(now)
        refusal = self.refusal(now, step_seconds)
        return {
            "timezone": self.timezone,
            "now": _utc(now).astimezone(self.zone).isoformat(),
            "inside": current is not None,
            "remaining_seconds": int(self.remaining(now).total_seconds()),
            "current_window": current.as_dict() if current else None,
            "next_window": upcoming.as_dict() if upcoming else None,
            "step_seconds": int(step_seconds),
            "step_fits": refusal is None,
            "message": refusal or f"inside window {current.name}, "
                                  f"{format_duration(current.remaining(now))} left",
        }


def _parse_date(value: dt.date | str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise WindowError(f"blackout date {value!r} is not YYYY-MM-DD") from None


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
