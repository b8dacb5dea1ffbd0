"""The report's charts: plotly figures drawn from query results, nothing computed here.

Text that reaches plotly (names in hovers, ticks, legends) is HTML-escaped first: plotly renders a
subset of HTML in labels and turns entities back into characters when it draws them.
"""

from __future__ import annotations

import html
import math

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

FONT = "-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
INK = "#1f2933"
MUTED = "#8a94a6"

QUADRANT_STYLE = {
    "champion": ("Champion", "#2f855a"),
    "revenue_at_risk": ("Revenue at risk", "#c53030"),
    "expansion_candidate": ("Expansion candidate", "#2b6cb0"),
    "low_value": ("Low value", "#a0aec0"),
    "non_paying": ("Non-paying", "#cbd5e0"),
}

MOVEMENT_STYLE = [
    ("new_mrr", "New", "#2f855a", 1),
    ("expansion_mrr", "Expansion", "#68d391", 1),
    ("reactivation_mrr", "Reactivation", "#4fd1c5", 1),
    ("contraction_mrr", "Contraction", "#f6ad55", -1),
    ("churned_mrr", "Churn", "#e53e3e", -1),
    ("fx_mrr", "FX", "#a0aec0", 1),  # signed: exchange-rate gains above zero, losses below
]

FEATURE_COLORS = ["#2b6cb0", "#d69e2e", "#2f855a", "#805ad5", "#dd6b20", "#319795", "#b83280", "#718096"]


def label(text: object) -> str:
    """Text safe to hand to plotly (its labels understand a few HTML tags and entities)."""
    return html.escape(
        "" if text is None or (isinstance(text, float) and pd.isna(text)) else str(text), False
    )


def quadrant_label(quadrant: object) -> str:
    return QUADRANT_STYLE.get(str(quadrant), (str(quadrant), MUTED))[0]


def _layout(figure: go.Figure, height: int, **extra: object) -> go.Figure:
    layout: dict[str, object] = {
        "template": "plotly_white",
        "height": height,
        "font": {"family": FONT, "size": 12, "color": INK},
        "margin": {"l": 60, "r": 20, "t": 30, "b": 40},
        "hoverlabel": {"font": {"family": FONT}},
        "legend": {"orientation": "h", "y": -0.18, "x": 0},
    }
    layout.update(extra)
    figure.update_layout(**layout)
    return figure


def revenue_health_matrix(accounts: pd.DataFrame, high_mrr_threshold: float | None) -> go.Figure | None:
    """Paying accounts: health score (x) against MRR (y, log scale), one colour per quadrant; the
    day's high-MRR line when the health mart carries it."""
    paying = accounts[accounts["mrr"].fillna(0) > 0]
    if paying.empty:
        return None
    figure = go.Figure()
    for quadrant, (name, color) in QUADRANT_STYLE.items():
        rows = paying[paying["quadrant"] == quadrant]
        if rows.empty:
            continue
        figure.add_trace(
            go.Scatter(
                x=rows["health_score"],
                y=rows["mrr"],
                mode="markers",
                name=name,
                marker={"size": 12, "color": color, "line": {"width": 1, "color": "white"}, "opacity": 0.9},
                customdata=list(
                    zip(
                        rows["account_name"].map(label),
                        rows["health_band"].map(label),
                        rows["health_driver"].map(label),
                        strict=True,
                    )
                ),
                hovertemplate=(
                    "<b>%{customdata[0]}</b><br>MRR %{y:,.0f}<br>Health %{x:.0f} (%{customdata[1]})"
                    "<br>Driver: %{customdata[2]}<extra>" + name + "</extra>"
                ),
            )
        )
    if high_mrr_threshold:
        # a trace, not add_hline: its annotation would need log10 coordinates on this axis
        figure.add_trace(
            go.Scatter(
                x=[0, 100],
                y=[high_mrr_threshold, high_mrr_threshold],
                mode="lines+text",
                text=["", f"high MRR ≥ {high_mrr_threshold:,.0f}"],
                textposition="top left",
                textfont={"color": MUTED, "size": 11},
                line={"color": MUTED, "dash": "dash", "width": 1},
                hoverinfo="skip",
                showlegend=False,
            )
        )
    return _layout(
        figure,
        460,
        xaxis={"title": "Health score", "range": [-3, 103], "zeroline": False},
        yaxis={
            "title": "MRR",
            "type": "log",
            **_log_ticks(pd.concat([paying["mrr"], pd.Series([high_mrr_threshold])]).dropna()),
        },
    )


