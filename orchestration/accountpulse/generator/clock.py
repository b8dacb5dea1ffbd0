"""Time arithmetic in integer milliseconds and day numbers (days since 1970-01-01, UTC, naive).

Segment rows are built as int64 milliseconds; Stripe periods use calendar months the way Stripe
does: every period end is computed from the billing anchor, so Jan 31 -> Feb 28 -> Mar 31.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta

import numpy as np

MS_SECOND = 1_000
MS_MINUTE = 60_000
MS_HOUR = 3_600_000
MS_DAY = 86_400_000
EPOCH = datetime(1970, 1, 1)
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
FIVETRAN_OPEN_END = datetime(9999, 12, 31, 23, 59, 59)


def day_number(day: date) -> int:
    return day.toordinal() - EPOCH_ORDINAL


def day_date(number: int) -> date:
    return date.fromordinal(int(number) + EPOCH_ORDINAL)


def weekday(numbers: np.ndarray | int) -> np.ndarray | int:
    """ISO weekday index, Monday = 0 (1970-01-01 was a Thursday)."""
    return (numbers + 3) % 7


def ms_of(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(milliseconds=1)


def datetime_of(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=int(ms))


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


def month_start(day: date) -> date:
    return date(day.year, day.month, 1)


def next_month_start(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def month_starts(first: date, last: date) -> list[date]:
    """Every month start from first's month to last's month, inclusive."""
    out, cursor = [], month_start(first)
    while cursor <= last:
        out.append(cursor)
        cursor = next_month_start(cursor)
    return out


def add_months(anchor: datetime, months: int) -> datetime:
    """anchor + months, clamping the day to the month's length (Stripe's billing anchor rule)."""
    index = anchor.month - 1 + months
    year, month = anchor.year + index // 12, index % 12 + 1
    day = min(anchor.day, calendar.monthrange(year, month)[1])
    return anchor.replace(year=year, month=month, day=day)


def period_boundary(anchor: datetime, interval: str, count: int, index: int) -> datetime:
    """Start of billing period number `index` (0 = the anchor) for a Stripe recurring interval."""
    if interval == "month":
        return add_months(anchor, count * index)
    if interval == "year":
        return add_months(anchor, 12 * count * index)
    if interval == "week":
        return anchor + timedelta(weeks=count * index)
    if interval == "day":
        return anchor + timedelta(days=count * index)
    raise ValueError(f"unknown recurring interval {interval!r}")


def iso_week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def last_complete_week_starts(end: date, weeks: int) -> list[date]:
    """Mondays of the `weeks` last ISO weeks that end on or before `end`, oldest first."""
    last_sunday = end - timedelta(days=(end.weekday() + 1) % 7)
    last_monday = last_sunday - timedelta(days=6)
    return [last_monday - timedelta(weeks=k) for k in range(weeks - 1, -1, -1)]
