"""Reliability on real builds of a small hand-made warehouse (reliability.py), DuckDB and PostgreSQL.

- A fresh install (every raw table empty, optional columns missing, unknown columns present) builds,
  every mart empty.
- Bad input has a defined outcome: counted once, set aside and counted, carried as data, or a build
  that stops with the problem named — never a wrong number in a mart.
- PostgreSQL: the same marts as DuckDB through the Dagster build run as a LOGIN role with a password
  (never written to a log or an artifact); the webhook URL is never written in full; the reporting
  role reads no raw PII; readers querying the marts during `dbt build --full-refresh` never see an
  error, an empty or a partial mart.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import pg_params, require_postgres
from reliability import (
    AS_OF,
    BLANK_KEYS,
    DRIFTED_COLUMNS,
    EMAIL_USER,
    EPOCH,
    INJECTION,
    NO_UNIT_TESTS,
    OBRIEN,
    START,
    UNICODE,
    Expected,
    bad_input_rows,
    dbt,
    duck_env,
    normalise,
    ok,
    revenue_line_in_unknown_currency,
    write_duckdb,
    write_postgres,
)

from accountpulse.paths import PROJECT_DIR
from accountpulse.raw_schema import RAW_TABLES, RawTable

REPORTING_ROLE = "accountpulse_reporting"
WEBHOOK_SECRET = "/services/TREL/BREL/rel-w3bh00k-s3cret"


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------


def rows(fetch: Any, sql: str) -> list[tuple]:
    return sorted((tuple(normalise(value) for value in row) for row in fetch(sql)), key=repr)


def mart_tables(fetch: Any) -> list[str]:
    return [
        name
        for (name,) in fetch(
            "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
        )
    ]


def text_columns(fetch: Any, schema: str) -> list[tuple[str, str]]:
    return [
        (table, column)
        for table, column in fetch(
            "select table_name, column_name from information_schema.columns "
            f"where table_schema = '{schema}' and data_type in ('VARCHAR', 'text', 'character varying') "
            "order by 1, 2"
        )
    ]


class Duck:
    """Read-only queries on a DuckDB file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.path), read_only=True) as con:
            return con.execute(sql).fetchall()


# ------------------------------------------------------------------------------------------------
# DuckDB: a fresh install, then the bad input
# ------------------------------------------------------------------------------------------------


@dataclass
class DuckBuild:
    path: Path
    workdir: Path
    expected: Expected
    empty_build: subprocess.CompletedProcess[str]
    empty_counts: dict[str, int]
    build: subprocess.CompletedProcess[str]
    seconds: dict[str, float] = field(default_factory=dict)


@pytest.fixture(scope="module")
def duck(tmp_path_factory: pytest.TempPathFactory) -> DuckBuild:
    workdir = tmp_path_factory.mktemp("reliability_duckdb")
    path = workdir / "warehouse.duckdb"
    env = duck_env(path)
    seconds = {}
    # a fresh install: every raw table empty, in a loader layout without the optional columns
    write_duckdb(str(path), {}, minimal=True)
    started = time.monotonic()
    empty_build = dbt(["build", *NO_UNIT_TESTS], workdir, env)
    seconds["empty build"] = time.monotonic() - started
    query = Duck(path)
    empty_counts = {
        f"{schema}.{table}": query(f'select count(*) from "{schema}"."{table}"')[0][0]
        for schema, table in query(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('marts', 'monitoring', 'intermediate')"
        )
    }
    empty_counts["as_of_date is null"] = query(
        "select count(*) from intermediate.util_as_of_date where as_of_date is null"
    )[0][0]
    # then the loader lands the bad input (full layout, columns accountpulse does not know, and some
    # numeric, timestamp and boolean columns landed as text: reliability.DRIFTED_COLUMNS)
    raw, expected = bad_input_rows()
    write_duckdb(str(path), raw, drifted=True)
    started = time.monotonic()
    build = dbt(["build", *NO_UNIT_TESTS], workdir, env)
    seconds["bad input build"] = time.monotonic() - started
    return DuckBuild(path, workdir, expected, empty_build, empty_counts, build, seconds)


@pytest.mark.slow
def test_fresh_install_with_no_events_builds_and_every_mart_is_empty(duck: DuckBuild) -> None:
    ok(duck.empty_build)
    marts = {name: count for name, count in duck.empty_counts.items() if name.startswith("marts.")}
    assert len(marts) >= 10, marts
    assert set(marts.values()) == {0}, marts
    assert duck.empty_counts["monitoring.mon_source_row_audit"] == 0
    assert duck.empty_counts["intermediate.int_events_attributed_to_accounts"] == 0
    assert duck.empty_counts["as_of_date is null"] == 1


