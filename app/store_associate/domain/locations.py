"""Where stores are and when they are open."""

from __future__ import annotations

import math
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

EARTH_RADIUS_KM = 6371.0088
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# Opening hours: {"mon": [["09:00", "20:00"]], "sun": []}. A close time at or before the open time
# means the span runs past midnight ("22:00"-"02:00").
Hours = dict[str, list[list[str]]]


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _parse(hhmm: str) -> time:
    h, m = hhmm.split(":")
    return time(int(h) % 24, int(m))


def validate_hours(hours: Hours) -> None:
    for day, spans in hours.items():
        if day not in DAYS:
            raise ValueError(f"unknown day {day!r}")
        for span in spans:
            if len(span) != 2:
                raise ValueError(f"{day}: a span is [open, close]")
            _parse(span[0])
            _parse(span[1])


class OpeningHours:
    """Hours parsed once, so that "open now" over 1,000 stores costs a few dict look-ups."""

    def __init__(self, hours: Hours, timezone: str) -> None:
        self.zone = ZoneInfo(timezone)
        # Per weekday (0 = Monday): spans as (start_minute, end_minute); overnight spans are split.
        self.spans: list[list[tuple[int, int]]] = [[] for _ in DAYS]
        for i, day in enumerate(DAYS):
            for a, b in hours.get(day, []):
                start, end = _minutes(_parse(a)), _minutes(_parse(b))
                if start < end:
                    self.spans[i].append((start, end))
                else:  # runs past midnight (or round the clock when equal)
                    self.spans[i].append((start, 24 * 60))
                    if end:
                        self.spans[(i + 1) % 7].append((0, end))

    def is_open(self, now_utc: datetime) -> bool:
        if now_utc.tzinfo is None:
            raise ValueError("now_utc must be timezone-aware")
        local = now_utc.astimezone(self.zone)
        minute = local.hour * 60 + local.minute
        return any(a <= minute < b for a, b in self.spans[local.weekday()])


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def is_open(hours: Hours, timezone: str, now_utc: datetime) -> bool:
    """Whether the store is open at `now_utc`, judged by its local wall clock."""
    return OpeningHours(hours, timezone).is_open(now_utc)


def next_change(hours: Hours, timezone: str, now_utc: datetime) -> datetime | None:
    """The next local time the store opens or closes (searched minute-by-quarter over a week)."""
    state = is_open(hours, timezone, now_utc)
    probe = now_utc.replace(second=0, microsecond=0)
    probe += timedelta(minutes=15 - probe.minute % 15)
    for _ in range(7 * 24 * 4):
        if is_open(hours, timezone, probe) != state:
            return probe
        probe += timedelta(minutes=15)
    return None
