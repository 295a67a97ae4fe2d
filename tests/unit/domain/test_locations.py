from datetime import UTC, datetime

import pytest

from store_associate.domain.inventory import StockFigures, StockStatus, available_to_promise
from store_associate.domain.locations import distance_km, is_open, next_change, validate_hours

WEEKDAY = {"mon": [["09:00", "17:00"]], "tue": [["09:00", "17:00"]], "sat": [["22:00", "02:00"]]}


def test_distance_new_york_to_boston():
    assert distance_km(40.7506, -73.9880, 42.3555, -71.0605) == pytest.approx(300, abs=10)
    assert distance_km(1, 2, 1, 2) == 0


def test_open_in_local_time_not_utc():
    # Monday 2026-11-23 14:00 UTC is 09:00 in New York (EST) and 06:00 in Los Angeles.
    now = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    assert is_open(WEEKDAY, "America/New_York", now)
    assert not is_open(WEEKDAY, "America/Los_Angeles", now)


def test_span_past_midnight_counts_on_the_next_day():
    sunday_1am_ny = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)  # Sun 01:00 EST
    assert is_open(WEEKDAY, "America/New_York", sunday_1am_ny)
    assert not is_open(WEEKDAY, "America/New_York", datetime(2026, 11, 29, 8, 0, tzinfo=UTC))


def test_closed_day_and_naive_time_rejected():
    assert not is_open(WEEKDAY, "America/New_York", datetime(2026, 11, 25, 15, 0, tzinfo=UTC))  # Wednesday
    with pytest.raises(ValueError):
        is_open(WEEKDAY, "UTC", datetime(2026, 11, 23, 14, 0))


def test_next_change():
    now = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)  # Mon 08:00 EST, opens at 09:00
    assert next_change(WEEKDAY, "America/New_York", now) == datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


def test_validate_hours():
    validate_hours(WEEKDAY)
    with pytest.raises(ValueError):
        validate_hours({"monday": []})
    with pytest.raises(ValueError):
        validate_hours({"mon": [["09:00"]]})


def test_available_to_promise_never_negative_and_status():
    assert available_to_promise(5, 3, 4) == 0
    assert StockFigures(10, 2, 1).available_to_promise == 7
    assert StockFigures(3, 0, 0).status is StockStatus.LOW
    assert StockFigures(0, 0, 0).status is StockStatus.OUT
    assert StockFigures(20, 0, 0).status is StockStatus.IN_STOCK
