"""Shared pytest fixtures: real databases only (a DuckDB file, a PostgreSQL database)."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from accountpulse.dbt_runner import dbt_executable
from accountpulse.generator.config import REFERENCE_END_DATE
from accountpulse.paths import PROJECT_DIR

# the demo data of every test ends on this day (the generator's own default follows the clock)
END_DATE_ARGS = ["--end-date", REFERENCE_END_DATE.isoformat()]

PG_DEFAULTS = {"host": "127.0.0.1", "port": "5432", "user": "postgres", "password": ""}


def pg_params(dbname: str = "postgres") -> dict[str, str]:
    return {
        "host": os.environ.get("PGHOST", PG_DEFAULTS["host"]),
        "port": os.environ.get("PGPORT", PG_DEFAULTS["port"]),
        "user": os.environ.get("PGUSER", PG_DEFAULTS["user"]),
        "password": os.environ.get("PGPASSWORD", PG_DEFAULTS["password"]),
        "dbname": dbname,
    }


def require_postgres() -> None:
    """Fail under CI=true when PostgreSQL is unreachable; skip with the reason elsewhere."""
    import psycopg2

    try:
        psycopg2.connect(connect_timeout=3, **pg_params()).close()
    except psycopg2.OperationalError as error:
        reason = f"PostgreSQL unreachable at {pg_params()['host']}:{pg_params()['port']}: {error}".strip()
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)


def create_pg_database(prefix: str) -> str:
    import psycopg2

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    conn = psycopg2.connect(**pg_params())
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'create database "{name}"')
    conn.close()
    return name


def drop_pg_database(name: str) -> None:
    import psycopg2

    conn = psycopg2.connect(**pg_params())
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'drop database if exists "{name}" with (force)')
    conn.close()


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A throwaway PostgreSQL database (name), dropped afterwards."""
    require_postgres()
    name = create_pg_database("aptest")
    try:
        yield name
    finally:
        drop_pg_database(name)


def run_dbt(
    args: list[str],
    *,
    target: str,
    workdir: Path,
    duckdb_path: Path | None = None,
    pg_dbname: str | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run dbt against the project with an isolated target/log dir; returns the completed process."""
    env = dict(os.environ)
    env["DBT_PROFILES_DIR"] = str(PROJECT_DIR / "profiles")
    env["ACCOUNTPULSE_TARGET"] = target
    if duckdb_path is not None:
        env["ACCOUNTPULSE_DUCKDB_PATH"] = str(duckdb_path)
    if pg_dbname is not None:
        env["PGDATABASE"] = pg_dbname
    command = [
        dbt_executable(),
        *args,
        "--target",
        target,
        "--project-dir",
        str(PROJECT_DIR),
        "--target-path",
        str(workdir / "target"),
        "--log-path",
        str(workdir / "logs"),
    ]
    result = subprocess.run(command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(
            f"dbt {' '.join(args)} failed:\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
        )
    return result


def generate_demo(workdir: Path, accounts: int, days: int, **target: Any) -> dict[str, Any]:
    """Demo data from the generator, in process (target: duckdb_path=… or target="postgres");
    returns its manifest (written to workdir/demo.manifest.json)."""
    import json

    from accountpulse.generator import GeneratorConfig, generate

    manifest = workdir / "demo.manifest.json"
    config = GeneratorConfig(
        accounts=accounts, days=days, end_date=REFERENCE_END_DATE, manifest=manifest, progress=False, **target
    )
    generate(config)
    return json.loads(manifest.read_text())


def _generate(args: list[str], env_overrides: dict[str, str]) -> None:
    """The demo generator (small: 20 accounts × 100 days), run as the CLI runs it."""
    import sys

    env = {**os.environ, **env_overrides}
    command = [sys.executable, "-m", "accountpulse.cli", "generate", "--accounts", "20", "--days", "100"]
    command += [*END_DATE_ARGS, *args]
    result = subprocess.run(command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(f"generate failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")


@pytest.fixture(scope="session")
def generated_duckdb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Raw demo data in a DuckDB file, generated once per session. Copy it before writing to it."""
    path = tmp_path_factory.mktemp("generated") / "raw.duckdb"
    _generate([], {"ACCOUNTPULSE_DUCKDB_PATH": str(path)})
    return path


@pytest.fixture(scope="session")
def generated_pg_database() -> Iterator[str]:
    """A throwaway PostgreSQL database with the same demo data, once per session, dropped after."""
    require_postgres()
    name = create_pg_database("apgen")
    try:
        _generate(["--target", "postgres"], {"PGDATABASE": name})
        yield name
    finally:
        drop_pg_database(name)
