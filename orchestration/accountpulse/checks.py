"""Asset checks beyond dbt tests: Great Expectations guards on the marts, source freshness."""

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

import dagster as dg
from dagster import AssetCheckExecutionContext
from dagster_dbt import DbtCliResource

from accountpulse.dbt_layers import invocation_target_path
from accountpulse.gx_suites import ROW_COUNT_CHECK, GuardedModel, validate_model
from accountpulse.resources import WarehouseResource
from accountpulse.state import RowCountState
from accountpulse.translator import AccountpulseTranslator

SEVERITY = {"error": dg.AssetCheckSeverity.ERROR, "warn": dg.AssetCheckSeverity.WARN}


def _metadata(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def gx_check(model: GuardedModel, asset_key: dg.AssetKey) -> dg.AssetChecksDefinition:
    """One step per guarded model: its whole generated suite, one asset check per planned check."""
    specs = [
        dg.AssetCheckSpec(
            name=check.name,
            asset=asset_key,
            description=check.description,
            blocking=check.severity == "error",
            metadata={"gx/kind": check.kind, "gx/severity": check.severity},
        )
        for check in model.checks
    ]

    @dg.multi_asset_check(
        specs=specs,
        name=f"gx_{model.name}",
        can_subset=True,
        description=f"Great Expectations suite generated from the dbt meta of {model.name}",
    )
    def _check(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> Iterator[Any]:
        selected = {key.name for key in context.selected_asset_check_keys}
        connection = warehouse.get()
        state = RowCountState(connection.identity)
        previous = state.previous(model.relation)
        outcomes, row_count = validate_model(connection, model, previous, selected)
        for outcome in outcomes:
            if outcome.name == ROW_COUNT_CHECK and outcome.passed and row_count is not None:
                state.record(model.relation, row_count, context.run.run_id)
            if not outcome.passed:
                context.log.warning(
                    f"{model.relation}: {outcome.name} failed ({outcome.failing_rows} failing rows)"
                )
            yield dg.AssetCheckResult(
                asset_key=asset_key,
                check_name=outcome.name,
                passed=outcome.passed,
                severity=SEVERITY[outcome.severity],
                metadata=_metadata({"failing_rows": outcome.failing_rows, **outcome.metadata}),
            )

    return _check


def gx_checks(
    models: list[GuardedModel], manifest: Mapping[str, Any], translator: AccountpulseTranslator
) -> list[dg.AssetChecksDefinition]:
    return [gx_check(model, translator.get_asset_key(manifest["nodes"][model.unique_id])) for model in models]


FRESHNESS_CHECK = "source_freshness"


def sources_with_freshness(manifest: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    def configured(props: Mapping[str, Any]) -> bool:
        criteria = props.get("freshness") or {}
        return any((criteria.get(level) or {}).get("count") for level in ("warn_after", "error_after"))

    return {uid: props for uid, props in manifest.get("sources", {}).items() if configured(props)}


# the metadata key Dagster reads for when an external asset's data last changed
LAST_UPDATED_METADATA_KEY = "dagster/last_updated_timestamp"
_PERIODS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}


def _window(criteria: Mapping[str, Any], level: str) -> timedelta | None:
    rule = criteria.get(level) or {}
    if not rule.get("count") or rule.get("period") not in _PERIODS:
        return None
    return rule["count"] * _PERIODS[rule["period"]]


def source_freshness_policy(props: Mapping[str, Any]) -> dg.FreshnessPolicy | None:
    """The dbt source's own freshness rule as a Dagster FreshnessPolicy (one rule, one declaration):
    fail after error_after, warn after warn_after; a source with only warn_after fails after it."""
    criteria = props.get("freshness") or {}
    warn, error = _window(criteria, "warn_after"), _window(criteria, "error_after")
    if error is None and warn is None:
        return None
    if error is None or (warn is not None and warn >= error):
        return dg.FreshnessPolicy.time_window(fail_window=error or warn)  # type: ignore[arg-type]
    return dg.FreshnessPolicy.time_window(fail_window=error, warn_window=warn)


def _parse_loaded_at(value: Any) -> float | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def report_source_update(
    instance: Any, key: dg.AssetKey, result: Mapping[str, Any] | None, run_id: str
) -> bool:
    """Tell Dagster a source received new data: a runless materialization of the source asset when
    dbt's freshness result is within the rule (pass or warn) and its newest loaded_at is newer than
    the last one reported. Its FreshnessPolicy (source_freshness_policy) then ages from there; a
    source that is stale, or has no new rows, is not reported, so its policy goes (or stays) failing.
    Returns whether a materialization was reported."""
    if not result or result.get("status") not in ("pass", "warn"):
        return False
    loaded_at = _parse_loaded_at(result.get("max_loaded_at"))
    if loaded_at is None:
        return False
    previous = instance.get_latest_materialization_event(key)
    if previous is not None and previous.asset_materialization is not None:
        last = previous.asset_materialization.metadata.get(LAST_UPDATED_METADATA_KEY)
        if last is not None and float(last.value) >= loaded_at:
            return False
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            asset_key=key,
            description="new rows seen by dbt source freshness",
            metadata={
                LAST_UPDATED_METADATA_KEY: dg.MetadataValue.timestamp(loaded_at),
                "max_loaded_at": str(result.get("max_loaded_at")),
                "freshness_status": str(result.get("status")),
                "seen_by_run": run_id,
            },
        )
    )
    return True


