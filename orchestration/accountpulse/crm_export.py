"""`accountpulse export crm`: the rpt_crm_account_signals mart as a CSV or JSON-lines file for a CRM
import, optionally only the accounts whose signals changed on or after a date."""

from __future__ import annotations

import csv
import io
import json
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from accountpulse.errors import UserError
from accountpulse.warehouse import Warehouse

CRM_MODEL = "rpt_crm_account_signals"  # the mart the exposure crm_account_signals documents
FORMATS = ("csv", "jsonl")


@dataclass(frozen=True)
class Relation:
    schema: str
    table: str


def parse_changed_since(value: str | None) -> date | None:
    """--changed-since as a date; anything but YYYY-MM-DD is a UserError naming the flag."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise UserError(f"--changed-since must be a date YYYY-MM-DD, got {value!r}") from None


def crm_relation(target: str) -> Relation | None:
    from accountpulse.manifest import load_manifest, model_node
    from accountpulse.project import ensure_manifest

    props = model_node(load_manifest(ensure_manifest(target)), CRM_MODEL)
    return Relation(props["schema"], props.get("alias") or props["name"]) if props else None


def read_signals(warehouse: Warehouse, relation: Relation, changed_since: date | None) -> pd.DataFrame:
    if not warehouse.table_exists(relation.schema, relation.table):
        raise UserError(
            f"{relation.schema}.{relation.table} does not exist in {warehouse.describe()}: "
            "run `accountpulse build` first"
        )
    table = f'"{relation.schema}"."{relation.table}"'
    if changed_since is None:
        return warehouse.query(f"select * from {table} order by account_id")
    return warehouse.query(
        f"select * from {table} where signals_changed_at >= %s order by account_id", (changed_since,)
    )


def _plain(value: Any) -> Any:
    """JSON- and CSV-ready: dates as YYYY-MM-DD, decimals as numbers, missing as None."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()[:10]
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if type(value).__name__ == "Decimal":
        return float(value)
    return value


def render(frame: pd.DataFrame, fmt: str) -> str:
    records = [{key: _plain(value) for key, value in row.items()} for row in frame.to_dict("records")]
    if fmt == "jsonl":
        return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(frame.columns), lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({key: "" if value is None else value for key, value in record.items()})
    return out.getvalue()


def export_crm(target: str, fmt: str, changed_since: str | None, output: str | None) -> int:
    if fmt not in FORMATS:
        raise UserError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    since = parse_changed_since(changed_since)
    warehouse = Warehouse.for_readers(target)  # DuckDB: the published marts, never the working file
    warehouse.check_reachable()
    relation = crm_relation(target)
    if relation is None:
        raise UserError(f"the dbt project has no model {CRM_MODEL}")
    frame = read_signals(warehouse, relation, since)
    text = render(frame, fmt)
    if output:
        path = Path(output).expanduser()
        if path.parent and not path.parent.exists():
            raise UserError(f"--output: folder {path.parent} does not exist")
        path.write_text(text, encoding="utf-8")
        print(f"{len(frame)} accounts written to {path}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
