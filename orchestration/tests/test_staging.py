"""Staging on real databases: bad rows are set aside and counted, optional columns may be missing,
a missing required column stops the build with a message naming table and column."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
from conftest import run_dbt

from accountpulse.raw_schema import RAW_TABLES, RawTable, create_table_sql

T0 = "2026-03-02 10:00:00"


def _raw_rows() -> dict[str, list[tuple]]:
    """A few hand-made raw rows per table, with known defects (see expected counts below)."""
    ts = T0
    return {
        "tracks": [
            # id, anonymous_id, user_id, event, event_text, timestamp, original_timestamp, sent_at,
            # received_at, uuid_ts, context_group_id, context_library_name
            ("t1", None, "u1", "report_viewed", "Report Viewed", ts, ts, ts, ts, ts, None, "js"),
            ("t1", None, "u1", "report_viewed", "Report Viewed", ts, ts, ts, ts, ts, None, "js"),  # dup
            ("t2", None, "u1", "", "?", ts, ts, ts, ts, ts, None, "js"),  # empty event name
            (None, None, "u1", "report_viewed", "Report Viewed", ts, ts, ts, ts, ts, None, "js"),  # no id
            ("t3", None, None, "report_viewed", "Report Viewed", ts, ts, ts, ts, ts, None, "js"),  # nobody
            # device clock three years behind, sent_at equally behind: the corrected time is right
            (
                "t4",
                "a1",
                None,
                "dashboard_viewed",
                "Dashboard Viewed",
                "2023-03-02 10:00:00",
                "2023-03-02 09:59:00",
                "2023-03-02 10:00:00",
                ts,
                ts,
                "acc1",
                "js",
            ),
            ("t5", None, "u1", "report_viewed", "Report Viewed", None, None, None, None, ts, None, "js"),
        ],
        "pages": [
            ("p1", None, "u1", ts, ts, ts, "Home", "/", "https://x/", "Home", None),
            ("p1", None, "u1", ts, ts, ts, "Home", "/", "https://x/", "Home", None),
        ],
        "identifies": [("i1", "a1", "u1", ts, ts, ts, "U1@X.COM", "Una", "Admin")],
        "groups": [
            ("g1", None, "u1", "acc1", ts, ts, ts, "O'Brien & Co", "team", "SaaS", "lots", ts),
            ("g2", None, "u1", None, ts, ts, ts, "nobody", "team", "SaaS", "10", ts),
        ],
        "customer": [
            ("cus1", "O'Brien & Co", "b@x.com", ts, "usd", False, '{"account_id": "acc1"}'),
            ("cus2", "Broken", "c@x.com", ts, "usd", False, "{not json"),
        ],
        "price": [
            ("pr1", "prod1", 2000, "usd", "month", 1, "recurring"),
            ("pr2", "prod1", 2000, "xxx", "month", 1, "recurring"),  # unknown currency
        ],
        "subscription_item": [("si1", "sub1", "pr1", 5, ts), ("si2", "sub1", "pr1", -1, ts)],
    }


# The columns the tuples of _raw_rows give, in order (every other contract column is null).
ROW_COLUMNS = {
    "tracks": (
        "id",
        "anonymous_id",
        "user_id",
        "event",
        "event_text",
        "timestamp",
        "original_timestamp",
        "sent_at",
        "received_at",
        "uuid_ts",
        "context_group_id",
        "context_library_name",
    ),
    "pages": (
        "id",
        "anonymous_id",
        "user_id",
        "timestamp",
        "sent_at",
        "received_at",
        "name",
        "path",
        "url",
        "title",
        "context_group_id",
    ),
    "identifies": (
        "id",
        "anonymous_id",
        "user_id",
        "timestamp",
        "sent_at",
        "received_at",
        "email",
        "name",
        "role",
    ),
    "groups": (
        "id",
        "anonymous_id",
        "user_id",
        "group_id",
        "timestamp",
        "sent_at",
        "received_at",
        "name",
        "plan",
        "industry",
        "employees",
        "created_at",
    ),
    "customer": ("id", "name", "email", "created", "currency", "is_deleted", "metadata"),
    "price": (
        "id",
        "product_id",
        "unit_amount",
        "currency",
        "recurring_interval",
        "recurring_interval_count",
        "type",
    ),
    "subscription_item": ("id", "subscription_id", "plan_id", "quantity", "created"),
}


def _insert_sql(raw: RawTable, mark: str) -> str:
    names = ROW_COLUMNS[raw.name]
    quoted = ", ".join(f'"{name}"' for name in names)
    return f'insert into "{raw.schema_key}"."{raw.name}" ({quoted}) values ({", ".join(mark for _ in names)})'


def _write_raw(
    path: Path, drop: tuple[str, str] | None = None, rows: dict[str, list[tuple]] | None = None
) -> None:
    con = duckdb.connect(str(path))
    rows = _raw_rows() if rows is None else rows
    for raw in RAW_TABLES:
        con.execute(f'create schema if not exists "{raw.schema_key}"')
        con.execute(create_table_sql(raw))
        data = rows.get(raw.name, [])
        if data:
            con.executemany(_insert_sql(raw, "?"), data)
        if drop and drop[0] == raw.name:
            con.execute(f'alter table "{raw.schema_key}"."{raw.name}" drop column "{drop[1]}"')
    con.close()


def _write_raw_postgres(dbname: str, rows: dict[str, list[tuple]]) -> None:
    import psycopg2
    from conftest import pg_params

    conn = psycopg2.connect(**pg_params(dbname))
    conn.autocommit = True
    with conn.cursor() as cur:
        for raw in RAW_TABLES:
            cur.execute(f'create schema if not exists "{raw.schema_key}"')
            cur.execute(create_table_sql(raw))
            data = rows.get(raw.name, [])
            if data:
                cur.executemany(_insert_sql(raw, "%s"), data)
    conn.close()


def _audit(path: Path) -> dict[tuple[str, str, str | None], int]:
    con = duckdb.connect(str(path), read_only=True)
    rows = con.execute(
        "select source_table, disposition, reason, row_count from monitoring.mon_source_row_audit"
    ).fetchall()
    con.close()
    return {(table, disposition, reason): count for table, disposition, reason, count in rows}


def test_bad_rows_are_set_aside_and_counted(tmp_path: Path) -> None:
    db = tmp_path / "raw.duckdb"
    _write_raw(db)
    run_dbt(
        [
            "build",
            "--select",
            "+mon_source_row_audit",
            "path:models/staging",
            "--indirect-selection",
            "cautious",
        ],
        target="duckdb",
        workdir=tmp_path,
        duckdb_path=db,
    )
    audit = _audit(db)
    assert audit[("segment.tracks", "kept", None)] == 2
    assert audit[("segment.tracks", "duplicate", "duplicate_delivery")] == 1
    assert audit[("segment.tracks", "rejected", "missing_event_name")] == 1
    assert audit[("segment.tracks", "rejected", "missing_id")] == 1
    assert audit[("segment.tracks", "rejected", "missing_user_and_anonymous_id")] == 1
    assert audit[("segment.tracks", "rejected", "missing_timestamp")] == 1
    assert audit[("segment.pages", "duplicate", "duplicate_delivery")] == 1
    assert audit[("segment.groups", "rejected", "missing_group_id")] == 1
    assert audit[("segment.groups", "flagged", "invalid_employees")] == 1
    assert audit[("stripe.customer", "flagged", "metadata_unparseable")] == 1
    assert audit[("stripe.customer", "kept", None)] == 2  # the customer is kept: its revenue is never lost
    assert audit[("stripe.price", "rejected", "unknown_currency")] == 1
    assert audit[("stripe.subscription_item", "rejected", "negative_quantity")] == 1
    # raw = kept + duplicate + rejected, per table
    con = duckdb.connect(str(db), read_only=True)
    for raw in RAW_TABLES:
        raw_count = con.execute(f'select count(*) from "{raw.schema_key}"."{raw.name}"').fetchone()[0]
        accounted = sum(
            count
            for (table, disposition, _), count in audit.items()
            if table == f"{raw.schema_key}.{raw.name}" and disposition != "flagged"
        )
        assert raw_count == accounted, raw.name
    # the skewed device clock is corrected; names with quotes are carried as data
    event_at = con.execute(
        "select event_at from staging.stg_segment__tracks where event_id = 't4'"
    ).fetchone()[0]
    assert str(event_at) == "2026-03-02 09:59:00"
    name = con.execute("select account_name from staging.stg_segment__groups").fetchone()[0]
    assert name == "O'Brien & Co"
    con.close()


def test_optional_column_missing_still_builds(tmp_path: Path) -> None:
    db = tmp_path / "raw.duckdb"
    _write_raw(db, drop=("tracks", "context_group_id"))
    run_dbt(
        ["build", "--select", "+stg_segment__tracks", "--indirect-selection", "cautious"],
        target="duckdb",
        workdir=tmp_path,
        duckdb_path=db,
    )
    con = duckdb.connect(str(db), read_only=True)
    nulls = con.execute(
        "select count(*) from staging.stg_segment__tracks where context_group_id is null"
    ).fetchone()
    total = con.execute("select count(*) from staging.stg_segment__tracks").fetchone()
    con.close()
    assert nulls == total and total[0] == 2


def test_required_column_missing_fails_with_named_message(tmp_path: Path) -> None:
    db = tmp_path / "raw.duckdb"
    _write_raw(db, drop=("tracks", "event"))
    result = run_dbt(
        ["build", "--select", "+stg_segment__tracks", "--indirect-selection", "cautious"],
        target="duckdb",
        workdir=tmp_path,
        duckdb_path=db,
        check=False,
    )
    assert result.returncode != 0
    assert "missing required column 'event'" in result.stdout
    assert "tracks" in result.stdout


def test_a_column_landed_under_an_alternative_name_is_read_under_the_contract_name(tmp_path: Path) -> None:
    """Fivetran lands an item's price as plan_id; other set-ups name it price_id: both are read."""
    db = tmp_path / "raw.duckdb"
    _write_raw(db)
    con = duckdb.connect(str(db))
    con.execute('alter table stripe.subscription_item rename column "plan_id" to "price_id"')
    con.close()
    run_dbt(
        ["build", "--select", "+stg_stripe__subscription_items", "--indirect-selection", "cautious"],
        target="duckdb",
        workdir=tmp_path,
        duckdb_path=db,
    )
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute(
        "select subscription_item_id, price_id from staging.stg_stripe__subscription_items"
    ).fetchall()
    con.close()
    assert rows == [("si1", "pr1")]


