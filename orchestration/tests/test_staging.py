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


def _write_raw(path: Path, drop: tuple[str, str] | None = None) -> None:
    con = duckdb.connect(str(path))
    rows = _raw_rows()
    for raw in RAW_TABLES:
        con.execute(f'create schema if not exists "{raw.schema_key}"')
        con.execute(create_table_sql(raw))
        data = rows.get(raw.name, [])
        if data:
            marks = ", ".join("?" for _ in raw.columns)
            con.executemany(f'insert into "{raw.schema_key}"."{raw.name}" values ({marks})', data)
        if drop and drop[0] == raw.name:
            con.execute(f'alter table "{raw.schema_key}"."{raw.name}" drop column "{drop[1]}"')
    con.close()


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


@pytest.mark.postgres
def test_staging_on_postgres(tmp_path: Path, pg_database: str) -> None:
    """The same raw rows on PostgreSQL give the same audit."""
    import psycopg2
    from conftest import pg_params

    conn = psycopg2.connect(**pg_params(pg_database))
    conn.autocommit = True
    rows = _raw_rows()
    with conn.cursor() as cur:
        for raw in RAW_TABLES:
            cur.execute(f'create schema if not exists "{raw.schema_key}"')
            cur.execute(create_table_sql(raw))
            data = rows.get(raw.name, [])
            if data:
                marks = ", ".join("%s" for _ in raw.columns)
                cur.executemany(f'insert into "{raw.schema_key}"."{raw.name}" values ({marks})', data)
        conn.close()
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