def freshness_check(
    manifest: Mapping[str, Any], translator: AccountpulseTranslator
) -> dg.AssetChecksDefinition | None:
    """`dbt source freshness`, each result reported as a (non-blocking) check on the source asset."""
    sources = sources_with_freshness(manifest)
    if not sources:
        return None
    keys = {uid: translator.get_asset_key(props) for uid, props in sources.items()}
    specs = [
        dg.AssetCheckSpec(
            name=FRESHNESS_CHECK,
            asset=key,
            description="dbt source freshness: newest loaded_at against warn_after / error_after",
        )
        for key in keys.values()
    ]

    @dg.multi_asset_check(specs=specs, name="dbt_source_freshness", can_subset=True)
    def _freshness(context: AssetCheckExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
        selected = {key.asset_key for key in context.selected_asset_check_keys}
        chosen = {uid: key for uid, key in keys.items() if key in selected}
        selection = " ".join(
            f"source:{sources[uid]['source_name']}.{sources[uid]['name']}" for uid in sorted(chosen)
        )
        invocation = dbt.cli(
            ["source", "freshness", "--select", selection],
            manifest=manifest,
            raise_on_error=False,
            target_path=invocation_target_path(context, "freshness"),
        )
        invocation.wait()
        try:
            results = {
                result["unique_id"]: result for result in invocation.get_artifact("sources.json")["results"]
            }
        except FileNotFoundError:
            results = {}
        for uid, key in chosen.items():
            result = results.get(uid)
            status = (result or {}).get("status", "not run")
            report_source_update(context.instance, key, result, context.run.run_id)
            age = (result or {}).get("max_loaded_at_time_ago_in_s")
            yield dg.AssetCheckResult(
                asset_key=key,
                check_name=FRESHNESS_CHECK,
                passed=status == "pass",
                severity=dg.AssetCheckSeverity.ERROR if status != "warn" else dg.AssetCheckSeverity.WARN,
                metadata=_metadata(
                    {
                        "status": status,
                        "max_loaded_at": (result or {}).get("max_loaded_at"),
                        "age_hours": round(age / 3600, 1) if isinstance(age, int | float) else None,
                        "criteria": (result or {}).get("criteria"),
                        "error": (result or {}).get("message") or (result or {}).get("error"),
                    }
                ),
            )

    return _freshness
