"""The revenue models against the demo generator's ground truth.

The generator plays every subscription out as Stripe would and writes, beside the data, the MRR it
intended per account and month (`expected_mrr` in the manifest). Built from the raw tables alone,
fct_account_mrr_monthly must give the same numbers to the cent, on DuckDB and on PostgreSQL.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import pg_params, run_dbt

from accountpulse.generator import GeneratorConfig, generate
from accountpulse.generator.config import REFERENCE_END_DATE

SELECT = ["+fct_mrr_summary_monthly", "+int_account_revenue_current"]
SMALL = {"accounts": 40, "days": 200, "scale": 0.1, "end_date": REFERENCE_END_DATE, "progress": False}
MONTHLY_SQL = "select account_id, month_start, mrr from marts.fct_account_mrr_monthly"
CURRENT_SQL = "select account_id, current_mrr from intermediate.int_account_revenue_current"


def _expected(manifest_path: Path) -> dict[tuple[str, str], Decimal]:
    manifest: dict[str, Any] = json.loads(manifest_path.read_text())
    rows = manifest["expected_mrr"]
    assert rows, "the generator planted no revenue"
    return {
        (row["account_id"], row["month_start"]): Decimal(str(row["mrr"])).quantize(Decimal("0.01"))
        for row in rows
    }


def _compare(expected: dict[tuple[str, str], Decimal], monthly: list[tuple], current: list[tuple]) -> None:
    got = {(account, str(month)): Decimal(mrr).quantize(Decimal("0.01")) for account, month, mrr in monthly}
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    wrong = sorted(
        (key, expected[key], got[key]) for key in set(expected) & set(got) if expected[key] != got[key]
    )
    assert not missing and not extra and not wrong, {
        "missing": missing[:10],
        "extra": extra[:10],
        "wrong (key, expected, got)": wrong[:10],
    }
    # the as-of month's MRR is the current MRR of every account with a paid history
    last_month = max(month for _, month in expected)
    current_mrr = {account: Decimal(mrr).quantize(Decimal("0.01")) for account, mrr in current}
    for (account, month), mrr in expected.items():
        if month == last_month:
            assert current_mrr[account] == mrr, account


@pytest.mark.slow
def test_mrr_matches_generator_ground_truth_duckdb(tmp_path: Path) -> None:
    db = tmp_path / "demo.duckdb"
    result = generate(GeneratorConfig(duckdb_path=db, **SMALL))
    run_dbt(
        ["build", "--select", *SELECT, "--indirect-selection", "cautious"],
        target="duckdb",
        workdir=tmp_path,
        duckdb_path=db,
    )
    con = duckdb.connect(str(db), read_only=True)
    try:
        monthly = con.execute(MONTHLY_SQL).fetchall()
        current = con.execute(CURRENT_SQL).fetchall()
    finally:
        con.close()
    _compare(_expected(result.manifest_path), monthly, current)


@pytest.mark.slow
@pytest.mark.postgres
def test_mrr_matches_generator_ground_truth_postgres(
    tmp_path: Path, pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg2

    monkeypatch.setenv("PGDATABASE", pg_database)
    manifest = tmp_path / "postgres.manifest.json"
    generate(GeneratorConfig(target="postgres", manifest=manifest, **SMALL))
    run_dbt(
        ["build", "--select", *SELECT, "--indirect-selection", "cautious"],
        target="postgres",
        workdir=tmp_path,
        pg_dbname=pg_database,
    )
    conn = psycopg2.connect(**pg_params(pg_database))
    try:
        with conn.cursor() as cur:
            cur.execute(MONTHLY_SQL)
            monthly = cur.fetchall()
            cur.execute(CURRENT_SQL)
            current = cur.fetchall()
    finally:
        conn.close()
    _compare(_expected(manifest), monthly, current)
