"""Run the Dagster build job in-process for a target, with a progress bar and a plain summary."""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from accountpulse.alerts import ALERTS_MODEL, AlertsRelation
from accountpulse.as_of import check_against_events, event_range, parse_as_of_date
from accountpulse.checks import FRESHNESS_CHECK
from accountpulse.errors import UserError
from accountpulse.paths import dbt_target_path
from accountpulse.warehouse import Warehouse


@dataclass
class FailedCheck:
    asset: str
    check: str
    severity: str
    failing_rows: int | None
    detail: str = ""


@dataclass
class BuildOutcome:
    success: bool
    seconds: float
    materialized: int = 0
    checks_passed: int = 0
    failed_checks: list[FailedCheck] = field(default_factory=list)
    failed_steps: dict[str, str] = field(default_factory=dict)
    skipped_steps: list[str] = field(default_factory=list)
    log_path: str = ""
    run_id: str = ""
    as_of_note: str = ""  # how many days the data lags the as-of date (accountpulse.as_of)

    @property
    def failed_guards(self) -> list[FailedCheck]:
        """Failed dbt tests and GX checks (source freshness aside)."""
        return [check for check in self.failed_checks if check.check != FRESHNESS_CHECK]

    def summary(self) -> str:
        stale = [check for check in self.failed_checks if check.check == FRESHNESS_CHECK]
        lines = [
            f"{'Build succeeded' if self.success else 'Build FAILED'} in {self.seconds:.0f}s: "
            f"{self.materialized} assets materialized, {self.checks_passed} checks passed, "
            f"{len(self.failed_guards)} failed."
        ]
        if stale:
            listed = ", ".join(f"{check.asset} ({check.detail})" for check in stale)
            lines.append(f"  source freshness (not blocking): {listed}")
        for check in self.failed_guards:
            rows = f", {check.failing_rows} failing rows" if check.failing_rows else ""
            detail = f" — {check.detail}" if check.detail else ""
            lines.append(f"  {check.severity:<5} {check.asset} · {check.check}{rows}{detail}")
        if self.skipped_steps:
            lines.append(f"  skipped (upstream failed or blocked): {', '.join(self.skipped_steps)}")
        if not self.success and self.log_path:
            lines.append(f"  dbt and Dagster output: {self.log_path}")
        # the cause last, where a reader of the output looks first: the failing node and its message
        for step, message in self.failed_steps.items():
            lines.append(f"  step {step} failed: {message}")
        if not self.success and not self.failed_steps:
            lines.append(f"  cause: {self.cause or 'the run failed with no failed step (see the output)'}")
        return "\n".join(lines)

    @property
    def cause(self) -> str:
        """The first failed step and its message, else the first failed guard (error first)."""
        for step, message in self.failed_steps.items():
            return f"step {step}: {message}"
        guards = sorted(self.failed_guards, key=lambda check: check.severity != "ERROR")
        for check in guards:
            rows = f", {check.failing_rows} failing rows" if check.failing_rows else ""
            detail = f" — {check.detail}" if check.detail else ""
            return f"{check.asset} · {check.check}{rows}{detail}"
        return ""


def preflight(warehouse: Warehouse, manifest: Mapping[str, Any]) -> None:
    """Fail fast, in one line, on what the user must fix before a build can work."""
    warehouse.check_reachable()
    wanted = sorted(
        {
            (props["schema"], props.get("identifier") or props["name"])
            for props in manifest.get("sources", {}).values()
        }
    )
    present = warehouse.tables()
    missing = [f"{schema}.{table}" for schema, table in wanted if (schema, table) not in present]
    if missing and len(missing) == len(wanted):
        raise UserError(
            f"no raw tables in {warehouse.describe()}: load them or run `accountpulse generate` first"
        )
    if missing:
        raise UserError(f"raw tables missing in {warehouse.describe()}: {', '.join(missing)}")


def parse_cli_as_of_date(as_of_date: str | None) -> date | None:
    """--as-of-date as a date (accountpulse.as_of.parse_as_of_date); a bad one is a UserError."""
    if not as_of_date:
        return None
    try:
        return parse_as_of_date(as_of_date, label="--as-of-date")
    except ValueError as error:
        raise UserError(str(error)) from None


def check_as_of_date(warehouse: Warehouse, manifest: Mapping[str, Any], as_of: date | None) -> str:
    """Before a build: an as-of date before the first raw event is a UserError; one after the last
    event returns the note saying how many days the data lags (shown after the build's summary)."""
    if as_of is None:
        return ""
    return check_against_events(as_of, event_range(warehouse, manifest))


def alerts_relation(target: str) -> AlertsRelation | None:
    from accountpulse.manifest import load_manifest, model_node
    from accountpulse.project import ensure_manifest

    props = model_node(load_manifest(ensure_manifest(target)), ALERTS_MODEL)
    return AlertsRelation(props["schema"], props.get("alias") or props["name"]) if props else None


