"""What the report reads: SQL over the marts of a DuckDB file opened read-only.

Every number the report shows is a mart column, or a count or sum of one in these queries; Python
only reshapes and draws. The account of the day is the health mart's row on its latest as-of date
(the MRR the quadrant was decided on) with the account's traits from dim_accounts. A mart or column
that is not built yet leaves its part of the page empty instead of failing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from accountpulse.errors import UserError

MARTS = "marts"
SEEDS = "seeds"
TOP_ACCOUNTS = 10
HEATMAP_ACCOUNTS = 15
LIST_LIMIT = 12
REQUIRED_MARTS = ("dim_accounts", "fct_account_health_daily")
QUADRANT_ORDER = ["champion", "revenue_at_risk", "expansion_candidate", "low_value", "non_paying"]
OPTIONAL_MARTS = (
    "fct_account_feature_adoption",
    "fct_account_feature_adoption_monthly",
    "fct_product_activity_monthly",
    "fct_account_activity_weekly",
    "fct_account_mrr_monthly",
    "fct_mrr_summary_monthly",
    "account_alerts",
    "expansion_candidates",
    "rpt_weekly_call_list",
    "rpt_health_backtest_summary",
)
# account facts shown beside the charts: from dim_accounts (the contract), else the health mart
ACCOUNT_FACTS = (
    "plan",
    "segment",
    "lifecycle_status",
    "licensed_seats",
    "active_users_30d",
    "seat_utilization",
    "next_renewal_date",
)
# the weekly call list ("At risk" in the report), in call order
CALL_LIST_COLUMNS = (
    "call_rank",
    "account_name",
    "mrr_at_stake",
    "severity",
    "reason",
    "health_score",
    "health_band",
    "health_driver",
    "health_change_driver",
    "open_risk_alerts",
)
# the convenience views' columns the lists show, in this order (all columns when none of them exist)
EXPANSION_COLUMNS = (
    "account_name",
    "mrr",
    "health_score",
    "active_users_30d",
    "licensed_seats",
    "seat_utilization",
    "expansion_headroom_mrr",
    "expansion_signal_since",
)


class MartReader:
    """A read-only DuckDB connection that knows which marts and columns exist."""

    def __init__(self, duckdb_path: Path) -> None:
        if not duckdb_path.exists():
            raise UserError(f"DuckDB file not found: {duckdb_path} (run `accountpulse build` first)")
        try:
            self.con = duckdb.connect(str(duckdb_path), read_only=True)
        except duckdb.Error as error:
            raise UserError(f"cannot open {duckdb_path} read-only: {error}") from error
        rows = self.con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where table_schema in (?, ?) order by table_schema, table_name, ordinal_position",
            [MARTS, SEEDS],
        ).fetchall()
        self._columns: dict[tuple[str, str], list[str]] = {}
        for schema, table, column in rows:
            self._columns.setdefault((schema, table), []).append(column)
        missing = [f"{MARTS}.{name}" for name in REQUIRED_MARTS if not self.has(name)]
        if missing:
            self.con.close()
            raise UserError(f"{duckdb_path} has no {', '.join(missing)} (run `accountpulse build` first)")

    def has(self, table: str, schema: str = MARTS) -> bool:
        return (schema, table) in self._columns

    def columns(self, table: str, schema: str = MARTS) -> list[str]:
        return list(self._columns.get((schema, table), []))

    def frame(self, sql: str, params: list | None = None) -> pd.DataFrame:
        return self.con.execute(sql, params or []).df()

    def value(self, sql: str, params: list | None = None) -> object:
        row = self.con.execute(sql, params or []).fetchone()
        return None if row is None else row[0]

    def close(self) -> None:
        self.con.close()


@dataclass
class AccountDetail:
    """Everything one top account's section shows."""

    account: pd.Series
    weekly: pd.DataFrame
    adoption: pd.DataFrame
    mrr: pd.DataFrame
    alerts: pd.DataFrame


@dataclass
class ReportData:
    as_of_date: str | None
    kpis: dict[str, object]
    accounts: pd.DataFrame  # one row per account with a health row on the as-of date, by MRR
    quadrants: pd.DataFrame
    high_mrr_threshold: float | None
    at_risk: pd.DataFrame | None
    expansion: pd.DataFrame | None
    heatmap: pd.DataFrame | None  # long form: account_id, feature_id, adoption_rate, depth_level
    heatmap_accounts: pd.DataFrame  # the heatmap's rows, in order: account_id, account_name
    fallacy: pd.DataFrame | None
    mrr_summary: pd.DataFrame | None
    open_alerts: pd.DataFrame | None
    backtest: pd.DataFrame | None  # rpt_health_backtest_summary, one row per band, healthy first
    feature_names: dict[str, str]
    top_accounts: list[AccountDetail] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


