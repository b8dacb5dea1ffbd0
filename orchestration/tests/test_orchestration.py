"""Dagster orchestration on the real project: Definitions, schedule, in-process builds on DuckDB and
PostgreSQL with every check, a corrupted mart stopping what is downstream, the webserver."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest
from conftest import run_dbt

from accountpulse.build import run_build
from accountpulse.checks import FRESHNESS_CHECK, LAST_UPDATED_METADATA_KEY, report_source_update
from accountpulse.cli import main as cli_main
from accountpulse.definitions import (
    BUILD_JOB,
    DAILY_JOB,
    HISTORY_AUDIT_TAG,
    build_definitions,
    build_run_config,
)
from accountpulse.gx_suites import ROW_COUNT_CHECK, plan_all
from accountpulse.lineage import FILE_ENV as LINEAGE_FILE_ENV
from accountpulse.manifest import build_layers, folders, layers, load_manifest
from accountpulse.paths import PROJECT_DIR
from accountpulse.project import ensure_manifest

QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


@pytest.fixture(scope="module", autouse=True)
def orch_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """This module's dbt target folder and state folder; the manifest parsed once."""
    root = tmp_path_factory.mktemp("orchestration")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ACCOUNTPULSE_DBT_TARGET_PATH", str(root / "target"))
        patch.setenv("ACCOUNTPULSE_STATE_DIR", str(root / "state"))
        patch.setenv("ACCOUNTPULSE_TARGET", "duckdb")
        patch.setenv("ACCOUNTPULSE_DUCKDB_PATH", str(root / "none.duckdb"))
        patch.delenv("ACCOUNTPULSE_ALERT_WEBHOOK", raising=False)
        patch.delenv("DAGSTER_HOME", raising=False)
        ensure_manifest("duckdb", refresh=True)
        yield root


@pytest.fixture(scope="module")
def manifest(orch_env: Path) -> dict[str, Any]:
    return load_manifest(orch_env / "target" / "manifest.json")


@pytest.fixture(scope="module")
def defs(orch_env: Path) -> dg.Definitions:
    return build_definitions("duckdb")


def _marts(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        uid: props
        for uid, props in manifest["nodes"].items()
        if props["resource_type"] == "model" and folders(props)[:1] == ["marts"]
    }


def test_definitions_load_and_every_mart_is_a_guarded_asset(defs: dg.Definitions, manifest: dict) -> None:
    specs = {spec.key: spec for spec in defs.resolve_all_asset_specs()}
    check_keys = set(defs.resolve_asset_graph().asset_check_keys)
    translator_keys = {}
    from accountpulse.translator import AccountpulseTranslator

    translator = AccountpulseTranslator()
    for uid, props in _marts(manifest).items():
        key = translator.get_asset_key(props)
        translator_keys[uid] = key
        assert key in specs, f"mart {props['name']} is not an asset"
        assert specs[key].group_name == "_".join(["marts", *folders(props)[1:2]])
        assert dg.AssetCheckKey(key, ROW_COUNT_CHECK) in check_keys, f"{props['name']} has no GX guard"
    assert _marts(manifest), "no marts in the project yet"
    # groups come from folders, nothing lands in 'default'
    groups = {spec.group_name for spec in specs.values()}
    assert (
        "default" not in groups and {"staging_segment", "staging_stripe", "raw_segment", "alerts"} <= groups
    )
    # dbt tests are asset checks too
    assert any(key.name.startswith(("unique_", "not_null_")) for key in check_keys)
    assert any(key.name == FRESHNESS_CHECK for key in check_keys)
    assert defs.resolve_job_def(BUILD_JOB) is not None


def test_dbt_source_freshness_rules_are_dagster_freshness_policies(
    defs: dg.Definitions, manifest: dict
) -> None:
    """Each source with a dbt freshness rule carries it as a Dagster FreshnessPolicy on its asset:
    fail after error_after (else warn_after), warn after warn_after."""
    graph = defs.resolve_asset_graph()
    days = {"day": 86400, "hour": 3600, "minute": 60}
    checked = 0
    for props in manifest["sources"].values():
        node = graph.get(dg.AssetKey([props["source_name"], props["name"]]))
        policy = node.freshness_policy
        criteria = props.get("freshness") or {}
        warn, error = criteria.get("warn_after") or {}, criteria.get("error_after") or {}
        if not warn.get("count") and not error.get("count"):
            assert policy is None, props["name"]
            continue
        checked += 1
        seconds = {
            key: rule["count"] * days[rule["period"]]
            for key, rule in (("warn", warn), ("error", error))
            if rule.get("count")
        }
        assert isinstance(policy, dg.FreshnessPolicy)
        assert policy.fail_window.to_timedelta().total_seconds() == seconds.get("error", seconds.get("warn"))
        if "error" in seconds and "warn" in seconds:
            assert policy.warn_window.to_timedelta().total_seconds() == seconds["warn"]
    assert checked >= 2


