"""Reruns on the generated demo data (DuckDB): the same build twice, a whole day delivered again,
events loaded after the lookback window, and a build killed with SIGKILL while it runs.

One warehouse goes through the stages in order (each stage a module fixture on top of the last):
clean build → rerun → a day re-delivered → late load → wider lookback → full refresh → killed
full refresh and a normal rerun. Every stage compares all marts, the monitoring models and the
incremental attribution model with the stage it must equal.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from reliability import dbt, duck_env, normalise, ok

from accountpulse.dbt_runner import dbt_executable
from accountpulse.paths import PROJECT_DIR

pytestmark = pytest.mark.slow

LATE_EVENTS = 5  # events loaded with a received_at 20 days old
AUDIT = "monitoring.mon_source_row_audit"  # counts deliveries, so it changes when rows are re-delivered
GAPS = "monitoring.mon_incremental_event_gaps"

Snapshot = dict[str, list[tuple]]


ATTRIBUTED = "intermediate.int_events_attributed_to_accounts"
ATTRIBUTED_COLUMNS = (
    "event_id, event_source, user_id, anonymous_id, account_id, attribution_method, event_name, "
    "event_at, event_date, received_at"
)


def snapshot(path: Path) -> Snapshot:
    """Every mart and monitoring model as sorted rows, and the incremental attribution model as a row
    count and an order-independent checksum of its rows (it holds every event)."""
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_schema in ('marts', 'monitoring') order by 1"
        ).fetchall()
        result = {
            name: sorted(
                (
                    tuple(normalise(value) for value in row)
                    for row in con.execute(f"select * from {name}").fetchall()
                ),
                key=repr,
            )
            for (name,) in tables
        }
        result[ATTRIBUTED] = con.execute(
            f"select count(*), sum(cast(hash({ATTRIBUTED_COLUMNS}) as hugeint)) from {ATTRIBUTED}"
        ).fetchall()
        return result


def differences(left: Snapshot, right: Snapshot, ignore: tuple[str, ...] = ()) -> list[str]:
    names = (set(left) | set(right)) - set(ignore)
    return sorted(name for name in names if left.get(name) != right.get(name))


def leftovers(path: Path) -> list[str]:
    with duckdb.connect(str(path), read_only=True) as con:
        return [
            name
            for (name,) in con.execute(
                "select table_schema || '.' || table_name from information_schema.tables "
                "where table_name like '%dbt_tmp%' or table_name like '%dbt_backup%'"
            ).fetchall()
        ]


@dataclass
class Warehouse:
    path: Path
    workdir: Path
    seconds: dict[str, float]

    def dbt(
        self, args: list[str], label: str, workdir: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        started = time.monotonic()
        result = dbt(args, workdir or self.workdir, duck_env(self.path))
        self.seconds[label] = time.monotonic() - started
        return result

    def execute(self, sql: str) -> None:
        with duckdb.connect(str(self.path)) as con:
            con.execute(sql)

    def scalar(self, sql: str):
        with duckdb.connect(str(self.path), read_only=True) as con:
            return con.execute(sql).fetchone()[0]


@pytest.fixture(scope="module")
def warehouse(generated_duckdb: Path, tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    workdir = tmp_path_factory.mktemp("reruns")
    path = workdir / "warehouse.duckdb"
    shutil.copyfile(generated_duckdb, path)
    return Warehouse(path, workdir, {})


@pytest.fixture(scope="module")
def clean(warehouse: Warehouse) -> Snapshot:
    # seeds and models (the data tests of this data run in test_orchestration.py)
    ok(warehouse.dbt(["build", "--exclude", "resource_type:test", "resource_type:unit_test"], "clean build"))
    return snapshot(warehouse.path)


@pytest.fixture(scope="module")
def rerun(warehouse: Warehouse, clean: Snapshot) -> Snapshot:
    ok(warehouse.dbt(["run"], "rerun"))
    return snapshot(warehouse.path)


@dataclass
class Redelivery:
    day: str
    rows: int
    before: Snapshot
    after: Snapshot
    duplicates_before: int
    duplicates_after: int


@pytest.fixture(scope="module")
def redelivered(warehouse: Warehouse, rerun: Snapshot) -> Redelivery:
    """The loader replays a whole day: every Segment row of that day lands a second time (same message
    ids and receipt times, a later load time)."""
    day = warehouse.scalar("select cast(max(timestamp) as date) - 5 from segment.tracks")
    duplicates = f"select coalesce(sum(row_count), 0) from {AUDIT} where disposition = 'duplicate'"
    before = warehouse.scalar(duplicates)
    inserted = 0
    with duckdb.connect(str(warehouse.path)) as con:
        for table in ("tracks", "pages", "identifies", "groups"):
            columns = [
                name
                for (name,) in con.execute(
                    f"select name from pragma_table_info('segment.{table}')"
                ).fetchall()
            ]
            values = ", ".join("now()" if name == "uuid_ts" else f'"{name}"' for name in columns)
            names = ", ".join(f'"{name}"' for name in columns)
            count = con.execute(
                f"insert into segment.{table} ({names}) select {values} from segment.{table} "
                f"where cast(timestamp as date) = date '{day}'"
            ).fetchone()[0]
            inserted += count
    assert inserted > 100, f"only {inserted} rows on {day}"
    ok(warehouse.dbt(["run"], "run after a re-delivered day"))
    return Redelivery(
        str(day), inserted, rerun, snapshot(warehouse.path), before, warehouse.scalar(duplicates)
    )


@dataclass
class LateLoad:
    account_id: str
    day: str
    gap_test: subprocess.CompletedProcess[str]
    after_normal_run: Snapshot
    after_wide_lookback: Snapshot


@pytest.fixture(scope="module")
def late(warehouse: Warehouse, redelivered: Redelivery) -> LateLoad:
    """Five events of an active user, loaded now but received (and stamped) 20 days ago: older than
    the lookback window (3 days) of the incremental attribution."""
    # a user whose identity and memberships did not change lately (those make a run reprocess a user)
    user_id, account_id, day = warehouse.scalar(
        "select [user_id, account_id, cast(activity_date as varchar)] "
        "from intermediate.int_account_user_days "
        "where activity_date = (select max(activity_date) - 20 from intermediate.int_account_user_days) "
        "and user_id not in (select user_id from staging.stg_segment__groups where user_id is not null "
        "and received_at >= (select max(received_at) - interval 10 day from staging.stg_segment__tracks)) "
        "and user_id not in (select user_id from staging.stg_segment__identifies "
        "where received_at >= (select max(received_at) - interval 10 day from staging.stg_segment__tracks)) "
        "order by events desc, account_id, user_id limit 1"
    )
    at = datetime.fromisoformat(day) + timedelta(hours=12)
    with duckdb.connect(str(warehouse.path)) as con:
        for number in range(LATE_EVENTS):
            moment = at + timedelta(minutes=number)
            con.execute(
                "insert into segment.tracks (id, user_id, event, event_text, timestamp, "
                "original_timestamp, sent_at, received_at, uuid_ts) "
                "values (?, ?, 'report_viewed', 'Report Viewed', ?, ?, ?, ?, now())",
                [f"late-{number}", user_id, moment, moment, moment, moment + timedelta(seconds=1)],
            )
    ok(warehouse.dbt(["run"], "normal run after a late load"))
    gap_test = warehouse.dbt(["test", "--select", "mon_incremental_event_gaps"], "gap test")
    after_normal_run = snapshot(warehouse.path)
    # other vars: a target folder of its own, so the default one keeps its partial-parse state
    wide = warehouse.workdir / "wide_lookback"
    ok(warehouse.dbt(["run", "--vars", "{lookback_days: 30}"], "run with a 30-day lookback", wide))
    return LateLoad(account_id, day, gap_test, after_normal_run, snapshot(warehouse.path))


@pytest.fixture(scope="module")
def full_refresh(warehouse: Warehouse, late: LateLoad) -> Snapshot:
    ok(warehouse.dbt(["run", "--full-refresh"], "full refresh"))
    return snapshot(warehouse.path)


@dataclass
class Killed:
    returncode: int
    running: str
    completed_models: int
    leftovers_after_kill: list[str]
    rerun: subprocess.CompletedProcess[str]
    after: Snapshot
    leftovers_after_rerun: list[str]


KILL_DURING = "int_events_attributed_to_accounts"  # the incremental model: the costliest to lose


@pytest.fixture(scope="module")
def killed(warehouse: Warehouse, full_refresh: Snapshot) -> Killed:
    """`dbt run --full-refresh` is killed with SIGKILL right after it starts rebuilding the incremental
    attribution model; then a normal `dbt run`."""
    command = [
        dbt_executable(),
        "run",
        "--full-refresh",
        "--project-dir",
        str(PROJECT_DIR),
        "--target-path",
        str(warehouse.workdir / "target"),
        "--log-path",
        str(warehouse.workdir / "logs"),
    ]
    process = subprocess.Popen(
        command, cwd=PROJECT_DIR, env=duck_env(warehouse.path), stdout=subprocess.PIPE, text=True
    )
    completed, running = 0, ""
    deadline = time.monotonic() + 300
    assert process.stdout is not None
    for line in process.stdout:
        if " OK created " in line:
            completed += 1
        if " START " in line and f".{KILL_DURING} " in line:
            running = KILL_DURING
            time.sleep(0.2)  # into the statement
            os.kill(process.pid, signal.SIGKILL)
            break
        assert time.monotonic() < deadline, "dbt never reached the model to kill it in"
    process.wait(timeout=60)
    process.stdout.close()
    after_kill = leftovers(warehouse.path)
    rerun = warehouse.dbt(["run"], "rerun after SIGKILL")
    return Killed(
        process.returncode,
        running,
        completed,
        after_kill,
        rerun,
        snapshot(warehouse.path),
        leftovers(warehouse.path),
    )


# ------------------------------------------------------------------------------------------------


def test_the_same_build_twice_gives_the_same_marts(clean: Snapshot, rerun: Snapshot) -> None:
    assert len([name for name in clean if name.startswith("marts.")]) >= 10
    assert all(clean[name] for name in clean if name.startswith("marts.")), "a mart is empty"
    assert differences(clean, rerun) == []


def test_a_redelivered_day_changes_nothing_but_the_duplicate_count(redelivered: Redelivery) -> None:
    assert differences(redelivered.before, redelivered.after, ignore=(AUDIT,)) == []
    assert redelivered.duplicates_after - redelivered.duplicates_before == redelivered.rows


def test_events_loaded_after_the_lookback_window_stop_the_build_until_repaired(
    redelivered: Redelivery, late: LateLoad, full_refresh: Snapshot
) -> None:
    # a normal run does not see them: the marts are unchanged, the gap is counted and its test fails
    assert differences(redelivered.after, late.after_normal_run, ignore=(AUDIT, GAPS)) == []
    gaps = {row[:2]: row[2] for row in late.after_normal_run[GAPS]}
    assert gaps[("missed_by_incremental", "track")] == LATE_EVENTS
    assert sum(gaps.values()) == LATE_EVENTS
    assert late.gap_test.returncode != 0
    assert "no_events_missed_or_kept_stale_by_incremental_attribution" in late.gap_test.stdout
    # a run with a wider lookback repairs it: the events count on their day, exactly as a full refresh
    daily = {row[:2]: row for row in late.after_wide_lookback["marts.fct_account_activity_daily"]}
    before = {row[:2]: row for row in late.after_normal_run["marts.fct_account_activity_daily"]}
    key = (late.account_id, datetime.fromisoformat(late.day).date())
    assert daily[key][3] - before[key][3] == LATE_EVENTS  # events
    assert all(row[2] == 0 for row in late.after_wide_lookback[GAPS])
    assert differences(late.after_wide_lookback, full_refresh) == []


def test_a_build_killed_mid_run_and_rerun_equals_a_clean_build(
    full_refresh: Snapshot, killed: Killed
) -> None:
    print(  # shown with pytest -rP
        f"killed during {killed.running} after {killed.completed_models} models; "
        f"left behind by the kill: {killed.leftovers_after_kill or 'nothing'}"
    )
    assert killed.returncode == -signal.SIGKILL and killed.running == KILL_DURING
    assert killed.completed_models >= 10, "the kill must land in the middle of the build"
    ok(killed.rerun)
    assert differences(full_refresh, killed.after) == []
    assert killed.leftovers_after_rerun == []
