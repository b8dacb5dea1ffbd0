"""The as-of date of a build: a date, not after today (UTC), not before the first event.

`parse_as_of_date` is the type: the run config (`BuildSettings.as_of_date`, which the schedules and
the Dagster UI fill) and `accountpulse build --as-of-date` both go through it. `check_against_events`
compares a parsed date with the raw events before a build starts: before the first event is a
mistake to fix; after the last one is allowed (the day's data may not have landed yet) and returns
a note saying how many days the data lags. A plain `dbt build --vars '{as_of_date: ...}'` gets the
same rules from util_as_of_date (macros/as_of_date.sql), on the kept events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from accountpulse.errors import UserError
from accountpulse.warehouse import Warehouse

# (source, table) of the product events; pages and screens are optional tables (read where they exist)
EVENT_TABLES = (("segment", "tracks"), ("segment", "pages"), ("segment", "screens"))
EVENT_TIME_COLUMN = "timestamp"  # the loader's event time


def today_utc() -> date:
    return datetime.now(UTC).date()


def parse_as_of_date(value: str | date, *, label: str = "as_of_date", today: date | None = None) -> date:
    """The date `value` names; ValueError (one line) when it is not YYYY-MM-DD or is after today."""
    if isinstance(value, date):
        parsed = value
    else:
        try:
            parsed = date.fromisoformat(str(value).strip())
        except ValueError:
            raise ValueError(f"{label} must be YYYY-MM-DD, got {value!r}") from None
    today = today or today_utc()
    if parsed > today:
        raise ValueError(f"{label} {parsed} is after today ({today} UTC): the marts would invent the future")
    return parsed


@dataclass(frozen=True)
class EventRange:
    first: date
    last: date


def event_range(warehouse: Warehouse, manifest: Mapping[str, Any]) -> EventRange | None:
    """First and last day of the raw track, page and screen events; None when there are none or they
    cannot be read (a missing table or a drifted type: the build reports those itself)."""
    relations = [
        (props["schema"], props.get("identifier") or props["name"])
        for props in manifest.get("sources", {}).values()
        if (props.get("source_name"), props["name"]) in EVENT_TABLES
    ]
    try:
        existing = {(schema.lower(), name.lower()) for schema, name in warehouse.tables()}
        relations = [
            (schema, name) for schema, name in relations if (schema.lower(), name.lower()) in existing
        ]
    except Exception:  # noqa: BLE001 - as below: the build reports an unreachable warehouse itself
        return None
    if not relations:
        return None
    selects = " union all ".join(
        f'select min("{EVENT_TIME_COLUMN}") as first_at, max("{EVENT_TIME_COLUMN}") as last_at '
        f'from "{schema}"."{table}"'
        for schema, table in relations
    )
    try:
        frame = warehouse.query(
            f"select min(first_at) as first_at, max(last_at) as last_at from ({selects}) as event_times"
        )
        first, last = frame.iloc[0]["first_at"], frame.iloc[0]["last_at"]
        if first is None or last is None or str(first) in ("NaT", "nan"):
            return None
        return EventRange(_to_date(first), _to_date(last))
    except UserError:
        raise
    except Exception:  # noqa: BLE001 - an unreadable column is reported by the build, not here
        return None


def _to_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def check_against_events(as_of: date, events: EventRange | None, *, label: str = "--as-of-date") -> str:
    """UserError when `as_of` is before the first event; the lag note when it is after the last one."""
    if events is None:
        return ""
    if as_of < events.first:
        raise UserError(f"{label} {as_of} is before the first event ({events.first}): nothing to measure")
    lag = (as_of - events.last).days
    if lag > 0:
        days = "1 day" if lag == 1 else f"{lag} days"
        return f"as of {as_of}: data ends {events.last}, {days} before the as-of date"
    return ""