@pytest.mark.slow
def test_bad_input_builds_with_every_data_test_passing(duck: DuckBuild) -> None:
    ok(duck.build)
    # the only warning: more than 1% of the tracks were set aside (5 of ~250 hand-made rows)
    assert "ERROR=0" in duck.build.stdout and "FAIL" not in duck.build.stdout


@pytest.mark.slow
def test_events_count_once_and_only_when_usable(duck: DuckBuild) -> None:
    """Duplicates once, null/empty names and uncorrectable clocks not at all, the skewed clock on its
    real day, the stitched anonymous event for its user, the quote-laden event name as any other."""
    query = Duck(duck.path)
    got = {
        (account, day): (events, users)
        for account, day, events, users in query(
            "select account_id, activity_date, events, active_users from marts.fct_account_activity_daily "
            "where events > 0"
        )
    }
    want = {key: (events, len(duck.expected.users[key])) for key, events in duck.expected.events.items()}
    assert got == want


@pytest.mark.slow
def test_wrong_device_clocks_never_stretch_a_mart(duck: DuckBuild) -> None:
    query = Duck(duck.path)
    assert query("select as_of_date from intermediate.util_as_of_date") == [(AS_OF,)]
    spans = {
        "fct_account_activity_daily": "activity_date",
        "fct_account_health_daily": "as_of_date",
        "fct_account_activity_weekly": "week_start",
        "fct_account_feature_adoption_monthly": "month_start",
        "fct_account_mrr_monthly": "month_start",
    }
    for table, column in spans.items():
        low, high = query(f"select min({column}), max({column}) from marts.{table}")[0]
        assert date(START.year, START.month, 1) <= low and high <= AS_OF, (table, low, high)


@pytest.mark.slow
def test_rows_set_aside_are_counted_and_nothing_is_lost(duck: DuckBuild) -> None:
    query = Duck(duck.path)
    audit = {
        (table, disposition, reason): count
        for table, disposition, reason, count in query(
            "select source_table, disposition, reason, row_count from monitoring.mon_source_row_audit"
        )
    }
    for key, count in duck.expected.audit.items():
        assert audit.get(key) == count, key
    assert audit[("segment.groups", "flagged", "invalid_employees")] == 1
    assert audit[("stripe.customer", "flagged", "metadata_unparseable")] == 1
    assert audit[("stripe.customer", "flagged", "metadata_conflicting_account_ids")] == 1
    # raw = kept + duplicate + rejected, per table
    raw, _ = bad_input_rows()
    accounted = Counter()
    for (table, disposition, _), count in audit.items():
        if disposition != "flagged":
            accounted[table.split(".")[1]] += count
    assert accounted == Counter({name: len(table_rows) for name, table_rows in raw.items() if table_rows})
    # the anonymous device that never identified: kept, unresolved, counted
    assert query("select sum(events) from monitoring.mon_unresolved_events") == [(3,)]
    assert query("select sum(events) from monitoring.mon_incremental_event_gaps") == [(0,)]


@pytest.mark.slow
@pytest.mark.parametrize("table", RAW_TABLES, ids=lambda table: f"{table.schema_key}.{table.name}")
def test_each_raw_table_sets_aside_missing_keys_and_uncastable_values(
    duck: DuckBuild, table: RawTable
) -> None:
    """Per raw table: ids that are null, empty or only whitespace are missing ids (never one id merged
    as duplicates); a numeric / timestamp / boolean column landed as text is read through a safe cast
    (the table's other rows are kept with their values: the mart tests above hold the numbers), and a
    value that cannot be cast sets its row aside as invalid_<column>, counted."""
    ok(duck.build)
    query = Duck(duck.path)
    source = f"{table.schema_key}.{table.name}"
    audit = {
        (disposition, reason): count
        for disposition, reason, count in query(
            "select disposition, reason, row_count from monitoring.mon_source_row_audit "
            f"where source_table = '{source}'"
        )
    }
    assert audit[("rejected", "missing_id")] == len(BLANK_KEYS)
    for column in DRIFTED_COLUMNS[table.name]:
        assert audit[("rejected", f"invalid_{column}")] == 1, column
    # no blank id merged with another as its duplicate, no usable row outranked by an unusable delivery
    duplicates = duck.expected.audit.get((source, "duplicate", "duplicate_delivery"), 0)
    assert audit.get(("duplicate", "duplicate_delivery"), 0) == duplicates
    # every table but coupon, discount and the optional Stripe tables (the bad input has no usable row
    # of them) keeps its usable rows
    no_usable_rows = ("coupon", "discount", "plan", "subscription_discount", "credit_note")
    assert audit.get(("kept", None), 0) >= (0 if table.name in no_usable_rows else 1)
    # the drifted columns really are text in the raw table, the others keep their type
    types = dict(
        query(
            "select column_name, data_type from information_schema.columns "
            f"where table_schema = '{table.schema_key}' and table_name = '{table.name}'"
        )
    )
    for column in table.columns:
        want = "VARCHAR" if column.name in DRIFTED_COLUMNS[table.name] else None
        assert want is None or types[column.name] == want, column.name