LATEST_DAY = f"(select max(as_of_date) from {MARTS}.fct_account_health_daily)"


def _accounts_today(reader: MartReader) -> pd.DataFrame:
    """Health, band, driver, quadrant and MRR on the latest as-of date, with the account's facts."""
    dim, health = reader.columns("dim_accounts"), reader.columns("fct_account_health_daily")

    def fact(column: str) -> str:
        if column in dim:
            return f"accounts.{column}"
        return f"health.{column}" if column in health else "null"

    facts = ",\n            ".join(f"{fact(column)} as {column}" for column in ACCOUNT_FACTS)
    return reader.frame(
        f"""
        select
            health.account_id,
            coalesce(accounts.account_name, health.account_id) as account_name,
            {facts},
            cast(health.health_score as double) as health_score,
            health.health_band,
            health.health_driver,
            health.quadrant,
            cast(health.mrr as double) as mrr
        from {MARTS}.fct_account_health_daily as health
        left join {MARTS}.dim_accounts as accounts on health.account_id = accounts.account_id
        where health.as_of_date = {LATEST_DAY}
        order by health.mrr desc nulls last, health.account_id
        """
    )


def _quadrants(reader: MartReader) -> pd.DataFrame:
    frame = reader.frame(
        f"""
        select
            quadrant,
            count(*) as accounts,
            cast(coalesce(sum(mrr), 0) as double) as mrr,
            cast(sum(mrr) as double) / nullif(cast(sum(sum(mrr)) over () as double), 0) as mrr_share
        from {MARTS}.fct_account_health_daily
        where as_of_date = {LATEST_DAY}
        group by quadrant
        """
    )
    rank = {name: position for position, name in enumerate(QUADRANT_ORDER)}
    frame["rank"] = frame["quadrant"].map(rank)
    return (
        frame.sort_values(["rank", "quadrant"], na_position="last")
        .drop(columns="rank")
        .reset_index(drop=True)
    )


def _high_mrr_threshold(reader: MartReader) -> float | None:
    if "high_mrr_threshold" not in reader.columns("fct_account_health_daily"):
        return None
    value = reader.value(
        f"select max(cast(high_mrr_threshold as double)) from {MARTS}.fct_account_health_daily "
        f"where as_of_date = {LATEST_DAY}"
    )
    return None if value is None else float(value)  # type: ignore[arg-type]


def _kpis(reader: MartReader) -> dict[str, object]:
    kpis: dict[str, object] = {"accounts": reader.value(f"select count(*) from {MARTS}.dim_accounts")}
    if reader.has("fct_mrr_summary_monthly"):
        latest = reader.con.execute(
            f"select month_start, cast(ending_mrr as double), paying_accounts "
            f"from {MARTS}.fct_mrr_summary_monthly order by month_start desc limit 1"
        ).fetchone()
        if latest:
            kpis["mrr_month"], kpis["total_mrr"], kpis["paying_accounts"] = (
                str(latest[0])[:7],
                latest[1],
                latest[2],
            )
        retention = reader.con.execute(
            f"select month_start, cast(nrr as double), cast(grr as double) "
            f"from {MARTS}.fct_mrr_summary_monthly where starting_mrr > 0 order by month_start desc limit 1"
        ).fetchone()
        if retention:
            kpis["retention_month"], kpis["nrr"], kpis["grr"] = (
                str(retention[0])[:7],
                retention[1],
                retention[2],
            )
    if "total_mrr" not in kpis:  # no revenue summary yet: the accounts with a health row
        kpis["total_mrr"], kpis["paying_accounts"] = reader.con.execute(
            f"select cast(sum(mrr) as double), count(case when mrr > 0 then 1 end) "
            f"from {MARTS}.fct_account_health_daily where as_of_date = {LATEST_DAY}"
        ).fetchone()
    at_risk = reader.con.execute(
        f"select count(*), cast(coalesce(sum(mrr), 0) as double) from {MARTS}.fct_account_health_daily "
        f"where as_of_date = {LATEST_DAY} and quadrant = 'revenue_at_risk'"
    ).fetchone()
    kpis["revenue_at_risk_accounts"], kpis["revenue_at_risk_mrr"] = at_risk
    if reader.has("account_alerts"):
        kpis["open_alerts"] = reader.value(
            f"select count(*) from {MARTS}.account_alerts where closed_date is null"
        )
    return kpis


