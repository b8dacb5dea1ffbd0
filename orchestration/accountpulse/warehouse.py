"""Read-only access to the warehouse the project builds into: the DuckDB file or PostgreSQL.

DuckDB allows one writer: everything here opens the file with ``read_only=True`` and closes it
before returning. A missing file or an unreachable server is the user's to fix (UserError).
On DuckDB the build reads its working file (`from_env`); everything that reads marts outside a
build reads the published marts file (`for_readers`), so it never locks the file a build writes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd

from accountpulse.errors import UserError
from accountpulse.paths import duckdb_path, marts_duckdb_path

TARGETS = ("duckdb", "postgres")


@dataclass(frozen=True)
class Warehouse:
    target: str
    duckdb_file: Path | None = None
    host: str = "127.0.0.1"
    port: int = 5432
    user: str = "postgres"
    password: str = ""
    dbname: str = "postgres"
    missing_hint: str = "run `accountpulse generate` first, or set ACCOUNTPULSE_DUCKDB_PATH"

    @classmethod
    def from_env(cls, target: str | None = None) -> Warehouse:
        target = target or os.environ.get("ACCOUNTPULSE_TARGET", "duckdb")
        if target not in TARGETS:
            raise UserError(f"unknown target {target!r}: choose one of {', '.join(TARGETS)}")
        if target == "duckdb":
            return cls(target=target, duckdb_file=duckdb_path())
        return cls(
            target=target,
            host=os.environ.get("PGHOST", "127.0.0.1"),
            port=int(os.environ.get("PGPORT", "5432")),
            user=os.environ.get("PGUSER", "postgres"),
            password=os.environ.get("PGPASSWORD", ""),
            dbname=os.environ.get("PGDATABASE", "postgres"),
        )

    @classmethod
    def for_readers(cls, target: str | None = None) -> Warehouse:
        """The marts as readers see them: on DuckDB the published marts file, which a build replaces
        atomically once its checks pass (accountpulse.publish); PostgreSQL as `from_env`."""
        warehouse = cls.from_env(target)
        if warehouse.target != "duckdb":
            return warehouse
        return cls(
            target="duckdb",
            duckdb_file=marts_duckdb_path(),
            missing_hint="no marts published yet: run `accountpulse build` first, "
            "or set ACCOUNTPULSE_MARTS_DUCKDB_PATH",
        )

    @property
    def identity(self) -> str:
        """A name for this warehouse in state files (never contains a password)."""
        if self.target == "duckdb":
            return f"duckdb:{self.duckdb_file}"
        return f"postgres://{self.user}@{self.host}:{self.port}/{self.dbname}"

    def describe(self) -> str:
        return str(self.duckdb_file) if self.target == "duckdb" else f"{self.host}:{self.port}/{self.dbname}"

    def sqlalchemy_url(self) -> str:
        """PostgreSQL connection string for SQL datasources (Great Expectations)."""
        secret = f":{quote(self.password, safe='')}" if self.password else ""
        return (
            f"postgresql+psycopg2://{quote(self.user, safe='')}{secret}@{self.host}:{self.port}/{self.dbname}"
        )

    @contextmanager
    def connect(self) -> Iterator[Any]:
        if self.target == "duckdb":
            import duckdb

            assert self.duckdb_file is not None
            if not self.duckdb_file.exists():
                raise UserError(f"DuckDB file not found: {self.duckdb_file} ({self.missing_hint})")
            try:
                connection = duckdb.connect(str(self.duckdb_file), read_only=True)
            except duckdb.Error as error:
                raise UserError(f"cannot open {self.duckdb_file}: {str(error).splitlines()[0]}") from error
        else:
            import psycopg2

            try:
                connection = psycopg2.connect(
                    host=self.host,
                    port=self.port,
                    user=self.user,
                    password=self.password,
                    dbname=self.dbname,
                    connect_timeout=5,
                )
            except psycopg2.OperationalError as error:
                first = (str(error).strip().splitlines() or ["connection refused"])[0]
                raise UserError(f"cannot reach PostgreSQL at {self.describe()}: {first}") from error
        try:
            yield connection
        finally:
            connection.close()

    def check_reachable(self) -> None:
        with self.connect():
            pass

    def table_exists(self, schema: str, table: str) -> bool:
        query = "select count(*) from information_schema.tables where table_schema = %s and table_name = %s"
        with self.connect() as connection:
            return bool(self._scalar(connection, query, (schema, table)))

    def tables(self) -> set[tuple[str, str]]:
        """(schema, table) of every table and view."""
        frame = self.query("select table_schema, table_name from information_schema.tables")
        return {(str(schema), str(table)) for schema, table in frame.itertuples(index=False)}

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> pd.DataFrame:
        with self.connect() as connection:
            if self.target == "duckdb":
                return connection.execute(sql.replace("%s", "?"), list(params)).df()
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                columns = [column.name for column in cursor.description]
                return pd.DataFrame(cursor.fetchall(), columns=columns)

    def read_table(self, schema: str, table: str) -> pd.DataFrame:
        return self.query(f'select * from "{schema}"."{table}"')

    def _scalar(self, connection: Any, sql: str, params: tuple[Any, ...]) -> Any:
        if self.target == "duckdb":
            return connection.execute(sql.replace("%s", "?"), list(params)).fetchone()[0]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()[0]