@pytest.mark.slow
def test_quotes_unicode_and_wrong_typed_traits_are_carried_as_data(duck: DuckBuild) -> None:
    query = Duck(duck.path)
    accounts = {
        account: (name, plan, employees, segment)
        for account, name, plan, employees, segment in query(
            "select account_id, account_name, plan, employees, segment from marts.dim_accounts "
            "where account_id in ('acc_obrien', 'acc_quote', 'acc_emoji')"
        )
    }
    assert accounts == {
        "acc_obrien": (OBRIEN, "team", 120, "mid_market"),
        "acc_quote": (INJECTION, "business", None, "unknown"),  # employees "lots": null, flagged
        "acc_emoji": (UNICODE, "enterprise", 5000, "enterprise"),
    }
    assert ("dim_accounts",) in query(
        "select table_name from information_schema.tables where table_schema = 'marts'"
    )
    alerts = query("select account_name, alert_type from marts.account_alerts where account_id = 'acc_emoji'")
    assert (UNICODE, "dormant") in alerts


@pytest.mark.slow
def test_billing_edge_cases_keep_every_dollar_on_a_defined_account(duck: DuckBuild) -> None:
    query = Duck(duck.path)
    unmapped = {
        customer: (mapping, metadata, account)
        for customer, mapping, metadata, account in query(
            "select customer_id, mapping_status, metadata_status, account_id "
            "from monitoring.mon_billing_customers_unmapped"
        )
    }
    # billing without a Segment account: an account of its own name, listed
    assert unmapped["cus_bill_only"][:2] == ("billing_only", "ok")
    # unparseable metadata and a customer delivered with two account ids: booked to an account of
    # their own (never to a guessed one), listed
    assert unmapped["cus_badmeta"][:2] == ("no_account_id", "unparseable")
    assert unmapped["cus_conflict"][:2] == ("no_account_id", "conflicting_account_ids")
    assert unmapped["cus_conflict"][2] not in ("acc_quote", "acc_emoji")
    own_account = unmapped["cus_badmeta"][2]
    mrr = dict(
        query(
            "select account_id, mrr from marts.fct_account_mrr_monthly "
            f"where month_start = date '{AS_OF.replace(day=1)}'"
        )
    )
    # two customers pointing at one account add up; every recurring dollar of Stripe is on an account
    assert mrr == {"acc_obrien": 130, "acc_billing_only": 200, own_account: 40}
    month = AS_OF.replace(day=1)
    summary = query(
        f"select ending_mrr from marts.fct_mrr_summary_monthly where month_start = date '{month}'"
    )
    assert summary == [(Decimal("370.00"),)]
    # accounts without billing: present, MRR 0, never paying
    health = dict(
        query(
            "select account_id, mrr from marts.fct_account_health_daily "
            f"where as_of_date = date '{AS_OF}' and account_id in ('acc_quote', 'acc_emoji')"
        )
    )
    assert health == {"acc_quote": 0, "acc_emoji": 0}
    billing_accounts = {account for (account,) in query("select account_id from marts.dim_accounts")}
    assert {"acc_billing_only", own_account} <= billing_accounts
    # a credit note whose invoice never arrived: listed with its amount, on no account, in no mart
    assert query(
        "select credit_note_id, invoice_id, total, reason from monitoring.mon_billing_documents_unattributed"
    ) == [("cn_orphan", "in_never_delivered", Decimal("7.00"), "unknown_invoice")]
    credited = query("select sum(credited) from marts.fct_account_billing_monthly")
    assert credited == [(Decimal("0.00"),)]  # the only usable credit note is the orphan


@pytest.mark.slow
def test_no_raw_email_in_any_mart(duck: DuckBuild) -> None:
    query = Duck(duck.path)
    # the raw data has them: in identify traits, Stripe customers, and one user id
    assert query(f"select count(*) from segment.tracks where user_id = '{EMAIL_USER}'")[0][0] > 0
    columns = query(
        "select table_name, column_name from information_schema.columns where table_schema = 'marts'"
    )
    assert [f"{table}.{column}" for table, column in columns if "email" in column.lower()] == []
    leaks = [
        f"{table}.{column}"
        for table, column in text_columns(query, "marts")
        if query(f'select count(*) from marts."{table}" where "{column}" like \'%@%\'')[0][0]
    ]
    assert leaks == []