def _view(reader: MartReader, name: str, preferred: tuple[str, ...]) -> pd.DataFrame | None:
    """A convenience view in its owner's order (first LIST_LIMIT rows; the total in attrs)."""
    if not reader.has(name):
        return None
    present = [column for column in preferred if column in reader.columns(name)]
    columns = ", ".join(["account_id", *present]) if present else "*"
    frame = reader.frame(f"select {columns} from {MARTS}.{name} limit {LIST_LIMIT}")
    frame.attrs["total_rows"] = reader.value(f"select count(*) from {MARTS}.{name}")
    return frame


def _call_list(reader: MartReader) -> pd.DataFrame | None:
    """The weekly call list in call order (the mart holds only the capped list)."""
    name = "rpt_weekly_call_list"
    if not reader.has(name):
        return None
    present = [column for column in CALL_LIST_COLUMNS if column in reader.columns(name)]
    frame = reader.frame(f"select account_id, {', '.join(present)} from {MARTS}.{name} order by call_rank")
    frame.attrs["total_rows"] = len(frame)
    return frame


def _features(reader: MartReader) -> pd.DataFrame:
    """Every feature (id, name, is_core) from the features seed; without it, the features seen."""
    if reader.has("features", SEEDS):
        return reader.frame(f"select feature_id, feature_name, is_core from {SEEDS}.features order by 1")
    if reader.has("fct_account_feature_adoption_monthly"):
        return reader.frame(
            f"select distinct feature_id, feature_id as feature_name, true as is_core "
            f"from {MARTS}.fct_account_feature_adoption_monthly order by 1"
        )
    return pd.DataFrame({"feature_id": [], "feature_name": [], "is_core": []})


def _heatmap(reader: MartReader, top: list[str], core: list[str]) -> pd.DataFrame | None:
    """Adoption rate as of (trailing window) of the given accounts × core features, long form."""
    if not reader.has("fct_account_feature_adoption") or not top or not core:
        return None
    columns = reader.columns("fct_account_feature_adoption")
    depth = "depth_level" if "depth_level" in columns else "null"
    return reader.frame(
        f"""
        select account_id, feature_id, cast(adoption_rate as double) as adoption_rate, {depth} as depth_level
        from {MARTS}.fct_account_feature_adoption
        where list_contains(?, account_id) and list_contains(?, feature_id)
        """,
        [top, core],
    )


def _fallacy(reader: MartReader) -> pd.DataFrame | None:
    """User-level vs account-level adoption per feature and segment in the latest complete month (the
    current one runs to the as-of date: its rates are lower by construction); the latest month when
    none is complete yet."""
    if not reader.has("fct_product_activity_monthly"):
        return None
    complete = (
        "is_complete_month"
        if "is_complete_month" in reader.columns("fct_product_activity_monthly")
        else "true"
    )
    return reader.frame(
        f"""
        select
            feature_id,
            segment,
            month_start,
            cast(user_level_adoption_rate as double) as user_level_adoption_rate,
            cast(account_level_adoption_rate as double) as account_level_adoption_rate
        from {MARTS}.fct_product_activity_monthly
        where month_start = (
            select coalesce(
                max(case when {complete} then month_start end), max(month_start)
            ) from {MARTS}.fct_product_activity_monthly
        )
        order by segment, feature_id
        """
    )


def _mrr_summary(reader: MartReader) -> pd.DataFrame | None:
    if not reader.has("fct_mrr_summary_monthly"):
        return None
    money = ("starting", "new", "expansion", "reactivation", "contraction", "churned", "fx", "ending")
    present = set(reader.columns("fct_mrr_summary_monthly"))
    # fx_mrr (exchange-rate effects) is absent from marts built before it existed: 0 there
    casts = ", ".join(
        f"cast({name}_mrr as double) as {name}_mrr" if f"{name}_mrr" in present else f"0.0 as {name}_mrr"
        for name in money
    )
    return reader.frame(
        f"select month_start, {casts}, paying_accounts, cast(nrr as double) as nrr, "
        f"cast(grr as double) as grr from {MARTS}.fct_mrr_summary_monthly order by month_start"
    )


def _backtest(reader: MartReader) -> pd.DataFrame | None:
    if not reader.has("rpt_health_backtest_summary"):
        return None
    return reader.frame(
        "select health_band, account_months, churned, contracted, expanded, unchanged, "
        "churn_or_contraction, cast(churn_or_contraction_rate as double) as churn_or_contraction_rate, "
        "cast(lift_over_healthy as double) as lift_over_healthy, alerted, alerted_churn_or_contraction, "
        "cast(alert_precision as double) as alert_precision, cast(alert_recall as double) as alert_recall, "
        "as_of_dates, first_as_of_date, last_as_of_date "
        f"from {MARTS}.rpt_health_backtest_summary order by band_order"
    )