def test_fresh_new_source_rows_are_reported_to_dagster_once_stale_ones_never() -> None:
    """The freshness check reports a source materialization (which its FreshnessPolicy ages from)
    only for new rows within the rule: not for the same rows twice, not for a stale source."""
    instance = dg.DagsterInstance.ephemeral()
    key = dg.AssetKey(["segment", "tracks"])
    fresh = {"status": "pass", "max_loaded_at": "2026-12-06T23:10:00+00:00"}
    assert report_source_update(instance, key, fresh, "run-1")
    assert not report_source_update(instance, key, fresh, "run-2")  # nothing new arrived
    assert not report_source_update(instance, key, {**fresh, "status": "error"}, "run-3")
    stale_newer = {"status": "error", "max_loaded_at": "2026-12-07T01:00:00+00:00"}
    assert not report_source_update(instance, key, stale_newer, "run-4")
    newer = {"status": "warn", "max_loaded_at": "2026-12-07T01:00:00+00:00"}
    assert report_source_update(instance, key, newer, "run-5")
    event = instance.get_latest_materialization_event(key)
    last = event.asset_materialization.metadata[LAST_UPDATED_METADATA_KEY].value
    assert last == datetime(2026, 12, 7, 1, tzinfo=UTC).timestamp()
    assert not report_source_update(instance, dg.AssetKey(["stripe", "customer"]), None, "run-6")


def test_layers_put_everything_downstream_of_a_guarded_model_later(manifest: dict) -> None:
    layer_of = layers(manifest)
    guarded = {model.unique_id for model in plan_all(manifest)}
    for uid, parents in manifest["parent_map"].items():
        for parent in parents:
            if uid in layer_of and parent in guarded:
                assert layer_of[uid] > layer_of[parent], f"{uid} is built with its guarded parent {parent}"
    selected = [name for layer in build_layers(manifest) for name in layer.select.split()]
    assert len(selected) == len(set(selected)) == len(layer_of)


def test_gx_suites_follow_the_meta_convention(manifest: dict) -> None:
    from accountpulse.gx_suites import plan_model

    props = {
        "unique_id": "model.x.fct_example",
        "name": "fct_example",
        "schema": "marts",
        "alias": "fct_example",
        "config": {"meta": {"gx": {"grain": ["account_id", "month_start"], "max_row_drop": 0.2}}},
        "columns": {
            "adoption_rate": {"meta": {"gx": {"min": 0, "max": 1}}},
            "mrr": {"config": {"meta": {"gx": {"min": 0}}}},
            "note": {"meta": {}},
        },
        "meta": {"gx": {"unexpected_rows": [{"name": "moves reconcile", "query": "select * from {batch}"}]}},
    }
    model = plan_model(props)
    names = [check.name for check in model.checks]
    assert names == [
        "gx_grain_unique",
        "gx_range_adoption_rate",
        "gx_range_mrr",
        "gx_moves_reconcile",
        ROW_COUNT_CHECK,
    ]
    assert model.max_row_drop == 0.2
    # every mart with a grain in its meta gets the grain check
    for guarded in plan_all(manifest):
        node = manifest["nodes"][guarded.unique_id]
        if (node.get("config", {}).get("meta") or {}).get("gx", {}).get("grain"):
            assert "gx_grain_unique" in [check.name for check in guarded.checks]


def test_schedules_build_yesterday_daily_job_on_weekdays_full_job_on_sunday(defs: dg.Definitions) -> None:
    cases = [
        # Monday 2026-11-16: the daily job, as of Sunday
        ("daily_build", "0 6 * * 1-6", DAILY_JOB, datetime(2026, 11, 16, 6, 0, tzinfo=UTC), "2026-11-15"),
        # Sunday 2026-11-22: the full job with the history audits, as of Saturday
        ("weekly_build", "0 6 * * 0", BUILD_JOB, datetime(2026, 11, 22, 6, 0, tzinfo=UTC), "2026-11-21"),
    ]
    for name, cron, job_name, tick, as_of in cases:
        schedule = defs.resolve_schedule_def(name)
        assert schedule.cron_schedule == cron
        assert schedule.job_name == job_name
        context = dg.build_schedule_context(scheduled_execution_time=tick)
        requests = schedule.evaluate_tick(context).run_requests
        assert len(requests) == 1
        assert requests[0].run_config == build_run_config(as_of)
        assert dg.validate_run_config(defs.resolve_job_def(job_name), requests[0].run_config)


