"""Great Expectations (1.x) suites that guard the metric definitions, generated from dbt `meta`.

Convention in the models' YAML (see README):

- model `meta: {gx: {grain: [cols]}}`: the grain is unique and never null;
- column `meta: {gx: {min: 0, max: 1}}`: values within bounds (either bound optional; nulls pass);
- model `meta.gx.unexpected_rows: [{name, query}]`: a row invariant; `query` selects the violating
  rows `from {batch}` (GX UnexpectedRowsExpectation); optional `severity: warn`;
- model `meta.gx.max_row_drop` (default 0.5): the row count may not fall by more than this share
  against the count at the previous passing check.

Validation uses an ephemeral GX context. PostgreSQL is read through GX's SQL datasource. DuckDB,
which has no SQLAlchemy dialect here, is read into a pandas DataFrame over a read-only connection;
for it, the two metrics behind UnexpectedRowsExpectation get a pandas implementation that runs the
query with DuckDB over that DataFrame, so the same YAML query works on both targets.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from accountpulse.manifest import guarded_models, meta
from accountpulse.warehouse import Warehouse

DEFAULT_MAX_ROW_DROP = 0.5
ROW_COUNT_CHECK = "gx_row_count_not_collapsing"


@dataclass(frozen=True)
class PlannedCheck:
    """One Dagster asset check, made of one or more expectations."""

    name: str
    description: str
    kind: str  # grain | range | unexpected_rows | row_count
    params: Mapping[str, Any] = field(default_factory=dict)
    severity: str = "error"


@dataclass(frozen=True)
class GuardedModel:
    unique_id: str
    name: str
    schema: str
    table: str
    checks: tuple[PlannedCheck, ...]
    max_row_drop: float = DEFAULT_MAX_ROW_DROP

    @property
    def relation(self) -> str:
        return f"{self.schema}.{self.table}"


def _check_name(text: str) -> str:
    return re.sub(r"[^0-9a-zA-Z_]+", "_", text).strip("_").lower()


def plan_model(props: Mapping[str, Any]) -> GuardedModel:
    gx_meta = meta(props).get("gx") or {}
    checks: list[PlannedCheck] = []
    grain = list(gx_meta.get("grain") or [])
    if grain:
        checks.append(
            PlannedCheck(
                "gx_grain_unique",
                f"One row per {' × '.join(grain)}: the grain is unique and never null.",
                "grain",
                {"columns": grain},
            )
        )
    for column_name, column in sorted(props.get("columns", {}).items()):
        bounds = meta(column).get("gx") or {}
        low, high = bounds.get("min"), bounds.get("max")
        if low is None and high is None:
            continue
        shown = f"[{'-inf' if low is None else low}, {'inf' if high is None else high}]"
        checks.append(
            PlannedCheck(
                f"gx_range_{_check_name(column_name)}",
                f"{column_name} within {shown} (nulls pass).",
                "range",
                {"column": column_name, "min": low, "max": high},
                bounds.get("severity", "error"),
            )
        )
    for invariant in gx_meta.get("unexpected_rows") or []:
        checks.append(
            PlannedCheck(
                f"gx_{_check_name(invariant['name'])}",
                invariant.get("description") or f"No row violates {invariant['name']}.",
                "unexpected_rows",
                {"query": invariant["query"]},
                invariant.get("severity", "error"),
            )
        )
    max_drop = float(gx_meta.get("max_row_drop", DEFAULT_MAX_ROW_DROP))
    checks.append(
        PlannedCheck(
            ROW_COUNT_CHECK,
            f"Row count has not fallen by more than {max_drop:.0%} since the previous passing check.",
            "row_count",
            {"max_row_drop": max_drop},
        )
    )
    return GuardedModel(
        unique_id=props["unique_id"],
        name=props["name"],
        schema=props["schema"],
        table=props.get("alias") or props["name"],
        checks=tuple(checks),
        max_row_drop=max_drop,
    )


def plan_all(manifest: Mapping[str, Any]) -> list[GuardedModel]:
    return [plan_model(props) for _, props in sorted(guarded_models(manifest).items())]


def min_rows_allowed(previous: int | None, max_row_drop: float) -> int:
    if not previous:
        return 0
    return math.ceil(previous * (1 - max_row_drop))


# ----------------------------------------------------------------------------------------------
# Great Expectations
# ----------------------------------------------------------------------------------------------


@dataclass
class CheckOutcome:
    name: str
    passed: bool
    severity: str
    failing_rows: int
    metadata: dict[str, Any]


def _expectations(check: PlannedCheck, previous_rows: int | None) -> list[Any]:
    import great_expectations.expectations as gxe

    if check.kind == "grain":
        columns = list(check.params["columns"])
        unique = (
            gxe.ExpectCompoundColumnsToBeUnique(column_list=columns)
            if len(columns) > 1
            else gxe.ExpectColumnValuesToBeUnique(column=columns[0])
        )
        return [unique, *(gxe.ExpectColumnValuesToNotBeNull(column=column) for column in columns)]
    if check.kind == "range":
        return [
            gxe.ExpectColumnValuesToBeBetween(
                column=check.params["column"], min_value=check.params["min"], max_value=check.params["max"]
            )
        ]
    if check.kind == "unexpected_rows":
        return [
            gxe.UnexpectedRowsExpectation(unexpected_rows_query=check.params["query"], description=check.name)
        ]
    if check.kind == "row_count":
        return [
            gxe.ExpectTableRowCountToBeBetween(
                min_value=min_rows_allowed(previous_rows, check.params["max_row_drop"])
            )
        ]
    raise ValueError(f"unknown check kind {check.kind}")


def _failing_rows(result: Any) -> int:
    details = result.result or {}
    if result.expectation_config.type == "unexpected_rows_expectation":
        return int(details.get("observed_value") or 0)
    if result.expectation_config.type == "expect_table_row_count_to_be_between":
        return 0
    return int(details.get("unexpected_count") or 0)


def _summary(result: Any) -> dict[str, Any]:
    details = result.result or {}
    kwargs = {
        key: value
        for key, value in result.expectation_config.kwargs.items()
        if key in ("column", "column_list", "min_value", "max_value", "unexpected_rows_query")
    }
    summary: dict[str, Any] = {
        "expectation": result.expectation_config.type,
        **kwargs,
        "success": bool(result.success),
    }
    for key in ("element_count", "unexpected_count", "unexpected_percent", "observed_value"):
        if details.get(key) is not None:
            value = details[key]
            summary[key] = round(value, 4) if isinstance(value, float) else value
    if details.get("partial_unexpected_list"):
        summary["sample_unexpected"] = [str(value) for value in details["partial_unexpected_list"][:5]]
    if result.exception_info and result.exception_info.get("raised_exception"):
        message = str(result.exception_info.get("exception_message") or "")
        summary["error"] = message.splitlines()[0][:300] if message else "exception"
    return summary


_PANDAS_METRICS_REGISTERED = False
# The DuckDB relation behind the pandas batch being validated: (file, "schema"."table").
_DUCKDB_RELATION: tuple[str, str] | None = None


def _register_pandas_unexpected_rows() -> None:
    """Give UnexpectedRowsExpectation's two metrics a pandas implementation.

    Like GX's SQL datasources, the query runs in the warehouse on the batch's own table, with
    `{batch}` standing for it — here DuckDB, read-only — so DECIMAL money compares exactly (a
    pandas copy holds floats). Without a known relation it runs on the DataFrame.
    """
    global _PANDAS_METRICS_REGISTERED
    if _PANDAS_METRICS_REGISTERED:
        return
    import duckdb
    from great_expectations.core.metric_domain_types import MetricDomainTypes
    from great_expectations.execution_engine import PandasExecutionEngine
    from great_expectations.expectations.metrics.metric_provider import metric_value
    from great_expectations.expectations.metrics.query_metrics import (
        UnexpectedRowsQueryRowCount,
        UnexpectedRowsQueryTable,
    )

    def violating_rows(cls: Any, execution_engine: Any, domain_kwargs: dict, value_kwargs: dict) -> Any:
        query = cls._get_query_from_metric_value_kwargs(value_kwargs)
        if _DUCKDB_RELATION is not None:
            path, relation = _DUCKDB_RELATION
            connection = duckdb.connect(path, read_only=True)
            batch = relation
        else:
            frame, _, _ = execution_engine.get_compute_domain(
                domain_kwargs, domain_type=MetricDomainTypes.TABLE
            )
            connection = duckdb.connect()
            connection.register("gx_batch", frame)
            batch = "gx_batch"
        try:
            return connection.execute(cls._format_query(query, batch=batch)).df()
        finally:
            connection.close()

    class PandasUnexpectedRowsQueryRowCount(UnexpectedRowsQueryRowCount):
        @metric_value(engine=PandasExecutionEngine)
        def _pandas(
            cls, execution_engine, metric_domain_kwargs, metric_value_kwargs, metrics, runtime_configuration
        ):
            return len(violating_rows(cls, execution_engine, metric_domain_kwargs, metric_value_kwargs))

    class PandasUnexpectedRowsQueryTable(UnexpectedRowsQueryTable):
        @metric_value(engine=PandasExecutionEngine)
        def _pandas(
            cls, execution_engine, metric_domain_kwargs, metric_value_kwargs, metrics, runtime_configuration
        ):
            rows = violating_rows(cls, execution_engine, metric_domain_kwargs, metric_value_kwargs)
            return rows.head(20).astype(str).to_dict("records")

    _PANDAS_METRICS_REGISTERED = True


def _context() -> Any:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def validate_model(
    warehouse: Warehouse,
    model: GuardedModel,
    previous_rows: int | None,
    check_names: set[str] | None = None,
) -> tuple[list[CheckOutcome], int | None]:
    """Validate one guarded model; returns one outcome per planned check and its row count."""
    import great_expectations as gx

    checks = [check for check in model.checks if check_names is None or check.name in check_names]
    context = _context()
    if not warehouse.table_exists(model.schema, model.table):
        missing = {"relation": model.relation, "error": "relation does not exist (model not built?)"}
        return [CheckOutcome(check.name, False, check.severity, 0, dict(missing)) for check in checks], None

    if warehouse.target == "postgres":
        source = context.data_sources.add_postgres(
            name="warehouse", connection_string=warehouse.sqlalchemy_url()
        )
        asset = source.add_table_asset(name=model.name, table_name=model.table, schema_name=model.schema)
        batch = asset.add_batch_definition_whole_table("whole_table").get_batch()
    else:
        _register_pandas_unexpected_rows()
        frame = warehouse.read_table(model.schema, model.table)
        source = context.data_sources.add_pandas(name="warehouse")
        asset = source.add_dataframe_asset(name=model.name)
        batch = asset.add_batch_definition_whole_dataframe("whole_table").get_batch(
            batch_parameters={"dataframe": frame}
        )

    suite = gx.ExpectationSuite(name=f"{model.name}_guard")
    owners: list[str] = []
    for check in checks:
        for expectation in _expectations(check, previous_rows):
            suite.add_expectation(expectation)
            owners.append(check.name)
    suite = context.suites.add(suite)
    global _DUCKDB_RELATION
    if warehouse.target == "duckdb":
        _DUCKDB_RELATION = (str(warehouse.duckdb_file), f'"{model.schema}"."{model.table}"')
    try:
        validation = batch.validate(
            suite, result_format={"result_format": "SUMMARY", "partial_unexpected_count": 5}
        )
    finally:
        _DUCKDB_RELATION = None

    by_check: dict[str, list[Any]] = {check.name: [] for check in checks}
    results = list(validation.results)
    # results follow the suite's order; match them on the expectation id to be safe
    ids = [expectation.id for expectation in suite.expectations]
    for result in results:
        index = ids.index(result.expectation_config.id)
        by_check[owners[index]].append(result)

    row_count: int | None = None
    outcomes = []
    for check in checks:
        check_results = by_check[check.name]
        summaries = [_summary(result) for result in check_results]
        metadata: dict[str, Any] = {"relation": model.relation, "expectations": summaries}
        errors = [summary["error"] for summary in summaries if "error" in summary]
        if errors:
            metadata["error"] = errors[0]
        if check.kind == "row_count" and check_results:
            observed = (check_results[0].result or {}).get("observed_value")
            row_count = None if observed is None else int(observed)
            metadata.update(
                {
                    "row_count": row_count,
                    "previous_row_count": previous_rows,
                    "min_rows_allowed": min_rows_allowed(previous_rows, check.params["max_row_drop"]),
                }
            )
        outcomes.append(
            CheckOutcome(
                name=check.name,
                passed=bool(check_results) and all(result.success for result in check_results),
                severity=check.severity,
                failing_rows=sum(_failing_rows(result) for result in check_results),
                metadata=metadata,
            )
        )
    return outcomes, row_count
