"""Bulk loading into DuckDB (a frame registered on the connection), PostgreSQL (COPY ... CSV) or a
local Spark session (parquet tables; `pip install '.[spark]'`).

Tables are created in the landed layout (generator/layout.py: the raw contract as a real warehouse has
it), names, order and types exactly. Nothing is inserted row by row.
Connection and permission problems become one-line UserErrors.
"""

from __future__ import annotations

import io
import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import pandas as pd

from accountpulse.errors import UserError
from accountpulse.generator.config import GeneratorConfig, PostgresSettings
from accountpulse.generator.layout import LANDED_TABLES
from accountpulse.raw_schema import RAW_TABLES, RawTable, create_table_sql

DUCKDB_MEMORY_LIMIT = "512MB"


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Sink(ABC):
    """Where the raw tables go."""

    def __init__(self, config: GeneratorConfig) -> None:
        self.config = config

    def qualified(self, raw: RawTable) -> str:
        return f"{_q(self.config.schema_for(raw.schema_key))}.{_q(raw.name)}"

    @property
    @abstractmethod
    def location(self) -> str: ...

    @abstractmethod
    def execute(self, sql: str) -> None: ...

    @abstractmethod
    def query(self, sql: str) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    def append(self, raw: RawTable, frame: pd.DataFrame) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    errors: tuple[type[BaseException], ...] = ()  # the driver's exceptions

    def commit(self) -> None:  # noqa: B027 - only transactional sinks need it
        pass

    def recreate_tables(self) -> None:
        """Drop and create every raw table (replacing whatever was there)."""
        for schema in (self.config.segment_schema, self.config.stripe_schema):
            self.execute(f"create schema if not exists {_q(schema)}")
        for raw in LANDED_TABLES:
            self.execute(f"drop table if exists {self.qualified(raw)}{self.drop_suffix}")
            self.execute(create_table_sql(raw, self.config.schema_for(raw.schema_key)))
        self.commit()

    drop_suffix = ""

    def require_tables(self) -> None:
        for raw in RAW_TABLES:
            try:
                self.query(f"select 1 from {self.qualified(raw)} limit 1")
            except self.errors as error:
                self.rollback()
                raise UserError(
                    f"raw table {self.qualified(raw)} is missing in {self.location}: "
                    f"run `accountpulse generate` first ({_one_line(error)})"
                ) from error

    def rollback(self) -> None:  # noqa: B027
        pass

    def row_counts(self) -> dict[str, int]:
        counts = {}
        for raw in LANDED_TABLES:
            schema = self.config.schema_for(raw.schema_key)
            counts[f"{schema}.{raw.name}"] = int(
                self.query(f"select count(*) from {self.qualified(raw)}")[0][0]
            )
        return counts