def test_daily_job_leaves_out_exactly_the_history_audits_and_their_checks(
    defs: dg.Definitions, manifest: dict
) -> None:
    audits = {
        props["name"]
        for props in manifest["nodes"].values()
        if props["resource_type"] == "model" and HISTORY_AUDIT_TAG in props["config"].get("tags", [])
    }
    assert audits == {"mon_incremental_event_gaps", "mon_source_row_audit"}
    full, daily = defs.resolve_job_def(BUILD_JOB), defs.resolve_job_def(DAILY_JOB)
    left_out = set(full.asset_layer.executable_asset_keys) - set(daily.asset_layer.executable_asset_keys)
    assert {key.path[-1] for key in left_out} == audits
    assert set(daily.asset_layer.executable_asset_keys) <= set(full.asset_layer.executable_asset_keys)
    full_checks = set(full.asset_layer.asset_graph.asset_check_keys)
    daily_checks = set(daily.asset_layer.asset_graph.asset_check_keys)
    assert daily_checks <= full_checks
    # the left-out assets' checks, and the whole-table unique tests of the event tables (tag history_audit)
    audit_test_checks = {key for key in full_checks - daily_checks if key.asset_key not in left_out}
    assert sorted((key.asset_key.path[-1], key.name) for key in audit_test_checks) == [
        ("int_events_attributed_to_accounts", "unique_int_events_attributed_to_accounts_event_id"),
        ("stg_segment__pages", "unique_stg_segment__pages_page_view_id"),
        ("stg_segment__screens", "unique_stg_segment__screens_screen_view_id"),
        ("stg_segment__tracks", "unique_stg_segment__tracks_event_id"),
    ]
    assert {key.asset_key for key in full_checks - daily_checks - audit_test_checks} == left_out
    # their windowed counterparts stay in the daily job
    assert {key.name for key in daily_checks} >= {
        "unique_recent_int_events_attributed_to_accounts_event_id",
        "unique_recent_stg_segment__pages_page_view_id",
        "unique_recent_stg_segment__screens_screen_view_id",
        "unique_recent_stg_segment__tracks_event_id",
    }
    # the source freshness checks (on external assets) stay in the daily job
    assert any(key.name == FRESHNESS_CHECK for key in daily_checks)


# ------------------------------------------------------------------------------------------------
# Real builds
# ------------------------------------------------------------------------------------------------


def _check_results(events: list[Any]) -> list[Any]:
    return [
        event.event_specific_data for event in events if event.event_type_value == "ASSET_CHECK_EVALUATION"
    ]


@pytest.fixture(scope="module")
def built_duckdb(generated_duckdb: Path, orch_env: Path) -> Iterator[tuple[Path, Any]]:
    """The generated data built once through the CLI's build path (Dagster job in-process), with
    OpenLineage events written to orch_env/lineage.jsonl."""
    path = orch_env / "built.duckdb"
    shutil.copyfile(generated_duckdb, path)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ACCOUNTPULSE_DUCKDB_PATH", str(path))
        patch.setenv(LINEAGE_FILE_ENV, str(orch_env / "lineage.jsonl"))
        outcome = run_build("duckdb", progress=False, instance=dg.DagsterInstance.ephemeral())
    yield path, outcome


@pytest.mark.slow
def test_duckdb_build_passes_every_check(
    built_duckdb: tuple[Path, Any], manifest: dict, orch_env: Path
) -> None:
    path, outcome = built_duckdb
    assert outcome.success, outcome.summary()
    assert outcome.failed_guards == [], outcome.summary()
    assert not outcome.failed_steps and not outcome.skipped_steps
    assert outcome.checks_passed > 50
    with duckdb.connect(str(path), read_only=True) as connection:
        for props in _marts(manifest).values():
            rows = connection.execute(
                f'select count(*) from "{props["schema"]}"."{props["alias"]}"'
            ).fetchone()
            assert rows[0] > 0, f"{props['name']} is empty"
    state = json.loads((orch_env / "state" / "gx_row_counts.json").read_text())
    assert len(next(iter(state.values()))) == len(plan_all(manifest))