@pytest.mark.slow
def test_revenue_in_an_unknown_currency_stops_the_build_and_the_marts_keep_their_numbers(
    duck: DuckBuild, tmp_path: Path
) -> None:
    ok(duck.build)
    path = tmp_path / "warehouse.duckdb"
    shutil.copyfile(duck.path, path)
    negative = {**revenue_line_in_unknown_currency(), "id": "il_negative", "currency": "usd", "quantity": -3}
    with duckdb.connect(str(path)) as con:
        for line in (revenue_line_in_unknown_currency(), negative):
            names = ", ".join(f'"{name}"' for name in line)
            marks = ", ".join("?" for _ in line)
            con.execute(
                f"insert into stripe.invoice_line_item ({names}) values ({marks})", list(line.values())
            )
    result = dbt(["build", "--select", "+fct_mrr_summary_monthly", *NO_UNIT_TESTS], tmp_path, duck_env(path))
    assert result.returncode != 0
    assert "Failure in test assert_no_recurring_revenue_set_aside" in result.stdout
    assert "Got 2 results" in result.stdout
    month = AS_OF.replace(day=1)
    assert Duck(path)(
        f"select ending_mrr from marts.fct_mrr_summary_monthly where month_start = date '{month}'"
    ) == [(Decimal("370.00"),)]


@pytest.mark.slow
def test_a_recurring_invoice_line_whose_amount_cannot_be_read_stops_the_build(
    duck: DuckBuild, tmp_path: Path
) -> None:
    """`amount` landed as text (reliability.DRIFTED_COLUMNS): a subscription's line whose amount is not a
    number is set aside as invalid_amount, and since no usable delivery of it is kept, MRR would go
    short: the build stops at assert_no_recurring_revenue_set_aside and the MRR marts keep their numbers."""
    ok(duck.build)
    path = tmp_path / "warehouse.duckdb"
    shutil.copyfile(duck.path, path)
    line = {
        **revenue_line_in_unknown_currency(),
        "id": "il_unreadable",
        "currency": "usd",
        "amount": "50.00 USD",
    }
    with duckdb.connect(str(path)) as con:
        names = ", ".join(f'"{name}"' for name in line)
        marks = ", ".join("?" for _ in line)
        con.execute(f"insert into stripe.invoice_line_item ({names}) values ({marks})", list(line.values()))
    result = dbt(["build", "--select", "+fct_mrr_summary_monthly", *NO_UNIT_TESTS], tmp_path, duck_env(path))
    assert result.returncode != 0
    assert "Failure in test assert_no_recurring_revenue_set_aside" in result.stdout
    assert "Got 1 result" in result.stdout
    month = AS_OF.replace(day=1)
    assert Duck(path)(
        f"select ending_mrr from marts.fct_mrr_summary_monthly where month_start = date '{month}'"
    ) == [(Decimal("370.00"),)]


@pytest.mark.slow
def test_a_recurring_invoice_line_dated_1970_stops_the_build_and_no_mrr_predates_2000(
    duck: DuckBuild, tmp_path: Path
) -> None:
    """A subscription's line whose service period starts before var earliest_billing_date (a loader's
    1970-01-01) is set aside as implausible_time: kept, it would add MRR rows back to 1970; set aside, MRR
    would go short, so the build stops at assert_no_recurring_revenue_set_aside, the marts keep their
    numbers. The shared bad input (one-off lines dated 0001 and 1970, a subscription version dated 0001)
    gives no MRR day and no calendar day before the floor."""
    ok(duck.build)
    query = Duck(duck.path)
    # the calendar starts at the floor (a subscription version dated 0001), never before it
    assert query("select min(date_day) from intermediate.util_billing_days") == [(date(2000, 1, 1),)]
    assert query("select min(month_start) from marts.fct_account_mrr_monthly")[0][0] >= START.replace(day=1)
    path = tmp_path / "warehouse.duckdb"
    shutil.copyfile(duck.path, path)
    line = {
        **revenue_line_in_unknown_currency(),
        "id": "il_epoch",
        "currency": "usd",
        "period_start": EPOCH,
        "period_end": EPOCH.replace(month=2),
    }
    with duckdb.connect(str(path)) as con:
        names = ", ".join(f'"{name}"' for name in line)
        marks = ", ".join("?" for _ in line)
        con.execute(f"insert into stripe.invoice_line_item ({names}) values ({marks})", list(line.values()))
    result = dbt(["build", "--select", "+fct_mrr_summary_monthly", *NO_UNIT_TESTS], tmp_path, duck_env(path))
    assert result.returncode != 0
    assert "Failure in test assert_no_recurring_revenue_set_aside" in result.stdout
    assert "Got 1 result" in result.stdout
    reason = (
        "select rejection_reason from staging.base_stripe__invoice_line_item where invoice_line_item_id = "
    )
    assert Duck(path)(reason + "'il_epoch'") == [("implausible_time",)]
    month = AS_OF.replace(day=1)
    assert Duck(path)(
        f"select ending_mrr from marts.fct_mrr_summary_monthly where month_start = date '{month}'"
    ) == [(Decimal("370.00"),)]