def _first_line(text: str) -> str:
    """The first non-empty line; one that ends in ':' announces the next, which is joined to it."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    if not lines:
        return ""
    first = f"{lines[0]} {lines[1]}" if lines[0].endswith(":") and len(lines) > 1 else lines[0]
    return first[:300]


def step_failure_message(data: Any) -> str:
    """One line for a failed step: a dg.Failure's description (the dbt layers name the failing node
    and dbt's message there), else the innermost exception, without module paths."""
    user_failure = getattr(data, "user_failure_data", None)
    if user_failure is not None and user_failure.description:
        return _first_line(user_failure.description)
    error = getattr(data, "error", None)
    while error is not None and error.cause is not None:
        error = error.cause
    if error is None:
        return "failed"
    return _first_line(re.sub(r"^(?:\w+\.)+(?=\w+: )", "", error.message.strip()))


class _Progress:
    """A tqdm bar over the run's materializations and check evaluations, fed by Dagster events."""

    def __init__(self, total: int, enabled: bool) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, unit="step", desc="build", disable=not enabled, dynamic_ncols=True)

    def __call__(self, entry: Any) -> None:
        event = entry.dagster_event
        if event is None:
            return
        kind = event.event_type_value
        if kind in ("ASSET_MATERIALIZATION", "ASSET_CHECK_EVALUATION"):
            self.bar.update(1)
        elif kind == "STEP_START":
            self.bar.set_description(event.step_key)

    def close(self) -> None:
        self.bar.close()


def run_build(
    target: str,
    *,
    as_of_date: str | None = None,
    full_refresh: bool = False,
    daily: bool = False,
    progress: bool = True,
    instance: Any = None,
) -> BuildOutcome:
    """Parse the project, load the Definitions for `target`, execute the build job in this process.

    `daily` runs the daily job instead: everything but the audits that read all raw history.
    """
    import uuid

    from dagster import DagsterInstance

    from accountpulse.definitions import BUILD_JOB, DAILY_JOB, build_definitions, build_run_config
    from accountpulse.manifest import load_manifest
    from accountpulse.project import ensure_manifest

    as_of = parse_cli_as_of_date(as_of_date)
    os.environ["ACCOUNTPULSE_TARGET"] = target
    started = time.monotonic()
    warehouse = Warehouse.from_env(target)
    warehouse.check_reachable()
    manifest = load_manifest(ensure_manifest(target))
    preflight(warehouse, manifest)
    as_of_note = check_as_of_date(warehouse, manifest, as_of)
    job = build_definitions(target).resolve_job_def(DAILY_JOB if daily else BUILD_JOB)
    total = len(job.asset_layer.executable_asset_keys) + len(job.asset_layer.asset_graph.asset_check_keys)

    if instance is None:
        instance = DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else DagsterInstance.ephemeral()
    run_id = str(uuid.uuid4())
    bar = _Progress(total, progress)
    instance.add_event_listener(run_id, bar)
    log_path = dbt_target_path() / "runs" / f"{run_id[:8]}-build.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    run_config = {
        **build_run_config(as_of_date, full_refresh),
        "loggers": {"console": {"config": {"log_level": "CRITICAL"}}},
    }
    try:
        # dbt's own output goes to the log file, not over the progress bar
        with log_path.open("w") as log, contextlib.redirect_stdout(log):
            result = job.execute_in_process(
                run_config=run_config, instance=instance, raise_on_error=False, run_id=run_id
            )
    finally:
        bar.close()

    outcome = BuildOutcome(
        success=result.success,
        seconds=time.monotonic() - started,
        log_path=str(log_path),
        run_id=run_id,
        as_of_note=as_of_note,
    )
    for event in result.all_events:
        kind = event.event_type_value
        if kind == "ASSET_MATERIALIZATION":
            outcome.materialized += 1
        elif kind == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if evaluation.passed:
                outcome.checks_passed += 1
                continue
            metadata = {key: value.value for key, value in evaluation.metadata.items()}
            detail = metadata.get("error") or metadata.get("status") or ""
            if evaluation.check_name == FRESHNESS_CHECK and metadata.get("age_hours") is not None:
                detail = f"{detail}, newest row {metadata['age_hours'] / 24:.1f} days old"
            failing = metadata.get("failing_rows")
            outcome.failed_checks.append(
                FailedCheck(
                    asset=evaluation.asset_key.to_user_string(),
                    check=evaluation.check_name,
                    severity=evaluation.severity.value,
                    failing_rows=failing if isinstance(failing, int) else None,
                    detail=str(detail),
                )
            )
        elif kind == "STEP_FAILURE":
            outcome.failed_steps[event.step_key] = step_failure_message(event.event_specific_data)
    # steps that never started: skipped because an upstream step failed or a blocking check failed
    started = {event.step_key for event in result.all_events if event.event_type_value == "STEP_START"}
    outcome.skipped_steps = [
        node.name for node in result.job_def.nodes_in_topological_order if node.name not in started
    ]
    return outcome
