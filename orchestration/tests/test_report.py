"""The account report on real marts: built from generated demo data, rendered in headless Chromium
with the network cut off, numbers compared with SQL over the marts, names escaped.

ACCOUNTPULSE_REPORT_DUCKDB=<built DuckDB file> reuses existing marts instead of generating and
building; ACCOUNTPULSE_REPORT_SCREENSHOT=<png> keeps the screenshot (docs/report.png is made so).
"""

from __future__ import annotations

import html
import json
import os
import re
import struct
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from chromium import Chromium, chromium_available
from conftest import run_dbt

from accountpulse.errors import UserError
from accountpulse.report import figures, page, write_report
from accountpulse.report.queries import TOP_ACCOUNTS

MAIN_CHARTS = 4  # Revenue × Health, adoption heatmap, users vs accounts, MRR movements
CHARTS_PER_ACCOUNT = 3
SCREENSHOT_HEIGHT = 1900


@pytest.fixture(scope="module")
def marts_duckdb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DuckDB file with every mart built from generated demo data."""
    existing = os.environ.get("ACCOUNTPULSE_REPORT_DUCKDB")
    if existing:
        return Path(existing)
    from accountpulse.generator import GeneratorConfig, generate
    from accountpulse.generator.config import REFERENCE_END_DATE

    workdir = tmp_path_factory.mktemp("report")
    path = workdir / "demo.duckdb"
    generate(
        GeneratorConfig(accounts=24, days=150, end_date=REFERENCE_END_DATE, duckdb_path=path, progress=False)
    )
    run_dbt(["seed"], target="duckdb", workdir=workdir, duckdb_path=path)
    run_dbt(["run", "--select", "+path:models/marts"], target="duckdb", workdir=workdir, duckdb_path=path)
    return path


@pytest.fixture(scope="module")
def report(marts_duckdb: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_report(marts_duckdb, tmp_path_factory.mktemp("out") / "report.html")


@pytest.fixture(scope="module")
def marts(marts_duckdb: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(marts_duckdb), read_only=True)
    yield con
    con.close()


class _Page(HTMLParser):
    """What the tests read back from the report: resources, data attributes, visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.resources: list[tuple[str, str]] = []
        self.kpis: dict[str, str] = {}
        self.quadrants: dict[str, tuple[int, float]] = {}
        self.accounts: list[str] = []
        self.headings: list[str] = []
        self._in: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        for name in ("src", "href"):
            if name in values and not values[name].startswith("#"):
                self.resources.append((tag, values[name]))
        if "data-kpi" in values and "data-value" in values:
            self.kpis[values["data-kpi"]] = values["data-value"]
        if "data-quadrant" in values:
            self.quadrants[values["data-quadrant"]] = (
                int(values["data-accounts"]),
                float(values["data-mrr"]),
            )
        if "data-account-id" in values:
            self.accounts.append(values["data-account-id"])
        self._in.append(tag)

    def handle_endtag(self, tag: str) -> None:
        while self._in and self._in.pop() != tag:
            pass

    def handle_data(self, data: str) -> None:
        if self._in and self._in[-1] == "h3":
            self.headings.append(data)


def _parse(report: Path) -> _Page:
    parsed = _Page()
    parsed.feed(report.read_text(encoding="utf-8"))
    return parsed


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> object:
    return con.execute(sql).fetchone()[0]


# ------------------------------------------------------------------------------------ self-contained
def test_report_needs_no_network(report: Path) -> None:
    text = report.read_text(encoding="utf-8")
    parsed = _parse(report)
    assert parsed.resources == [], f"the report loads external resources: {parsed.resources}"
    assert "<script src" not in text.replace(" ", "") and "@import" not in text
    assert text.count("plotly.js v") == 1, "plotly.js must be inlined exactly once"
    assert text.count('class="plotly-graph-div"') >= MAIN_CHARTS


# ------------------------------------------------------------------------------------------- numbers
LATEST = "(select max(as_of_date) from marts.fct_account_health_daily)"
TOP_SQL = (
    f"select account_id, account_name from marts.fct_account_health_daily as health "
    f"left join marts.dim_accounts as accounts using (account_id) "
    f"where as_of_date = {LATEST} and mrr > 0 order by mrr desc, account_id limit {TOP_ACCOUNTS}"
)