@pytest.mark.slow
def test_a_billing_calendar_longer_than_its_series_stops_the_build(duck: DuckBuild, tmp_path: Path) -> None:
    """util_billing_days is a series of 100,000 days from its first day (never before var
    earliest_billing_date): with the floor moved back to 1700 and a subscription version of the bad input
    dated 0001-01-01, the calendar would end in 1973, every MRR day of 2026 cut off. The build stops at
    assert_billing_calendar_reaches_as_of_date instead; the MRR marts keep their numbers."""
    ok(duck.build)
    path = tmp_path / "warehouse.duckdb"
    shutil.copyfile(duck.path, path)
    result = dbt(
        [
            "build",
            "--select",
            "+fct_mrr_summary_monthly",
            "assert_billing_calendar_reaches_as_of_date",
            "--vars",
            "{earliest_billing_date: '1700-01-01'}",
            *NO_UNIT_TESTS,
        ],
        tmp_path,
        duck_env(path),
    )
    assert result.returncode != 0
    assert "Failure in test assert_billing_calendar_reaches_as_of_date" in result.stdout
    month = AS_OF.replace(day=1)
    assert Duck(path)(
        f"select ending_mrr from marts.fct_mrr_summary_monthly where month_start = date '{month}'"
    ) == [(Decimal("370.00"),)]


def test_a_null_in_a_mart_column_stops_the_build_and_the_mart_keeps_its_rows(
    duck: DuckBuild, tmp_path: Path
) -> None:
    """Mart columns that must not be null carry a not_null constraint of the model contract (enforced
    when the table is written, on DuckDB and PostgreSQL) instead of a not_null test."""
    ok(duck.build)
    path = tmp_path / "warehouse.duckdb"
    shutil.copyfile(duck.path, path)
    mart = "marts.fct_account_activity_daily"
    before = rows(Duck(path), f"select * from {mart}")
    assert before
    with duckdb.connect(str(path)) as con:
        con.execute("update intermediate.int_account_user_days set account_id = null")
    result = dbt(["run", "--select", "fct_account_activity_daily"], tmp_path, duck_env(path))
    assert result.returncode != 0
    assert "NOT NULL constraint failed: fct_account_activity_daily" in result.stdout + result.stderr
    assert rows(Duck(path), f"select * from {mart}") == before


# ------------------------------------------------------------------------------------------------
# The repository
# ------------------------------------------------------------------------------------------------

CREDENTIAL_PATTERNS = {
    "a literal password": re.compile(r"""password["']?\s*[:=]\s*["'](?![{$])[^"'\s]+["']""", re.IGNORECASE),
    "credentials in a URL": re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@'\"{}]+:[^/\s@'\"{}]+@"),
    "a Slack webhook": re.compile(r"hooks\.slack\.com/services/T[A-Z0-9]{6,}/B[A-Z0-9]{6,}/[A-Za-z0-9]{16,}"),
    "an AWS access key": re.compile(r"AKIA[0-9A-Z]{16}"),
    "a private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
}
NOT_SOURCE = {".git", ".venv", "target", "logs", "data", "dbt_packages", "reports", "__pycache__"}


def test_repository_holds_no_credentials() -> None:
    hits = []
    for path in PROJECT_DIR.rglob("*"):
        parts = path.relative_to(PROJECT_DIR).parts
        if not path.is_file() or NOT_SOURCE & set(parts) or any(part.startswith(".") for part in parts[:-1]):
            continue
        if path.stat().st_size > 2_000_000:
            continue
        text = path.read_bytes().decode("utf-8", errors="ignore")
        hits += [
            f"{path.relative_to(PROJECT_DIR)}: {name}"
            for name, rx in CREDENTIAL_PATTERNS.items()
            if rx.search(text)
        ]
    assert hits == []
    # the one place a password could be configured reads it from the environment
    profile = (PROJECT_DIR / "profiles" / "profiles.yml").read_text()
    assert "password: \"{{ env_var('PGPASSWORD', '') }}\"" in profile