@pytest.mark.slow
def test_a_build_writes_openlineage_events_with_every_mart_and_its_inputs(
    built_duckdb: tuple[Path, Any], manifest: dict, orch_env: Path
) -> None:
    """ACCOUNTPULSE_OPENLINEAGE_FILE set: every dbt step of the build appends openlineage-dbt's events;
    each mart is the output of a COMPLETE event whose inputs are exactly the relations it refs."""
    path, outcome = built_duckdb
    assert outcome.success, outcome.summary()
    events = [json.loads(line) for line in (orch_env / "lineage.jsonl").read_text().splitlines()]
    database = path.stem  # dbt-duckdb names the database after the file

    def dataset(props: dict[str, Any]) -> str:
        table = props.get("alias") or props.get("identifier") or props["name"]
        return f"{database}.{props['schema']}.{table}"

    nodes = {**manifest["nodes"], **manifest["sources"]}
    built = {
        output["name"]: {item["name"] for item in event["inputs"]}
        for event in events
        if event["eventType"] == "COMPLETE"
        for output in event.get("outputs", [])
    }
    for props in _marts(manifest).values():
        assert dataset(props) in built, f"no lineage event writes {props['name']}"
        # openlineage-dbt names a model's model and source parents as inputs (not seeds)
        parents = {dataset(nodes[uid]) for uid in props["depends_on"]["nodes"] if not uid.startswith("seed.")}
        assert parents and built[dataset(props)] == parents, props["name"]
    # every step's wrapping run names the Dagster build run as its parent
    wrappers = [event for event in events if event["job"]["name"].startswith("accountpulse.dbt_layer_")]
    parents = {event["run"]["facets"]["parent"]["run"]["runId"] for event in wrappers}
    assert parents == {outcome.run_id}
    assert {event["eventType"] for event in wrappers} == {"START", "COMPLETE"}


CRM_QUIET_DAY_SQL = """
    select as_of_date
    from marts.fct_account_crm_signals_daily
    group by as_of_date
    having sum(case when is_changed then 1 else 0 end) = 0 and count(*) >= 10
    order by as_of_date desc
    limit 1
"""