def test_report_numbers_match_the_marts(report: Path, marts: duckdb.DuckDBPyConnection) -> None:
    parsed = _parse(report)
    ending_mrr, paying = marts.execute(
        "select ending_mrr, paying_accounts from marts.fct_mrr_summary_monthly "
        "order by month_start desc limit 1"
    ).fetchone()
    assert float(parsed.kpis["total_mrr"]) == pytest.approx(float(ending_mrr), abs=0.005)
    assert int(parsed.kpis["paying_accounts"]) == paying

    expected = {
        quadrant: (count, float(mrr or 0))
        for quadrant, count, mrr in marts.execute(
            f"select quadrant, count(*), sum(mrr) from marts.fct_account_health_daily "
            f"where as_of_date = {LATEST} group by quadrant"
        ).fetchall()
    }
    assert expected, "the health mart is empty: nothing to compare"
    assert {name: count for name, (count, _) in parsed.quadrants.items()} == {
        name: count for name, (count, _) in expected.items()
    }
    for name, (_, mrr) in expected.items():
        assert parsed.quadrants[name][1] == pytest.approx(mrr, abs=0.005), name
    at_risk = _one(
        marts,
        f"select coalesce(sum(mrr), 0) from marts.fct_account_health_daily "
        f"where as_of_date = {LATEST} and quadrant = 'revenue_at_risk'",
    )
    assert float(parsed.kpis["revenue_at_risk_mrr"]) == pytest.approx(float(at_risk), abs=0.005)

    nrr, grr = marts.execute(
        "select nrr, grr from marts.fct_mrr_summary_monthly where starting_mrr > 0 "
        "order by month_start desc limit 1"
    ).fetchone()
    assert float(parsed.kpis["nrr"]) == pytest.approx(float(nrr))
    assert float(parsed.kpis["grr"]) == pytest.approx(float(grr))
    open_alerts = _one(marts, "select count(*) from marts.account_alerts where closed_date is null")
    assert int(parsed.kpis["open_alerts"]) == open_alerts
    assert parsed.accounts == [row[0] for row in marts.execute(TOP_SQL).fetchall()]


def test_at_risk_is_the_weekly_call_list(report: Path, marts: duckdb.DuckDBPyConnection) -> None:
    """ "At risk" lists the call list's accounts, in call order, with their reasons, and nothing else."""
    text = report.read_text(encoding="utf-8")
    section = text.split("<h3>At risk</h3>", 1)[1].split("Expansion candidates", 1)[0]
    rows = marts.execute(
        "select account_name, reason from marts.rpt_weekly_call_list order by call_rank"
    ).fetchall()
    body = section.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if rows else ""
    assert body.count("<tr") == len(rows)
    positions = [body.find(html.escape(name, quote=True)) for name, _ in rows if name]
    assert all(position >= 0 for position in positions), rows
    assert positions == sorted(positions)
    for _, reason in rows:
        assert html.escape(reason, quote=True) in body


def test_report_mrr_agrees_with_the_accounts_mart(report: Path, marts: duckdb.DuckDBPyConnection) -> None:
    """The MRR shown (the revenue summary's month-end) is the sum of the accounts' current MRR."""
    columns = {row[0] for row in marts.execute("describe marts.dim_accounts").fetchall()}
    if "current_mrr" not in columns:
        pytest.skip("dim_accounts has no current_mrr yet")
    total, paying = marts.execute(
        "select sum(current_mrr), count(case when current_mrr > 0 then 1 end) from marts.dim_accounts"
    ).fetchone()
    parsed = _parse(report)
    assert float(parsed.kpis["total_mrr"]) == pytest.approx(float(total), abs=0.005)
    assert int(parsed.kpis["paying_accounts"]) == paying


def test_account_names_are_escaped(report: Path, marts: duckdb.DuckDBPyConnection) -> None:
    text = report.read_text(encoding="utf-8")
    markup = re.sub(r"<script\b.*?</script>", "", text, flags=re.DOTALL)  # charts carry names as JSON
    names = [row[0] for row in marts.execute("select account_name from marts.dim_accounts").fetchall()]
    awkward = [name for name in names if name and any(char in name for char in "<>&\"'")]
    assert awkward, "the demo data should hold awkward account names"
    for name in awkward:
        assert name not in markup, f"unescaped in the markup: {name!r}"
    top_names = {row[1] for row in marts.execute(TOP_SQL).fetchall()}
    headings = {heading.strip() for heading in _parse(report).headings}
    assert top_names <= headings, "top account names must read back exactly as text"