class DuckDBSink(Sink):
    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__(config)
        import duckdb

        self.path = config.resolved_duckdb_path()
        if self.path.is_dir():
            raise UserError(f"DuckDB path is a directory, not a file: {self.path}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.con = duckdb.connect(str(self.path))
            # bulk appends need little cache: keep the loader's memory bounded on big runs
            self.con.execute(f"set memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
        except (OSError, duckdb.Error) as error:
            raise UserError(f"cannot open DuckDB file {self.path}: {_one_line(error)}") from error
        self._duckdb_error = duckdb.Error
        self.errors = (duckdb.Error,)

    @property
    def location(self) -> str:
        return str(self.path)

    def execute(self, sql: str) -> None:
        try:
            self.con.execute(sql)
        except self._duckdb_error as error:
            raise UserError(f"DuckDB {self.path}: {_one_line(error)}") from error

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        return self.con.execute(sql).fetchall()

    def append(self, raw: RawTable, frame: pd.DataFrame) -> None:
        if frame.empty:
            return
        columns = ", ".join(_q(c) for c in raw.column_names)
        self.con.register("_accountpulse_batch", frame)
        try:
            self.con.execute(
                f"insert into {self.qualified(raw)} ({columns}) select {columns} from _accountpulse_batch"
            )
        except self._duckdb_error as error:
            raise UserError(f"DuckDB {self.path}: {_one_line(error)}") from error
        finally:
            self.con.unregister("_accountpulse_batch")

    def frame(self, sql: str) -> pd.DataFrame:
        return self.con.execute(sql).df()

    def close(self) -> None:
        self.con.close()


class PostgresSink(Sink):
    drop_suffix = " cascade"  # dbt views on the raw tables are rebuilt by the next dbt run

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__(config)
        import psycopg2

        self.settings = PostgresSettings.from_env()
        s = self.settings
        try:
            self.conn = psycopg2.connect(
                host=s.host, port=s.port, user=s.user, password=s.password, dbname=s.dbname, connect_timeout=5
            )
        except psycopg2.Error as error:
            raise UserError(f"cannot connect to PostgreSQL at {s.describe()}: {_one_line(error)}") from error
        self._pg_error = psycopg2.Error
        self.errors = (psycopg2.Error,)

    @property
    def location(self) -> str:
        return self.settings.describe()

    def execute(self, sql: str) -> None:
        try:
            with self.conn.cursor() as cur:
                cur.execute(sql)
        except self._pg_error as error:
            self.conn.rollback()
            raise UserError(f"PostgreSQL {self.location}: {_one_line(error)}") from error

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with self.conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()

    def append(self, raw: RawTable, frame: pd.DataFrame) -> None:
        if frame.empty:
            return
        buffer = io.StringIO()
        frame.to_csv(buffer, index=False, header=False, na_rep="", date_format="%Y-%m-%d %H:%M:%S.%f")
        buffer.seek(0)
        columns = ", ".join(_q(c) for c in raw.column_names)
        sql = f"copy {self.qualified(raw)} ({columns}) from stdin with (format csv, null '')"
        try:
            with self.conn.cursor() as cur:
                cur.copy_expert(sql, buffer)
        except self._pg_error as error:
            self.conn.rollback()
            raise UserError(f"PostgreSQL {self.location}: {_one_line(error)}") from error

    def frame(self, sql: str) -> pd.DataFrame:
        with self.conn.cursor() as cur:
            cur.execute(sql)
            names = [d[0] for d in cur.description]
            return pd.DataFrame(cur.fetchall(), columns=names)

    def commit(self) -> None:
        self.conn.commit()

    def rollback(self) -> None:
        self.conn.rollback()

    def close(self) -> None:
        self.conn.commit()
        self.conn.close()


# Spark (dbt-spark `session` target): the same warehouse and metastore directories as profiles.yml's
# `spark` output, so tables loaded here are the sources dbt reads in its own process.
SPARK_TYPES = {"varchar": "string", "double precision": "double"}


def spark_dir() -> Path:
    from accountpulse.paths import DATA_DIR

    return Path(os.environ.get("ACCOUNTPULSE_SPARK_DIR", str(DATA_DIR / "spark"))).resolve()


def spark_session() -> Any:
    from pyspark.sql import SparkSession

    root = spark_dir()
    root.mkdir(parents=True, exist_ok=True)
    metastore = f"jdbc:derby:;databaseName={root / 'metastore_db'};create=true"
    builder = (
        SparkSession.builder.appName("accountpulse-loader")
        .master("local[*]")
        .config("spark.sql.warehouse.dir", str(root / "warehouse"))
        .config("spark.hadoop.javax.jdo.option.ConnectionURL", metastore)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.ansi.doubleQuotedIdentifiers", "true")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .enableHiveSupport()
    )
    return builder.getOrCreate()


class SparkSink(Sink):
    """Parquet tables in the local Spark session's warehouse (Hive metastore in ACCOUNTPULSE_SPARK_DIR)."""

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__(config)
        try:
            self.spark = spark_session()
        except Exception as error:  # pyspark missing or no Java: one line
            raise UserError(f"cannot start a local Spark session: {_one_line(error)}") from error
        from pyspark.errors import PySparkException

        self.errors = (PySparkException,)

    def qualified(self, raw: RawTable) -> str:
        return f"`{self.config.schema_for(raw.schema_key)}`.`{raw.name}`"

    @property
    def location(self) -> str:
        return f"spark:{spark_dir()}"

    def execute(self, sql: str) -> None:
        try:
            self.spark.sql(sql)
        except self.errors as error:
            raise UserError(f"Spark {self.location}: {_one_line(error)}") from error

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self.spark.sql(sql).collect()]

    def recreate_tables(self) -> None:
        for schema in (self.config.segment_schema, self.config.stripe_schema):
            self.execute(f"create database if not exists `{schema}`")
        for raw in LANDED_TABLES:
            columns = ", ".join(f"`{c.name}` {SPARK_TYPES.get(c.sql_type, c.sql_type)}" for c in raw.columns)
            self.execute(f"drop table if exists {self.qualified(raw)}")
            self.execute(f"create table {self.qualified(raw)} ({columns}) using parquet")

    def append(self, raw: RawTable, frame: pd.DataFrame) -> None:
        if frame.empty:
            return
        schema = self.spark.table(self.qualified(raw)).schema
        frame = frame[raw.column_names].astype(object).where(frame[raw.column_names].notna(), None)
        rows = [tuple(_plain(v) for v in row) for row in frame.itertuples(index=False, name=None)]
        try:
            self.spark.createDataFrame(rows, schema).write.insertInto(self.qualified(raw))
        except self.errors as error:
            raise UserError(f"Spark {self.location}: {_one_line(error)}") from error

    def frame(self, sql: str) -> pd.DataFrame:
        result = self.spark.sql(sql)
        return pd.DataFrame([tuple(r) for r in result.collect()], columns=result.columns)

    def close(self) -> None:
        self.spark.stop()


def _plain(value: Any) -> Any:
    """pandas/numpy scalars as the Python values Spark's row conversion accepts (UTC-naive times)."""
    if value is None:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item"):
        return value.item()
    return value


def open_sink(config: GeneratorConfig) -> Sink:
    if config.target == "spark":
        return SparkSink(config)
    return DuckDBSink(config) if config.target == "duckdb" else PostgresSink(config)


def check_writable(path: Path) -> None:
    """Fail early (before generating anything) when the manifest cannot be written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        probe = path.with_name(f".{path.name}.probe")
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise UserError(f"cannot write the manifest {path}: {_one_line(error)}") from error
