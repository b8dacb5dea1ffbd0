"""Dagster Definitions for accountpulse: dbt assets by layer, checks, alert delivery, schedules.

`dagster dev -m accountpulse.definitions` (see `make dagster`) loads `defs`. The target
(duckdb | postgres) comes from ACCOUNTPULSE_TARGET; connection details from the same environment
variables the dbt profile reads.
"""

import os
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext
from dagster_dbt import DbtProject
from dagster_dbt.asset_utils import get_asset_check_key_for_test

from accountpulse.alerts import ALERTS_MODEL, AlertsRelation, deliver
from accountpulse.checks import freshness_check, gx_checks, source_freshness_policy
from accountpulse.dbt_layers import all_layer_assets
from accountpulse.gx_suites import plan_all
from accountpulse.manifest import build_layers, load_manifest, model_node
from accountpulse.paths import marts_duckdb_path
from accountpulse.project import dbt_project, dbt_resource, ensure_manifest
from accountpulse.publish import publish_marts, published_schemas
from accountpulse.resources import AlertSettings, BuildSettings, WarehouseResource
from accountpulse.translator import AccountpulseTranslator

BUILD_JOB = "accountpulse_build"  # everything, the full-history audits included
DAILY_JOB = "accountpulse_daily"  # everything but the full-history audits: cost follows the new day
HISTORY_AUDIT_TAG = "history_audit"  # dbt tag of the audits that read all raw history
# 06:00 UTC, when yesterday is complete in every loader: the daily job Monday to Saturday, the
# full job (audits included) on Sunday
DAILY_CRON = "0 6 * * 1-6"
WEEKLY_CRON = "0 6 * * 0"


def alert_outbox_asset(
    manifest: Mapping[str, Any], translator: AccountpulseTranslator
) -> dg.AssetsDefinition:
    model = model_node(manifest, ALERTS_MODEL)
    relation = AlertsRelation(model["schema"], model.get("alias") or model["name"]) if model else None
    deps = [translator.get_asset_key(model)] if model else []

    @dg.asset(
        name="alert_outbox",
        group_name="alerts",
        deps=deps,
        kinds={"python"},
        description=(
            "New open alerts from account_alerts, appended to the outbox (JSON lines) and POSTed to "
            "ACCOUNTPULSE_ALERT_WEBHOOK when set; a ledger keyed by alert_id prevents re-sending."
        ),
    )
    def alert_outbox(
        context: AssetExecutionContext, warehouse: WarehouseResource, alert_settings: AlertSettings
    ) -> dg.MaterializeResult:
        report = deliver(
            warehouse.get(),
            relation,
            webhook_url=alert_settings.resolved_webhook(),
            max_attempts=alert_settings.max_attempts,
            backoff_seconds=alert_settings.backoff_seconds,
            timeout_seconds=alert_settings.timeout_seconds,
        )
        context.log.info(report.summary())
        metadata = {
            "summary": report.summary(),
            "mart_found": report.mart_found,
            "open_alerts": report.open_alerts,
            "new_alerts": report.new_alerts,
            "written_to_outbox": report.outboxed,
            "posted_to_webhook": report.posted,
            "failed_deliveries": len(report.failed),
            "outbox": dg.MetadataValue.path(report.outbox_path),
            "webhook": report.webhook or "not set",
        }
        if report.failed:
            raise dg.Failure(
                description=f"{len(report.failed)} alerts could not be posted to {report.webhook}; "
                "they stay in the ledger as undelivered and are retried on the next run",
                metadata=metadata,
            )
        return dg.MaterializeResult(metadata=metadata)

    return alert_outbox


PUBLISH_ASSET = "published_marts"


def publish_asset(manifest: Mapping[str, Any], upstream: list[dg.AssetKey]) -> dg.AssetsDefinition:
    """DuckDB only: the last step. Runs only when every dbt layer and every blocking check upstream
    succeeded (Dagster skips it otherwise), then replaces the readers' file in one rename."""
    schemas = published_schemas(manifest)

    @dg.asset(
        name=PUBLISH_ASSET,
        group_name="publish",
        deps=upstream,
        kinds={"duckdb"},
        description=(
            f"The schemas readers use ({', '.join(schemas)}) copied from the working DuckDB file into "
            "the file the report, `accountpulse alerts`, BI tools and the DuckDB CLI open "
            "(ACCOUNTPULSE_MARTS_DUCKDB_PATH, default data/accountpulse_marts.duckdb), swapped in "
            "atomically after every check passed: readers never lock the file a build writes."
        ),
    )
    def published_marts(context: AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        working = warehouse.get().duckdb_file
        assert working is not None
        published = publish_marts(working, marts_duckdb_path(), schemas)
        context.log.info(published.summary())
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(published.path)),
                "tables": len(published.tables),
                "rows": sum(published.tables.values()),
                "schemas": ", ".join(schemas),
            }
        )

    return published_marts