def _log_ticks(values: pd.Series) -> dict[str, list]:
    """Ticks at 1, 2, 5 × powers of ten across the values (plotly's log ticks are hard to read)."""
    low, high = float(values.min()), float(values.max())
    ticks = [
        step * 10**power
        for power in range(int(math.floor(math.log10(low))), int(math.ceil(math.log10(high))) + 1)
        for step in (1, 2, 5)
    ]
    ticks = [tick for tick in ticks if low / 2 <= tick <= high * 2]
    return {"tickvals": ticks, "ticktext": [f"{tick:,.0f}" if tick >= 1 else f"{tick:g}" for tick in ticks]}


def adoption_heatmap(
    rates_long: pd.DataFrame | None, accounts: pd.DataFrame, feature_names: dict[str, str]
) -> go.Figure | None:
    """Accounts (rows, in the given order) × core features; each cell the account's adoption rate."""
    if rates_long is None or rates_long.empty or accounts.empty:
        return None
    features = sorted(rates_long["feature_id"].unique())
    rates = rates_long.pivot(index="account_id", columns="feature_id", values="adoption_rate")
    rates = rates.reindex(index=accounts["account_id"], columns=features)
    depth = rates_long.pivot(index="account_id", columns="feature_id", values="depth_level")
    depth = depth.reindex(index=accounts["account_id"], columns=features)
    names = [label(name) for name in accounts["account_name"]]
    columns = [label(feature_names.get(feature, feature)) for feature in features]
    figure = go.Figure(
        go.Heatmap(
            z=rates.to_numpy().tolist(),
            x=columns,
            y=names,
            zmin=0,
            zmax=1,
            colorscale=[[0, "#f7fafc"], [0.2, "#bee3f8"], [0.6, "#4299e1"], [1, "#1a365d"]],
            texttemplate="%{z:.0%}",
            hoverongaps=False,
            customdata=depth.to_numpy().tolist(),
            hovertemplate="<b>%{y}</b><br>%{x}: %{z:.0%} of active users adopt<br>"
            "depth level %{customdata}<extra></extra>",
            colorbar={"title": "adoption", "tickformat": ".0%"},
        )
    )
    return _layout(
        figure,
        max(320, 34 * len(names) + 90),
        yaxis={"autorange": "reversed", "automargin": True},
        xaxis={"side": "top"},
        margin={"l": 20, "r": 20, "t": 50, "b": 20},
    )


def aggregation_fallacy(fallacy: pd.DataFrame | None, feature_names: dict[str, str]) -> go.Figure | None:
    """Per segment: share of users adopting each feature beside the share of accounts adopting it."""
    if fallacy is None or fallacy.empty:
        return None
    segments = sorted(fallacy["segment"].unique(), key=lambda name: (name != "all", name))
    figure = make_subplots(
        rows=1, cols=len(segments), shared_yaxes=True, subplot_titles=[label(name) for name in segments]
    )
    for position, segment in enumerate(segments, start=1):
        rows = fallacy[fallacy["segment"] == segment]
        names = [label(feature_names.get(feature, feature)) for feature in rows["feature_id"]]
        for column, name, color in (
            ("user_level_adoption_rate", "users adopting", "#d69e2e"),
            ("account_level_adoption_rate", "accounts adopting", "#2b6cb0"),
        ):
            figure.add_trace(
                go.Bar(
                    x=names,
                    y=rows[column],
                    name=name,
                    marker_color=color,
                    legendgroup=name,
                    showlegend=position == 1,
                    hovertemplate="%{x}: %{y:.0%} " + name + "<extra>" + label(segment) + "</extra>",
                ),
                row=1,
                col=position,
            )
    figure.update_yaxes(tickformat=".0%", range=[0, 1])
    return _layout(figure, 380, barmode="group", bargap=0.25)