def test_a_required_column_missing_under_every_name_stops_naming_the_alternatives(tmp_path: Path) -> None:
    db = tmp_path / "raw.duckdb"
    _write_raw(db, drop=("subscription_item", "plan_id"))
    result = run_dbt(
        ["build", "--select", "+stg_stripe__subscription_items", "--indirect-selection", "cautious"],
        target="duckdb",
        workdir=tmp_path,
        duckdb_path=db,
        check=False,
    )
    assert result.returncode != 0
    assert "subscription_item\" is missing required column 'plan_id' (or 'price_id')" in result.stdout


@pytest.mark.postgres
def test_staging_on_postgres(tmp_path: Path, pg_database: str) -> None:
    """The same raw rows on PostgreSQL give the same audit."""
    import psycopg2
    from conftest import pg_params

    _write_raw_postgres(pg_database, _raw_rows())
    run_dbt(
        [
            "build",
            "--select",
            "+mon_source_row_audit",
            "path:models/staging",
            "--indirect-selection",
            "cautious",
        ],
        target="postgres",
        workdir=tmp_path,
        pg_dbname=pg_database,
    )
    duck = tmp_path / "raw.duckdb"
    _write_raw(duck)
    run_dbt(
        [
            "build",
            "--select",
            "+mon_source_row_audit",
            "path:models/staging",
            "--indirect-selection",
            "cautious",
        ],
        target="duckdb",
        workdir=tmp_path,
        duckdb_path=duck,
    )
    conn = psycopg2.connect(**pg_params(pg_database))
    with conn.cursor() as cur:
        cur.execute(
            "select source_table, disposition, reason, row_count from monitoring.mon_source_row_audit"
        )
        pg_audit = {(t, d, r): c for t, d, r, c in cur.fetchall()}
    conn.close()
    assert pg_audit == _audit(duck)


