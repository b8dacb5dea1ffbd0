"""Account health on the demo data: the planted stories show up where a customer-success lead looks.

The generator plants stories (its manifest, beside the DuckDB file, names the accounts); dbt builds
the health marts on top; these tests read fct_account_health_daily, account_alerts,
accounts_at_risk and expansion_candidates on the as-of date. Plus: alert volume stays sane, a rerun
does not duplicate alerts, and the incremental health mart equals a full refresh after new and late
events arrive (DuckDB; and on PostgreSQL).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from conftest import END_DATE_ARGS, create_pg_database, drop_pg_database, pg_params, require_postgres, run_dbt

from accountpulse.paths import PROJECT_DIR

DEMO_ARGS = ["--accounts", "120", "--days", "480", *END_DATE_ARGS]
SMALL_ARGS = ["--accounts", "40", "--days", "200", *END_DATE_ARGS]
HEALTH_MARTS = [
    "fct_account_health_daily",
    "account_alerts",
    "accounts_at_risk",
    "expansion_candidates",
    "rpt_weekly_call_list",
    "rpt_health_backtest_summary",
    "rpt_crm_account_signals",
]
RISK_ALERTS = {
    "engagement_drop",
    "adoption_declining",
    "single_champion",
    "champion_gone_silent",
    "dormant",
    "renewal_risk",
}
MAX_OPEN_ALERTS_PER_ACCOUNT = 5

pytestmark = pytest.mark.slow


def _generate(args: list[str], env_overrides: dict[str, str]) -> None:
    env = {**os.environ, **env_overrides}
    command = [sys.executable, "-m", "accountpulse.cli", "generate", *args]
    result = subprocess.run(command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(f"generate failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")


@dataclass(frozen=True)
class Demo:
    duckdb_path: Path
    workdir: Path
    stories: dict[str, Any]
    as_of: date

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.duckdb_path), read_only=True) as con:
            return con.execute(sql, list(params)).fetchall()

    def frame(self, sql: str) -> pd.DataFrame:
        with duckdb.connect(str(self.duckdb_path), read_only=True) as con:
            return con.execute(sql).df()

    def dbt(self, *args: str) -> None:
        run_dbt(list(args), target="duckdb", workdir=self.workdir, duckdb_path=self.duckdb_path)

    def account(self, story: str) -> str:
        return self.stories[story]["account_ids"][0]

    def open_alerts(self, account_id: str) -> set[str]:
        rows = self.rows(
            "select alert_type from marts.account_alerts where account_id = ? and is_open", account_id
        )
        return {alert_type for (alert_type,) in rows}

    def health_on_as_of(self, account_id: str) -> dict[str, Any]:
        frame = self.frame(
            "select * from marts.fct_account_health_daily "
            f"where account_id = '{account_id}' and as_of_date = '{self.as_of.isoformat()}'"
        )
        assert len(frame) == 1, f"no health row for {account_id} on {self.as_of}"
        return frame.iloc[0].to_dict()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """The demo data (120 accounts × 480 days), the health marts and their data tests, built once."""
    workdir = tmp_path_factory.mktemp("health_stories")
    path = workdir / "demo.duckdb"
    _generate(DEMO_ARGS, {"ACCOUNTPULSE_DUCKDB_PATH": str(path)})
    manifest = json.loads(path.with_suffix(".manifest.json").read_text())
    run_dbt(["seed"], target="duckdb", workdir=workdir, duckdb_path=path)
    selection = [f"+{model}" for model in HEALTH_MARTS]
    run_dbt(["run", "--select", *selection], target="duckdb", workdir=workdir, duckdb_path=path)
    # the data tests of the health models themselves (contracts, grains, ranges, invariants)
    run_dbt(
        [
            "test",
            "--select",
            "models/intermediate/success",
            "models/marts/success",
            "--exclude",
            "test_type:unit",
        ],
        target="duckdb",
        workdir=workdir,
        duckdb_path=path,
    )
    as_of = date.fromisoformat(manifest["window"]["end_date"])
    return Demo(path, workdir, manifest["stories"], as_of)


def test_shallow_high_mrr_account_is_revenue_at_risk_with_an_alert(demo: Demo) -> None:
    """power_user_masking: one user does everything in a 40-user account paying above the median."""
    account = demo.account("power_user_masking")
    health = demo.health_on_as_of(account)
    assert health["is_high_mrr"], health
    assert health["quadrant"] == "revenue_at_risk", health
    assert health["health_driver"] == "breadth", health  # nobody but the champion adopts a core feature
    assert demo.open_alerts(account) & RISK_ALERTS
    at_risk = demo.rows("select risk_rank from marts.accounts_at_risk where account_id = ?", account)
    assert at_risk, "the account is missing from accounts_at_risk"


def test_power_user_account_has_a_single_champion_alert(demo: Demo) -> None:
    account = demo.account("power_user_masking")
    assert "single_champion" in demo.open_alerts(account)
    (metric, value), *_ = demo.rows(
        "select evidence_metric, evidence_value from marts.account_alerts "
        "where account_id = ? and alert_type = 'single_champion' and is_open",
        account,
    )
    assert (metric == "max_core_adopting_users" and value <= 2) or (
        metric == "top_user_share" and value > 0.5
    )


def test_cheap_account_using_everything_is_an_expansion_candidate(demo: Demo) -> None:
    account = demo.account("cheap_account_using_everything")
    health = demo.health_on_as_of(account)
    assert health["quadrant"] == "expansion_candidate", health
    assert health["health_band"] == "healthy", health
    (seats, users_above, headroom), *_ = demo.rows(
        "select licensed_seats, users_above_seats, expansion_headroom_mrr "
        "from marts.expansion_candidates where account_id = ?",
        account,
    )
    assert seats == demo.stories["cheap_account_using_everything"]["seats"][0]
    assert users_above > 0 and headroom > 0
    assert "expansion_signal" in demo.open_alerts(account)


def test_declining_big_account_has_an_engagement_drop_in_the_planted_weeks(demo: Demo) -> None:
    story = demo.stories["big_account_declining"]
    account = story["account_ids"][0]
    planted = [date.fromisoformat(week) for week in story["planted_week_starts"]]
    episodes = demo.rows(
        "select opened_date, closed_date, evidence_text from marts.account_alerts "
        "where account_id = ? and alert_type = 'engagement_drop' order by opened_date",
        account,
    )
    # engagement is judged on the latest complete week: a planted week counts from its Sunday on
    in_planted = [e for e in episodes if planted[0] + timedelta(days=6) <= e[0] <= demo.as_of]
    assert in_planted, f"no engagement_drop opened in the planted weeks: {episodes}"
    assert in_planted[-1][1] is None, "the drop should still be open on the as-of date"
    assert not [e for e in episodes if e[0] < planted[0]], (
        f"engagement_drop before the planted weeks: {episodes}"
    )


def test_planted_renewal_has_a_renewal_risk_alert(demo: Demo) -> None:
    story = demo.stories["renewal_risk"]
    account = story["account_ids"][0]
    renewal = date.fromisoformat(story["renewal_at"][0][:10])
    health = demo.health_on_as_of(account)
    assert health["next_renewal_date"].date() == renewal, health
    assert "renewal_risk" in demo.open_alerts(account)
    (days_to_renewal,), *_ = demo.rows(
        "select evidence_value from marts.account_alerts "
        "where account_id = ? and alert_type = 'renewal_risk' and is_open",
        account,
    )
    assert days_to_renewal == (renewal - demo.as_of).days


def test_champion_gone_silent_opens_on_the_14th_silent_day(demo: Demo) -> None:
    story = demo.stories["champion_gone_silent"]
    account = story["account_ids"][0]
    silent_since = date.fromisoformat(story["silent_since"])
    rows = demo.rows(
        "select alert.opened_date, health.silent_champion_user_id from marts.account_alerts as alert "
        "inner join marts.fct_account_health_daily as health on alert.account_id = health.account_id "
        "and health.as_of_date = alert.last_seen_date "
        "where alert.account_id = ? and alert.alert_type = 'champion_gone_silent' and alert.is_open",
        account,
    )
    assert rows, "no open champion_gone_silent alert"
    opened, user_id = rows[0]
    assert user_id == story["champion_user_ids"][0]
    # the champion's last active day is the day before silent_since or a little earlier
    assert silent_since + timedelta(days=13 - 3) <= opened <= silent_since + timedelta(days=13)


def test_dormant_account_has_a_dormant_alert(demo: Demo) -> None:
    story = demo.stories["dormant"]
    account = story["account_ids"][0]
    assert "dormant" in demo.open_alerts(account)
    (opened,), *_ = demo.rows(
        "select opened_date from marts.account_alerts "
        "where account_id = ? and alert_type = 'dormant' and is_open",
        account,
    )
    assert opened >= date.fromisoformat(story["last_possible_event_date"]) + timedelta(days=30)


def test_steady_healthy_accounts_are_healthy_without_engagement_or_champion_alerts(demo: Demo) -> None:
    """What holds for the steady accounts: healthy on the as-of date, and in the last 90 days no alert
    about engagement, champions or dormancy."""
    for account in demo.stories["steady_healthy"]["account_ids"]:
        assert demo.health_on_as_of(account)["health_band"] == "healthy", account
        recent = demo.rows(
            "select alert_type, opened_date from marts.account_alerts where account_id = ? "
            "and alert_type in ('engagement_drop', 'single_champion', 'champion_gone_silent', 'dormant') "
            "and last_seen_date > ?",
            account,
            demo.as_of - timedelta(days=90),
        )
        assert not recent, (account, recent)


def test_steady_healthy_accounts_declines_are_the_spec_definition_at_work(demo: Demo) -> None:
    """Every adoption_declining alert of a steady account is backed by a core feature whose monthly
    adoption rate fell two months in a row in fct_account_feature_adoption_monthly (SPEC's trend)."""
    for account in demo.stories["steady_healthy"]["account_ids"]:
        declining = demo.rows(
            "select trend_month_start, declining_core_features from marts.fct_account_health_daily "
            "where account_id = ? and as_of_date = ?",
            account,
            demo.as_of,
        )
        (month, count), *_ = declining
        if count == 0:
            continue
        backed = demo.rows(
            "select count(*) from marts.fct_account_feature_adoption_monthly as monthly "
            "inner join seeds.features as features on monthly.feature_id = features.feature_id "
            "where monthly.account_id = ? and monthly.month_start = ? "
            "and features.is_core and monthly.is_declining",
            account,
            month,
        )
        assert backed[0][0] == count


def test_steady_healthy_accounts_carry_no_alert(demo: Demo) -> None:
    for account in demo.stories["steady_healthy"]["account_ids"]:
        assert demo.open_alerts(account) == set(), account


def test_alert_volume_is_sane(demo: Demo) -> None:
    open_per_account = demo.rows(
        "select account_id, count(*) from marts.account_alerts where is_open group by account_id"
    )
    worst = max((count for _, count in open_per_account), default=0)
    assert worst <= MAX_OPEN_ALERTS_PER_ACCOUNT, sorted(open_per_account, key=lambda row: -row[1])[:5]
    # one open episode per account and type at most (episodes of one type never overlap)
    duplicates = demo.rows(
        "select account_id, alert_type from marts.account_alerts where is_open "
        "group by account_id, alert_type having count(*) > 1"
    )
    assert not duplicates


def test_drivers_name_no_single_component_for_most_non_healthy_accounts(demo: Demo) -> None:
    """A driver that names the same thing for everyone explains nothing: on the as-of date neither
    health_driver nor health_change_driver (none included) holds for more than half of the
    non-healthy accounts."""
    for column in ("health_driver", "health_change_driver"):
        counts = demo.rows(
            f"select {column}, count(*) from marts.fct_account_health_daily "
            "where as_of_date = ? and health_band <> 'healthy' group by 1 order by 2 desc",
            demo.as_of,
        )
        total = sum(count for _, count in counts)
        assert total > 0
        assert counts[0][1] * 2 <= total, (column, counts)


def test_risk_alerts_are_earned_and_the_call_list_is_capped(demo: Demo) -> None:
    """Open risk alerts on at most a quarter of the paying accounts; the call list holds at most
    max(5, ceil(10% of paying accounts)), ranked 1..n, and the planted big declining account and the
    shallow high-MRR account are on it."""
    (paying,), *_ = demo.rows("select count(*) from marts.dim_accounts where current_mrr > 0")
    (with_risk,), *_ = demo.rows(
        "select count(distinct alert.account_id) from marts.account_alerts as alert "
        "inner join marts.dim_accounts as account on alert.account_id = account.account_id "
        "where alert.is_open and account.current_mrr > 0 and alert.alert_type <> 'expansion_signal'"
    )
    assert 0 < with_risk * 4 <= paying, (with_risk, paying)
    ranks = [rank for (rank,) in demo.rows("select call_rank from marts.rpt_weekly_call_list order by 1")]
    assert ranks == list(range(1, len(ranks) + 1))
    assert len(ranks) <= max(5, -(-paying // 10))
    listed = {account for (account,) in demo.rows("select account_id from marts.rpt_weekly_call_list")}
    assert demo.account("big_account_declining") in listed
    assert demo.account("power_user_masking") in listed


def test_backtest_shows_a_real_but_imperfect_lift(demo: Demo) -> None:
    """The demo's churners mostly decline in usage first, with noise (README "Demo data"): at_risk
    accounts churn or contract clearly more often than healthy ones, and the risk alerts catch some of
    it, far from all, with many alerts that come to nothing."""
    summary = demo.frame("select * from marts.rpt_health_backtest_summary").set_index("health_band")
    at_risk, overall = summary.loc["at_risk"], summary.loc["all"]
    assert at_risk["account_months"] >= 20 and summary.loc["healthy"]["account_months"] >= 100, summary
    assert 1.5 <= at_risk["lift_over_healthy"] <= 4, summary
    assert 0.05 <= overall["alert_precision"] <= 0.6, summary
    assert 0.1 <= overall["alert_recall"] <= 0.8, summary


def test_rerunning_the_build_does_not_duplicate_alerts(demo: Demo) -> None:
    before = demo.frame("select * from marts.account_alerts order by alert_id")
    demo.dbt("run", "--select", "fct_account_health_daily", "account_alerts")
    after = demo.frame("select * from marts.account_alerts order by alert_id")
    assert len(after) == len(before)
    assert after["alert_id"].is_unique
    pd.testing.assert_frame_equal(before, after)


# --- incremental = full refresh ---------------------------------------------------------------

HEALTH_KEYS = ["account_id", "as_of_date"]


def _assert_same_health(incremental: pd.DataFrame, full: pd.DataFrame) -> None:
    incremental = incremental.sort_values(HEALTH_KEYS).reset_index(drop=True)
    full = full.sort_values(HEALTH_KEYS).reset_index(drop=True)[incremental.columns]
    assert len(incremental) == len(full)
    for column in incremental.columns:
        left, right = incremental[column], full[column]
        if pd.api.types.is_float_dtype(left) or pd.api.types.is_float_dtype(right):
            pd.testing.assert_series_equal(
                left.astype(float), right.astype(float), check_exact=False, rtol=1e-9
            )
        else:
            pd.testing.assert_series_equal(left.astype(object), right.astype(object), check_exact=True)


def test_incremental_health_equals_a_full_refresh_after_new_and_late_events(tmp_path: Path) -> None:
    """Build on 200 days, append 7 more days of Segment events (late deliveries included, so older
    days change too), build incrementally; the health mart must equal a full refresh."""
    path = tmp_path / "small.duckdb"
    env = {"ACCOUNTPULSE_DUCKDB_PATH": str(path)}
    _generate(SMALL_ARGS, env)
    run_dbt(["seed"], target="duckdb", workdir=tmp_path, duckdb_path=path)
    build = ["run", "--select", "+fct_account_health_daily"]
    run_dbt(build, target="duckdb", workdir=tmp_path, duckdb_path=path)
    with duckdb.connect(str(path), read_only=True) as con:
        first_as_of = con.execute("select max(as_of_date) from marts.fct_account_health_daily").fetchone()[0]
    _generate(["--append-days", "7"], env)
    run_dbt(build, target="duckdb", workdir=tmp_path, duckdb_path=path)
    with duckdb.connect(str(path), read_only=True) as con:
        incremental = con.execute("select * from marts.fct_account_health_daily").df()
    assert incremental["as_of_date"].max().date() > first_as_of
    run_dbt(
        ["run", "--select", "fct_account_health_daily", "--full-refresh"],
        target="duckdb",
        workdir=tmp_path,
        duckdb_path=path,
    )
    with duckdb.connect(str(path), read_only=True) as con:
        full = con.execute("select * from marts.fct_account_health_daily").df()
    _assert_same_health(incremental, full)


@pytest.mark.postgres
def test_incremental_health_equals_a_full_refresh_on_postgres(tmp_path: Path) -> None:
    require_postgres()
    import psycopg2

    name = create_pg_database("aphealth")
    try:
        env = {"PGDATABASE": name}
        manifest = tmp_path / "pg.manifest.json"
        _generate([*SMALL_ARGS, "--target", "postgres", "--manifest", str(manifest)], env)
        run_dbt(["seed"], target="postgres", workdir=tmp_path, pg_dbname=name)
        build = ["run", "--select", "+fct_account_health_daily"]
        run_dbt(build, target="postgres", workdir=tmp_path, pg_dbname=name)
        _generate(["--target", "postgres", "--manifest", str(manifest), "--append-days", "7"], env)
        run_dbt(build, target="postgres", workdir=tmp_path, pg_dbname=name)

        def read() -> pd.DataFrame:
            with psycopg2.connect(**pg_params(name)) as con, con.cursor() as cur:
                cur.execute("select * from marts.fct_account_health_daily")
                columns = [description[0] for description in cur.description]
                return pd.DataFrame(cur.fetchall(), columns=columns)

        incremental = read()
        run_dbt(
            ["run", "--select", "fct_account_health_daily", "--full-refresh"],
            target="postgres",
            workdir=tmp_path,
            pg_dbname=name,
        )
        _assert_same_health(incremental, read())
    finally:
        drop_pg_database(name)
