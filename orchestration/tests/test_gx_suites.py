"""Great Expectations suites generated from dbt meta, validated on small hand-made marts (DuckDB and
PostgreSQL): each kind of check passes on good rows and fails, with its failing-row count, on bad ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import pg_params, require_postgres

from accountpulse.gx_suites import ROW_COUNT_CHECK, plan_model, validate_model
from accountpulse.state import RowCountState
from accountpulse.warehouse import Warehouse

# movements reconcile exactly in DECIMAL: 0.1 + 0.2 - 0.3 style sums must not trip on floats
ROWS = [
    # account_id, month_start, previous_mrr, new_mrr, expansion_mrr, churned_mrr, mrr, adoption_rate
    ("a", "2026-01-01", "0.00", "241.92", "0.00", "0.00", "241.92", "0.5"),
    ("a", "2026-02-01", "241.92", "0.00", "4.48", "0.00", "246.40", "1.0"),
    ("b", "2026-01-01", "0.10", "0.20", "0.00", "0.00", "0.30", None),
    ("b", "2026-02-01", "0.30", "0.00", "0.00", "0.30", "0.00", "0"),
]
PROPS: dict[str, Any] = {
    "unique_id": "model.accountpulse.fct_example",
    "name": "fct_example",
    "schema": "marts",
    "alias": "fct_example",
    "meta": {
        "gx": {
            "grain": ["account_id", "month_start"],
            "unexpected_rows": [
                {
                    "name": "movements_reconcile",
                    "query": "select * from {batch} where previous_mrr + new_mrr + expansion_mrr "
                    "- churned_mrr <> mrr",
                }
            ],
        }
    },
    "columns": {
        "adoption_rate": {"meta": {"gx": {"min": 0, "max": 1}}},
        "mrr": {"meta": {"gx": {"min": 0}}},
    },
}
CREATE = (
    "create table marts.fct_example (account_id varchar, month_start date, previous_mrr decimal(18,2), "
    "new_mrr decimal(18,2), expansion_mrr decimal(18,2), churned_mrr decimal(18,2), mrr decimal(18,2), "
    "adoption_rate double precision)"
)
BREAK = [
    "update marts.fct_example set adoption_rate = 1.5 where month_start = '2026-01-01'",
    "insert into marts.fct_example select * from marts.fct_example where account_id = 'b'",
    "update marts.fct_example set mrr = mrr + 0.01 where account_id = 'a' and month_start = '2026-02-01'",
]


def _load(execute: Any) -> None:
    execute("create schema marts")
    execute(CREATE)
    for row in ROWS:
        values = ", ".join("null" if value is None else f"'{value}'" for value in row)
        execute(f"insert into marts.fct_example values ({values})")


def _outcomes(warehouse: Warehouse, previous: int | None = None) -> dict[str, Any]:
    outcomes, _ = validate_model(warehouse, plan_model(PROPS), previous)
    return {outcome.name: outcome for outcome in outcomes}


def _assert_guards(warehouse: Warehouse, execute: Any) -> None:
    good = _outcomes(warehouse)
    assert all(outcome.passed for outcome in good.values()), {
        name: outcome.metadata for name, outcome in good.items() if not outcome.passed
    }
    assert good[ROW_COUNT_CHECK].metadata["row_count"] == 4

    for statement in BREAK:
        execute(statement)
    bad = _outcomes(warehouse, previous=4)
    assert not bad["gx_range_adoption_rate"].passed and bad["gx_range_adoption_rate"].failing_rows == 3
    assert not bad["gx_grain_unique"].passed and bad["gx_grain_unique"].failing_rows >= 2
    assert not bad["gx_movements_reconcile"].passed and bad["gx_movements_reconcile"].failing_rows == 1
    assert bad["gx_range_mrr"].passed and bad[ROW_COUNT_CHECK].passed
    assert bad["gx_movements_reconcile"].metadata["expectations"][0]["observed_value"] == 1

    execute("delete from marts.fct_example where account_id = 'a'")
    collapsed = _outcomes(warehouse, previous=10)
    assert not collapsed[ROW_COUNT_CHECK].passed
    assert collapsed[ROW_COUNT_CHECK].metadata["min_rows_allowed"] == 5


def test_guards_on_duckdb(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"

    def execute(sql: str) -> None:
        with duckdb.connect(str(path)) as connection:
            connection.execute(sql)

    _load(execute)
    _assert_guards(Warehouse(target="duckdb", duckdb_file=path), execute)


@pytest.mark.postgres
def test_guards_on_postgres(pg_database: str) -> None:
    require_postgres()
    import psycopg2

    params = pg_params(pg_database)

    def execute(sql: str) -> None:
        connection = psycopg2.connect(**params)
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(sql)
        connection.close()

    _load(execute)
    warehouse = Warehouse(
        target="postgres",
        host=params["host"],
        port=int(params["port"]),
        user=params["user"],
        password=params["password"],
        dbname=pg_database,
    )
    _assert_guards(warehouse, execute)


def test_missing_relation_fails_every_check(tmp_path: Path) -> None:
    path = tmp_path / "empty.duckdb"
    duckdb.connect(str(path)).close()
    outcomes, rows = validate_model(Warehouse(target="duckdb", duckdb_file=path), plan_model(PROPS), None)
    assert rows is None and outcomes and not any(outcome.passed for outcome in outcomes)


def test_row_count_state_is_per_warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCOUNTPULSE_STATE_DIR", str(tmp_path))
    RowCountState("duckdb:/a").record("marts.x", 10, "run1")
    assert RowCountState("duckdb:/a").previous("marts.x") == 10
    assert RowCountState("postgres://b").previous("marts.x") is None
