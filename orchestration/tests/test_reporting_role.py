"""The read-only reporting role on a real PostgreSQL build: it reads every mart and nothing else,
changes nothing, keeps its grants when a mart is rebuilt, and the marts expose no raw emails."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import create_pg_database, drop_pg_database, pg_params, require_postgres, run_dbt

pytestmark = pytest.mark.postgres

ROLE = "accountpulse_reporting"
MARTS_AND_UPSTREAM = "+path:models/marts"  # monitoring models are not needed to test access
EMAIL_PATTERN = r"[^@[:space:]]+@[^@[:space:]]+\.[a-z]{2,}"


@pytest.fixture(scope="module")
def built_pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A throwaway database with generated demo data and every model built; (name, dbt workdir)."""
    require_postgres()
    from accountpulse.generator import GeneratorConfig, generate
    from accountpulse.generator.config import REFERENCE_END_DATE

    workdir = tmp_path_factory.mktemp("reporting_role")
    dbname = create_pg_database("aprole")
    previous = os.environ.get("PGDATABASE")
    try:
        os.environ["PGDATABASE"] = dbname  # the generator reads its connection from PG* variables
        generate(
            GeneratorConfig(
                target="postgres",
                accounts=16,
                days=100,
                end_date=REFERENCE_END_DATE,
                manifest=workdir / "manifest.json",
                progress=False,
            )
        )
        run_dbt(["seed"], target="postgres", workdir=workdir, pg_dbname=dbname)
        run_dbt(["run", "--select", MARTS_AND_UPSTREAM], target="postgres", workdir=workdir, pg_dbname=dbname)
        yield dbname, workdir
    finally:
        if previous is None:
            os.environ.pop("PGDATABASE", None)
        else:
            os.environ["PGDATABASE"] = previous
        drop_pg_database(dbname)


@pytest.fixture
def as_role(built_pg: tuple[str, Path]) -> Iterator:
    """A cursor of a superuser session switched to the reporting role (autocommit)."""
    import psycopg2

    conn = psycopg2.connect(**pg_params(built_pg[0]))
    conn.autocommit = True
    cursor = conn.cursor()
    cursor.execute(f"set role {ROLE}")
    yield cursor
    conn.close()


def _marts(workdir: Path) -> list[str]:
    manifest = json.loads((workdir / "target" / "manifest.json").read_text())
    return sorted(
        node["alias"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and "marts" in node["fqn"][1:-1]
    )


def _tables(built_pg: tuple[str, Path], schemas: tuple[str, ...]) -> list[tuple[str, str]]:
    import psycopg2

    conn = psycopg2.connect(**pg_params(built_pg[0]))
    with conn.cursor() as cursor:
        cursor.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema = any(%s) order by 1, 2",
            (list(schemas),),
        )
        rows = cursor.fetchall()
    conn.close()
    return rows


def _denied(cursor, sql: str) -> bool:
    import psycopg2

    try:
        cursor.execute(sql)
    except psycopg2.errors.InsufficientPrivilege:
        return True
    return False


def test_role_is_a_nologin_group_without_powers(as_role) -> None:
    as_role.execute(
        "select rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolinherit from pg_roles "
        "where rolname = %s",
        (ROLE,),
    )
    assert as_role.fetchone() == (False, False, False, False, True)


def test_role_reads_every_mart(built_pg: tuple[str, Path], as_role) -> None:
    marts = _marts(built_pg[1])
    assert len(marts) >= 10, f"expected the marts of SPEC.md, found {marts}"
    built = {name for schema, name in _tables(built_pg, ("marts",))}
    assert set(marts) <= built
    for mart in marts:
        as_role.execute(f"select count(*) from marts.{mart}")
        assert as_role.fetchone()[0] >= 0


def test_role_reads_nothing_but_the_marts(built_pg: tuple[str, Path], as_role) -> None:
    others = _tables(built_pg, ("segment", "stripe", "staging", "intermediate", "seeds", "monitoring"))
    assert {schema for schema, _ in others} >= {"segment", "stripe", "staging", "intermediate", "seeds"}
    readable = [
        f"{schema}.{name}"
        for schema, name in others
        if not _denied(as_role, f"select 1 from {schema}.{name}")
    ]
    assert readable == []


def test_role_changes_nothing(as_role) -> None:
    attempts = [
        "create table marts.scratch (id int)",
        "create view marts.scratch as select 1 as id",
        "create table public.scratch (id int)",
        "create table staging.scratch (id int)",
        "create schema scratch",
        "insert into marts.dim_accounts (account_id) values ('x')",
        "update marts.dim_accounts set account_name = 'x'",
        "delete from marts.dim_accounts",
        "truncate marts.dim_accounts",
        "drop table marts.dim_accounts",
        "alter table marts.dim_accounts add column x int",
        "drop schema marts cascade",
    ]
    allowed = [sql for sql in attempts if not _denied(as_role, sql)]
    assert allowed == []


def test_grants_survive_a_rebuild(built_pg: tuple[str, Path], as_role) -> None:
    dbname, workdir = built_pg
    run_dbt(["run", "--select", "dim_accounts"], target="postgres", workdir=workdir, pg_dbname=dbname)
    as_role.execute("select count(*) from marts.dim_accounts")
    assert as_role.fetchone()[0] > 0


def test_marts_expose_no_raw_emails(built_pg: tuple[str, Path], as_role) -> None:
    import psycopg2

    conn = psycopg2.connect(**pg_params(built_pg[0]))
    with conn.cursor() as cursor:  # the detector finds the raw emails where they are
        cursor.execute("select count(*) from segment.identifies where email ~* %s", (EMAIL_PATTERN,))
        assert cursor.fetchone()[0] > 0
    conn.close()
    as_role.execute(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = 'marts' order by 1, 2"
    )
    columns = as_role.fetchall()
    assert columns, "the role sees no mart columns"
    assert [f"{table}.{column}" for table, column, _ in columns if "email" in column.lower()] == []
    leaks = []
    for table, column, data_type in columns:
        if data_type in ("text", "character varying"):
            as_role.execute(f'select count(*) from marts.{table} where "{column}" ~* %s', (EMAIL_PATTERN,))
            if as_role.fetchone()[0]:
                leaks.append(f"{table}.{column}")
    assert leaks == []
