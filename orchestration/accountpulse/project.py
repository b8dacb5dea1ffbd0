"""The one DbtProject, and a manifest that exists before Definitions load."""

from __future__ import annotations

import json
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

from accountpulse.dbt_runner import dbt_executable, parse_manifest
from accountpulse.paths import PROFILES_DIR, PROJECT_DIR, dbt_target_path


def dbt_project(target: str = "duckdb") -> DbtProject:
    return DbtProject(
        project_dir=PROJECT_DIR,
        target_path=dbt_target_path(),
        profiles_dir=PROFILES_DIR,
        target=target,
    )


PROJECT_INPUTS = (
    "models",
    "macros",
    "seeds",
    "tests",
    "snapshots",
    "analyses",
    "dbt_project.yml",
    "packages.yml",
    "selectors.yml",
)


def manifest_is_stale(manifest: Path, target: str) -> bool:
    """Missing, parsed for another adapter, or older than any file of the dbt project."""
    if not manifest.exists():
        return True
    try:
        adapter = json.loads(manifest.read_text()).get("metadata", {}).get("adapter_type")
    except json.JSONDecodeError:
        return True
    if adapter != target:
        return True
    parsed_at = manifest.stat().st_mtime
    for name in PROJECT_INPUTS:
        path = PROJECT_DIR / name
        files = path.rglob("*") if path.is_dir() else [path]
        if any(item.is_file() and item.stat().st_mtime > parsed_at for item in files):
            return True
    return False


def ensure_manifest(target: str = "duckdb", *, refresh: bool = False) -> Path:
    """The manifest, (re)parsed with `dbt parse` when asked or when stale.

    Under `dagster dev` this runs at every load, so "Reload definitions" picks up model edits.
    `dbt parse` is run directly instead of DbtProject.prepare_if_dev: this project has no dbt
    packages, and `dbt deps` would only write a lock file into the work tree.
    """
    manifest = dbt_target_path() / "manifest.json"
    if refresh or manifest_is_stale(manifest, target):
        parse_manifest(target)
    return manifest


def dbt_resource(project: DbtProject) -> DbtCliResource:
    return DbtCliResource(project_dir=project, dbt_executable=dbt_executable())