# ------------------------------------------------------------------------------------------------
# PostgreSQL: the same rows, built through Dagster as a LOGIN role with a password
# ------------------------------------------------------------------------------------------------


class Webhook:
    """A webhook receiver on 127.0.0.1 that accepts every POST."""

    def __init__(self) -> None:
        self.posts: list[str] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hook.posts.append(self.path)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{WEBHOOK_SECRET}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@dataclass
class PgBuild:
    dbname: str
    role: str
    password: str = field(repr=False)
    admin: dict[str, str] = field(repr=False)
    workdir: Path
    env: dict[str, str] = field(repr=False)
    empty_build: subprocess.CompletedProcess[str]
    empty_counts: dict[str, int]
    cli_build: subprocess.CompletedProcess[str]
    webhook_posts: list[str]
    seconds: dict[str, float] = field(default_factory=dict)

    def connect(self, *, as_admin: bool = False) -> Any:
        import psycopg2

        if as_admin:
            return psycopg2.connect(**{**self.admin, "dbname": self.dbname})
        return psycopg2.connect(
            host=self.admin["host"],
            port=self.admin["port"],
            user=self.role,
            password=self.password,
            dbname=self.dbname,
        )

    def fetch(self, sql: str) -> list[tuple]:
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                return cur.fetchall()
        finally:
            conn.close()


def _admin_execute(admin: dict[str, str], statements: list[str], params: tuple = ()) -> None:
    import psycopg2

    conn = psycopg2.connect(**admin)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            for statement in statements:
                cur.execute(statement, params or None)
    finally:
        conn.close()


@pytest.fixture(scope="module")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgBuild]:
    require_postgres()
    admin = pg_params()
    suffix = secrets.token_hex(4)
    role, dbname = f"rel_login_{suffix}", f"rel_{suffix}"
    password = secrets.token_hex(20)
    workdir = tmp_path_factory.mktemp("reliability_postgres")
    for folder in ("target", "state", "dagster_home"):
        (workdir / folder).mkdir()
    (workdir / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(PROJECT_DIR / "profiles"),
        "ACCOUNTPULSE_TARGET": "postgres",
        "PGHOST": admin["host"],
        "PGPORT": admin["port"],
        "PGUSER": role,
        "PGPASSWORD": password,
        "PGDATABASE": dbname,
        "ACCOUNTPULSE_DBT_TARGET_PATH": str(workdir / "target"),
        "ACCOUNTPULSE_STATE_DIR": str(workdir / "state"),
        "DAGSTER_HOME": str(workdir / "dagster_home"),
    }
    _admin_execute(
        admin,
        [
            f"create role {role} login password %s",
            # the reporting role is cluster-wide; created here as dbt's on-run-start would (needs CREATEROLE)
            f"do $$ begin if not exists (select 1 from pg_roles where rolname = '{REPORTING_ROLE}') then "
            f"create role {REPORTING_ROLE} nologin; end if; "
            "exception when duplicate_object then null; end $$",
        ],
        (password,),
    )
    _admin_execute(admin, [f'create database "{dbname}" owner {role}'])
    hook = Webhook()
    try:
        build = PgBuild(dbname, role, password, admin, workdir, env, None, {}, None, hook.posts)  # type: ignore[arg-type]
        write_postgres(build.connect, {}, minimal=True)
        started = time.monotonic()
        build.empty_build = dbt(["build", "--target", "postgres", *NO_UNIT_TESTS], workdir / "empty", env)
        build.seconds["empty build"] = time.monotonic() - started
        build.empty_counts = {
            f"{schema}.{table}": build.fetch(f'select count(*) from "{schema}"."{table}"')[0][0]
            for schema, table in build.fetch(
                "select table_schema, table_name from information_schema.tables "
                "where table_schema in ('marts', 'monitoring')"
            )
        }
        raw, _ = bad_input_rows()
        write_postgres(build.connect, raw, drifted=True)
        started = time.monotonic()
        build.cli_build = subprocess.run(
            [sys.executable, "-m", "accountpulse.cli", "build", "--target", "postgres", "--no-progress"],
            cwd=PROJECT_DIR,
            env={**env, "ACCOUNTPULSE_ALERT_WEBHOOK": hook.url},
            capture_output=True,
            text=True,
        )
        build.seconds["Dagster build"] = time.monotonic() - started
        yield build
    finally:
        hook.close()
        _admin_execute(
            admin, [f'drop database if exists "{dbname}" with (force)', f"drop role if exists {role}"]
        )


