"""The daily incremental run with events an offline device sends 30 days late equals a full refresh,
on DuckDB and on PostgreSQL.

The hand-made warehouse of reliability.py is loaded in two parts: first everything received before
its last day (built from scratch), then the last day's load, which holds the events of a mobile
app that was offline for 30 days (original_timestamp 30 days before sent_at, received right after
sending; one device's clock also two years ahead) and clocks no correction makes plausible. The
normal daily build must count the offline events on their real day, 30 days back, and then hold
exactly what a --full-refresh of the same data holds: every mart, every monitoring model and the
attributed events.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import pg_params, run_dbt
from reliability import (
    AS_OF,
    OFFLINE_DAYS,
    bad_input_rows,
    normalise,
    write_duckdb,
    write_postgres,
)

pytestmark = pytest.mark.slow

ATTRIBUTED = "intermediate.int_events_attributed_to_accounts"
ATTRIBUTED_COLUMNS = (
    "event_id, event_source, user_id, anonymous_id, account_id, attribution_method, event_name, "
    "event_at, event_date, received_at"
)
ACTIVITY = "marts.fct_account_activity_daily"
# seeds and models: the data tests of these rows run in test_reliability.py
MODELS_ONLY = ["--exclude", "resource_type:test", "resource_type:unit_test"]

Rows = dict[str, list[dict[str, Any]]]
Fetch = Callable[[str], list[tuple]]


def split_by_receipt() -> tuple[Rows, Rows, Any]:
    """All rows, and the part of them a daily load lands on the last day (Segment rows received that
    day); the expected marts of all rows."""
    raw, expected = bad_input_rows()
    last_day: Rows = {}
    for name in ("tracks", "pages", "identifies", "groups"):
        # a received_at that is no time (a drifted, uncastable text) is set aside in either load
        last_day[name] = [
            row
            for row in raw[name]
            if isinstance(row["received_at"], datetime) and row["received_at"].date() == AS_OF
        ]
    return raw, last_day, expected


def without(raw: Rows, part: Rows) -> Rows:
    return {name: [row for row in rows if row not in part.get(name, [])] for name, rows in raw.items()}


def snapshot(fetch: Fetch) -> dict[str, list[tuple]]:
    """Every mart and monitoring model, and the attributed events, as sorted normalised rows."""
    names = [
        f"{schema}.{table}"
        for schema, table in fetch(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('marts', 'monitoring')"
        )
    ]
    queries = {name: f"select * from {name}" for name in names}
    queries[ATTRIBUTED] = f"select {ATTRIBUTED_COLUMNS} from {ATTRIBUTED}"
    return {
        name: sorted((tuple(normalise(value) for value in row) for row in fetch(sql)), key=repr)
        for name, sql in queries.items()
    }


def events_on(snap: dict[str, list[tuple]], account: str, day: Any) -> int:
    # account_id, activity_date, active_users, events, ...
    found = [row[3] for row in snap[ACTIVITY] if row[0] == account and row[1] == day]
    return found[0] if found else 0


def check(before: dict, incremental: dict, full: dict, expected: Any, workdir: Path) -> None:
    # the second build was the normal incremental one
    for model in ("stg_segment__tracks", "int_events_attributed_to_accounts"):
        executed = next((workdir / "incremental" / "target" / "run").rglob(f"{model}.sql")).read_text()
        assert "delete from" in executed, f"the daily build of {model} was not incremental"
    # the offline events count on their real day, 30 days before the day they arrived
    real_day = AS_OF - timedelta(days=OFFLINE_DAYS)
    assert events_on(incremental, "acc_obrien", real_day) - events_on(before, "acc_obrien", real_day) == 2
    daily = {(row[0], row[1]): row[3] for row in incremental[ACTIVITY] if row[3] > 0}
    assert daily == dict(expected.events)
    assert len([name for name in full if name.startswith("marts.")]) >= 10
    assert sorted(name for name in full if incremental.get(name) != full[name]) == []
    assert set(incremental) == set(full)


def build_in_two_loads(
    write: Callable[[Rows], None], fetch: Fetch, workdir: Path, **target: Any
) -> tuple[dict, dict, dict]:
    raw, last_day, _ = split_by_receipt()
    write(without(raw, last_day))
    run_dbt(["build", *MODELS_ONLY], workdir=workdir / "first", **target)
    before = snapshot(fetch)
    write(raw)  # the loader appends the last day's rows: the raw tables now hold every row
    run_dbt(["build", *MODELS_ONLY], workdir=workdir / "incremental", **target)
    incremental = snapshot(fetch)
    run_dbt(["run", "--full-refresh"], workdir=workdir / "full", **target)
    return before, incremental, snapshot(fetch)


def test_split_puts_the_offline_events_in_the_last_days_load() -> None:
    raw, last_day, _ = split_by_receipt()
    late = [
        row
        for row in last_day["tracks"]
        if row["sent_at"] - row["original_timestamp"] >= timedelta(days=OFFLINE_DAYS)
    ]
    assert len(late) >= 3
    assert sum(len(rows) for rows in without(raw, last_day).values()) + sum(
        len(rows) for rows in last_day.values()
    ) == sum(len(rows) for rows in raw.values())


def test_daily_run_with_an_event_sent_30_days_late_equals_a_full_refresh_duckdb(tmp_path: Path) -> None:
    import duckdb

    path = tmp_path / "warehouse.duckdb"

    def fetch(sql: str) -> list[tuple]:
        with duckdb.connect(str(path), read_only=True) as con:
            return con.execute(sql).fetchall()

    before, incremental, full = build_in_two_loads(
        lambda rows: write_duckdb(str(path), rows, drifted=True),
        fetch,
        tmp_path,
        target="duckdb",
        duckdb_path=path,
    )
    check(before, incremental, full, split_by_receipt()[2], tmp_path)


@pytest.mark.postgres
def test_daily_run_with_an_event_sent_30_days_late_equals_a_full_refresh_postgres(
    tmp_path: Path, pg_database: str
) -> None:
    import psycopg2

    def connect() -> Any:
        return psycopg2.connect(**pg_params(pg_database))

    def fetch(sql: str) -> list[tuple]:
        conn = connect()
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                return cur.fetchall()
        finally:
            conn.close()

    before, incremental, full = build_in_two_loads(
        lambda rows: write_postgres(connect, rows, drifted=True),
        fetch,
        tmp_path,
        target="postgres",
        pg_dbname=pg_database,
    )
    check(before, incremental, full, split_by_receipt()[2], tmp_path)