def source_specs(manifest: Mapping[str, Any], project: Any, translator: AccountpulseTranslator) -> list[Any]:
    """The raw tables as external assets, grouped by source (`raw_segment`, `raw_stripe`), each with
    its dbt freshness rule as a Dagster FreshnessPolicy (Dagster's freshness state for the source)."""
    return [
        dg.AssetSpec(
            key=spec.key,
            group_name=spec.group_name,
            description=spec.description,
            kinds={"dbt_source"},
            freshness_policy=source_freshness_policy(manifest["sources"][uid]),
        )
        for uid, spec in (
            (uid, translator.get_asset_spec(manifest, uid, project)) for uid in sorted(manifest["sources"])
        )
    ]


def build_run_config(as_of_date: str | None = None, full_refresh: bool = False) -> dict[str, Any]:
    config: dict[str, Any] = {"full_refresh": full_refresh}
    if as_of_date:
        config["as_of_date"] = as_of_date
    return {"resources": {"build_settings": {"config": config}}}


def as_of_schedule(job: Any, name: str, cron: str) -> dg.ScheduleDefinition:
    @dg.schedule(job=job, cron_schedule=cron, execution_timezone="UTC", name=name)
    def _schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        """Builds as of the previous (complete) UTC day."""
        as_of = (context.scheduled_execution_time - timedelta(days=1)).date().isoformat()
        return dg.RunRequest(
            run_key=f"as_of_{as_of}", run_config=build_run_config(as_of), tags={"as_of_date": as_of}
        )

    return _schedule


def history_audit_check_keys(
    manifest: Mapping[str, Any], translator: AccountpulseTranslator, project: DbtProject
) -> list[dg.AssetCheckKey]:
    """The checks of dbt tests tagged history_audit (the whole-table unique tests of the event tables)."""
    keys = (
        get_asset_check_key_for_test(manifest, translator, unique_id, project)
        for unique_id, props in manifest["nodes"].items()
        if props["resource_type"] == "test" and HISTORY_AUDIT_TAG in props["config"].get("tags", [])
    )
    return sorted((key for key in keys if key is not None), key=lambda key: key.to_user_string())


def daily_selection(audit_checks: list[dg.AssetCheckKey]) -> dg.AssetSelection:
    """Every asset and check except the full-history audits (dbt tag history_audit) and their checks,
    and the checks of tests with that tag (`audit_checks`), as the dbt selector `daily` does."""
    # an asset selection carries its assets' checks: subtracting the audits drops theirs too
    return (
        full_selection()
        - dg.AssetSelection.tag(HISTORY_AUDIT_TAG, "")
        - dg.AssetSelection.checks(*audit_checks)
    )


def full_selection() -> dg.AssetSelection:
    """Every asset and every check (the source freshness checks sit on external assets)."""
    return dg.AssetSelection.all() | dg.AssetSelection.all_asset_checks()


def build_definitions(target: str | None = None, *, refresh_manifest: bool = False) -> dg.Definitions:
    target = target or os.environ.get("ACCOUNTPULSE_TARGET", "duckdb")
    manifest = load_manifest(ensure_manifest(target, refresh=refresh_manifest))
    project = dbt_project(target)
    translator = AccountpulseTranslator()

    dbt_assets: list[dg.AssetsDefinition] = all_layer_assets(
        manifest, project, translator, build_layers(manifest)
    )
    assets: list[Any] = list(dbt_assets)
    if target == "duckdb":
        assets.append(publish_asset(manifest, [key for layer in dbt_assets for key in layer.keys]))
    assets += source_specs(manifest, project, translator)
    assets.append(alert_outbox_asset(manifest, translator))
    checks: list[Any] = gx_checks(plan_all(manifest), manifest, translator)
    freshness = freshness_check(manifest, translator)
    if freshness is not None:
        checks.append(freshness)

    job = dg.define_asset_job(
        BUILD_JOB,
        selection=full_selection(),
        description=(
            "Seeds, models and tests layer by layer, GX guards between layers, alert delivery; on "
            "DuckDB the marts are then published to the readers' file."
        ),
    )
    daily_job = dg.define_asset_job(
        DAILY_JOB,
        selection=daily_selection(history_audit_check_keys(manifest, translator, project)),
        description=(
            f"{BUILD_JOB} without what reads all raw history (dbt tag {HISTORY_AUDIT_TAG}: two audits "
            "and the whole-table unique tests of the event tables): the weekly full build runs those."
        ),
    )
    return dg.Definitions(
        assets=assets,
        asset_checks=checks,
        jobs=[job, daily_job],
        schedules=[
            as_of_schedule(daily_job, "daily_build", DAILY_CRON),
            as_of_schedule(job, "weekly_build", WEEKLY_CRON),
        ],
        resources={
            "dbt": dbt_resource(project),
            "build_settings": BuildSettings(),
            "warehouse": WarehouseResource(target=target),
            "alert_settings": AlertSettings(),
        },
        # DuckDB allows one writer: steps run one after another in the run's process.
        executor=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    """Loaded lazily by `dagster dev` / `dagster-webserver -m accountpulse.definitions`."""
    return build_definitions()