@pytest.mark.slow
def test_crm_export_changed_since_finds_exactly_the_account_whose_usage_changed(
    built_duckdb: tuple[Path, Any], orch_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """On a day no account's CRM signals changed, one account's users use one more core feature;
    rebuilt as of that day, `export crm --changed-since` that day returns that account and no other."""
    built, outcome = built_duckdb
    assert outcome.success, outcome.summary()
    working = orch_env / "crm.duckdb"
    shutil.copyfile(built, working)
    with duckdb.connect(str(working)) as connection:
        quiet_day = connection.execute(CRM_QUIET_DAY_SQL).fetchone()[0]
        account, users = connection.execute(
            """
            select signals.account_id, list(distinct members.user_id order by members.user_id)
            from marts.fct_account_crm_signals_daily as signals
            inner join marts.dim_account_users as members on signals.account_id = members.account_id
            where signals.as_of_date = ? and members.first_seen_date < signals.as_of_date
            group by signals.account_id
            order by signals.account_id
            limit 1
            """,
            [quiet_day],
        ).fetchone()
        # every event of one core feature (a small change: health_driver is relative to the day's
        # peer means, so a large change to one account can move another account's driver too)
        events = [
            row[0]
            for row in connection.execute(
                "select event_name from seeds.feature_events where feature_id = "
                "(select min(feature_id) from seeds.features where is_core) order by event_name"
            ).fetchall()
        ]
        at, received = f"{quiet_day} 12:00:00", f"{quiet_day} 12:05:00"
        rows = [
            (f"crm-test-{n}-{m}", user, event, event, at, at, at, received, received, account)
            for n, user in enumerate(users)
            for m, event in enumerate(events)
        ]
        connection.executemany(
            "insert into segment.tracks (id, user_id, event, event_text, timestamp, original_timestamp, "
            "sent_at, received_at, uuid_ts, context_group_id) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    vars_json = json.dumps({"as_of_date": quiet_day.isoformat()})
    run_dbt(
        ["run", "--full-refresh", "--select", "+rpt_crm_account_signals", "--vars", vars_json],
        target="duckdb",
        workdir=orch_env / "crm",
        duckdb_path=working,
    )
    monkeypatch.setenv("ACCOUNTPULSE_DUCKDB_PATH", str(working))
    monkeypatch.setenv("ACCOUNTPULSE_MARTS_DUCKDB_PATH", str(working))
    output = orch_env / "crm_changed.jsonl"
    since = quiet_day.isoformat()
    assert (
        cli_main(["export", "crm", "--format", "jsonl", "--changed-since", since, "--output", str(output)])
        == 0
    )
    exported = [json.loads(line) for line in output.read_text().splitlines()]
    assert [(row["account_id"], row["signals_changed_at"]) for row in exported] == [(account, since)]
    assert exported[0]["as_of_date"] == since

    assert cli_main(["export", "crm", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("account_id,segment_group_id,stripe_customer_id,")
    assert "signals_changed_at" in lines[0].split(",") and len(lines) > 10
    assert cli_main(["export", "crm", "--changed-since", "2026-02-30"]) == 2
    assert "--changed-since must be a date YYYY-MM-DD" in capsys.readouterr().err


def _corruption(manifest: dict) -> tuple[Any, str, str]:
    """A guarded mart with something downstream, and SQL that breaks one of its GX checks."""
    layer_of = layers(manifest)
    children: dict[str, list[str]] = manifest["child_map"]
    for model in plan_all(manifest):
        if not any(
            layer_of.get(child, -1) > layer_of[model.unique_id] for child in children[model.unique_id]
        ):
            continue
        table = f'"{model.schema}"."{model.table}"'
        for check in model.checks:
            if check.kind == "range" and check.params["max"] is not None:
                column, high = check.params["column"], check.params["max"]
                return model, check.name, f"update {table} set {column} = {high} + 0.5"
        for check in model.checks:
            if check.kind == "grain":
                return model, check.name, f"insert into {table} select * from {table} limit 1"
        return model, ROW_COUNT_CHECK, f"delete from {table}"
    pytest.skip("no guarded mart has a downstream model yet")


@pytest.mark.slow
def test_corrupted_mart_fails_its_gx_check_and_blocks_downstream(
    built_duckdb: tuple[Path, Any], manifest: dict, orch_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, outcome = built_duckdb
    assert outcome.success
    corrupted = orch_env / "corrupted.duckdb"
    shutil.copyfile(path, corrupted)
    monkeypatch.setenv("ACCOUNTPULSE_DUCKDB_PATH", str(corrupted))
    model, check_name, sql = _corruption(manifest)
    with duckdb.connect(str(corrupted)) as connection:
        connection.execute(sql)

    defs = build_definitions("duckdb")
    graph = defs.resolve_asset_graph()
    from accountpulse.translator import AccountpulseTranslator

    key = AccountpulseTranslator().get_asset_key(manifest["nodes"][model.unique_id])
    downstream = {child for child in graph.get(key).child_keys if graph.get(child).is_materializable}
    # the mart is not rebuilt (that would repair it): run its checks and everything downstream
    job = defs.resolve_job_def(BUILD_JOB).get_subset(
        asset_selection=downstream, asset_check_selection={dg.AssetCheckKey(key, check_name)}
    )
    result = job.execute_in_process(run_config={**build_run_config(), **QUIET}, raise_on_error=False)

    failed = [check for check in _check_results(result.all_events) if not check.passed]
    assert [(check.asset_key, check.check_name) for check in failed] == [(key, check_name)]
    failing_rows = failed[0].metadata["failing_rows"].value
    assert failing_rows >= (0 if check_name == ROW_COUNT_CHECK else 1)
    materialized = {
        event.asset_key for event in result.all_events if event.event_type_value == "ASSET_MATERIALIZATION"
    }
    assert not materialized & downstream, f"{materialized & downstream} ran on top of a failed guard"
    started = {event.step_key for event in result.all_events if event.event_type_value == "STEP_START"}
    assert started == {f"gx_{model.name}"}, f"only the guard should have run, not {started}"
    assert not result.success


@pytest.mark.slow
@pytest.mark.postgres
def test_postgres_build_passes_every_check(
    generated_pg_database: str, manifest: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGDATABASE", generated_pg_database)
    monkeypatch.setenv("ACCOUNTPULSE_TARGET", "postgres")
    outcome = run_build("postgres", progress=False, instance=dg.DagsterInstance.ephemeral())
    assert outcome.success and outcome.failed_guards == [], outcome.summary()
    assert not outcome.failed_steps and not outcome.skipped_steps
    assert outcome.checks_passed > 50


# ------------------------------------------------------------------------------------------------
# DuckDB readers: the published marts file (a build never shares its file with a reader)
# ------------------------------------------------------------------------------------------------

READ_MARTS = (
    "dim_accounts",
    "fct_account_activity_daily",
    "fct_mrr_summary_monthly",
    "fct_account_health_daily",
)

# A reader as the report, the DuckDB CLI or a BI tool is one: read-only connections to the file
# readers are told to open, counting marts in a bounded loop with a time limit. `persistent` keeps
# one connection for the whole run (a BI tool's pool), otherwise each round opens a new one.
READER = r"""
import json, os, sys, time
import duckdb

path, expected, seconds, stop, out, persistent = sys.argv[1:7]
expected, deadline, persistent = json.loads(expected), time.monotonic() + float(seconds), persistent == "1"
rounds, errors, wrong, files, con = [], [], [], [], None
for _ in range(100_000):
    if os.path.exists(stop) or time.monotonic() > deadline:
        break
    try:
        if con is None:
            inode = os.stat(path).st_ino
            if inode not in files:
                files.append(inode)
            con = duckdb.connect(path, read_only=True)
        for mart, count in expected.items():
            got = con.execute(f"select count(*) from marts.{mart}").fetchall()[0][0]
            if got != count:
                wrong.append(f"{mart}: {got} rows, expected {count}")
    except Exception as error:
        errors.append(f"{type(error).__name__}: {str(error).splitlines()[0]}")
    finally:
        if con is not None and not persistent:
            con.close()
            con = None
    rounds.append(time.time())
    time.sleep(0.05)
json.dump({"rounds": rounds, "errors": errors, "wrong": wrong, "files": files}, open(out, "w"))
"""


def _reader_file() -> Path:
    """The file the project tells readers (report, `accountpulse alerts`, BI tools, DuckDB CLI) to open."""
    from accountpulse.paths import marts_duckdb_path

    return marts_duckdb_path()


def _copy_built(built: Path, directory: Path, name: str) -> tuple[Path, Path]:
    """A copy of the built working file and of its published marts file, as a pair."""
    from accountpulse.paths import marts_duckdb_path

    working = directory / f"{name}.duckdb"
    shutil.copyfile(built, working)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ACCOUNTPULSE_DUCKDB_PATH", str(built))
        built_published = marts_duckdb_path()
        patch.setenv("ACCOUNTPULSE_DUCKDB_PATH", str(working))
        published = marts_duckdb_path()
    shutil.copyfile(built_published, published)
    return working, published


def _fingerprint(path: Path) -> tuple[int, bytes]:
    return path.stat().st_ino, path.read_bytes()


@pytest.mark.slow
def test_duckdb_readers_never_see_an_error_or_a_partial_mart_and_never_stop_a_full_refresh(
    built_duckdb: tuple[Path, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two reader processes (one reconnecting every round, one holding its connection) count four
    marts during `accountpulse build --full-refresh` (the Dagster job in-process): no error, no
    wrong count, the build succeeds and the readers' file was replaced while they read it."""
    built, outcome = built_duckdb
    assert outcome.success, outcome.summary()
    working, _ = _copy_built(built, tmp_path, "readers")
    monkeypatch.setenv("ACCOUNTPULSE_DUCKDB_PATH", str(working))
    readers_file = _reader_file()
    with duckdb.connect(str(readers_file), read_only=True) as connection:
        expected = {
            mart: connection.execute(f"select count(*) from marts.{mart}").fetchall()[0][0]
            for mart in READ_MARTS
        }
    assert all(expected.values()), expected
    before = readers_file.stat().st_ino
    stop = tmp_path / "stop"
    outs = [tmp_path / f"reader_{persistent}.json" for persistent in ("0", "1")]
    readers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                READER,
                str(readers_file),
                json.dumps(expected),
                "900",
                str(stop),
                str(out),
                flag,
            ]
        )
        for out, flag in zip(outs, ("0", "1"), strict=True)
    ]
    try:
        time.sleep(2)  # both readers connected
        started = time.time()
        result = run_build(
            "duckdb", full_refresh=True, progress=False, instance=dg.DagsterInstance.ephemeral()
        )
        finished = time.time()
        time.sleep(1)  # the reconnecting reader opens the new file
    finally:
        stop.touch()
        for reader in readers:
            reader.wait(timeout=120)
    reports = [json.loads(out.read_text()) for out in outs]
    during = [sum(started <= at <= finished for at in report["rounds"]) for report in reports]
    print(  # shown with pytest -rP
        f"full refresh {finished - started:.0f}s: read rounds during the build {during}, "
        f"errors {[len(report['errors']) for report in reports]}, "
        f"wrong counts {[len(report['wrong']) for report in reports]}"
    )
    assert result.success, result.summary()
    assert [report["errors"][:3] for report in reports] == [[], []]
    assert [report["wrong"][:3] for report in reports] == [[], []]
    assert min(during) >= 20, f"only {during} read rounds overlapped the build"
    after = readers_file.stat()
    assert after.st_ino != before and started <= after.st_mtime <= finished, "the marts were not published"
    reconnecting, persistent = reports
    assert reconnecting["files"] == [before, after.st_ino], "the reconnecting reader never saw the new file"
    assert persistent["files"] == [before]


def test_a_reader_holding_the_published_file_never_stops_a_publish(tmp_path: Path, manifest: dict) -> None:
    """The swap takes no DuckDB lock: a reader's open connection keeps the marts it opened, the next
    connection gets the new ones; only the published schemas are copied, views become tables."""
    from accountpulse.publish import publish_marts, published_schemas

    assert published_schemas(manifest) == ["marts", "seeds"]  # the marts and the report's seeds

    working, published = tmp_path / "work.duckdb", tmp_path / "work_marts.duckdb"
    with duckdb.connect(str(working)) as connection:
        for schema in ("marts", "seeds", "staging"):
            connection.execute(f"create schema {schema}")
        connection.execute("create table marts.t as select range as v from range(3)")
        connection.execute("create view marts.v as select v * 10 as w from marts.t")
        connection.execute("create table seeds.s as select 1 as x")
        connection.execute("create table staging.raw_like as select 'a@b.c' as email")
    first = publish_marts(working, published, ["marts", "seeds"])
    assert first.tables == {"marts.t": 3, "marts.v": 3, "seeds.s": 1}
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys\n"
            f"con = duckdb.connect({str(published)!r}, read_only=True)\n"
            "count = lambda: con.execute('select count(*) from marts.t').fetchall()[0][0]\n"
            "print(count(), flush=True)\n"
            "sys.stdin.readline()\n"
            "print(count(), flush=True)\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "3"
        with duckdb.connect(str(working)) as connection:
            connection.execute("insert into marts.t select range from range(3, 5)")
        second = publish_marts(working, published, ["marts", "seeds"])  # while the reader holds the file
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "3", "an open connection keeps the marts it opened"
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    assert second.tables["marts.t"] == 5
    with duckdb.connect(str(published), read_only=True) as connection:
        assert connection.execute("select count(*), sum(w) from marts.v").fetchall() == [(5, 100)]
        kinds = connection.execute(
            "select table_schema, table_name, table_type from information_schema.tables order by 1, 2"
        ).fetchall()
    assert kinds == [("marts", "t", "BASE TABLE"), ("marts", "v", "BASE TABLE"), ("seeds", "s", "BASE TABLE")]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["work.duckdb", "work_marts.duckdb"]


def test_the_report_and_alerts_read_the_published_marts_file(orch_env: Path) -> None:
    working = orch_env / "unpublished.duckdb"
    duckdb.connect(str(working)).close()
    env = {"ACCOUNTPULSE_DUCKDB_PATH": str(working)}
    for command in (["alerts"], ["report", "--out", str(orch_env / "report.html")]):
        result = _cli(command, env)
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert str(orch_env / "unpublished_marts.duckdb") in result.stderr


# ------------------------------------------------------------------------------------------------
# Every stop names its cause
# ------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_missing_raw_column_ends_the_build_output_with_the_node_table_and_column(
    built_duckdb: tuple[Path, Any], tmp_path: Path
) -> None:
    built, _ = built_duckdb
    working, published = _copy_built(built, tmp_path, "missing_column")
    with duckdb.connect(str(working)) as connection:
        connection.execute("alter table segment.tracks drop column event")
    before = _fingerprint(published)
    result = _cli(["build", "--no-progress"], {"ACCOUNTPULSE_DUCKDB_PATH": str(working)})
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output
    tail = "\n".join(result.stdout.strip().splitlines()[-2:])
    assert "model base_segment__tracks" in tail, output[-3000:]
    assert '"segment"."tracks" is missing required column \'event\'' in tail, output[-3000:]
    assert _fingerprint(published) == before, "a failed build must publish nothing"


@pytest.mark.slow
def test_a_failing_data_test_ends_the_build_output_with_the_test_and_its_message(
    built_duckdb: tuple[Path, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built, _ = built_duckdb
    working, published = _copy_built(built, tmp_path, "failing_test")
    with duckdb.connect(str(working)) as connection:  # a subscription's line in a currency with no rate
        connection.execute(
            "insert into stripe.invoice_line_item select * replace ('il_xts' as id, 'il_xts' as unique_id, "
            "'xts' as currency) from stripe.invoice_line_item where type = 'subscription' "
            "and coalesce(livemode, true) and not coalesce(_fivetran_deleted, false) order by id limit 1"
        )
    before = _fingerprint(published)
    monkeypatch.setenv("ACCOUNTPULSE_DUCKDB_PATH", str(working))
    outcome = run_build("duckdb", progress=False, instance=dg.DagsterInstance.ephemeral())
    assert not outcome.success
    last = outcome.summary().splitlines()[-1]
    assert "test assert_no_recurring_revenue_set_aside: Got 1 result, configured to fail if != 0" in last, (
        outcome.summary()
    )
    assert _fingerprint(published) == before, "a failed build must publish nothing"


# ------------------------------------------------------------------------------------------------
# CLI errors and the webserver
# ------------------------------------------------------------------------------------------------


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "accountpulse.cli", *args]
    return subprocess.run(command, cwd=PROJECT_DIR, env={**os.environ, **env}, capture_output=True, text=True)


def test_cli_user_mistakes_end_in_one_line(orch_env: Path) -> None:
    missing = _cli(["build"], {"ACCOUNTPULSE_DUCKDB_PATH": str(orch_env / "nope.duckdb")})
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0 and "Traceback" not in missing.stderr
    assert "DuckDB file not found" in missing.stderr

    unreachable = _cli(["build", "--target", "postgres"], {"PGPORT": "1", "PGHOST": "127.0.0.1"})
    assert unreachable.returncode == 2
    assert unreachable.stderr.strip().count("\n") == 0 and "Traceback" not in unreachable.stderr
    assert "cannot reach PostgreSQL" in unreachable.stderr

    bad_date = _cli(["build", "--as-of-date", "yesterday"], {})
    assert bad_date.returncode == 2 and "YYYY-MM-DD" in bad_date.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_webserver_serves_the_project(orch_env: Path, manifest: dict) -> None:
    port = _free_port()
    home = orch_env / "dagster_home"
    home.mkdir(exist_ok=True)
    webserver = Path(sys.executable).with_name("dagster-webserver")
    process = subprocess.Popen(
        [str(webserver), "-m", "accountpulse.definitions", "-h", "127.0.0.1", "-p", str(port)],
        cwd=PROJECT_DIR,
        env={**os.environ, "DAGSTER_HOME": str(home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    query = json.dumps({"query": "{ assetNodes { assetKey { path } groupName } }"}).encode()
    nodes = None
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/graphql",
                    data=query,
                    headers={"Content-Type": "application/json"},
                )
                with urllib.request.urlopen(request, timeout=5) as response:
                    body = json.loads(response.read())
                nodes = body.get("data", {}).get("assetNodes")
                if nodes:
                    break
            except OSError:
                pass
            time.sleep(1)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    assert nodes, "the webserver did not answer its GraphQL endpoint with assets in time"
    served = {"/".join(node["assetKey"]["path"]) for node in nodes}
    from accountpulse.translator import AccountpulseTranslator

    translator = AccountpulseTranslator()
    for props in _marts(manifest).values():
        assert translator.get_asset_key(props).to_user_string() in served
    assert "alert_outbox" in served


def test_a_failed_step_is_named_in_one_line_by_its_cause() -> None:
    """Steps failing in the three ways a build step fails: a Dagster failure with a description
    (what the dbt layers raise), an exception, a blocking check (its asset and check named)."""
    from accountpulse.build import step_failure_message

    @dg.asset
    def described() -> None:
        raise dg.Failure(description="model m: Raw table x is missing required column 'y'.\nsecond line")

    @dg.asset
    def crashing() -> None:
        raise ValueError("bad value in column z\nmore")

    @dg.asset(check_specs=[dg.AssetCheckSpec("positive", asset="guarded", blocking=True)])
    def guarded() -> Iterator[Any]:
        yield dg.Output(None)
        yield dg.AssetCheckResult(check_name="positive", passed=False, severity=dg.AssetCheckSeverity.ERROR)

    result = dg.materialize([described, crashing, guarded], raise_on_error=False)
    failures = {
        event.step_key: step_failure_message(event.event_specific_data)
        for event in result.all_events
        if event.event_type_value == "STEP_FAILURE"
    }
    assert failures == {
        "described": "model m: Raw table x is missing required column 'y'.",
        "crashing": "ValueError: bad value in column z",
        "guarded": "DagsterAssetCheckFailedError: 1 blocking asset check failed with ERROR severity: "
        "guarded: positive",
    }
