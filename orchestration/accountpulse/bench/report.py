"""The markdown section a benchmark run appends to docs/BENCHMARKS.md: the machine, one row per
measured step, and the targets of issue #9 met or missed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MB_PER_GB = 1024


@dataclass(frozen=True)
class Target:
    engine: str
    scale: str
    label: str
    limit: float
    unit: str


TARGETS = (
    Target("duckdb", "10m", "full build wall time", 60, "s"),
    Target("duckdb", "10m", "full build ÷ floor query", 10, "×"),
    Target("duckdb", "10m", "incremental build ÷ full build", 0.10, "ratio"),
    Target("duckdb", "10m", "peak memory (any step)", 4 * MB_PER_GB, "MB"),
    Target("duckdb", "100m", "full build wall time", 15 * 60, "s"),
    Target("duckdb", "100m", "peak memory (any step)", 12 * MB_PER_GB, "MB"),
    Target("postgres", "1m", "full build wall time", 3 * 60, "s"),
)


def _step(run: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((step for step in run["steps"] if step["step"] == name), None)


def measured_value(run: dict[str, Any], label: str) -> float | None:
    full = _step(run, "full build")
    if label == "full build wall time":
        return full["seconds"] if full and full["returncode"] == 0 else None
    if label == "full build ÷ floor query":
        floor = run.get("floor") or {}
        if full and floor.get("query_seconds"):
            return full["seconds"] / floor["query_seconds"]
        return None
    if label == "incremental build ÷ full build":
        incremental = _step(run, "incremental build")
        if full and incremental and full["seconds"]:
            return incremental["seconds"] / full["seconds"]
        return None
    if label == "peak memory (any step)":
        peaks = [step["peak_rss_mb"] for step in run["steps"]]
        return max(peaks) if peaks else None
    raise ValueError(label)


def target_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for target in TARGETS:
        run = next(
            (
                r
                for r in results["runs"]
                if r["engine"] == target.engine and r["scale"]["name"] == target.scale
            ),
            None,
        )
        if run is None:
            continue
        value = measured_value(run, target.label)
        if value is None and run.get("full_build_only"):
            continue  # the step was not run (--full-build-only), not missed
        rows.append(
            {
                "engine": target.engine,
                "scale": target.scale,
                "target": target.label,
                "limit": target.limit,
                "unit": target.unit,
                "measured": value,
                "met": value is not None and value <= target.limit,
            }
        )
    for run in results["runs"]:
        equality = run.get("incremental_equals_full_refresh")
        if equality is None and run.get("full_build_only"):
            continue
        if equality is not None:
            equal = sum(1 for relation in equality["relations"] if relation["ok"])
            equality_text = f"{equal}/{len(equality['relations'])} relations"
        rows.append(
            {
                "engine": run["engine"],
                "scale": run["scale"]["name"],
                "target": "incremental result equals full refresh",
                "limit": None,
                "unit": "",
                "measured": None if equality is None else equality_text,
                "met": bool(equality and equality["ok"]),
            }
        )
    return rows


def _format(value: Any, unit: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if unit == "s":
        return f"{value:,.1f} s"
    if unit == "MB":
        return f"{value / MB_PER_GB:,.2f} GB"
    if unit == "×":
        return f"{value:,.1f}×"
    if unit == "ratio":
        return f"{100 * value:,.1f}%"
    return str(value)


def _node_time_line(run: dict[str, Any], name: str, slowest: int = 6) -> str | None:
    """Where a dbt step's time went, from its run_results.json: node time by kind, the slowest nodes."""
    step = _step(run, name)
    summary = (step or {}).get("dbt") or {}
    if not summary.get("seconds_by_kind"):
        return None
    kinds = ", ".join(
        f"{kind}s {seconds:,.1f} s" for kind, seconds in summary["seconds_by_kind"].items() if seconds >= 0.05
    )
    nodes = ", ".join(
        f"{entry['node'].split('.')[2]} {entry['seconds']:.2f} s"  # resource.package.name[.hash]
        for entry in summary.get("slowest", [])[:slowest]
    )
    return (
        f"{name.capitalize()} ({run['engine']} {run['scale']['name']}), from dbt's run_results.json: "
        f"dbt elapsed {summary.get('elapsed_seconds', 0):,.1f} s of {step['seconds']:,.1f} s wall; node time "
        f"{kinds}; slowest nodes: {nodes}."
    )


def markdown(results: dict[str, Any], title: str | None = None) -> str:
    machine = results["machine"]
    versions = machine.get("versions", {})
    lines = [
        f"## {title or 'Run of ' + results['started_at']}",
        "",
        f"Machine: {machine['cores']} cores ({machine.get('cpu_model') or 'unknown CPU'}), "
        f"{machine['memory_gb']} GB memory, {machine.get('system', '')}; "
        f"DuckDB {versions.get('duckdb', '?')}, dbt-core {versions.get('dbt-core', '?')}. "
        f"Commit {results['git_commit']}; DuckDB threads {results['options']['duckdb_threads']}, "
        f"memory limit {results['options']['duckdb_memory_limit']}. Started {results['started_at']}.",
        "",
        "| engine | scale | events | step | wall | peak RSS (tree) | rows/s | load 1 min (before → after) |",
        "|---|---|---:|---|---:|---:|---:|---|",
    ]
    for run in results["runs"]:
        for step in run["steps"]:
            if step["step"] == "parse":
                continue
            ok = "" if step["returncode"] == 0 else " **failed**"
            rows_per_second = step.get("rows_per_second")
            server = step.get("server_peak_rss_mb")
            peak = f"{step['peak_rss_mb']:,.0f} MB" + (f" (+{server:,.0f} MB server)" if server else "")
            lines.append(
                f"| {run['engine']} | {run['scale']['name']} | {run['events']:,} | {step['step']}{ok} "
                f"| {step['seconds']:,.1f} s | {peak} "
                f"| {'—' if rows_per_second is None else f'{rows_per_second:,}'} "
                f"| {step['load_before'][0]:.1f} → {step['load_after'][0]:.1f} |"
            )
    lines += [
        "",
        "rows/s: raw track + page rows in the warehouse ÷ wall time (for the incremental build: the rows "
        "the appended day added; for generation: every raw row written).",
        "",
    ]
    for run in results["runs"]:
        line = _node_time_line(run, "incremental build")
        if line:
            lines += [line, ""]
    floors = [run for run in results["runs"] if run.get("floor") and "query_seconds" in run["floor"]]
    for run in floors:
        floor = run["floor"]
        full = _step(run, "full build")
        ratio = (
            f"{full['seconds'] / floor['query_seconds']:,.1f}×" if full and floor["query_seconds"] else "—"
        )
        lines.append(
            f"Floor ({run['scale']['name']}): {floor['query_seconds']:.2f} s for {floor['rows']:,} "
            f"account × feature × month rows ({floor['adopting_users']:,} adopting users; the mart has "
            f"{floor.get('mart_adopting_users') or 0:,}); full build ÷ floor = {ratio}."
        )
    if floors:
        lines.append("")
    lines += ["| engine | scale | target | limit | measured | met |", "|---|---|---|---:|---:|---|"]
    for row in target_rows(results):
        lines.append(
            f"| {row['engine']} | {row['scale']} | {row['target']} | {_format(row['limit'], row['unit'])} "
            f"| {_format(row['measured'], row['unit'])} | {'yes' if row['met'] else '**no**'} |"
        )
    errors = [run for run in results["runs"] if run.get("error")]
    for run in errors:
        lines.append(f"\n{run['engine']} {run['scale']['name']} stopped: {run['error']}")
    return "\n".join(lines) + "\n"