BAND_STYLE = {
    "healthy": ("Healthy", "#2f855a"),
    "neutral": ("Neutral", "#d69e2e"),
    "at_risk": ("At risk", "#c53030"),
    "unscored": ("Unscored", "#a0aec0"),
}


def backtest_rates(backtest: pd.DataFrame | None) -> go.Figure | None:
    """Churn-or-contraction rate in the next horizon per health band, the all-band rate as a line."""
    if backtest is None or backtest.empty:
        return None
    bands = backtest[backtest["health_band"].isin(list(BAND_STYLE)) & (backtest["account_months"] > 0)]
    if bands.empty:
        return None
    figure = go.Figure(
        go.Bar(
            x=[BAND_STYLE[band][0] for band in bands["health_band"]],
            y=bands["churn_or_contraction_rate"],
            marker_color=[BAND_STYLE[band][1] for band in bands["health_band"]],
            text=[
                f"{rate:.0%} of {int(months)}"
                for rate, months in zip(
                    bands["churn_or_contraction_rate"], bands["account_months"], strict=True
                )
            ],
            textposition="outside",
            hovertemplate="%{x}: %{y:.1%} churned or contracted<extra></extra>",
        )
    )
    overall = backtest[backtest["health_band"] == "all"]["churn_or_contraction_rate"]
    if not overall.empty and not pd.isna(overall.iloc[0]):
        figure.add_hline(
            y=float(overall.iloc[0]),
            line_dash="dot",
            line_color=MUTED,
            annotation_text="all accounts",
            annotation_position="top left",
        )
    top = float(bands["churn_or_contraction_rate"].max())
    figure.update_yaxes(tickformat=".0%", range=[0, max(top * 1.25, 0.05)], title="churned or contracted")
    return _layout(figure, 340, showlegend=False, bargap=0.35)


def partial_month_start(as_of_date: str | None) -> str | None:
    """The first day of the as-of date's month when that month is still running (the as-of date is not
    its last day), else None: a chart draws that month apart, as month to date."""
    if not as_of_date:
        return None
    day = pd.Timestamp(as_of_date)
    return None if day.is_month_end else day.replace(day=1).strftime("%Y-%m-%d")


def mrr_movements(summary: pd.DataFrame | None, partial_month: str | None = None) -> go.Figure | None:
    """Monthly MRR movements (stacked, losses below zero; FX signed) over NRR and GRR. The current,
    partial month (`partial_month`, its first day) is drawn faded and labelled month to date: its
    movements so far are not a month's."""
    if summary is None or summary.empty:
        return None
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.68, 0.32], vertical_spacing=0.06)
    months = summary["month_start"]
    is_partial = pd.to_datetime(months).dt.strftime("%Y-%m-%d") == partial_month
    opacity = [0.4 if flag else 1.0 for flag in is_partial]
    suffix = ["month to date" if flag else "" for flag in is_partial]
    for column, name, color, sign in MOVEMENT_STYLE:
        figure.add_trace(
            go.Bar(
                x=months,
                y=sign * summary[column].fillna(0),
                name=name,
                marker={"color": color, "opacity": opacity},
                customdata=list(zip(summary[column], suffix, strict=True)),
                hovertemplate=name + " %{customdata[0]:,.0f}<extra>%{x|%b %Y} %{customdata[1]}</extra>",
            ),
            row=1,
            col=1,
        )
    if is_partial.any():
        figure.add_annotation(
            x=months[is_partial].iloc[0],
            y=1.0,
            yref="y domain",
            text="month to date",
            showarrow=False,
            font={"size": 10, "color": MUTED},
            row=1,
            col=1,
        )
    for column, name, color in (("nrr", "NRR", "#2b6cb0"), ("grr", "GRR", "#718096")):
        figure.add_trace(
            go.Scatter(
                x=months,
                y=summary[column],
                name=name,
                mode="lines+markers",
                line={"color": color, "width": 2},
                hovertemplate=name + " %{y:.1%}<extra>%{x|%b %Y}</extra>",
            ),
            row=2,
            col=1,
        )
    figure.update_yaxes(title_text="MRR movement", row=1, col=1)
    figure.update_yaxes(title_text="retention", tickformat=".0%", row=2, col=1)
    figure.update_xaxes(dtick="M1", tickformat="%b %Y", row=2, col=1)
    return _layout(figure, 500, barmode="relative")


