"""Where the project, its dbt profile, its DuckDB file and its small state files live."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
PROFILES_DIR = PROJECT_DIR / "profiles"
SEEDS_DIR = PROJECT_DIR / "seeds"
DATA_DIR = PROJECT_DIR / "data"


def duckdb_path() -> Path:
    """The DuckDB file: ACCOUNTPULSE_DUCKDB_PATH, else data/accountpulse.duckdb in the project."""
    return Path(os.environ.get("ACCOUNTPULSE_DUCKDB_PATH", str(DATA_DIR / "accountpulse.duckdb"))).resolve()


def marts_duckdb_path() -> Path:
    """The DuckDB file readers open (the report, `accountpulse alerts`, BI tools, the DuckDB CLI).

    ACCOUNTPULSE_MARTS_DUCKDB_PATH, else `<working file stem>_marts.duckdb` next to the working file
    (data/accountpulse_marts.duckdb by default). A build publishes its marts there after its checks
    pass (accountpulse.publish); it never writes to it otherwise.
    """
    override = os.environ.get("ACCOUNTPULSE_MARTS_DUCKDB_PATH")
    if override:
        return Path(override).resolve()
    working = duckdb_path()
    return working.with_name(f"{working.stem}_marts{working.suffix or '.duckdb'}")


def dbt_target_path() -> Path:
    """dbt's artifact folder (manifest.json): ACCOUNTPULSE_DBT_TARGET_PATH, else target/ in the project."""
    return Path(os.environ.get("ACCOUNTPULSE_DBT_TARGET_PATH", str(PROJECT_DIR / "target"))).resolve()


def state_dir() -> Path:
    """Small state files (row counts of the previous run, alert outbox and delivery ledger).

    ACCOUNTPULSE_STATE_DIR, else data/ in the project.
    """
    return Path(os.environ.get("ACCOUNTPULSE_STATE_DIR", str(DATA_DIR))).resolve()


def dbt_env(target: str = "duckdb") -> dict[str, str]:
    """Environment for a dbt subprocess: profiles from the project, absolute DuckDB path."""
    env = dict(os.environ)
    env["DBT_PROFILES_DIR"] = str(PROFILES_DIR)
    env["ACCOUNTPULSE_DUCKDB_PATH"] = str(duckdb_path())
    env["ACCOUNTPULSE_TARGET"] = target
    return env