@pytest.mark.slow
@pytest.mark.postgres
def test_pg_fresh_install_with_no_events_builds_and_every_mart_is_empty(pg: PgBuild) -> None:
    ok(pg.empty_build)
    marts = {name: count for name, count in pg.empty_counts.items() if name.startswith("marts.")}
    assert len(marts) >= 10 and set(marts.values()) == {0}, marts


@pytest.mark.slow
@pytest.mark.postgres
def test_pg_dagster_build_of_the_bad_input_gives_the_duckdb_marts(pg: PgBuild, duck: DuckBuild) -> None:
    assert pg.cli_build.returncode == 0, pg.cli_build.stdout[-4000:] + pg.cli_build.stderr[-3000:]
    assert "Build succeeded" in pg.cli_build.stdout
    duck_fetch = Duck(duck.path)
    tables = mart_tables(duck_fetch)
    assert tables == mart_tables(pg.fetch)
    for table in [*tables, "mon_billing_customers_unmapped", "mon_source_row_audit", "mon_unresolved_events"]:
        schema = "monitoring" if table.startswith("mon_") else "marts"
        sql = f'select * from {schema}."{table}"'
        assert rows(pg.fetch, sql) == rows(duck_fetch, sql), table


@pytest.mark.slow
@pytest.mark.postgres
def test_pg_reporting_role_reads_no_raw_pii_and_marts_hold_no_email(pg: PgBuild) -> None:
    import psycopg2

    conn = pg.connect(as_admin=True)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(f"set role {REPORTING_ROLE}")
            for relation in ("segment.identifies", "stripe.customer", "staging.stg_segment__identifies"):
                with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                    cur.execute(f"select email from {relation} limit 1")
            for table, column in text_columns(lambda sql: (cur.execute(sql), cur.fetchall())[1], "marts"):
                cur.execute(f'select count(*) from marts."{table}" where "{column}" like %s', ("%@%",))
                assert cur.fetchone()[0] == 0, f"{table}.{column}"
    finally:
        conn.close()


def _files_containing(root: Path, needle: str) -> list[str]:
    found = []
    for path in root.rglob("*"):
        try:
            if path.is_file() and needle.encode() in path.read_bytes():
                found.append(str(path))
        except OSError:  # removed meanwhile by another run
            continue
    return found


@pytest.mark.slow
@pytest.mark.postgres
def test_pg_password_and_webhook_url_are_never_logged(pg: PgBuild, pg_rebuilt_under_readers: Any) -> None:
    """dbt logs and artifacts, the Dagster run storage, state files and the CLI output, after the
    empty build, the Dagster build and the full refresh: no password, no webhook path."""
    assert pg.webhook_posts and set(pg.webhook_posts) == {WEBHOOK_SECRET}, "the webhook was never called"
    logs = [path for path in pg.workdir.rglob("*.log") if path.stat().st_size]
    assert len(logs) >= 3 and (pg.workdir / "dagster_home").exists()
    # the project's own logs/ and target/ too, in case anything wrote there
    roots = [root for root in (pg.workdir, PROJECT_DIR / "logs", PROJECT_DIR / "target") if root.exists()]
    for secret in (pg.password, WEBHOOK_SECRET.rsplit("/", 1)[1]):
        assert [found for root in roots for found in _files_containing(root, secret)] == []
        for output in (pg.empty_build, pg.cli_build, pg_rebuilt_under_readers.build):
            assert secret not in output.stdout + output.stderr
    assert pg.dbname in "".join(path.read_text() for path in logs)  # the logs searched are this build's


# ------------------------------------------------------------------------------------------------
# PostgreSQL: readers during a full rebuild
# ------------------------------------------------------------------------------------------------

READ_MARTS = (
    "dim_accounts",
    "fct_account_activity_daily",
    "fct_mrr_summary_monthly",
    "fct_account_health_daily",
)


