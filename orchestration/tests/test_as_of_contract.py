"""`as_of_date` is a contract (issue 21): an incremental run with any as-of date equals a full refresh
with that date, and a date outside the data is stopped or flagged before anything is built.

On DuckDB and on PostgreSQL, one warehouse of generated demo data (its last event day D) goes through:
a full build as of D; an incremental run as of D−14 (a backfill after the build); an incremental run
as of D+3 (the data lags three days: allowed, and the run says so); an incremental run as of D−14
again (a backfill after an incremental run); then full refreshes as of D−14 and D+3. Every mart and
every incremental model (staging event tables, attribution, the user-day pre-aggregates, the health
mart) of each incremental run must equal the full refresh of its date, row for row.

Then the guards: a plain `dbt run` with a var before the first event or after today fails in
util_as_of_date with one clear message; `accountpulse build` with such a date ends with one line and
exit code 2 before anything is built, and with a date after the last event it builds and says how
many days the data lags.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import create_pg_database, drop_pg_database, generate_demo, require_postgres, run_dbt

from accountpulse.as_of import EventRange, check_against_events, parse_as_of_date, today_utc
from accountpulse.bench.compare import RUN_BOOKKEEPING_COLUMNS, connect, relations_to_compare
from accountpulse.errors import UserError
from accountpulse.paths import PROJECT_DIR

pytestmark = pytest.mark.slow

ACCOUNTS, DAYS = 20, 100
BACKFILL_DAYS = 14
LAG_DAYS = 3
HEALTH = "marts.fct_account_health_daily"
ALERTS = "marts.account_alerts"
# the incremental models the contract covers (the manifest adds every mart)
INCREMENTAL = {
    "staging.stg_segment__tracks",
    "staging.stg_segment__pages",
    "intermediate.int_events_attributed_to_accounts",
    "intermediate.int_account_user_days",
    "intermediate.int_account_user_feature_days",
    HEALTH,
}


def as_of_vars(day: date) -> list[str]:
    return ["--vars", json.dumps({"as_of_date": day.isoformat()})]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Stages:
    """Copies of the compared relations, one schema per stage, compared with EXCEPT ALL in the
    database (floats rounded to 9 decimals, the run bookkeeping column left out)."""

    def __init__(self, open_connection: Callable[[], Any], relations: list[tuple[str, str]]) -> None:
        self.open_connection, self.relations = open_connection, relations

    def keep(self, stage: str) -> None:
        with self.open_connection() as connection:
            connection.execute(f"drop schema if exists {stage} cascade")
            connection.execute(f"create schema {stage}")
            for schema, table in self.relations:
                copy = _q(schema + "__" + table)
                connection.execute(f"create table {stage}.{copy} as select * from {_q(schema)}.{_q(table)}")

    def differences(self, left: str, right: str) -> dict[str, tuple[int, int, int]]:
        """Relations that differ: (rows in left, rows in right, rows in one and not the other)."""
        found = {}
        with self.open_connection() as connection:
            for schema, table in self.relations:
                copy = _q(schema + "__" + table)
                select = ", ".join(
                    connection.comparable(name, data_type)
                    for name, data_type in connection.columns(schema, table)
                    if name not in RUN_BOOKKEEPING_COLUMNS
                )
                one, other = f"{left}.{copy}", f"{right}.{copy}"
                only_left = f"select {select} from {one} except all select {select} from {other}"
                only_right = f"select {select} from {other} except all select {select} from {one}"
                left_rows, right_rows, only = connection.rows(
                    f"select (select count(*) from {one}), (select count(*) from {other}), "
                    f"(select count(*) from ({only_left}) as a) + (select count(*) from ({only_right}) as b)"
                )[0]
                if only:
                    found[f"{schema}.{table}"] = (int(left_rows), int(right_rows), int(only))
        return found

    def scalar(self, sql: str) -> Any:
        with self.open_connection() as connection:
            return connection.rows(sql)[0][0]


@dataclass
class Runs:
    last_event: date
    stages: Stages
    lagging_output: str


def run_sequence(
    last_event: date,
    dbt: Callable[[list[str], date], subprocess.CompletedProcess[str]],
    open_connection: Callable[[], Any],
    manifest_path: Path,
) -> Runs:
    """The runs, each kept as a stage: full_build (as of D), backfill (incremental as of D−14),
    lagging (incremental as of D+3), backfill_again (incremental as of D−14 after that), and the full
    refreshes backfill_full and lagging_full."""
    backfill_day = last_event - timedelta(days=BACKFILL_DAYS)
    lagging_day = last_event + timedelta(days=LAG_DAYS)
    assert lagging_day <= today_utc(), "the generated data must end at least three days before today"

    dbt(["build", "--exclude", "resource_type:test", "resource_type:unit_test"], last_event)
    relations = sorted(
        (relation.schema, relation.name)
        for relation in relations_to_compare(manifest_path)
        if relation.schema == "marts" or f"{relation.schema}.{relation.name}" in INCREMENTAL
    )
    assert {f"{schema}.{name}" for schema, name in relations} >= INCREMENTAL
    stages = Stages(open_connection, relations)
    stages.keep("full_build")
    dbt(["run"], backfill_day)
    stages.keep("backfill")
    lagging_output = dbt(["run"], lagging_day).stdout
    stages.keep("lagging")
    dbt(["run"], backfill_day)
    stages.keep("backfill_again")
    dbt(["run", "--full-refresh"], backfill_day)
    stages.keep("backfill_full")
    dbt(["run", "--full-refresh"], lagging_day)
    stages.keep("lagging_full")
    return Runs(last_event, stages, lagging_output)


def check_runs(runs: Runs) -> None:
    backfill_day = runs.last_event - timedelta(days=BACKFILL_DAYS)
    lagging_day = runs.last_event + timedelta(days=LAG_DAYS)
    stages = runs.stages

    def dated_after(stage: str, relation: str, column: str) -> int:
        return stages.scalar(
            f"select count(*) from {stage}.{_q(relation.replace('.', '__'))} "
            f"where {column} > cast('{backfill_day}' as date)"
        )

    # the data has health rows and alerts after the backfill date: what a backfill must remove
    assert dated_after("full_build", HEALTH, "as_of_date") > 0
    assert dated_after("full_build", ALERTS, "opened_date") > 0
    for stage in ("backfill", "backfill_again"):
        assert dated_after(stage, HEALTH, "as_of_date") == 0, stage
        assert dated_after(stage, ALERTS, "opened_date") == 0, stage
        assert dated_after(stage, ALERTS, "last_seen_date") == 0, stage
        assert stages.differences(stage, "backfill_full") == {}, stage
    assert stages.differences("lagging", "lagging_full") == {}
    health = _q(HEALTH.replace(".", "__"))
    assert stages.scalar(f"select max(as_of_date) from lagging.{health}") == lagging_day
    note = f"as of {lagging_day}: data ends {runs.last_event}, {LAG_DAYS} days before the as-of date"
    assert note in runs.lagging_output


# ------------------------------------------------------------------------------------------------
# DuckDB
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def duck(generated_duckdb: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, date]:
    """A copy of the generated raw data: (work folder, DuckDB file, last event day)."""
    workdir = tmp_path_factory.mktemp("as_of_duckdb")
    path = workdir / "warehouse.duckdb"
    shutil.copyfile(generated_duckdb, path)
    import duckdb

    with duckdb.connect(str(path), read_only=True) as con:
        last = con.execute("select cast(max(timestamp) as date) from segment.tracks").fetchone()[0]
    return workdir, path, last


@pytest.fixture(scope="module")
def duck_runs(duck: tuple[Path, Path, date]) -> Runs:
    workdir, path, last = duck

    def dbt(args: list[str], as_of: date) -> subprocess.CompletedProcess[str]:
        # a target folder per date: each keeps its partial-parse state (other vars re-parse all)
        folder = workdir / as_of.isoformat()
        return run_dbt([*args, *as_of_vars(as_of)], target="duckdb", workdir=folder, duckdb_path=path)

    return run_sequence(
        last,
        dbt,
        lambda: connect("duckdb", duckdb_file=path),
        workdir / last.isoformat() / "target/manifest.json",
    )


def test_duckdb_incremental_run_with_any_as_of_date_equals_a_full_refresh(duck_runs: Runs) -> None:
    check_runs(duck_runs)


@pytest.fixture(scope="module")
def staged(generated_duckdb: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The generated data with the staged event tables built: (work folder, DuckDB file)."""
    workdir = tmp_path_factory.mktemp("as_of_staged")
    path = workdir / "warehouse.duckdb"
    shutil.copyfile(generated_duckdb, path)
    run_dbt(["run", "--select", "+util_as_of_date"], target="duckdb", workdir=workdir, duckdb_path=path)
    return workdir, path


