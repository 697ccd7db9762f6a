"""Working time in Russia: public holidays (`holidays`) plus moved working days (data file).

`is_working_day(d)` and `add_working_days(d, n)` are all most callers need;
`deadline_after(d, days)` counts calendar days and moves a deadline that falls on a day off
to the next working day (how 59-FZ terms are counted here; see docs/records-office.md).
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import holidays

DATA_FILE = Path(__file__).parent / "data" / "ru_workdays.json"
_MAX_STEPS = 3660  # ten years of days: a guard against a calendar without working days


@lru_cache(maxsize=1)
def _moved_days() -> tuple[frozenset[date], frozenset[date]]:
    data = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    working = frozenset(date.fromisoformat(d) for d in data.get("working_weekends", []))
    off = frozenset(date.fromisoformat(d) for d in data.get("extra_days_off", []))
    return working, off


@lru_cache(maxsize=64)
def _holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("RU", years=year).keys())


def is_working_day(day: date) -> bool:
    """Whether offices work on `day` in Russia."""
    working, off = _moved_days()
    if day in working:
        return True
    if day in off or day in _holidays(day.year):
        return False
    return day.weekday() < 5


def next_working_day(day: date) -> date:
    """`day` itself if it is a working day, else the first working day after it."""
    for _ in range(_MAX_STEPS):
        if is_working_day(day):
            return day
        day += timedelta(days=1)
    raise ValueError("no working day found within ten years")


def add_working_days(day: date, n: int) -> date:
    """The date `n` working days after `day` (before it when `n` is negative)."""
    step = timedelta(days=1 if n >= 0 else -1)
    remaining = abs(n)
    if remaining == 0:
        return next_working_day(day)
    for _ in range(_MAX_STEPS):
        day += step
        if is_working_day(day):
            remaining -= 1
            if remaining == 0:
                return day
    raise ValueError("no working day found within ten years")


def deadline_after(day: date, days: int) -> date:
    """`days` calendar days after `day`, moved to the next working day if that is a day off."""
    return next_working_day(day + timedelta(days=days))


def working_days_between(start: date, end: date) -> int:
    """How many working days lie after `start` up to and including `end`."""
    count = 0
    day = start
    while day < end:
        day += timedelta(days=1)
        if is_working_day(day):
            count += 1
    return count
