"""Incremental == full refresh, checked on the benchmark's own data: copy every mart and every
incremental model after the incremental build, rebuild everything with --full-refresh on the same
raw data, and count the rows that are in one copy and not in the other (EXCEPT ALL both ways).

Floating-point columns are compared rounded to 9 decimals: a sum of doubles may differ in its last
bits when the engine adds in another order; `attributed_at` (the dbt run that wrote a row of the
attribution table or a user-day pre-aggregate) differs by design and is left out; anything else must
match exactly.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SNAPSHOT_SCHEMA = "bench_incremental"
FLOAT_TYPES = {"double", "float", "real", "double precision", "float4", "float8"}
FLOAT_DECIMALS = 9
RUN_BOOKKEEPING_COLUMNS = {"attributed_at"}


@dataclass(frozen=True)
class Relation:
    name: str
    schema: str
    materialized: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "schema": self.schema, "materialized": self.materialized}


def relations_to_compare(manifest_path: Path) -> list[Relation]:
    """Every model in the marts schema and every incremental model, from the dbt manifest."""
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    found = []
    for node in manifest["nodes"].values():
        if node.get("resource_type") != "model":
            continue
        materialized = node["config"].get("materialized", "")
        if materialized == "ephemeral":
            continue
        if node["schema"] == "marts" or materialized == "incremental":
            found.append(Relation(node.get("alias") or node["name"], node["schema"], materialized))
    return sorted(found, key=lambda relation: (relation.schema, relation.name))


class Connection:
    """The few statements the check needs, on DuckDB or PostgreSQL."""

    def __init__(self, engine: str, raw: Any) -> None:
        self.engine, self.raw = engine, raw

    def execute(self, sql: str) -> None:
        if self.engine == "duckdb":
            self.raw.execute(sql)
        else:
            with self.raw.cursor() as cursor:
                cursor.execute(sql)

    def rows(self, sql: str) -> list[tuple]:
        if self.engine == "duckdb":
            return self.raw.execute(sql).fetchall()
        with self.raw.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()

    def columns(self, schema: str, table: str) -> list[tuple[str, str]]:
        return [
            (str(name), str(data_type).lower())
            for name, data_type in self.rows(
                "select column_name, data_type from information_schema.columns "
                f"where table_schema = '{schema}' and table_name = '{table}' order by ordinal_position"
            )
        ]

    def comparable(self, column: str, data_type: str) -> str:
        quoted = '"' + column.replace('"', '""') + '"'
        if data_type in FLOAT_TYPES:
            if self.engine == "postgres":
                return f"round(cast({quoted} as numeric), {FLOAT_DECIMALS})"
            return f"round({quoted}, {FLOAT_DECIMALS})"
        return quoted


@contextmanager
def connect(
    engine: str, duckdb_file: Path | None = None, pg_database: str | None = None
) -> Iterator[Connection]:
    if engine == "duckdb":
        import duckdb

        raw = duckdb.connect(str(duckdb_file))
        try:
            yield Connection(engine, raw)
        finally:
            raw.close()
    else:
        import psycopg2

        from accountpulse.generator.config import PostgresSettings

        settings = PostgresSettings.from_env()
        raw = psycopg2.connect(
            host=settings.host,
            port=settings.port,
            user=settings.user,
            password=settings.password,
            dbname=pg_database or settings.dbname,
        )
        raw.autocommit = True
        try:
            yield Connection(engine, raw)
        finally:
            raw.close()


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def snapshot(connection: Connection, relations: list[Relation]) -> None:
    """Copy each relation into the snapshot schema (as it is now, after the incremental build)."""
    connection.execute(f"drop schema if exists {SNAPSHOT_SCHEMA} cascade")
    connection.execute(f"create schema {SNAPSHOT_SCHEMA}")
    for relation in relations:
        connection.execute(
            f"create table {SNAPSHOT_SCHEMA}.{_q(relation.schema + '__' + relation.name)} as "
            f"select * from {_q(relation.schema)}.{_q(relation.name)}"
        )


def compare(connection: Connection, relations: list[Relation]) -> dict[str, Any]:
    """Rows only in the incremental copy / only in the full refresh, per relation."""
    results = []
    for relation in relations:
        copy = f"{relation.schema}__{relation.name}"
        columns = connection.columns(relation.schema, relation.name)
        copy_columns = connection.columns(SNAPSHOT_SCHEMA, copy)
        entry: dict[str, Any] = {**relation.as_dict()}
        if [name for name, _ in columns] != [name for name, _ in copy_columns]:
            entry.update(ok=False, error="columns differ between the incremental and the full-refresh build")
            results.append(entry)
            continue
        select = ", ".join(
            connection.comparable(name, data_type)
            for name, data_type in columns
            if name not in RUN_BOOKKEEPING_COLUMNS
        )
        full = f"{_q(relation.schema)}.{_q(relation.name)}"
        incremental = f"{SNAPSHOT_SCHEMA}.{_q(copy)}"
        (only_incremental, only_full, incremental_rows, full_rows) = connection.rows(
            f"select "
            f"(select count(*) from (select {select} from {incremental} except all "
            f"select {select} from {full}) as a), "
            f"(select count(*) from (select {select} from {full} except all "
            f"select {select} from {incremental}) as b), "
            f"(select count(*) from {incremental}), (select count(*) from {full})"
        )[0]
        entry.update(
            ok=only_incremental == 0 and only_full == 0,
            rows_incremental=int(incremental_rows),
            rows_full_refresh=int(full_rows),
            rows_only_in_incremental=int(only_incremental),
            rows_only_in_full_refresh=int(only_full),
        )
        results.append(entry)
    connection.execute(f"drop schema if exists {SNAPSHOT_SCHEMA} cascade")
    return {"ok": all(entry["ok"] for entry in results), "relations": results}
