"""Feature adoption on generated demo data: the planted stories are visible in the adoption marts,
the data tests hold on realistic data, and DuckDB and PostgreSQL produce the same rows.

- "power user masking a shallow account": heavy core-feature usage, yet every core feature's
  adoption rate stays below the threshold and carries the single-champion flag;
- "feature launch concentrated in three beta accounts" (ai_assistant): fct_product_activity_monthly
  shows a high user-level and a low account-level adoption rate — the aggregation fallacy.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from conftest import create_pg_database, drop_pg_database, generate_demo, pg_params, require_postgres, run_dbt

ACCOUNTS = 40
DAYS = 200
ADOPTED_RATE_THRESHOLD = 0.2  # dbt var adopted_rate_threshold (default)
MARTS = {
    "fct_account_feature_adoption_monthly": ("account_id", "feature_id", "month_start"),
    "fct_account_feature_adoption": ("account_id", "feature_id"),
    "fct_account_adoption_breadth_monthly": ("account_id", "month_start"),
    "fct_account_onboarding": ("account_id",),
    "fct_product_activity_monthly": ("feature_id", "month_start", "segment"),
}
SELECTOR = " ".join(f"+{mart}" for mart in MARTS)
# build the adoption marts and their upstream; tests spanning models outside it are left out
BUILD = ["build", "--select", SELECTOR, "--indirect-selection", "cautious"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """Demo data in a DuckDB file with the adoption marts (and their upstream) built and tested."""
    workdir = tmp_path_factory.mktemp("adoption")
    path = workdir / "demo.duckdb"
    manifest = generate_demo(workdir, ACCOUNTS, DAYS, duckdb_path=path)
    run_dbt(BUILD, target="duckdb", workdir=workdir, duckdb_path=path)
    return path, manifest


def _query(path: Path, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, params or []).df()


def test_power_user_masks_a_shallow_account(demo: tuple[Path, dict[str, Any]]) -> None:
    path, manifest = demo
    account = manifest["stories"]["power_user_masking"]["account_ids"][0]
    core = _query(
        path,
        """
        select adoption.*
        from marts.fct_account_feature_adoption as adoption
        inner join seeds.features as features on adoption.feature_id = features.feature_id
        where features.is_core
        """,
    )
    uses_by_account = core.groupby("account_id")["uses"].sum()
    # high usage: among the heaviest quarter of accounts by core-feature uses in the trailing window
    assert uses_by_account[account] >= uses_by_account.quantile(0.75), uses_by_account.sort_values().tail(12)

    mine = core[core["account_id"] == account]
    assert len(mine) == 5
    # ... but shallow: no core feature reaches the adoption threshold
    assert (mine["adoption_rate"] < ADOPTED_RATE_THRESHOLD).all(), mine[["feature_id", "adoption_rate"]]
    assert not mine["is_adopted"].any()
    # ... and it rests on one person
    used = mine[mine["uses"] > 0]
    assert len(used) >= 4
    assert used["is_single_champion"].all(), used[["feature_id", "adopting_users", "top_user_share"]]
    assert (used["top_user_share"] > 0.5).sum() >= 4

    # the monthly mart tells the same story for the last complete month
    monthly = _query(
        path,
        """
        select monthly.*
        from marts.fct_account_feature_adoption_monthly as monthly
        inner join seeds.features as features on monthly.feature_id = features.feature_id
        where features.is_core and monthly.account_id = ? and monthly.month_start = (
            select max(month_start) from marts.fct_account_feature_adoption_monthly where is_complete_month
        )
        """,
        [account],
    )
    assert len(monthly) == 5
    assert not monthly["is_adopted"].any()
    assert monthly.loc[monthly["uses"] > 0, "is_single_champion"].all()


def test_beta_launch_high_user_level_low_account_level(demo: tuple[Path, dict[str, Any]]) -> None:
    path, manifest = demo
    beta = manifest["stories"]["beta_feature_launch"]
    feature = beta["feature_id"]
    released = date.fromisoformat(beta["released_at"])
    release_month = pd.Timestamp(released.replace(day=1))

    product = _query(
        path,
        """
        select * from marts.fct_product_activity_monthly
        where feature_id = ? and segment = 'all'
        order by month_start
        """,
        [feature],
    )
    product["month_start"] = pd.to_datetime(product["month_start"])
    before = product[product["month_start"] < release_month]
    assert (before["adopting_users"] == 0).all()

    complete = _query(
        path,
        "select distinct month_start from marts.fct_account_feature_adoption_monthly where is_complete_month",
    )
    complete_months = set(pd.to_datetime(complete["month_start"]))
    after_release = product["month_start"] >= release_month
    launched = product[after_release & product["month_start"].isin(complete_months)]
    assert len(launched) >= 1, product
    for row in launched.itertuples():
        # most users of the active accounts adopted it …
        assert row.user_level_adoption_rate > ADOPTED_RATE_THRESHOLD, row
        # … but only three of the active accounts did: the aggregation fallacy
        assert row.accounts_with_adopters == 3, row
        assert row.account_level_adoption_rate < 0.15, row
        assert row.user_level_adoption_rate > 2 * row.account_level_adoption_rate, row

    adopters = _query(
        path,
        """
        select distinct account_id from marts.fct_account_feature_adoption_monthly
        where feature_id = ? and adopting_users > 0
        """,
        [feature],
    )
    assert set(adopters["account_id"]) == set(beta["account_ids"])


def _normalised(frame: pd.DataFrame, grain: tuple[str, ...]) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_datetime64_any_dtype(values):
            out[column] = values.dt.strftime("%Y-%m-%d")
        elif values.dtype == object and values.map(lambda v: isinstance(v, date)).any():
            out[column] = values.map(lambda v: v.isoformat()[:10] if isinstance(v, date) else None)
    return out.sort_values(list(grain)).reset_index(drop=True)


@pytest.mark.postgres
def test_adoption_marts_match_on_postgres(
    demo: tuple[Path, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The same generated data built on PostgreSQL gives the same adoption marts, row for row."""
    require_postgres()
    import psycopg2

    path, _ = demo
    workdir = tmp_path_factory.mktemp("adoption_pg")
    dbname = create_pg_database("apadopt")
    previous = os.environ.get("PGDATABASE")
    try:
        os.environ["PGDATABASE"] = dbname  # the generator reads its connection from PG* variables
        generate_demo(workdir, ACCOUNTS, DAYS, target="postgres")
        run_dbt(BUILD, target="postgres", workdir=workdir, pg_dbname=dbname)
        with psycopg2.connect(**pg_params(dbname)) as conn:
            for mart, grain in MARTS.items():
                expected = _normalised(_query(path, f"select * from marts.{mart}"), grain)
                with conn.cursor() as cursor:
                    cursor.execute(f"select * from marts.{mart}")
                    rows = cursor.fetchall()
                    columns = [description[0] for description in cursor.description]
                actual = _normalised(pd.DataFrame(rows, columns=columns), grain)
                assert list(actual.columns) == list(expected.columns), mart
                assert len(actual) == len(expected) > 0, mart
                for column in expected.columns:
                    left, right = expected[column], actual[column]
                    if pd.api.types.is_numeric_dtype(left) and not pd.api.types.is_bool_dtype(left):
                        # doubles on both; sums of doubles may differ in the last bits
                        pd.testing.assert_series_equal(
                            left.astype(float), right.astype(float), check_names=False, atol=1e-9, rtol=1e-9
                        )
                    else:
                        assert left.astype(str).tolist() == right.astype(str).tolist(), f"{mart}.{column}"
    finally:
        if previous is None:
            os.environ.pop("PGDATABASE", None)
        else:
            os.environ["PGDATABASE"] = previous
        drop_pg_database(dbname)
