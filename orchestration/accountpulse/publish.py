"""Publish the marts of the DuckDB working file to the file readers open.

DuckDB allows one writer, and a reader's read-only connection holds a lock that stops the writer:
readers of the file a build writes get `Could not set lock on file` and can make the build fail.
So the build writes the working file (ACCOUNTPULSE_DUCKDB_PATH) only, and once every check has
passed the schemas readers use (the marts and whatever an exposure reads, e.g. the seeds) are copied
into a new file under a temporary name that is then renamed over the published file
(ACCOUNTPULSE_MARTS_DUCKDB_PATH). The rename is atomic and takes no DuckDB lock: a reader with an
open connection keeps reading the file it opened, the next connection opens the new one, and a
reader can never make a publish fail. A failed build publishes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from accountpulse.errors import UserError

MARTS_FOLDER = "marts"


def published_schemas(manifest: Mapping[str, Any]) -> list[str]:
    """The schemas readers need: those of the models under models/marts and of every node an
    exposure (the report, BI dashboards) depends on."""
    nodes = manifest["nodes"]
    schemas = {
        props["schema"]
        for props in nodes.values()
        if props["resource_type"] == "model" and props.get("fqn", [None, None])[1:2] == [MARTS_FOLDER]
    }
    for exposure in manifest.get("exposures", {}).values():
        for unique_id in exposure.get("depends_on", {}).get("nodes", []):
            if unique_id in nodes:
                schemas.add(nodes[unique_id]["schema"])
    return sorted(schemas)


@dataclass
class Published:
    path: Path
    tables: dict[str, int] = field(default_factory=dict)  # schema.table -> rows

    def summary(self) -> str:
        rows = sum(self.tables.values())
        return f"published {len(self.tables)} tables ({rows} rows) to {self.path}"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def publish_marts(working: Path, published: Path, schemas: Iterable[str]) -> Published:
    """Copy `schemas` of `working` into a new file and rename it over `published` (atomic).

    Views become tables (a reader's file holds no reference to the working file). Row counts are
    compared with the working file before the rename; on any error the published file is untouched.
    """
    import duckdb

    working, published = Path(working).resolve(), Path(published).resolve()
    if working == published:
        raise UserError(
            f"ACCOUNTPULSE_MARTS_DUCKDB_PATH must differ from the working file {working}: "
            "readers open the published file so that they never lock the file a build writes"
        )
    if not working.exists():
        raise UserError(f"DuckDB file not found: {working} (nothing to publish)")
    published.parent.mkdir(parents=True, exist_ok=True)
    partial = published.with_name(f".{published.name}.{os.getpid()}.tmp")
    for leftover in (partial, partial.with_name(partial.name + ".wal")):
        leftover.unlink(missing_ok=True)
    wanted = list(schemas)
    result = Published(published)
    try:
        # the working file is the main database, so its views resolve in their own catalog
        with duckdb.connect(str(working), read_only=True) as con:
            con.execute(f"attach {_sql_string(str(partial))} as publish_target (read_write)")
            relations = con.execute(
                "select table_schema, table_name from information_schema.tables "
                "where table_catalog = current_database() and table_schema in "
                f"({', '.join('?' for _ in wanted) or 'null'}) order by 1, 2",
                wanted,
            ).fetchall()
            for schema in sorted({schema for schema, _ in relations}):
                con.execute(f"create schema publish_target.{_quote(schema)}")
            for schema, table in relations:
                name = f"{_quote(schema)}.{_quote(table)}"
                con.execute(f"create table publish_target.{name} as select * from {name}")
                source_rows = con.execute(f"select count(*) from {name}").fetchall()[0][0]
                copied_rows = con.execute(f"select count(*) from publish_target.{name}").fetchall()[0][0]
                if source_rows != copied_rows:
                    raise RuntimeError(f"{schema}.{table}: copied {copied_rows} of {source_rows} rows")
                result.tables[f"{schema}.{table}"] = int(copied_rows)
            con.execute("detach publish_target")
        with open(partial, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, published)
        directory = os.open(published.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    finally:
        for leftover in (partial, partial.with_name(partial.name + ".wal")):
            leftover.unlink(missing_ok=True)
    return result


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