@pytest.mark.parametrize(
    ("as_of", "message"),
    [
        (date(2001, 1, 1), "var as_of_date 2001-01-01 is before the first event ("),
        (today_utc() + timedelta(days=365), "is after today ("),
    ],
    ids=["before_first_event", "a_year_ahead"],
)
def test_plain_dbt_stops_on_an_as_of_date_outside_the_data(
    staged: tuple[Path, Path], as_of: date, message: str
) -> None:
    workdir, path = staged
    result = run_dbt(
        ["run", "--select", "util_as_of_date", *as_of_vars(as_of)],
        target="duckdb",
        workdir=workdir,
        duckdb_path=path,
        check=False,
    )
    assert result.returncode != 0
    assert message in result.stdout, result.stdout[-3000:]
    assert "util_as_of_date" in result.stdout


# ------------------------------------------------------------------------------------------------
# PostgreSQL
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, date]]:
    """A throwaway database with the same generated data: (work folder, database, last event day)."""
    require_postgres()
    workdir = tmp_path_factory.mktemp("as_of_postgres")
    name = create_pg_database("apasof")
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("PGDATABASE", name)
            manifest = generate_demo(workdir, ACCOUNTS, DAYS, target="postgres")
        yield workdir, name, date.fromisoformat(manifest["window"]["end_date"])
    finally:
        drop_pg_database(name)


