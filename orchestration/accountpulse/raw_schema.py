"""The raw warehouse layout accountpulse reads: Segment and Stripe tables as their loaders land them.

The contract itself is the sources YAML (``models/staging/*/_*__sources.yml``): each column's
``data_type`` and ``config.meta`` (``required``, ``alternatives``), each table's ``config.meta.required``.
dbt's ``raw_table`` macro reads it there; this module reads the same files for Python, so the
generator creates tables from it, tests drop columns from it and lint builds an empty warehouse from
it. Types are portable SQL type names understood by DuckDB and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from accountpulse.paths import PROJECT_DIR


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str
    required: bool = True
    alternatives: tuple[str, ...] = ()


@dataclass(frozen=True)
class RawTable:
    schema_key: str  # "segment" or "stripe": resolved through the segment_schema/stripe_schema vars
    name: str
    columns: tuple[Column, ...]
    required: bool = True  # False: the table may be absent (it then reads as no rows)

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]


TS = "timestamp"
TXT = "varchar"
BIG = "bigint"
BOOL = "boolean"
DBL = "double precision"
_TYPES = (TS, TXT, BIG, BOOL, DBL)

# The sources YAML of each loader: the contract itself (see the comment at the top of each file).
SOURCES_FILES = {
    "segment": PROJECT_DIR / "models" / "staging" / "segment" / "_segment__sources.yml",
    "stripe": PROJECT_DIR / "models" / "staging" / "stripe" / "_stripe__sources.yml",
}


def _meta(node: dict) -> dict:
    return (node.get("config") or {}).get("meta") or node.get("meta") or {}


def _load(schema_key: str) -> tuple[RawTable, ...]:
    path = SOURCES_FILES[schema_key]
    document = yaml.safe_load(path.read_text())
    (source,) = [s for s in document["sources"] if s["name"] == schema_key]
    tables = []
    for node in source["tables"]:
        columns = []
        for column in node.get("columns", []):
            sql_type = column.get("data_type")
            if sql_type not in _TYPES:
                where = f"{path}: {node['name']}.{column['name']}"
                raise ValueError(f"{where} has data_type {sql_type!r}; use one of {_TYPES}")
            meta = _meta(column)
            columns.append(
                Column(
                    column["name"],
                    sql_type,
                    required=bool(meta.get("required", False)),
                    alternatives=tuple(meta.get("alternatives", ())),
                )
            )
        required = bool(_meta(node).get("required", True))
        tables.append(RawTable(schema_key, node["name"], tuple(columns), required=required))
    return tuple(tables)


SEGMENT_TABLES: tuple[RawTable, ...] = _load("segment")
STRIPE_TABLES: tuple[RawTable, ...] = _load("stripe")

RAW_TABLES: tuple[RawTable, ...] = SEGMENT_TABLES + STRIPE_TABLES


def table(schema_key: str, name: str) -> RawTable:
    for raw in RAW_TABLES:
        if raw.schema_key == schema_key and raw.name == name:
            return raw
    raise KeyError(f"unknown raw table {schema_key}.{name}")


def create_table_sql(raw: RawTable, schema_name: str | None = None) -> str:
    """`create table` for one raw table, with every column quoted (timestamp/end are reserved)."""
    columns = ", ".join(f'"{column.name}" {column.sql_type}' for column in raw.columns)
    return f'create table if not exists "{schema_name or raw.schema_key}"."{raw.name}" ({columns})'


def create_empty_duckdb(path: str) -> None:
    """Create every raw table (empty, if missing) in a DuckDB file: a fresh install's warehouse."""
    import duckdb

    con = duckdb.connect(path)
    try:
        for raw in RAW_TABLES:
            con.execute(f'create schema if not exists "{raw.schema_key}"')
            con.execute(create_table_sql(raw))
    finally:
        con.close()


if __name__ == "__main__":
    import sys

    if len(sys.argv) != 2:
        sys.exit("usage: python -m accountpulse.raw_schema <duckdb file>  (creates the raw tables, empty)")
    create_empty_duckdb(sys.argv[1])
