"""The dbt models as Dagster assets: `@dbt_assets` over the manifest, one step per build layer.

A layer holds the models that sit behind the same number of guarded models (see manifest.py).
Great Expectations checks on a layer's marts are blocking asset checks, and the next layer's step
depends on them: when an error-severity check fails, Dagster skips every later layer instead of
building models on top of bad data. dbt tests run inside each step (`dbt build`) and surface as
asset checks; dbt itself skips what is downstream of a failed test.
"""

import json
import os
import re
import shutil
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets

from accountpulse.lineage import ParentRun, emit_dbt_invocation, lineage_enabled
from accountpulse.manifest import Layer
from accountpulse.paths import dbt_target_path
from accountpulse.resources import BuildSettings
from accountpulse.translator import AccountpulseTranslator

PARTIAL_PARSE_FILE = "partial_parse.msgpack"


def invocation_target_path(context: Any, label: str) -> Path:
    """One artifact folder per dbt invocation, under the project's target folder.

    It starts with the partial-parse state of the last `dbt parse`, so dbt re-parses only what
    changed since (everything, when the run's vars differ).
    """
    path = dbt_target_path() / "runs" / f"{context.run.run_id[:8]}-{label}"
    path.mkdir(parents=True, exist_ok=True)
    parsed = dbt_target_path() / PARTIAL_PARSE_FILE
    if parsed.exists() and not (path / PARTIAL_PARSE_FILE).exists():
        shutil.copyfile(parsed, path / PARTIAL_PARSE_FILE)
    return path


# dbt's header lines around the message that names the problem
_DBT_HEADERS = (
    re.compile(r"^Encountered an error:?$"),
    re.compile(r"^(?:Compilation|Database|Runtime|Parsing|Dependency|Internal|Unhandled) Error$"),
    re.compile(r"^(?:Compilation|Database|Runtime|Parsing) Error in \w+ \S+(?: \(.*\))?:?$"),
)
FAILED_STATUSES = ("error", "fail", "runtime error")


def _message_lines(text: str) -> list[str]:
    lines = (line.strip() for line in str(text).splitlines())
    return [line for line in lines if line and not any(header.match(line) for header in _DBT_HEADERS)]


def _node_label(unique_id: str) -> str:
    """`model.accountpulse.dim_accounts` -> `model dim_accounts`."""
    parts = unique_id.split(".")
    return f"{parts[0]} {parts[-1]}" if len(parts) >= 3 else unique_id


def dbt_failure_cause(target_path: Path, error_messages: Sequence[str] = ()) -> str:
    """One line: the first failing dbt node and the first line of its message (run_results.json),
    else the first error dbt logged (e.g. a database it could not open)."""
    try:
        results = json.loads((target_path / "run_results.json").read_text())["results"]
    except (OSError, ValueError, KeyError, TypeError):
        results = []
    failed = [result for result in results if result.get("status") in FAILED_STATUSES]
    if failed:
        first = failed[0]
        lines = _message_lines(first.get("message") or "")
        cause = f"{_node_label(first['unique_id'])}: {lines[0] if lines else first['status']}"
        if len(failed) > 1:
            others = ", ".join(_node_label(result["unique_id"]) for result in failed[1:4])
            more = ", …" if len(failed) > 4 else ""
            cause += f" (also failed: {others}{more})"
        return cause[:400]
    lines = [line for message in error_messages for line in _message_lines(message)]
    return (lines[0] if lines else "dbt failed without a message (see dbt.log)")[:400]


def emit_lineage(context: Any, dbt: DbtCliResource, target_path: Path, step: str, succeeded: bool) -> None:
    """OpenLineage events for this step's dbt invocation when lineage is configured (accountpulse.lineage).
    Lineage is an observer: a failure to emit is logged as a warning and never fails the build."""
    if not lineage_enabled():
        return
    try:
        count = emit_dbt_invocation(
            target_path,
            target=dbt.target or os.environ.get("ACCOUNTPULSE_TARGET", "duckdb"),
            step=step,
            parent=ParentRun(job_name=context.run.job_name, run_id=context.run.run_id),
            succeeded=succeeded,
        )
        context.log.info(f"{step}: {count} OpenLineage events emitted")
    except Exception as error:  # noqa: BLE001 - lineage must never break a build
        context.log.warning(f"{step}: OpenLineage events not emitted: {type(error).__name__}: {error}")


def layer_assets(
    manifest: Mapping[str, Any],
    project: DbtProject,
    translator: AccountpulseTranslator,
    layer: Layer,
) -> dg.AssetsDefinition:
    name = f"dbt_layer_{layer.number}"

    @dbt_assets(
        manifest=manifest,
        project=project,
        dagster_dbt_translator=translator,
        select=layer.select,
        exclude=layer.exclude or None,
        name=name,
    )
    def _layer(
        context: AssetExecutionContext, dbt: DbtCliResource, build_settings: BuildSettings
    ) -> Iterator[Any]:
        target_path = invocation_target_path(context, name)
        invocation = dbt.cli(
            ["build", *build_settings.dbt_args()],
            context=context,
            target_path=target_path,
            raise_on_error=False,
        )
        yield from invocation.stream()
        emit_lineage(context, dbt, target_path, name, invocation.is_successful())
        if not invocation.is_successful():
            # the step's failure names the failing node and dbt's message, not only "dbt failed"
            raise dg.Failure(
                description=dbt_failure_cause(target_path, getattr(invocation, "_error_messages", ())),
                metadata={"dbt_log": dg.MetadataValue.path(str(target_path / "dbt.log"))},
            )

    return _layer


def all_layer_assets(
    manifest: Mapping[str, Any],
    project: DbtProject,
    translator: AccountpulseTranslator,
    layers: Sequence[Layer],
) -> list[dg.AssetsDefinition]:
    return [layer_assets(manifest, project, translator, layer) for layer in layers]