class ReaderLoop:
    """Reader threads (the reporting role, on 127.0.0.1) counting the rows of some marts in a loop,
    bounded by rounds and time, recording errors and every count that differs from `expected`."""

    def __init__(self, pg: PgBuild, expected: dict[str, int], threads: int = 2, seconds: float = 600) -> None:
        self.pg, self.expected, self.seconds = pg, expected, seconds
        self.stop, self.busy = threading.Event(), threading.Event()
        self.rounds = self.rounds_while_busy = 0
        self.errors: list[str] = []
        self.wrong_counts: list[str] = []
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._read, daemon=True) for _ in range(threads)]

    def _read(self) -> None:
        import psycopg2

        try:
            conn = psycopg2.connect(
                **{**self.pg.admin, "dbname": self.pg.dbname}, options="-c statement_timeout=60000"
            )
            conn.autocommit = True
            cur = conn.cursor()
            cur.execute(f"set role {REPORTING_ROLE}")
        except psycopg2.Error as error:
            self.errors.append(f"connect: {error}")
            return
        deadline = time.monotonic() + self.seconds
        for _ in range(200_000):
            if self.stop.is_set() or time.monotonic() > deadline:
                break
            busy = self.busy.is_set()
            for relation, expected in self.expected.items():
                try:
                    cur.execute(f"select count(*) from marts.{relation}")
                    count = cur.fetchone()[0]
                except psycopg2.Error as error:
                    self.errors.append(f"{relation}: {type(error).__name__}: {str(error).strip()}")
                    continue
                if count != expected:
                    self.wrong_counts.append(f"{relation}: {count} rows, expected {expected}")
            with self._lock:
                self.rounds += 1
                self.rounds_while_busy += busy
            time.sleep(0.01)
        conn.close()

    def __enter__(self) -> ReaderLoop:
        for thread in self._threads:
            thread.start()
        time.sleep(0.2)
        self.busy.set()
        return self

    def __exit__(self, *exc: object) -> None:
        self.busy.clear()
        time.sleep(0.3)
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=90)


def mart_oids(pg: PgBuild) -> dict[str, int]:
    return dict(
        pg.fetch(
            "select relname, oid from pg_class where relnamespace = 'marts'::regnamespace and relkind = 'r'"
        )
    )


@dataclass
class Readers:
    build: subprocess.CompletedProcess[str]
    loop: ReaderLoop
    swapped: list[str]
    seconds: float


@pytest.fixture(scope="module")
def pg_rebuilt_under_readers(pg: PgBuild) -> Readers:
    """Two readers count four marts in a loop while `dbt build --full-refresh` rebuilds the project."""
    expected = {mart: pg.fetch(f"select count(*) from marts.{mart}")[0][0] for mart in READ_MARTS}
    assert all(expected.values()), expected
    before = mart_oids(pg)
    started = time.monotonic()
    with ReaderLoop(pg, expected) as loop:
        build = dbt(
            ["build", "--full-refresh", "--target", "postgres", *NO_UNIT_TESTS],
            pg.workdir / "rebuild",
            pg.env,
        )
    seconds = time.monotonic() - started
    after = mart_oids(pg)
    swapped = [mart for mart in READ_MARTS if before.get(mart) != after.get(mart)]
    pg.seconds["full refresh under readers"] = seconds
    return Readers(build, loop, swapped, seconds)


@pytest.mark.slow
@pytest.mark.postgres
def test_pg_readers_never_see_an_error_or_a_partial_mart_during_a_full_refresh(
    pg_rebuilt_under_readers: Readers,
) -> None:
    readers = pg_rebuilt_under_readers
    ok(readers.build)
    print(  # shown with pytest -rP
        f"full refresh {readers.seconds:.0f}s: {readers.loop.rounds} read rounds "
        f"({readers.loop.rounds_while_busy} during the rebuild) over {len(READ_MARTS)} marts, "
        f"{len(readers.swapped)} marts swapped, {len(readers.loop.errors)} errors, "
        f"{len(readers.loop.wrong_counts)} wrong counts"
    )
    assert readers.swapped == list(READ_MARTS), "every mart read must have been replaced by the rebuild"
    rounds = readers.loop.rounds_while_busy
    assert rounds >= 20, f"only {rounds} read rounds overlapped the rebuild"
    assert readers.loop.errors == []
    assert readers.loop.wrong_counts == []


@pytest.mark.slow
@pytest.mark.postgres
def test_pg_reader_loop_catches_a_rebuild_that_is_not_atomic(
    pg: PgBuild, pg_rebuilt_under_readers: Readers
) -> None:
    """The same readers against a table rewritten the naive way (delete, then insert, each committed
    on its own) do see it empty: the check above can fail."""
    conn = pg.connect()
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("create table marts.rel_naive_rebuild as select * from marts.dim_accounts")
            cur.execute(f"grant select on marts.rel_naive_rebuild to {REPORTING_ROLE}")
            cur.execute("select count(*) from marts.rel_naive_rebuild")
            expected = cur.fetchone()[0]
            with ReaderLoop(pg, {"rel_naive_rebuild": expected}, seconds=60) as loop:
                for _ in range(40):
                    cur.execute("delete from marts.rel_naive_rebuild")
                    time.sleep(0.05)
                    cur.execute("insert into marts.rel_naive_rebuild select * from marts.dim_accounts")
                    time.sleep(0.01)
            cur.execute("drop table marts.rel_naive_rebuild")
    finally:
        conn.close()
    assert loop.errors == []
    assert any(": 0 rows" in wrong for wrong in loop.wrong_counts), loop.wrong_counts[:3]
