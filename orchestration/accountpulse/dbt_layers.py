"""The dbt models as Dagster assets: `@dbt_assets` over the manifest, one step per build layer.

A layer holds the models that sit behind the same number of guarded models (see manifest.py).
Great Expectations checks on a layer's marts are blocking asset checks, and the next layer's step
depends on them: when an error-severity check fails, Dagster skips every later layer instead of
building models on top of bad data. dbt tests run inside each step (`dbt build`) and surface as
asset checks; dbt itself skips what is downstream of a failed test.
"""

import shutil
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets

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
        invocation = dbt.cli(
            ["build", *build_settings.dbt_args()],
            context=context,
            target_path=invocation_target_path(context, name),
        )
        yield from invocation.stream()

    return _layer


def all_layer_assets(
    manifest: Mapping[str, Any],
    project: DbtProject,
    translator: AccountpulseTranslator,
    layers: Sequence[Layer],
) -> list[dg.AssetsDefinition]:
    return [layer_assets(manifest, project, translator, layer) for layer in layers]
