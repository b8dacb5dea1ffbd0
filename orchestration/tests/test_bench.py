"""The benchmark harness measures what it says: memory of the whole process tree (not its largest
process), the floor query's answer, the incremental-vs-full-refresh check (it finds a changed row,
tolerates float noise) and the targets table. Fast: no dbt build here — `accountpulse bench --scale
tiny` runs the whole thing (minutes; speed is measured, never asserted in tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import duckdb

from accountpulse.bench import compare
from accountpulse.bench.floor import run_floor
from accountpulse.bench.procs import run_measured
from accountpulse.bench.report import markdown, target_rows
from accountpulse.paths import PROJECT_DIR, SEEDS_DIR
from accountpulse.raw_schema import create_empty_duckdb

MB = 2**20

# two grandchildren holding 150 MB each at the same time: the tree holds 300 MB, no process does
TWO_WORKERS = """
import subprocess, sys
code = "import time; block = bytearray(150 * 2**20); block[::4096] = b'x' * len(block[::4096]); time.sleep(6)"
workers = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(2)]
for worker in workers:
    worker.wait()
"""


def test_peak_memory_is_the_whole_process_tree(tmp_path: Path) -> None:
    result = run_measured(
        "two workers", [sys.executable, "-c", TWO_WORKERS], {}, PROJECT_DIR, tmp_path / "log.txt"
    )
    assert result.ok
    assert result.peak_rss_mb >= 290, result.as_dict()
    assert 140 <= result.max_process_rss_mb < 250, result.as_dict()
    assert result.seconds >= 2
    assert len(result.load_before) == 3


# a launcher that holds 500 MB measures a small step: the step's own size must be reported (a forked
# child's ru_maxrss would carry the launcher's 500 MB across exec)
BIG_LAUNCHER = """
import sys
from pathlib import Path
from accountpulse.bench.procs import run_measured
held = bytearray(500 * 2**20)
held[::4096] = b'x' * len(held[::4096])
step = [sys.executable, "-c", "import time; time.sleep(1)"]
result = run_measured("small", step, {}, Path("."), Path(sys.argv[1]))
print(result.max_process_rss_mb)
"""


def test_largest_process_is_the_step_not_its_launcher(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-c", BIG_LAUNCHER, str(tmp_path / "log.txt")],
        capture_output=True,
        text=True,
        check=True,
        cwd=PROJECT_DIR,
    )
    largest = float(completed.stdout.strip())
    assert 0 < largest < 100, completed.stdout


def test_a_failing_step_is_reported_with_its_exit_code(tmp_path: Path) -> None:
    result = run_measured(
        "fails", [sys.executable, "-c", "raise SystemExit(3)"], {}, PROJECT_DIR, tmp_path / "log.txt"
    )
    assert result.returncode == 3
    assert not result.ok


def _insert(connection: duckdb.DuckDBPyConnection, table: str, rows: list[dict]) -> None:
    for row in rows:
        columns = ", ".join(f'"{name}"' for name in row)
        marks = ", ".join("?" for _ in row)
        connection.execute(f"insert into segment.{table} ({columns}) values ({marks})", list(row.values()))


def _track(
    message_id: str, at: datetime, user: str | None, anonymous: str | None, event: str, **extra
) -> dict:
    return {
        "id": message_id,
        "user_id": user,
        "anonymous_id": anonymous,
        "event": event,
        "timestamp": at,
        "original_timestamp": at,
        "sent_at": at,
        "received_at": at,
        **extra,
    }


def _call(message_id: str, at: datetime, user: str, **extra) -> dict:
    return {"id": message_id, "user_id": user, "timestamp": at, "received_at": at, **extra}


def test_floor_counts_adopting_users_per_account_feature_month(tmp_path: Path) -> None:
    database = tmp_path / "raw.duckdb"
    create_empty_duckdb(str(database))
    connection = duckdb.connect(str(database))
    _insert(
        connection,
        "groups",
        [
            _call("g1", datetime(2024, 3, 5), "u1", group_id="acme"),
            _call("g2", datetime(2024, 3, 20), "u1", group_id="globex"),
            _call("g3", datetime(2024, 3, 1), "u2", group_id="acme"),
        ],
    )
    _insert(connection, "identifies", [_call("i1", datetime(2024, 3, 2), "u2", anonymous_id="anon2")])
    _insert(
        connection,
        "tracks",
        [
            # u1 before the first group call -> acme; twice (one re-delivered copy) -> adopting in acme
            _track("t1", datetime(2024, 3, 1), "u1", None, "dashboard_viewed"),
            _track("t2", datetime(2024, 3, 6), "u1", None, "dashboard_created"),
            _track("t2", datetime(2024, 3, 6), "u1", None, "dashboard_created"),
            # after moving to globex: once only -> a user of dashboards there, not adopting
            _track("t3", datetime(2024, 3, 21), "u1", None, "dashboard_viewed"),
            # u2 anonymous then identified: both uses in acme -> adopting
            _track("t4", datetime(2024, 3, 1, 12), None, "anon2", "dashboard_viewed"),
            _track("t5", datetime(2024, 3, 3), "u2", "anon2", "dashboard_viewed"),
            # context_group_id wins over membership; April is its own month
            _track("t6", datetime(2024, 4, 2), "u2", None, "dashboard_viewed", context_group_id="initech"),
            _track("t7", datetime(2024, 4, 3), "u2", None, "dashboard_viewed", context_group_id="initech"),
            # not a feature event
            _track("t8", datetime(2024, 3, 4), "u2", None, "logged_in"),
        ],
    )
    connection.close()

    floor = run_floor(str(database), str(SEEDS_DIR / "feature_events.csv"), threads=1, memory_limit="1GB")

    assert floor["adopting_users"] == 3  # u1 + u2 in acme (March), u2 in initech (April)
    assert floor["rows"] == 3  # acme/March, globex/March (0 adopting), initech/April
    assert floor["query_seconds"] >= 0


def _mart_database(tmp_path: Path) -> compare.Connection:
    database = tmp_path / "warehouse.duckdb"
    connection = duckdb.connect(str(database))
    connection.execute("create schema marts")
    connection.execute("create table marts.fct_a as select range as id, range / 3.0 as share from range(100)")
    connection.execute("create table marts.fct_b as select range as id, 'x' as label from range(10)")
    return compare.Connection("duckdb", connection)


def test_incremental_check_finds_a_changed_row_and_ignores_float_noise(tmp_path: Path) -> None:
    connection = _mart_database(tmp_path)
    relations = [
        compare.Relation("fct_a", "marts", "table"),
        compare.Relation("fct_b", "marts", "incremental"),
    ]
    compare.snapshot(connection, relations)
    # the "full refresh": fct_a adds in another order (last-bit noise), fct_b has one row changed
    connection.execute("update marts.fct_a set share = share + 1e-13")
    connection.execute("update marts.fct_b set label = 'y' where id = 7")

    outcome = compare.compare(connection, relations)

    by_name = {entry["name"]: entry for entry in outcome["relations"]}
    assert by_name["fct_a"]["ok"]
    assert not by_name["fct_b"]["ok"]
    assert by_name["fct_b"]["rows_only_in_incremental"] == 1
    assert by_name["fct_b"]["rows_only_in_full_refresh"] == 1
    assert not outcome["ok"]


def test_incremental_check_counts_duplicated_rows(tmp_path: Path) -> None:
    connection = _mart_database(tmp_path)
    relations = [compare.Relation("fct_b", "marts", "incremental")]
    compare.snapshot(connection, relations)
    connection.execute("insert into marts.fct_b select * from marts.fct_b where id = 1")

    outcome = compare.compare(connection, relations)

    assert outcome["relations"][0]["rows_only_in_full_refresh"] == 1
    assert not outcome["ok"]


def _step(name: str, seconds: float, peak: float) -> dict:
    return {
        "step": name,
        "seconds": seconds,
        "returncode": 0,
        "peak_rss_mb": peak,
        "load_before": [1.0, 1.0, 1.0],
        "load_after": [1.0, 1.0, 1.0],
        "rows_per_second": 1000,
    }


def test_targets_are_reported_met_or_missed() -> None:
    results = {
        "started_at": "2026-01-01T00:00:00+00:00",
        "git_commit": "abc1234",
        "machine": {"cores": 2, "memory_gb": 24.0, "cpu_model": "cpu", "system": "Linux", "versions": {}},
        "options": {"duckdb_threads": 2, "duckdb_memory_limit": "8GB"},
        "runs": [
            {
                "engine": "duckdb",
                "scale": {"name": "10m"},
                "events": 10_000_000,
                "steps": [
                    _step("full build", 50.0, 3000.0),
                    {
                        **_step("incremental build", 8.0, 5000.0),  # 16% of the full build; 4.9 GB
                        "dbt": {
                            "elapsed_seconds": 6.5,
                            "seconds_by_kind": {"model": 4.25, "operation": 0.01, "test": 2.0},
                            "slowest": [
                                {
                                    "node": "model.accountpulse.int_events_attributed_to_accounts",
                                    "seconds": 1.5,
                                },
                                {"node": "test.accountpulse.unique_x_id.5ebc3f2444", "seconds": 0.5},
                            ],
                        },
                    },
                ],
                "floor": {"query_seconds": 4.0, "rows": 10, "adopting_users": 5, "mart_adopting_users": 5},
                "incremental_equals_full_refresh": {"ok": True, "relations": [{"ok": True}]},
                "error": None,
            }
        ],
    }

    rows = {row["target"]: row for row in target_rows(results)}

    assert rows["full build wall time"]["met"]
    assert not rows["full build ÷ floor query"]["met"]  # 12.5×
    assert not rows["incremental build ÷ full build"]["met"]
    assert not rows["peak memory (any step)"]["met"]
    assert rows["incremental result equals full refresh"]["met"]
    text = markdown(results)
    assert "| duckdb | 10m | 10,000,000 | full build | 50.0 s |" in text
    assert "12.5×" in text
    assert "2 cores" in text and "24.0 GB memory" in text
    assert (
        "Incremental build (duckdb 10m), from dbt's run_results.json: dbt elapsed 6.5 s of 8.0 s wall; "
        "node time models 4.2 s, tests 2.0 s; slowest nodes: int_events_attributed_to_accounts 1.50 s, "
        "unique_x_id 0.50 s." in text
    )


def test_a_full_build_only_run_reports_what_it_measured_and_skips_the_rest() -> None:
    results = {
        "started_at": "2026-01-01T00:00:00+00:00",
        "git_commit": "abc1234",
        "machine": {"cores": 2, "memory_gb": 24.0, "cpu_model": "cpu", "system": "Linux", "versions": {}},
        "options": {"duckdb_threads": 2, "duckdb_memory_limit": "3GB"},
        "runs": [
            {
                "engine": "duckdb",
                "scale": {"name": "100m"},
                "events": 100_000_000,
                "steps": [_step("full build", 600.0, 3500.0)],
                "floor": {"query_seconds": 100.0, "rows": 10, "adopting_users": 5, "mart_adopting_users": 5},
                "incremental_equals_full_refresh": None,
                "full_build_only": True,
                "error": None,
            }
        ],
    }

    rows = {row["target"]: row for row in target_rows(results)}

    assert rows["full build wall time"]["met"]  # 600 s of 900
    assert rows["peak memory (any step)"]["met"]
    # not run: not listed as missed
    assert "incremental build ÷ full build" not in rows
    assert "incremental result equals full refresh" not in rows


def test_the_daily_selector_leaves_out_exactly_the_history_audits_and_their_tests(tmp_path: Path) -> None:
    """The benchmark's incremental build and the daily run use `--selector daily` (selectors.yml)."""
    from accountpulse.bench.runner import DAILY_SELECTION, HISTORY_AUDITS
    from accountpulse.dbt_runner import dbt_executable
    from accountpulse.paths import PROFILES_DIR

    def names(*args: str) -> set[str]:
        command = [
            dbt_executable(),
            "ls",
            "--quiet",
            "--output",
            "name",
            "--resource-type",
            "model",
            "--resource-type",
            "test",
            *args,
            "--project-dir",
            str(PROJECT_DIR),
            "--profiles-dir",
            str(PROFILES_DIR),
            "--target",
            "duckdb",
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
        ]
        env = {**os.environ, "ACCOUNTPULSE_DUCKDB_PATH": str(tmp_path / "ls.duckdb")}
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        return set(done.stdout.split())

    everything, daily, audits = names(), names(*DAILY_SELECTION), names(*HISTORY_AUDITS)
    assert {"mon_incremental_event_gaps", "mon_source_row_audit"} <= audits
    assert "no_events_missed_or_kept_stale_by_incremental_attribution" in audits
    assert "assert_rejected_rows_below_threshold" in audits  # a singular test on the row audit
    assert daily == everything - audits
    # the event tables: whole-table unique tests weekly, the ids a daily run can write every day
    for table, column in [
        ("stg_segment__tracks", "event_id"),
        ("stg_segment__pages", "page_view_id"),
        ("int_events_attributed_to_accounts", "event_id"),
    ]:
        assert f"unique_{table}_{column}" in audits
        assert f"unique_recent_{table}_{column}" in daily
    assert "fct_account_health_daily" in daily and "int_events_attributed_to_accounts" in daily
