"""Point in time: a row of rpt_health_backtest never changes when later data arrives.

A small generated warehouse is built as of a day 45 days before its last day (so the billing and the
events after that day exist but are not yet known), the backtest rows are recorded, then 20 more days
of Segment events are appended (late arrivals and re-deliveries included) and the warehouse is built
again up to the new last day. Every row of the first build has its horizon inside what the first
build knew, so each must come back unchanged; the second build must add month ends of its own.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from conftest import run_dbt

from accountpulse.generator import GeneratorConfig, generate
from accountpulse.generator.pipeline import append_days

END = date(2026, 11, 15)
KNOWN_UNTIL = END - timedelta(days=45)
SMALL = {"accounts": 16, "days": 200, "scale": 0.1, "end_date": END, "progress": False}
SELECT = ["--select", "+rpt_health_backtest_summary"]
ROWS_SQL = "select * from marts.rpt_health_backtest order by account_id, as_of_date"


def _rows(db: Path) -> dict[tuple[str, date], dict[str, object]]:
    with duckdb.connect(str(db), read_only=True) as con:
        cursor = con.execute(ROWS_SQL)
        names = [column[0] for column in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return {(row["account_id"], row["as_of_date"]): row for row in rows}


@pytest.mark.slow
def test_backtest_rows_do_not_change_when_later_data_arrives(tmp_path: Path) -> None:
    db = tmp_path / "pit.duckdb"
    config = GeneratorConfig(duckdb_path=db, manifest=tmp_path / "pit.manifest.json", **SMALL)
    generate(config)
    run_dbt(["seed"], target="duckdb", workdir=tmp_path, duckdb_path=db)
    run_dbt(
        ["run", *SELECT, "--vars", f"{{as_of_date: '{KNOWN_UNTIL.isoformat()}'}}"],
        target="duckdb",
        workdir=tmp_path,
        duckdb_path=db,
    )
    before = _rows(db)
    assert before, "the first build backtested no month end"
    assert all(as_of + timedelta(days=90) <= KNOWN_UNTIL for _, as_of in before)
    assert {row["outcome"] for row in before.values()} - {"unchanged"}, "no outcome to protect"

    append_days(config, 20)
    run_dbt(["run", *SELECT], target="duckdb", workdir=tmp_path, duckdb_path=db)
    after = _rows(db)

    changed = {key: (row, after.get(key)) for key, row in before.items() if after.get(key) != row}
    assert not changed, dict(list(changed.items())[:5])
    assert len(after) > len(before), "later data settled no new month end"