def _small(figure: go.Figure, title: str, **axes: object) -> go.Figure:
    return _layout(
        figure,
        250,
        title={"text": title, "font": {"size": 13}, "x": 0.02, "y": 0.97},
        margin={"l": 45, "r": 10, "t": 36, "b": 30},
        showlegend=False,
        **axes,
    )


def account_activity(weekly: pd.DataFrame) -> go.Figure | None:
    """Weekly active users against the account's own baseline; weeks below it in red."""
    if weekly.empty:
        return None
    below = weekly["is_below_baseline"].fillna(False).astype(bool)
    figure = go.Figure()
    figure.add_trace(
        go.Bar(
            x=weekly["week_start"],
            y=weekly["active_users"],
            name="active users",
            marker_color=["#e53e3e" if flag else "#90cdf4" for flag in below],
            hovertemplate="week of %{x|%d %b}: %{y} active users<extra></extra>",
        )
    )
    figure.add_trace(
        go.Scatter(
            x=weekly["week_start"],
            y=weekly["baseline_active_users"],
            name="baseline",
            mode="lines",
            line={"color": INK, "dash": "dot", "width": 2},
            hovertemplate="baseline %{y:.1f}<extra></extra>",
        )
    )
    return _small(figure, "Weekly active users vs own baseline", bargap=0.15)


def account_adoption(adoption: pd.DataFrame, feature_names: dict[str, str]) -> go.Figure | None:
    """Monthly adoption rate of each core feature: complete months joined by a line; the current,
    partial month (is_complete_month false) a hollow marker apart, labelled month to date, so that its
    lower-by-construction rate never reads as a drop."""
    if adoption.empty:
        return None
    complete = (
        adoption["is_complete_month"].fillna(True).astype(bool)
        if "is_complete_month" in adoption
        else pd.Series(True, index=adoption.index)
    )
    figure = go.Figure()
    for position, (feature, rows) in enumerate(adoption.groupby("feature_id", sort=True)):
        name = label(feature_names.get(feature, feature))
        color = FEATURE_COLORS[position % len(FEATURE_COLORS)]
        done = rows[complete.loc[rows.index]]
        partial = rows[~complete.loc[rows.index]]
        figure.add_trace(
            go.Scatter(
                x=done["month_start"],
                y=done["adoption_rate"],
                name=name,
                legendgroup=name,
                mode="lines+markers",
                line={"color": color, "width": 2},
                hovertemplate=name + " %{y:.0%}<extra>%{x|%b %Y}</extra>",
            )
        )
        if not partial.empty:
            figure.add_trace(
                go.Scatter(
                    x=partial["month_start"],
                    y=partial["adoption_rate"],
                    name=name + " (month to date)",
                    legendgroup=name,
                    showlegend=False,
                    mode="markers",
                    marker={"color": color, "symbol": "circle-open", "size": 9, "line": {"width": 2}},
                    hovertemplate=name + " %{y:.0%} month to date<extra>%{x|%b %Y}</extra>",
                )
            )
    figure = _small(
        figure, "Monthly adoption rate per core feature", yaxis={"tickformat": ".0%", "range": [0, 1.02]}
    )
    figure.update_layout(showlegend=True, legend={"orientation": "h", "y": -0.2, "font": {"size": 10}})
    figure.update_layout(height=290, margin={"b": 60})
    return figure


def account_mrr(mrr: pd.DataFrame) -> go.Figure | None:
    """Month-end MRR of the account."""
    if mrr.empty:
        return None
    figure = go.Figure(
        go.Scatter(
            x=mrr["month_start"],
            y=mrr["mrr"],
            mode="lines+markers",
            line={"shape": "hv", "color": "#2f855a", "width": 2},
            fill="tozeroy",
            fillcolor="rgba(47, 133, 90, 0.12)",
            customdata=mrr["movement_type"].map(label),
            hovertemplate="MRR %{y:,.2f} (%{customdata})<extra>%{x|%b %Y}</extra>",
        )
    )
    return _small(figure, "MRR by month", yaxis={"rangemode": "tozero"})
