"""The page: one self-contained HTML document (styles inline, charts passed in as HTML fragments).

Every value from the data is escaped here with ``html.escape`` — account names come from customers.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from datetime import date, datetime

import pandas as pd

from accountpulse.report.figures import QUADRANT_STYLE, quadrant_label
from accountpulse.report.queries import AccountDetail, ReportData

Cell = Callable[[object], str]


def esc(value: object) -> str:
    return html.escape(_text(value), quote=True)


def _missing(value: object) -> bool:
    if value is None or value is pd.NaT:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _text(value: object) -> str:
    return "—" if _missing(value) else str(value)


def money(value: object) -> str:
    if _missing(value):
        return "—"
    number = float(value)  # type: ignore[arg-type]
    return f"{number:,.0f}" if abs(number) >= 1000 else f"{number:,.2f}"


def percent(value: object) -> str:
    return "—" if _missing(value) else f"{float(value):.0%}"  # type: ignore[arg-type]


def percent_1(value: object) -> str:
    return "—" if _missing(value) else f"{float(value):.1%}"  # type: ignore[arg-type]


def day(value: object) -> str:
    if _missing(value):
        return "—"
    if isinstance(value, datetime | date | pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    return str(value)[:10]


def month(value: object) -> str:
    return "—" if _missing(value) else pd.Timestamp(value).strftime("%b %Y")  # type: ignore[arg-type]


def number(value: object) -> str:
    if _missing(value):
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"  # type: ignore[call-overload]


def score(value: object) -> str:
    return "—" if _missing(value) else f"{float(value):.0f}"  # type: ignore[arg-type]


def humanize(name: object) -> str:
    return _text(name).replace("_", " ")


TITLES = {
    "account_name": "Account",
    "mrr": "MRR",
    "mrr_at_stake": "MRR at stake",
    "health_score": "Health",
    "health_band": "Band",
    "health_driver": "Pulled down by",
    "health_change_driver": "Moved by (28d)",
    "call_rank": "#",
    "reason": "Reason",
    "open_risk_alerts": "Risk alerts",
    "open_alert_types": "Open alerts",
    "open_alerts": "Open alerts",
    "highest_severity": "Severity",
    "next_renewal_date": "Renewal",
    "active_users_30d": "Active users 30d",
    "licensed_seats": "Seats",
    "seat_utilization": "Seat use",
    "expansion_headroom_mrr": "Headroom MRR",
    "expansion_signal_since": "Signal since",
}


def title(column: str) -> str:
    return TITLES.get(column, humanize(column).capitalize())


def _guess_format(column: str) -> Cell:
    """Formatting of a view column by its name (the views' columns are their owner's to change)."""
    if column.endswith(("_mrr", "_arr", "_at_stake", "_headroom", "_per_seat")) or column in ("mrr", "arr"):
        return money
    if column.endswith(("_rate", "_utilization", "_share", "_ratio")):
        return percent
    if column.endswith(("_date", "_at", "_since")):
        return day
    if column.endswith("_score"):
        return score
    if column.endswith(("_users", "_seats", "_days", "_count", "_rank", "_30d", "_risk_alerts")):
        return number
    if column.endswith(("_type", "_types", "_band", "_driver", "_alerts", "quadrant", "segment", "severity")):
        return humanize
    return _text


def _data_attrs(attrs: dict[str, object]) -> str:
    return "".join(f' data-{key}="{esc(value)}"' for key, value in attrs.items() if not _missing(value))


def table(
    frame: pd.DataFrame,
    columns: Iterable[tuple[str, str, Cell]],
    *,
    css: str = "",
    row_attrs: Callable[[pd.Series], dict[str, object]] | None = None,
) -> str:
    columns = list(columns)
    head = "".join(f"<th>{esc(title)}</th>" for _, title, _ in columns)
    body = []
    numeric = (money, percent, number, percent_1, score, ratio)
    for _, row in frame.iterrows():
        cells = "".join(
            f'<td class="{"num" if fmt in numeric else ""}">{esc(fmt(row[name]))}</td>'
            for name, _, fmt in columns
        )
        body.append(f"<tr{_data_attrs(row_attrs(row)) if row_attrs else ''}>{cells}</tr>")
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def empty(note: str) -> str:
    return f'<p class="empty">{esc(note)}</p>'


def chip(text: str, color: str | None = None) -> str:
    style = f' style="background:{color};color:white"' if color else ""
    return f'<span class="chip"{style}>{esc(text)}</span>'


def _kpi(key: str, title: str, value: object, shown: str, sub: str = "") -> str:
    return (
        f'<div class="kpi" data-kpi="{esc(key)}"{_data_attrs({"value": value})}>'
        f'<div class="kpi-title">{esc(title)}</div><div class="kpi-value">{esc(shown)}</div>'
        f'<div class="kpi-sub">{esc(sub)}</div></div>'
    )


def kpis(data: ReportData) -> str:
    values = data.kpis
    cards = [
        _kpi(
            "total_mrr",
            "MRR",
            values.get("total_mrr"),
            money(values.get("total_mrr")),
            f"as of {data.as_of_date or '—'}, all accounts",
        ),
        _kpi(
            "paying_accounts",
            "Paying accounts",
            values.get("paying_accounts"),
            number(values.get("paying_accounts")),
            f"of {number(values.get('accounts'))} accounts",
        ),
    ]
    if "nrr" in values:
        month_label = f"month of {values.get('retention_month')}"
        cards.append(
            _kpi("nrr", "Net revenue retention", values["nrr"], percent_1(values["nrr"]), month_label)
        )
        cards.append(
            _kpi("grr", "Gross revenue retention", values["grr"], percent_1(values["grr"]), month_label)
        )
    cards.append(
        _kpi(
            "revenue_at_risk_mrr",
            "MRR at risk",
            values.get("revenue_at_risk_mrr"),
            money(values.get("revenue_at_risk_mrr")),
            f"{number(values.get('revenue_at_risk_accounts'))} high-MRR accounts not healthy",
        )
    )
    if "open_alerts" in values:
        cards.append(
            _kpi(
                "open_alerts",
                "Open alerts",
                values["open_alerts"],
                number(values["open_alerts"]),
                "all types",
            )
        )
    return f'<div class="kpis">{"".join(cards)}</div>'


def quadrant_table(quadrants: pd.DataFrame) -> str:
    frame = quadrants.assign(name=quadrants["quadrant"].map(quadrant_label))
    return table(
        frame,
        [
            ("name", "Quadrant", _text),
            ("accounts", "Accounts", number),
            ("mrr", "MRR", money),
            ("mrr_share", "MRR share", percent),
        ],
        css="quadrants",
        row_attrs=lambda row: {"quadrant": row["quadrant"], "accounts": row["accounts"], "mrr": row["mrr"]},
    )


def quadrant_legend() -> str:
    return "".join(chip(name, color) for name, color in QUADRANT_STYLE.values())


def view_table(frame: pd.DataFrame | None, view: str, open_alerts: pd.DataFrame | None) -> str:
    """A convenience view in the order its owner chose; account ids hidden behind names."""
    if frame is None:
        return empty(f"marts.{view} is not built yet.")
    if frame.empty:
        return empty("No accounts on this list today.")
    frame = frame.copy()
    has_alerts = any("alert" in column for column in frame.columns)
    if not has_alerts and open_alerts is not None and "account_id" in frame.columns:
        types = open_alerts.groupby("account_id")["alert_type"].agg(
            lambda values: ", ".join(sorted(set(values)))
        )
        frame["open_alerts"] = frame["account_id"].map(types)
    shown = [
        column
        for column in frame.columns
        if not (column == "account_id" and "account_name" in frame.columns) and column != "as_of_date"
    ]
    total = frame.attrs.get("total_rows", len(frame))
    more = f'<p class="note">{esc(total - len(frame))} more not shown.</p>' if total > len(frame) else ""
    return table(frame, [(column, title(column), _guess_format(column)) for column in shown], css=view) + more


def mrr_table(summary: pd.DataFrame | None, months: int = 6) -> str:
    if summary is None or summary.empty:
        return ""
    recent = summary.tail(months)
    return table(
        recent,
        [
            ("month_start", "Month", month),
            ("starting_mrr", "Start", money),
            ("new_mrr", "New", money),
            ("expansion_mrr", "Expansion", money),
            ("reactivation_mrr", "Reactivation", money),
            ("contraction_mrr", "Contraction", money),
            ("churned_mrr", "Churn", money),
            ("fx_mrr", "FX", money),
            ("ending_mrr", "End", money),
            ("paying_accounts", "Paying", number),
            ("nrr", "NRR", percent_1),
            ("grr", "GRR", percent_1),
        ],
        css="mrr",
        row_attrs=lambda row: {"month": day(row["month_start"]), "ending-mrr": row["ending_mrr"]},
    )


def ratio(value: object) -> str:
    return "—" if _missing(value) else f"{float(value):.2f}×"  # type: ignore[arg-type]


def backtest_table(backtest: pd.DataFrame | None) -> str:
    if backtest is None or backtest.empty:
        return ""
    return table(
        backtest,
        [
            ("health_band", "Band then", humanize),
            ("account_months", "Account months", number),
            ("churned", "Churned", number),
            ("contracted", "Contracted", number),
            ("expanded", "Expanded", number),
            ("unchanged", "Unchanged", number),
            ("churn_or_contraction_rate", "Churn or contraction", percent_1),
            ("lift_over_healthy", "Lift over healthy", ratio),
            ("alerted", "Risk alert open", number),
            ("alert_precision", "Alert precision", percent_1),
            ("alert_recall", "Alert recall", percent_1),
        ],
        css="backtest",
        row_attrs=lambda row: {
            "band": row["health_band"],
            "lift": row["lift_over_healthy"],
            "precision": row["alert_precision"],
            "recall": row["alert_recall"],
        },
    )


CLOSED_ALERTS_SHOWN = 5


def _account_alerts(alerts: pd.DataFrame) -> str:
    """Open alerts, then the most recent closed ones (the query orders them so)."""
    if alerts.empty:
        return empty("No alerts for this account.")
    is_open = alerts["closed_date"].map(_missing)
    shown = pd.concat([alerts[is_open], alerts[~is_open].head(CLOSED_ALERTS_SHOWN)])
    hidden = len(alerts) - len(shown)
    note = f'<p class="note">{esc(hidden)} earlier closed alerts not shown.</p>' if hidden else ""
    return (
        table(
            shown.assign(state=is_open[shown.index].map({True: "open", False: "closed"})),
            [
                ("alert_type", "Alert", humanize),
                ("severity", "Severity", _text),
                ("state", "State", _text),
                ("opened_date", "Opened", day),
                ("closed_date", "Closed", day),
                ("mrr_at_stake", "MRR at stake", money),
                ("evidence_text", "Evidence", _text),
            ],
            css="alerts",
        )
        + note
    )


def account_section(position: int, detail: AccountDetail, charts: list[str]) -> str:
    account = detail.account
    band = account.get("health_band")
    band_color = {"healthy": "#2f855a", "neutral": "#d69e2e", "at_risk": "#c53030"}.get(str(band))
    facts = [
        chip(f"{name} {humanize(account.get(column))}")
        for name, column in (("plan", "plan"), ("segment", "segment"), ("", "lifecycle_status"))
        if not _missing(account.get(column))
    ]
    facts.append(chip(f"health {score(account.get('health_score'))} · {humanize(band)}", band_color))
    stats = [
        ("MRR", money(account.get("mrr"))),
        ("Pulled down by", humanize(account.get("health_driver"))),
        ("Active users 30d", number(account.get("active_users_30d"))),
        ("Seats", number(account.get("licensed_seats"))),
        ("Seat use", percent(account.get("seat_utilization"))),
        ("Renewal", day(account.get("next_renewal_date"))),
    ]
    stat_html = "".join(f"<div><span>{esc(name)}</span><b>{esc(value)}</b></div>" for name, value in stats)
    chart_html = "".join(f'<div class="chart">{chart}</div>' for chart in charts)
    return f"""