def _alerts_sql(reader: MartReader) -> str:
    """The alert contract's columns, plus the plain-words evidence when the mart has it."""
    evidence = "evidence_text" if "evidence_text" in reader.columns("account_alerts") else "null"
    return (
        "select account_id, alert_id, alert_type, severity, opened_date, last_seen_date, closed_date, "
        f"cast(mrr_at_stake as double) as mrr_at_stake, {evidence} as evidence_text "
        f"from {MARTS}.account_alerts"
    )


def _open_alerts(reader: MartReader) -> pd.DataFrame | None:
    if not reader.has("account_alerts"):
        return None
    return reader.frame(
        f"select * from ({_alerts_sql(reader)}) as alerts where closed_date is null "
        "order by account_id, mrr_at_stake desc nulls last, alert_type"
    )


def _history(reader: MartReader, table: str, sql: str, params: list) -> pd.DataFrame:
    return reader.frame(sql, params) if reader.has(table) else pd.DataFrame(columns=["account_id"])


def _top_accounts(reader: MartReader, accounts: pd.DataFrame, core: list[str]) -> list[AccountDetail]:
    top = accounts[accounts["mrr"] > 0].head(TOP_ACCOUNTS)  # already ordered by MRR in SQL
    ids = top["account_id"].tolist()
    if not ids:
        return []
    weekly = _history(
        reader,
        "fct_account_activity_weekly",
        f"select account_id, week_start, active_users, cast(baseline_active_users as double) "
        f"as baseline_active_users, is_below_baseline from {MARTS}.fct_account_activity_weekly "
        f"where list_contains(?, account_id) order by account_id, week_start",
        [ids],
    )
    complete = (
        "is_complete_month"
        if reader.has("fct_account_feature_adoption_monthly")
        and "is_complete_month" in reader.columns("fct_account_feature_adoption_monthly")
        else "true"
    )
    adoption = _history(
        reader,
        "fct_account_feature_adoption_monthly",
        f"select account_id, feature_id, month_start, cast(adoption_rate as double) as adoption_rate, "
        f"{complete} as is_complete_month "
        f"from {MARTS}.fct_account_feature_adoption_monthly "
        f"where list_contains(?, account_id) and list_contains(?, feature_id) "
        f"order by account_id, feature_id, month_start",
        [ids, core],
    )
    mrr = _history(
        reader,
        "fct_account_mrr_monthly",
        f"select account_id, month_start, cast(mrr as double) as mrr, movement_type "
        f"from {MARTS}.fct_account_mrr_monthly where list_contains(?, account_id) "
        f"order by account_id, month_start",
        [ids],
    )
    alerts_sql = (
        f"select * from ({_alerts_sql(reader)}) as alerts where list_contains(?, account_id) "
        "order by account_id, closed_date is not null, opened_date desc, alert_type"
        if reader.has("account_alerts")
        else ""
    )
    alerts = _history(reader, "account_alerts", alerts_sql, [ids])
    return [
        AccountDetail(
            account=account,
            weekly=weekly[weekly["account_id"] == account["account_id"]],
            adoption=adoption[adoption["account_id"] == account["account_id"]],
            mrr=mrr[mrr["account_id"] == account["account_id"]],
            alerts=alerts[alerts["account_id"] == account["account_id"]],
        )
        for _, account in top.iterrows()
    ]


def load(reader: MartReader) -> ReportData:
    """Run every query of the report."""
    features = _features(reader)
    core_ids = features.loc[features["is_core"].astype(bool), "feature_id"].tolist()
    accounts = _accounts_today(reader)
    heatmap_accounts = accounts[accounts["mrr"] > 0].head(HEATMAP_ACCOUNTS)[["account_id", "account_name"]]
    as_of = reader.value(f"select {LATEST_DAY}")
    data = ReportData(
        as_of_date=None if as_of is None else str(as_of)[:10],
        kpis=_kpis(reader),
        accounts=accounts,
        quadrants=_quadrants(reader),
        high_mrr_threshold=_high_mrr_threshold(reader),
        at_risk=_call_list(reader),
        expansion=_view(reader, "expansion_candidates", EXPANSION_COLUMNS),
        heatmap=_heatmap(reader, heatmap_accounts["account_id"].tolist(), core_ids),
        heatmap_accounts=heatmap_accounts,
        fallacy=_fallacy(reader),
        mrr_summary=_mrr_summary(reader),
        open_alerts=_open_alerts(reader),
        backtest=_backtest(reader),
        feature_names=dict(zip(features["feature_id"], features["feature_name"], strict=True)),
        missing=[name for name in OPTIONAL_MARTS if not reader.has(name)],
    )
    data.top_accounts = _top_accounts(reader, accounts, core_ids)
    return data
