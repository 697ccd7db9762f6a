"""The working-time calendar: holidays, moved days off and moved working Saturdays."""

from __future__ import annotations

from datetime import date

import pytest

from engine.workcalendar import (
    add_working_days,
    deadline_after,
    is_working_day,
    next_working_day,
    working_days_between,
)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 1, 1), False),  # New Year
        (date(2026, 1, 9), False),  # a day off moved from 3 January
        (date(2026, 1, 12), True),
        (date(2026, 3, 9), False),  # 8 March fell on a Sunday
        (date(2025, 11, 1), True),  # a Saturday made a working day (the data file)
        (date(2025, 11, 3), False),  # the day off it was moved to
        (date(2024, 12, 28), True),
        (date(2026, 3, 7), False),  # an ordinary Saturday
        (date(2026, 3, 10), True),
    ],
)
def test_working_days(day: date, working: bool) -> None:
    assert is_working_day(day) is working


def test_add_working_days_across_the_new_year() -> None:
    assert add_working_days(date(2025, 12, 30), 1) == date(2026, 1, 12)
    assert add_working_days(date(2025, 12, 30), 3) == date(2026, 1, 14)
    assert add_working_days(date(2026, 1, 12), -1) == date(2025, 12, 30)
    assert add_working_days(date(2026, 1, 3), 0) == date(2026, 1, 12)


def test_add_working_days_across_a_month_end() -> None:
    assert add_working_days(date(2026, 4, 29), 2) == date(2026, 5, 4)  # 1 May, a weekend


def test_calendar_day_terms_move_off_days_off() -> None:
    assert deadline_after(date(2026, 1, 31), 30) == date(2026, 3, 2)
    assert deadline_after(date(2026, 2, 2), 30) == date(2026, 3, 4)
    assert next_working_day(date(2026, 5, 9)) == date(2026, 5, 12)


def test_working_days_between() -> None:
    assert working_days_between(date(2025, 12, 29), date(2026, 1, 12)) == 2  # 30 Dec, 12 Jan