def test_mrr_bridge_shows_fx_signed(report: Path, marts: duckdb.DuckDBPyConnection) -> None:
    """The MRR table and chart carry the FX movement beside the others, with its sign."""
    text = report.read_text(encoding="utf-8")
    assert "<th>FX</th>" in text
    summary = pd.DataFrame(
        {
            "month_start": [pd.Timestamp("2026-01-01")],
            "starting_mrr": [188.40],
            "new_mrr": [0.0],
            "expansion_mrr": [0.0],
            "reactivation_mrr": [0.0],
            "contraction_mrr": [39.0],
            "churned_mrr": [0.0],
            "fx_mrr": [-0.40],
            "ending_mrr": [149.0],
            "paying_accounts": [2],
            "nrr": [0.793],
            "grr": [0.793],
        }
    )
    assert "-0.40" in page.mrr_table(summary)
    bars = {trace.name: list(trace.y) for trace in figures.mrr_movements(summary).data if trace.type == "bar"}
    assert bars["FX"] == [-0.40] and bars["Contraction"] == [-39.0]


def test_partial_month_is_drawn_apart_not_as_a_drop() -> None:
    """The current month (as of 2026-11-15) is a hollow marker off the line, labelled month to date;
    a month that ended on the as-of date is complete."""
    assert figures.partial_month_start("2026-11-15") == "2026-11-01"
    assert figures.partial_month_start("2026-11-30") is None
    adoption = pd.DataFrame(
        {
            "feature_id": ["f1", "f1", "f1"],
            "month_start": pd.to_datetime(["2026-09-01", "2026-10-01", "2026-11-01"]),
            "adoption_rate": [0.6, 0.7, 0.1],
            "is_complete_month": [True, True, False],
        }
    )
    line, partial = figures.account_adoption(adoption, {"f1": "Reports"}).data
    assert list(line.y) == [0.6, 0.7] and "lines" in line.mode
    assert list(partial.y) == [0.1] and partial.mode == "markers"
    assert partial.marker.symbol == "circle-open" and "month to date" in partial.hovertemplate
    summary = pd.DataFrame(
        {
            "month_start": pd.to_datetime(["2026-10-01", "2026-11-01"]),
            **{f"{name}_mrr": [10.0, 1.0] for name in ("new", "expansion", "reactivation", "contraction")},
            **{f"{name}_mrr": [0.0, 0.0] for name in ("churned", "fx")},
            "nrr": [1.0, 1.0],
            "grr": [1.0, 1.0],
        }
    )
    movements = figures.mrr_movements(summary, "2026-11-01")
    bars = [trace for trace in movements.data if trace.type == "bar"]
    assert all(list(bar.marker.opacity) == [1.0, 0.4] for bar in bars)
    assert [note.text for note in movements.layout.annotations] == ["month to date"]


def test_backtest_section_shows_the_summary_mart(report: Path, marts: duckdb.DuckDBPyConnection) -> None:
    """'Does health predict churn?' lists every band of rpt_health_backtest_summary with its lift,
    precision and recall as the mart has them."""
    text = report.read_text(encoding="utf-8")
    assert 'id="backtest"' in text and "Does health predict churn?" in text
    rows = marts.execute(
        "select health_band, lift_over_healthy, alert_precision, alert_recall "
        "from marts.rpt_health_backtest_summary order by band_order"
    ).fetchall()
    assert [band for band, *_ in rows] == ["healthy", "neutral", "at_risk", "unscored", "all"]
    shown = re.findall(r'<tr data-band="([a-z_]+)"([^>]*)>', text)
    assert [band for band, _ in shown] == [band for band, *_ in rows]
    for (band, attrs), (_, lift, precision, recall) in zip(shown, rows, strict=True):
        for name, value in (("lift", lift), ("precision", precision), ("recall", recall)):
            found = re.search(rf'data-{name}="([^"]+)"', attrs)
            assert (found is None) == (value is None), (band, name)
            if found is not None:
                assert float(found.group(1)) == pytest.approx(value), (band, name)