<section class="account" id="account-{position}" data-account-id="{esc(account.get("account_id"))}">
  <h3><span class="rank">#{position}</span> {esc(account.get("account_name"))}</h3>
  <div class="facts">{"".join(facts)}</div>
  <div class="stats">{stat_html}</div>
  <div class="charts3">{chart_html}</div>
  {_account_alerts(detail.alerts)}
</section>"""


STYLE = """
:root { --ink:#1f2933; --muted:#697386; --line:#e4e7eb; --bg:#f5f7fa; --card:#fff; --accent:#2b6cb0; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
  font:14px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header { background:#102a43; color:#fff; padding:28px 40px 22px; }
header h1 { margin:0; font-size:26px; font-weight:650; letter-spacing:-0.01em; }
header p { margin:6px 0 0; color:#bcccdc; }
nav { position:sticky; top:0; z-index:10; background:#fff; border-bottom:1px solid var(--line);
  padding:0 40px; }
nav a { display:inline-block; padding:10px 12px; color:var(--muted); text-decoration:none; font-weight:550; }
nav a:hover { color:var(--accent); }
main { max-width:1280px; margin:0 auto; padding:24px 40px 60px; }
section.block { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:22px 26px;
  margin:0 0 22px; }
h2 { margin:0 0 4px; font-size:20px; }
h3 { margin:0 0 8px; font-size:17px; }
.lede { color:var(--muted); margin:0 0 16px; max-width:880px; }
.kpis { display:grid; grid-template-columns:repeat(auto-fit, minmax(170px, 1fr)); gap:14px; margin:0 0 22px; }
.kpi { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:14px 16px; }
.kpi-title { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:0.04em; }
.kpi-value { font-size:26px; font-weight:650; margin-top:2px; }
.kpi-sub { color:var(--muted); font-size:12px; }
.grid2 { display:grid; grid-template-columns:minmax(0, 2.2fr) minmax(0, 1fr); gap:24px; align-items:start; }
h3.next { margin-top:22px; }
.charts3 { display:grid; grid-template-columns:repeat(3, minmax(0, 1fr)); gap:12px; margin:10px 0 12px; }
table { width:100%; border-collapse:collapse; font-size:13px; }
th { text-align:left; color:var(--muted); font-weight:600; border-bottom:2px solid var(--line);
  padding:6px 8px; white-space:nowrap; }
td { border-bottom:1px solid var(--line); padding:6px 8px; vertical-align:top; }
td.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
tbody tr:hover { background:#f0f4f8; }
.chip { display:inline-block; padding:2px 9px; margin:0 6px 6px 0; border-radius:999px; background:#e4e7eb;
  font-size:12px; font-weight:550; }
.stats { display:grid; grid-template-columns:repeat(6, minmax(0, 1fr)); gap:10px; margin:6px 0; }
.stats div { background:var(--bg); border-radius:8px; padding:8px 10px; }
.stats span { display:block; color:var(--muted); font-size:11px; text-transform:uppercase; }
.stats b { font-size:15px; }
section.account { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:20px 24px;
  margin:0 0 18px; }
.rank { color:var(--muted); font-weight:500; margin-right:4px; }
.empty { color:var(--muted); font-style:italic; }
.note { color:var(--muted); font-size:12px; margin:6px 0 0; }
footer { color:var(--muted); font-size:12px; text-align:center; padding:10px 0 30px; }
@media (max-width: 900px) { .grid2, .charts3 { grid-template-columns:1fr; }
  .stats { grid-template-columns:repeat(3, 1fr); }
  main, header, nav { padding-left:16px; padding-right:16px; } }
"""


def document(title: str, subtitle: str, nav: list[tuple[str, str]], body: str, footer: str) -> str:
    links = "".join(f'<a href="#{esc(anchor)}">{esc(name)}</a>' for anchor, name in nav)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
<style>{STYLE}</style>
</head>
<body>
<header><h1>{esc(title)}</h1><p>{esc(subtitle)}</p></header>
<nav>{links}</nav>
<main>
{body}
</main>
<footer>{esc(footer)}</footer>
</body>
</html>
"""


def block(anchor: str, title: str, lede: str, content: str) -> str:
    return f"""
<section class="block" id="{esc(anchor)}">
  <h2>{esc(title)}</h2>
  <p class="lede">{esc(lede)}</p>
  {content}
</section>"""
