"""The account report: one static HTML file drawn from the marts (opens without a network).

``write_report(duckdb_path, out_path)`` reads the marts of a DuckDB file read-only and writes the
page; ``accountpulse report`` (or ``main``) calls it. Modules: ``queries`` (SQL over the marts), ``figures``
(plotly charts), ``page`` (HTML and styles).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from accountpulse.paths import PROJECT_DIR
from accountpulse.report import figures, page
from accountpulse.report.queries import MartReader, ReportData, load

DEFAULT_REPORT_PATH = PROJECT_DIR / "reports" / "accountpulse_report.html"
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True, "displayModeBar": False}


class _Charts:
    """Turns figures into HTML fragments; plotly.js is inlined with the first one only."""

    def __init__(self) -> None:
        self.count = 0

    def html(self, figure: go.Figure | None, note: str) -> str:
        if figure is None:
            return page.empty(note)
        self.count += 1
        return figure.to_html(
            full_html=False,
            include_plotlyjs=self.count == 1,
            config=PLOTLY_CONFIG,
            div_id=f"chart-{self.count}",
            default_width="100%",
        )


def _sections(data: ReportData, charts: _Charts) -> list[str]:
    matrix = charts.html(
        figures.revenue_health_matrix(data.accounts, data.high_mrr_threshold),
        "No paying accounts with a health score yet.",
    )
    not_paying = int((data.accounts["mrr"].fillna(0) <= 0).sum())
    sections = [
        page.kpis(data),
        page.block(
            "matrix",
            "Revenue × Health",
            "Every paying account by health score and MRR (log scale). Champions pay a lot and are "
            "healthy; revenue at risk pays a lot and is not; expansion candidates pay little but are "
            f"healthy or filling their seats. {not_paying} non-paying accounts are not plotted.",
            f'<div class="grid2"><div>{matrix}</div><div>{page.quadrant_legend()}'
            f"{page.quadrant_table(data.quadrants)}</div></div>",
        ),
        page.block(
            "lists",
            "Who to call this week",
            "At risk: the weekly call list — paying accounts with an open risk alert, most severe "
            "first and within a severity the largest MRR at stake, capped at about a tenth of the "
            "paying accounts — each with its reason, what pulls its health down against its peers and "
            "what moved it in the last 28 days. Expansion: accounts with room to grow.",
            f"<h3>At risk</h3>{page.view_table(data.at_risk, 'rpt_weekly_call_list', data.open_alerts)}"
            f"<h3 class='next'>Expansion candidates</h3>"
            f"{page.view_table(data.expansion, 'expansion_candidates', data.open_alerts)}",
        ),
        page.block(
            "adoption",
            "Feature adoption of the largest accounts",
            "Share of each account's active users (90 days) who adopted the core feature in the last "
            "30 days. Blank: no active users.",
            charts.html(
                figures.adoption_heatmap(data.heatmap, data.heatmap_accounts, data.feature_names),
                "No feature adoption data yet.",
            ),
        ),
        page.block(
            "fallacy",
            "Users vs accounts: the aggregation fallacy",
            "Per feature, the share of all active users who adopted it beside the share of active "
            "accounts with an adopting user, in the latest complete month. A high user share with a low "
            "account share means a few large or enthusiastic accounts carry the number.",
            charts.html(
                figures.aggregation_fallacy(data.fallacy, data.feature_names), "No product activity data yet."
            ),
        ),
        page.block(
            "revenue",
            "MRR movements",
            "New, expansion and reactivation MRR above zero; contraction and churn below; FX (exchange-rate "
            "changes of foreign-currency MRR) on either side. Expansion and contraction are at constant "
            "rates. Net and gross revenue retention (constant rates) of accounts paying at the start of "
            "each month underneath. The current month, still running, is faded: month to date.",
            charts.html(
                figures.mrr_movements(data.mrr_summary, figures.partial_month_start(data.as_of_date)),
                "No MRR data yet.",
            )
            + page.mrr_table(data.mrr_summary),
        ),
        page.block(
            "backtest",
            "Does health predict churn?",
            _backtest_lede(data),
            charts.html(
                figures.backtest_rates(data.backtest), "No month end with a full horizon after it yet."
            )
            + page.backtest_table(data.backtest),
        ),
    ]
    accounts = []
    for position, detail in enumerate(data.top_accounts, start=1):
        account_charts = [
            charts.html(figures.account_activity(detail.weekly), "No weekly activity."),
            charts.html(
                figures.account_adoption(detail.adoption, data.feature_names), "No adoption history."
            ),
            charts.html(figures.account_mrr(detail.mrr), "No MRR history."),
        ]
        accounts.append(page.account_section(position, detail, account_charts))
    sections.append(
        page.block(
            "accounts",
            f"Top {len(data.top_accounts)} accounts by MRR",
            "Each account against its own history: weekly active users and baseline (red weeks are "
            "below it), adoption of each core feature and MRR by month (the last month runs to the as-of "
            "date: its adoption is a hollow marker, month to date, not a drop), and its alerts.",
            "".join(accounts) or page.empty("No paying accounts yet."),
        )
    )
    return sections


def _backtest_lede(data: ReportData) -> str:
    lede = (
        "Every paying account on every past month end, by the health band it had that day, and what "
        "its MRR did in the next 90 days (churned: fell to zero; contracted: fell below the month end's "
        "MRR). Lift: how many times more often than a healthy account. Precision and recall: of the risk "
        "alerts open that day, the share followed by churn or contraction, and of the churns and "
        "contractions, the share an alert foresaw."
    )
    if data.backtest is not None and not data.backtest.empty:
        first, last = data.backtest["first_as_of_date"].min(), data.backtest["last_as_of_date"].max()
        if not pd.isna(first):
            lede += f" Month ends {page.day(first)} to {page.day(last)}."
    return lede


def render(data: ReportData, source: str) -> str:
    charts = _Charts()
    body = "\n".join(_sections(data, charts))
    missing = f" Marts not built yet: {', '.join(data.missing)}." if data.missing else ""
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return page.document(
        title="AccountPulse — account report",
        subtitle=(
            f"As of {data.as_of_date or 'no data'} · money in the reporting currency · generated {generated}"
        ),
        nav=[
            ("matrix", "Revenue × Health"),
            ("lists", "At risk & expansion"),
            ("adoption", "Adoption"),
            ("fallacy", "Users vs accounts"),
            ("revenue", "MRR movements"),
            ("backtest", "Does health predict churn?"),
            ("accounts", "Top accounts"),
        ],
        body=body,
        footer=f"Drawn from the marts of {source}.{missing}",
    )


def write_report(duckdb_path: Path, out_path: Path) -> Path:
    """Write the report of the marts in ``duckdb_path`` (opened read-only) to ``out_path``."""
    duckdb_path, out_path = Path(duckdb_path), Path(out_path)
    reader = MartReader(duckdb_path)
    try:
        data = load(reader)
    finally:
        reader.close()
    document = render(data, duckdb_path.name)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    partial = out_path.with_name(f".{out_path.name}.{os.getpid()}.tmp")
    partial.write_text(document, encoding="utf-8")
    partial.replace(out_path)
    return out_path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--duckdb",
        type=Path,
        help="DuckDB file with the built marts (default: the published marts file, "
        "$ACCOUNTPULSE_MARTS_DUCKDB_PATH or data/accountpulse_marts.duckdb)",
    )
    parser.add_argument(
        "--out", type=Path, help="HTML file to write (default: reports/accountpulse_report.html)"
    )


def run(args: argparse.Namespace) -> int:
    from accountpulse.paths import marts_duckdb_path

    out = write_report(args.duckdb or marts_duckdb_path(), args.out or DEFAULT_REPORT_PATH)
    print(f"Report written: {out}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``accountpulse report`` without the rest of the CLI."""
    parser = argparse.ArgumentParser(prog="accountpulse report", description="write the account report")
    add_arguments(parser)
    return run(parser.parse_args(argv))
