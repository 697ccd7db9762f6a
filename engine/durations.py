"""ISO 8601 durations (P3D, PT4H30M, P1W) as timedeltas."""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION = re.compile(
    r"^P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(text: str) -> timedelta:
    """Parse weeks, days, hours, minutes and seconds; months and years are not fixed lengths."""
    match = _DURATION.match(text.strip())
    if not match or text.strip() in ("P", "PT"):
        raise ValueError(f"{text!r} is not an ISO 8601 duration like P3D or PT4H")
    parts = {k: float(v) for k, v in match.groupdict().items() if v}
    return timedelta(**parts)