@pytest.mark.postgres
def test_postgres_incremental_run_with_any_as_of_date_equals_a_full_refresh(
    pg: tuple[Path, str, date],
) -> None:
    workdir, name, last = pg

    def dbt(args: list[str], as_of: date) -> subprocess.CompletedProcess[str]:
        folder = workdir / as_of.isoformat()
        return run_dbt([*args, *as_of_vars(as_of)], target="postgres", workdir=folder, pg_dbname=name)

    runs = run_sequence(
        last,
        dbt,
        lambda: connect("postgres", pg_database=name),
        workdir / last.isoformat() / "target/manifest.json",
    )
    check_runs(runs)


# ------------------------------------------------------------------------------------------------
# accountpulse build
# ------------------------------------------------------------------------------------------------


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "accountpulse.cli", *args]
    return subprocess.run(command, cwd=PROJECT_DIR, env={**os.environ, **env}, capture_output=True, text=True)


@pytest.fixture(scope="module")
def cli_env(generated_duckdb: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("as_of_cli")
    path = root / "warehouse.duckdb"
    shutil.copyfile(generated_duckdb, path)
    return {
        "ACCOUNTPULSE_TARGET": "duckdb",
        "ACCOUNTPULSE_DUCKDB_PATH": str(path),
        "ACCOUNTPULSE_DBT_TARGET_PATH": str(root / "target"),
        "ACCOUNTPULSE_STATE_DIR": str(root / "state"),
    }


def _first_event(env: dict[str, str]) -> date:
    import duckdb

    with duckdb.connect(env["ACCOUNTPULSE_DUCKDB_PATH"], read_only=True) as con:
        return con.execute(
            "select cast(min(t) as date) from (select min(timestamp) as t from segment.tracks "
            "union all select min(timestamp) from segment.pages) as firsts"
        ).fetchone()[0]


def test_cli_build_before_the_first_event_is_a_one_line_error(cli_env: dict[str, str]) -> None:
    first = _first_event(cli_env)
    day_before = first - timedelta(days=1)
    result = _cli(["build", "--no-progress", "--as-of-date", day_before.isoformat()], cli_env)
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    assert f"--as-of-date {day_before} is before the first event ({first})" in result.stderr
    assert "Build" not in result.stdout  # nothing was built


def test_cli_build_after_today_is_a_one_line_error(cli_env: dict[str, str]) -> None:
    ahead = today_utc() + timedelta(days=365)
    result = _cli(["build", "--no-progress", "--as-of-date", ahead.isoformat()], cli_env)
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    assert f"--as-of-date {ahead} is after today ({today_utc()} UTC)" in result.stderr


def test_cli_build_with_lagging_data_builds_and_says_how_many_days(cli_env: dict[str, str]) -> None:
    import duckdb

    with duckdb.connect(cli_env["ACCOUNTPULSE_DUCKDB_PATH"], read_only=True) as con:
        last = con.execute(
            "select cast(max(t) as date) from (select max(timestamp) as t from segment.tracks "
            "union all select max(timestamp) from segment.pages) as lasts"
        ).fetchone()[0]
    as_of = last + timedelta(days=LAG_DAYS)
    result = _cli(["build", "--no-progress", "--as-of-date", as_of.isoformat()], cli_env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"as of {as_of}: data ends {last}, {LAG_DAYS} days before the as-of date" in result.stdout
    with duckdb.connect(cli_env["ACCOUNTPULSE_DUCKDB_PATH"], read_only=True) as con:
        health_days = con.execute("select max(as_of_date) from marts.fct_account_health_daily").fetchone()
    assert health_days[0] == as_of


# ------------------------------------------------------------------------------------------------
# The rules, on their own (hand-made dates)
# ------------------------------------------------------------------------------------------------


def test_the_as_of_rules() -> None:
    today = date(2026, 11, 18)
    assert parse_as_of_date("2026-11-18", today=today) == today
    with pytest.raises(ValueError, match="is after today \\(2026-11-18 UTC\\)"):
        parse_as_of_date("2026-11-19", today=today)
    with pytest.raises(ValueError, match="must be YYYY-MM-DD, got 'yesterday'"):
        parse_as_of_date("yesterday", today=today)
    events = EventRange(date(2026, 8, 8), date(2026, 11, 15))
    assert check_against_events(date(2026, 11, 18), events) == (
        "as of 2026-11-18: data ends 2026-11-15, 3 days before the as-of date"
    )
    assert check_against_events(date(2026, 11, 16), events).endswith("1 day before the as-of date")
    assert check_against_events(date(2026, 11, 15), events) == ""
    assert check_against_events(date(2026, 8, 8), events) == ""  # the first event day is allowed
    with pytest.raises(UserError, match="2026-08-07 is before the first event \\(2026-08-08\\)"):
        check_against_events(date(2026, 8, 7), events)
    assert check_against_events(date(2001, 1, 1), None) == ""  # no events: nothing to check against


def test_run_config_rejects_a_date_after_today() -> None:
    from pydantic import ValidationError

    from accountpulse.resources import BuildSettings

    assert BuildSettings(as_of_date="2026-01-05").dbt_args() == ["--vars", '{"as_of_date": "2026-01-05"}']
    with pytest.raises(ValidationError, match="is after today"):
        BuildSettings(as_of_date=(today_utc() + timedelta(days=1)).isoformat())
