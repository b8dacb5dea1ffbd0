"""Run the dbt CLI for the project with the project's profile, DuckDB path and target folder."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from accountpulse.errors import UserError
from accountpulse.paths import PROJECT_DIR, dbt_env, dbt_target_path


def dbt_executable() -> str:
    """dbt from the same environment as this interpreter, else from PATH."""
    beside = Path(sys.executable).with_name("dbt")
    if beside.exists():
        return str(beside)
    found = shutil.which("dbt")
    if not found:
        raise UserError("dbt is not installed in this environment (run `make install`)")
    return found


def dbt_command(args: list[str], target: str = "duckdb", vars_json: str | None = None) -> list[str]:
    target_path = dbt_target_path()
    command = [
        dbt_executable(),
        *args,
        "--target",
        target,
        "--project-dir",
        str(PROJECT_DIR),
        "--target-path",
        str(target_path),
        "--log-path",
        str(target_path / "logs"),
    ]
    if vars_json:
        command += ["--vars", vars_json]
    return command


def run_dbt(args: list[str], target: str = "duckdb", vars_json: str | None = None) -> int:
    """Run dbt with its output on the terminal; returns the exit code."""
    return subprocess.call(dbt_command(args, target, vars_json), cwd=PROJECT_DIR, env=dbt_env(target))


def parse_manifest(target: str = "duckdb") -> Path:
    """`dbt parse` into the target folder; returns the manifest path. Errors end in one line."""
    result = subprocess.run(
        dbt_command(["parse", "--quiet"], target),
        cwd=PROJECT_DIR,
        env=dbt_env(target),
        capture_output=True,
        text=True,
    )
    manifest = dbt_target_path() / "manifest.json"
    if result.returncode != 0 or not manifest.exists():
        lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
        detail = lines[-1] if lines else f"exit code {result.returncode}"
        raise UserError(f"dbt parse failed: {detail}")
    return manifest