# Device clock offsets (sent_at - original_timestamp) of any size, all received at T0. Columns:
# id, original_timestamp, sent_at -> the corrected event time, or the reason the row is set aside.
# Corrected time = received_at - (sent_at - original_timestamp), in whole milliseconds.
CLOCKS = [
    # offline 30 days (sent 30 d 00:59:57.750 after the event): counts on its real day, ms exact
    ("offline_30d", "2026-01-31 09:00:00.250", "2026-03-02 09:59:58", "2026-01-31 09:00:02.250"),
    # the same with a clock two years (730 days) ahead
    (
        "offline_30d_clock_2y_ahead",
        "2028-01-31 09:00:00.250",
        "2028-03-01 09:59:58",
        "2026-01-31 09:00:02.250",
    ),
    # a clock two years ahead, sent_at equally ahead, sent at once
    ("clock_2y_ahead", "2028-03-01 09:59:00", "2028-03-01 09:59:30", "2026-03-02 09:59:30"),
    # the plausibility limits, to the millisecond: 365 days before receipt, a day after it
    ("365d_old", "2025-03-02 10:00:00", "2026-03-02 10:00:00", "2025-03-02 10:00:00"),
    ("365d_old_plus_1ms", "2025-03-02 10:00:00", "2026-03-02 10:00:00.001", "event_time_implausibly_old"),
    ("1d_ahead", "2026-03-03 10:00:00", "2026-03-02 10:00:00", "2026-03-03 10:00:00"),
    ("1d_ahead_plus_1ms", "2026-03-03 10:00:00.001", "2026-03-02 10:00:00", "event_time_after_receipt"),
    # clocks no correction makes plausible (sent_at from a clock that was right, or far off)
    ("clock_2y_ahead_sent_right", "2028-03-01 10:00:00", "2026-03-02 09:59:59", "event_time_after_receipt"),
    ("clock_reset_to_epoch", "1970-01-01 00:00:00", "2026-03-02 09:59:59", "event_time_implausibly_old"),
    ("clock_in_2099", "2099-01-01 00:00:00", "2026-03-02 09:59:59", "event_time_after_receipt"),
    ("sent_at_9999", "2026-03-02 09:59:00", "9999-12-31 23:59:59", "event_time_implausibly_old"),
    ("sent_at_0001", "2026-03-02 09:59:00", "0001-01-01 00:00:00", "event_time_after_receipt"),
]