def test_page_pieces_escape_what_they_show() -> None:
    hostile = '<img src=x onerror=alert(1)> O\'Brien & "Co" 🚀'
    frame = pd.DataFrame({"account_id": ["a1"], "account_name": [hostile], "mrr_at_stake": [1234.5]})
    rendered = page.view_table(frame, "accounts_at_risk", None)
    assert "<img" not in rendered and html.escape(hostile) in rendered
    assert figures.label(hostile) == '&lt;img src=x onerror=alert(1)&gt; O\'Brien &amp; "Co" 🚀'
    heading = page.block("x", hostile, hostile, "")
    assert "<img" not in heading


def test_cli_writes_the_report(
    marts_duckdb: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from accountpulse.cli import main

    out = tmp_path / "cli" / "report.html"
    assert main(["report", "--duckdb", str(marts_duckdb), "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert main(["report", "--duckdb", str(tmp_path / "missing.duckdb")]) == 2
    assert "DuckDB file not found" in capsys.readouterr().err


def test_missing_file_or_marts_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not found"):
        write_report(tmp_path / "nope.duckdb", tmp_path / "out.html")
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(UserError, match="accountpulse build"):
        write_report(empty, tmp_path / "out.html")


# ------------------------------------------------------------------------------------------- browser
COUNT_CHARTS = """JSON.stringify((() => {
  const divs = [...document.querySelectorAll('.plotly-graph-div')];
  return divs.map(div => ({
    id: div.id,
    drawn: div.classList.contains('js-plotly-plot') && !!div.querySelector('.main-svg'),
    traces: (div.data || []).length,
    marks: div.querySelectorAll(
      '.scatterlayer .point, .barlayer .point, .heatmaplayer .hm, .scatterlayer .js-line').length,
  }));
})())"""


@pytest.fixture(scope="module")
def browser_report(report: Path) -> Iterator[tuple[Chromium, Path]]:
    if not chromium_available():
        reason = (
            "headless Chromium is missing (/usr/bin/chromium; Debian package `chromium`, .ci/run installs it)"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    with Chromium(width=1400, height=1000) as browser:
        browser.open(report)
        browser.wait_until(
            "[...document.querySelectorAll('.plotly-graph-div')].every(div => div.querySelector('.main-svg'))"
        )
        yield browser, report


def test_report_draws_in_chromium_offline(
    browser_report: tuple[Chromium, Path], marts: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    browser, _ = browser_report
    charts = json.loads(browser.evaluate(COUNT_CHARTS))
    top = len(marts.execute(TOP_SQL).fetchall())
    assert len(charts) >= MAIN_CHARTS + CHARTS_PER_ACCOUNT * top
    undrawn = [chart["id"] for chart in charts if not (chart["drawn"] and chart["traces"] and chart["marks"])]
    assert undrawn == [], f"charts without drawn traces: {undrawn}"
    assert browser.console_errors == [], browser.console_errors
    assert browser.external_requests() == [], browser.external_requests()

    keep = os.environ.get("ACCOUNTPULSE_REPORT_SCREENSHOT")
    shot = browser.screenshot(Path(keep) if keep else tmp_path / "report.png", height=SCREENSHOT_HEIGHT)
    header = shot.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    assert (width, height) == (1400, SCREENSHOT_HEIGHT)


def test_heatmap_shows_the_adoption_rates_of_the_mart(
    browser_report: tuple[Chromium, Path], marts: duckdb.DuckDBPyConnection
) -> None:
    browser, _ = browser_report
    shown = json.loads(
        browser.evaluate(
            "JSON.stringify([...document.querySelectorAll('.plotly-graph-div')]"
            ".map(div => div.data[0]).find(trace => trace.type === 'heatmap'))"
        )
    )
    top_id, top_name = marts.execute(TOP_SQL).fetchone()
    assert html.unescape(shown["y"][0]) == top_name
    rates = dict(
        marts.execute(
            "select features.feature_name, adoption.adoption_rate "
            "from marts.fct_account_feature_adoption as adoption "
            "inner join seeds.features as features on adoption.feature_id = features.feature_id "
            "where features.is_core and adoption.account_id = ?",
            [top_id],
        ).fetchall()
    )
    for column, value in zip(shown["x"], shown["z"][0], strict=True):
        expected = rates[html.unescape(column)]
        if expected is None:
            assert value is None
        else:
            assert value == pytest.approx(float(expected))
