"""The semantic layer tells the truth: `mf query` equals the marts, on DuckDB and on PostgreSQL.

Each engine answers four batched `mf query` calls (every call starts MetricFlow and dbt: ~7 s) and
every metric is compared with the mart columns it names (models/semantic). DuckDB: the session's
generated demo data, marts built into a copy. PostgreSQL: the session's generated database, reusing
its marts when an earlier module built them (test_orchestration's full build), else built here.
`mf validate-configs` (semantic rules and the warehouse checks) runs on the DuckDB build.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from conftest import pg_params, run_dbt

from accountpulse.semantic import MetricsProject, metrics_project, parse

MARTS = (
    "dim_accounts",
    "dim_dates",
    "fct_account_mrr_monthly",
    "fct_mrr_summary_monthly",
    "fct_account_health_daily",
    "fct_account_feature_adoption_monthly",
    "fct_product_activity_monthly",
    "account_alerts",
)
# the marts the semantic models read and those the tests compare with, with everything upstream
BUILD = [
    "build",
    "--select",
    *(f"+{mart}" for mart in MARTS),
    "--exclude",
    "resource_type:test",
    "resource_type:unit_test",
]
REVENUE = {  # metric -> fct_mrr_summary_monthly column
    "mrr": "ending_mrr",
    "arr": "ending_arr",
    "new_mrr": "new_mrr",
    "expansion_mrr": "expansion_mrr",
    "contraction_mrr": "contraction_mrr",
    "churned_mrr": "churned_mrr",
    "reactivation_mrr": "reactivation_mrr",
    "starting_mrr": "starting_mrr",
    "nrr": "nrr",
    "grr": "grr",
    "paying_accounts": "paying_accounts",
}
SNAPSHOTS = ["health_score", "scored_accounts", "active_accounts", "active_users"]
ADOPTION = ["adoption_rate", "adopting_users", "active_users_90d", "accounts_adopted"]
NO_VALUE = "<null>"  # group key of a null dimension value (a day without a health score has no band)


# every metric, in four `mf query` commands per engine (run in one process: MetricFlow starts once)
QUERIES: dict[str, tuple[list[str], list[str]]] = {
    "monthly": ([*REVENUE, *SNAPSHOTS, "open_alerts"], ["metric_time__month"]),
    "alerts": (
        ["open_alerts"],
        ["alert__alert_type", "account__segment", "account__plan", "account__industry"],
    ),
    "adoption": (ADOPTION, ["metric_time__month", "account_feature_month__feature", "account__segment"]),
    "health": (
        ["health_score", "scored_accounts", "active_accounts"],
        ["metric_time__day", "account_day__health_band", "account_day__quadrant"],
    ),
}


@dataclass
class Engine:
    name: str
    project: MetricsProject
    read: Callable[[str], pd.DataFrame]
    validate_configs: tuple[int, str] | None = None  # exit code and output of `mf validate-configs`

    def run_queries(self, validate: bool = False) -> None:
        """Every query of QUERIES (and `mf validate-configs`) in one batch; results as CSV files."""
        commands = [
            ["query", "--metrics", ",".join(metrics), "--group-by", ",".join(group_by)]
            + ["--csv", str(self._csv(key)), "--quiet"]
            for key, (metrics, group_by) in QUERIES.items()
        ]
        codes, output = self.project.run_batch(commands + ([["validate-configs"]] if validate else []))
        failed = [" ".join(command) for command, code in zip(commands, codes, strict=False) if code]
        assert not failed, f"mf failed: {failed}\n{output[-4000:]}"
        if validate:
            self.validate_configs = (codes[-1], output)

    def _csv(self, key: str) -> Path:
        return self.project.folder / f"{key}.csv"

    def query(self, key: str) -> pd.DataFrame:
        """The result of QUERIES[key] as a frame, time columns as dates."""
        frame = pd.read_csv(self._csv(key))
        for column in frame.columns:
            if column.startswith("metric_time__"):
                frame[column] = pd.to_datetime(frame[column]).dt.date
        return frame


def _sql_frame(rows: list[tuple], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns)


@pytest.fixture(scope="module")
def duckdb_engine(generated_duckdb: Path, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    import duckdb

    workdir = tmp_path_factory.mktemp("semantic_duckdb")
    path = workdir / "semantic.duckdb"
    shutil.copyfile(generated_duckdb, path)
    project = metrics_project(
        "duckdb", workdir / "mf", env={**os.environ, "ACCOUNTPULSE_MARTS_DUCKDB_PATH": str(path)}
    )
    # the build parses into mf's target/: the same file, so the same relation names
    run_dbt(BUILD, target="duckdb", workdir=project.folder, duckdb_path=path)

    def read(sql: str) -> pd.DataFrame:
        with duckdb.connect(str(path), read_only=True) as con:
            cursor = con.execute(sql)
            return _sql_frame(cursor.fetchall(), [column[0] for column in cursor.description])

    engine = Engine("duckdb", project, read)
    engine.run_queries(validate=True)
    return engine


def _pg_has_marts(dbname: str) -> bool:
    import psycopg2

    with psycopg2.connect(**pg_params(dbname)) as conn, conn.cursor() as cur:
        cur.execute(
            "select count(*) from information_schema.tables"
            " where table_schema = 'marts' and table_name = any(%s)",
            (list(MARTS),),
        )
        found = cur.fetchone()[0]
    conn.close()
    return found == len(MARTS)


@pytest.fixture(scope="module")
def postgres_engine(generated_pg_database: str, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    import psycopg2

    workdir = tmp_path_factory.mktemp("semantic_postgres")
    project = metrics_project(
        "postgres", workdir / "mf", env={**os.environ, "PGDATABASE": generated_pg_database}
    )
    if _pg_has_marts(generated_pg_database):
        parse(project)
    else:
        run_dbt(BUILD, target="postgres", workdir=project.folder, pg_dbname=generated_pg_database)

    def read(sql: str) -> pd.DataFrame:
        conn = psycopg2.connect(**pg_params(generated_pg_database))
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                return _sql_frame(cur.fetchall(), [column[0] for column in cur.description])
        finally:
            conn.close()

    engine = Engine("postgres", project, read)
    engine.run_queries()
    return engine


@pytest.fixture(scope="module", params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest) -> Engine:
    return request.getfixturevalue(f"{request.param}_engine")


def _close(actual: object, expected: object, *, tolerance: float = 1e-9) -> bool:
    """Equal numbers (decimals and floats alike) or both missing."""
    missing = [
        value is None or (isinstance(value, float) and math.isnan(value)) for value in (actual, expected)
    ]
    if any(missing):
        return all(missing)
    return math.isclose(float(actual), float(expected), rel_tol=tolerance, abs_tol=0.005)


def _compare(mf: pd.DataFrame, mart: pd.DataFrame, keys: list[str], pairs: dict[str, str]) -> None:
    """Every mart row has the mf row with the same keys and equal values, and no mf row is extra."""
    mf_rows = {tuple(row[key] for key in keys): row for _, row in mf.iterrows()}
    mart_rows = {tuple(row[key] for key in keys): row for _, row in mart.iterrows()}
    only_mf, only_mart = sorted(set(mf_rows) - set(mart_rows)), sorted(set(mart_rows) - set(mf_rows))
    assert not only_mf and not only_mart, f"only mf: {only_mf[:5]}; only mart: {only_mart[:5]}"
    wrong = [
        f"{key} {metric}: mf {mf_rows[key][metric]} != mart {mart_rows[key][column]}"
        for key in sorted(mart_rows)
        for metric, column in pairs.items()
        if not _close(mf_rows[key][metric], mart_rows[key][column])
    ]
    assert not wrong, "\n".join(wrong[:20])


def _monthly(engine: Engine) -> pd.DataFrame:
    """One call for every metric that is not per feature: revenue, health snapshots, open alerts."""
    return engine.query("monthly")


def test_revenue_metrics_equal_the_mrr_bridge(engine: Engine) -> None:
    mf = _monthly(engine).rename(columns={"metric_time__month": "month"})
    mf = mf[mf["mrr"].notna()]  # months with health or alerts but no billing row yet
    mart = engine.read(
        f"select month_start as month, {', '.join(set(REVENUE.values()))} from marts.fct_mrr_summary_monthly"
    )
    assert len(mart) >= 3, "the demo has months of revenue"
    assert mart["nrr"].notna().any() and (mart["expansion_mrr"] > 0).any(), (
        "the comparison has ratios and movements"
    )
    _compare(mf, mart, ["month"], REVENUE)


def test_health_and_activity_snapshots_are_the_last_day_of_the_month(engine: Engine) -> None:
    mf = _monthly(engine).rename(columns={"metric_time__month": "month"})
    mf = mf[mf["scored_accounts"].notna()]
    mart = engine.read(
        """
        with last_days as (
            select cast(date_trunc('month', as_of_date) as date) as month, max(as_of_date) as last_day
            from marts.fct_account_health_daily
            group by 1
        )
        select
            last_days.month,
            avg(health.health_score) as health_score,
            count(health.health_score) as scored_accounts,
            sum(case when health.active_users_30d > 0 then 1 else 0 end) as active_accounts,
            sum(health.active_users_30d) as active_users
        from last_days
        inner join marts.fct_account_health_daily as health
            on health.as_of_date = last_days.last_day
        group by last_days.month
        """
    )
    assert len(mart) >= 2 and (mart["scored_accounts"] > 0).any()
    _compare(mf, mart, ["month"], {metric: metric for metric in SNAPSHOTS})


def test_open_alerts_by_opened_month(engine: Engine) -> None:
    mf = _monthly(engine).rename(columns={"metric_time__month": "month"})
    mf = mf[mf["open_alerts"].notna()]
    mart = engine.read(
        """
        select cast(date_trunc('month', opened_date) as date) as month,
            sum(case when is_open then 1 else 0 end) as open_alerts
        from marts.account_alerts
        group by 1
        """
    )
    assert mart["open_alerts"].sum() > 0, "the demo has open alerts"
    _compare(mf, mart, ["month"], {"open_alerts": "open_alerts"})


def test_open_alerts_by_type_and_account_dimensions(engine: Engine) -> None:
    keys = ["alert__alert_type", "account__segment", "account__plan", "account__industry"]
    mf = engine.query("alerts").fillna({key: NO_VALUE for key in keys})
    mart = engine.read(
        """
        select alerts.alert_type as alert__alert_type, accounts.segment as account__segment,
            accounts.plan as account__plan, accounts.industry as account__industry,
            sum(case when alerts.is_open then 1 else 0 end) as open_alerts
        from marts.account_alerts as alerts
        left join marts.dim_accounts as accounts
            on alerts.account_id = accounts.account_id
        group by 1, 2, 3, 4
        """
    ).fillna({key: NO_VALUE for key in keys})
    assert mart["alert__alert_type"].nunique() >= 2 and mart["account__plan"].nunique() >= 2
    _compare(mf, mart, keys, {"open_alerts": "open_alerts"})


def test_adoption_by_feature_and_segment_equals_the_product_mart(engine: Engine) -> None:
    keys = ["month", "feature", "segment"]
    mf = engine.query("adoption").rename(
        columns={
            "metric_time__month": "month",
            "account_feature_month__feature": "feature",
            "account__segment": "segment",
        }
    )
    mart = engine.read(
        """
        select month_start as month, feature_id as feature, segment,
            user_level_adoption_rate, adopting_users, active_users, accounts_adopted
        from marts.fct_product_activity_monthly
        where segment <> 'all'
        """
    )
    assert mart["user_level_adoption_rate"].gt(0).any() and mart["segment"].nunique() >= 2
    pairs = {
        "adoption_rate": "user_level_adoption_rate",
        "adopting_users": "adopting_users",
        "active_users_90d": "active_users",
        "accounts_adopted": "accounts_adopted",
    }
    _compare(mf, mart, keys, pairs)


def test_health_by_band_and_quadrant_by_day(engine: Engine) -> None:
    keys = ["day", "band", "quadrant"]
    mf = engine.query("health").rename(
        columns={
            "metric_time__day": "day",
            "account_day__health_band": "band",
            "account_day__quadrant": "quadrant",
        }
    )
    mart = engine.read(
        """
        select as_of_date as day, health_band as band, quadrant,
            avg(health_score) as health_score,
            count(health_score) as scored_accounts,
            sum(case when active_users_30d > 0 then 1 else 0 end) as active_accounts
        from marts.fct_account_health_daily
        group by 1, 2, 3
        """
    )
    mf, mart = (frame.fillna({"band": NO_VALUE, "quadrant": NO_VALUE}) for frame in (mf, mart))
    assert mart["band"].nunique() >= 2 and mart["quadrant"].nunique() >= 2
    _compare(
        mf,
        mart,
        keys,
        {
            "health_score": "health_score",
            "scored_accounts": "scored_accounts",
            "active_accounts": "active_accounts",
        },
    )


def test_mf_validate_configs_passes_on_the_warehouse(duckdb_engine: Engine) -> None:
    """Semantic rules and the warehouse checks (every model, dimension, measure and metric queried)."""
    assert duckdb_engine.validate_configs is not None
    code, output = duckdb_engine.validate_configs
    assert code == 0, output[-4000:]
    assert "Successfully validated metrics against data warehouse (ERRORS: 0" in output


def test_metrics_without_published_marts_is_a_one_line_error(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "ACCOUNTPULSE_MARTS_DUCKDB_PATH": str(tmp_path / "none.duckdb"),
        "ACCOUNTPULSE_DBT_TARGET_PATH": str(tmp_path / "target"),
    }
    result = subprocess.run(
        [sys.executable, "-m", "accountpulse.cli", "metrics", "--target", "duckdb"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip().splitlines() == [
        f"accountpulse: error: no marts published yet at {tmp_path / 'none.duckdb'}: "
        "run `accountpulse build` (or `make demo`) first"
    ]