def _clock_rows() -> dict[str, list[tuple]]:
    return {
        "tracks": [
            (
                f"clock_{name}",
                None,
                "u1",
                "report_viewed",
                "Report Viewed",
                T0,
                device_at,
                sent_at,
                T0,
                T0,
                None,
                "js",
            )
            for name, device_at, sent_at, _ in CLOCKS
        ]
    }


@pytest.mark.parametrize("target", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_clock_offsets_of_any_size_are_corrected_or_set_aside(tmp_path: Path, request, target: str) -> None:
    """Offsets beyond 2^31 ms (24.8 days) and up to the ends of the timestamp range: corrected to
    the millisecond, or set aside with the documented reason and counted; never a failed build."""
    select = [
        "build",
        "--select",
        "+stg_segment__tracks",
        "+mon_source_row_audit",
        "--indirect-selection",
        "cautious",
    ]
    sql = "select event_id, event_at, rejection_reason from staging.base_segment__tracks"
    if target == "duckdb":
        db = tmp_path / "raw.duckdb"
        _write_raw(db, rows=_clock_rows())
        run_dbt(select, target="duckdb", workdir=tmp_path, duckdb_path=db)
        audit = _audit(db)
        con = duckdb.connect(str(db), read_only=True)
        got = con.execute(sql).fetchall()
        kept = {
            event_id
            for (event_id,) in con.execute("select event_id from staging.stg_segment__tracks").fetchall()
        }
        con.close()
    else:
        import psycopg2
        from conftest import pg_params

        dbname = request.getfixturevalue("pg_database")
        _write_raw_postgres(dbname, _clock_rows())
        run_dbt(select, target="postgres", workdir=tmp_path, pg_dbname=dbname)
        conn = psycopg2.connect(**pg_params(dbname))
        with conn.cursor() as cur:
            cur.execute(sql)
            got = cur.fetchall()
            cur.execute(
                "select source_table, disposition, reason, row_count from monitoring.mon_source_row_audit"
            )
            audit = {
                (table, disposition, reason): count for table, disposition, reason, count in cur.fetchall()
            }
            cur.execute("select event_id from staging.stg_segment__tracks")
            kept = {event_id for (event_id,) in cur.fetchall()}
        conn.close()
    outcome = {
        event_id.removeprefix("clock_"): reason or event_at.isoformat(sep=" ", timespec="milliseconds")
        for event_id, event_at, reason in got
    }
    want = {
        name: expected if expected.startswith("event_time") else f"{expected}.000"[:23]
        for name, _, _, expected in CLOCKS
    }
    assert outcome == want
    assert kept == {
        f"clock_{name}" for name, want_value in want.items() if not want_value.startswith("event_time")
    }
    tracks = {key[1:]: count for key, count in audit.items() if key[0] == "segment.tracks"}
    assert tracks == {
        ("kept", None): 5,
        ("rejected", "event_time_implausibly_old"): 3,
        ("rejected", "event_time_after_receipt"): 4,
    }


# One column per raw table landed in a type that cannot hold its values (a timestamp as a boolean or a
# number, a number as a timestamp, a boolean or a date). Stripe `product` is left out: it has only text
# columns, and text is read from any type.
INCOMPATIBLE_TYPES = {
    "tracks": ("received_at", "boolean"),
    "pages": ("timestamp", "boolean"),
    "identifies": ("received_at", "bigint"),
    "groups": ("timestamp", "boolean"),
    "customer": ("created", "bigint"),
    "subscription_history": ("_fivetran_start", "boolean"),
    "subscription_item": ("quantity", "timestamp"),
    "price": ("unit_amount", "boolean"),
    "coupon": ("amount_off", "timestamp"),
    "discount": ("start", "double precision"),
    "invoice": ("total", "date"),
    "invoice_line_item": ("amount", "timestamp"),
}
BASE_MODELS = ["--select", "path:models/staging/segment/base", "path:models/staging/stripe/base"]


def _incompatible_create_sql(raw: RawTable) -> str:
    drifted = dict([INCOMPATIBLE_TYPES[raw.name]]) if raw.name in INCOMPATIBLE_TYPES else {}
    columns = ", ".join(f'"{c.name}" {drifted.get(c.name, c.sql_type)}' for c in raw.columns)
    return f'create table "{raw.schema_key}"."{raw.name}" ({columns})'


def _type_message(output: str, raw: RawTable) -> bool:
    """dbt's compiler error for the table: raw table, column, the type expected and the type found."""
    column, found = INCOMPATIBLE_TYPES[raw.name]
    expected = (
        "timestamp" if next(c for c in raw.columns if c.name == column).sql_type == "timestamp" else "bigint"
    )
    pattern = (
        rf"Raw table \S*{raw.schema_key}\S*\.\S*{raw.name}\S* column '{column}' "
        rf"has type {found.split()[0]}[^,]*, expected {expected}"
    )
    return re.search(pattern, " ".join(output.split()), re.IGNORECASE) is not None


@pytest.fixture(scope="module")
def incompatible_duckdb_build(tmp_path_factory: pytest.TempPathFactory) -> str:
    workdir = tmp_path_factory.mktemp("incompatible_types")
    db = workdir / "raw.duckdb"
    con = duckdb.connect(str(db))
    for raw in RAW_TABLES:
        con.execute(f'create schema if not exists "{raw.schema_key}"')
        con.execute(_incompatible_create_sql(raw))
    con.close()
    result = run_dbt(["run", *BASE_MODELS], target="duckdb", workdir=workdir, duckdb_path=db, check=False)
    assert result.returncode != 0
    return result.stdout


@pytest.mark.parametrize("name", sorted(INCOMPATIBLE_TYPES))
def test_a_raw_column_of_a_type_that_cannot_hold_its_values_stops_naming_table_column_and_types(
    incompatible_duckdb_build: str, name: str
) -> None:
    raw = next(raw for raw in RAW_TABLES if raw.name == name)
    assert _type_message(incompatible_duckdb_build, raw), incompatible_duckdb_build[-3000:]
    assert "Binder Error" not in incompatible_duckdb_build


@pytest.mark.postgres
def test_incompatible_raw_column_types_stop_on_postgres_with_its_type_names(
    tmp_path: Path, pg_database: str
) -> None:
    """PostgreSQL reports its own type names (`timestamp without time zone`, `double precision`): the
    same stops, naming the type PostgreSQL found."""
    import psycopg2
    from conftest import pg_params

    conn = psycopg2.connect(**pg_params(pg_database))
    conn.autocommit = True
    with conn.cursor() as cur:
        for raw in RAW_TABLES:
            cur.execute(f'create schema if not exists "{raw.schema_key}"')
            cur.execute(_incompatible_create_sql(raw))
    conn.close()
    result = run_dbt(
        ["run", *BASE_MODELS], target="postgres", workdir=tmp_path, pg_dbname=pg_database, check=False
    )
    assert result.returncode != 0
    missing = [
        raw.name
        for raw in RAW_TABLES
        if raw.name in INCOMPATIBLE_TYPES and not _type_message(result.stdout, raw)
    ]
    assert missing == [], result.stdout[-4000:]


def test_blank_message_ids_are_missing_ids_never_one_id(tmp_path: Path) -> None:
    """Tracks whose id is empty or only whitespace are set aside as missing_id like a null id: before,
    the two '' rows were merged as one message (one kept, one "duplicate") and the '   ' row kept."""
    db = tmp_path / "raw.duckdb"
    _write_raw(db)
    ts = T0
    blank = [
        (event_id, None, "u9", "report_viewed", "Report Viewed", ts, ts, ts, ts, ts, None, "js")
        for event_id in ("", "", "   ", "\t")
    ]
    with duckdb.connect(str(db)) as con:
        con.executemany(f"insert into segment.tracks values ({', '.join('?' for _ in blank[0])})", blank)
    run_dbt(
        [
            "build",
            "--select",
            "+mon_source_row_audit",
            "stg_segment__tracks",
            "--indirect-selection",
            "cautious",
        ],
        target="duckdb",
        workdir=tmp_path,
        duckdb_path=db,
    )
    audit = _audit(db)
    assert audit[("segment.tracks", "rejected", "missing_id")] == 1 + 4  # the null id of _raw_rows, and these
    assert audit[("segment.tracks", "kept", None)] == 2
    assert audit[("segment.tracks", "duplicate", "duplicate_delivery")] == 1  # t1 only
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute(
            "select count(*) from staging.stg_segment__tracks where user_id = 'u9'"
        ).fetchone() == (0,)
