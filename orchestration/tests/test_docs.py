"""dbt docs: every mart and mart column documented, exposures naming who consumes which mart, and the
docs site generated and served on 127.0.0.1 (what `make docs` does)."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import run_dbt

from accountpulse.dbt_runner import dbt_executable
from accountpulse.paths import PROJECT_DIR
from accountpulse.report import queries


@pytest.fixture(scope="module")
def docs_target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dbt docs generate without a warehouse (no compile, empty catalog): manifest + static site."""
    workdir = tmp_path_factory.mktemp("docs")
    for command in (["parse"], ["docs", "generate", "--no-compile", "--empty-catalog", "--static"]):
        run_dbt(command, target="duckdb", workdir=workdir, duckdb_path=workdir / "unused.duckdb")
    return workdir / "target"


@pytest.fixture(scope="module")
def manifest(docs_target: Path) -> dict:
    return json.loads((docs_target / "manifest.json").read_text())


def _marts(manifest: dict) -> dict[str, dict]:
    return {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and "marts" in node["fqn"][1:-1]
    }


def _exposure(manifest: dict, name: str) -> set[str]:
    exposure = manifest["exposures"][f"exposure.accountpulse.{name}"]
    return {node.split(".")[-1] for node in exposure["depends_on"]["nodes"]}


def test_every_mart_and_column_is_documented(manifest: dict) -> None:
    marts = _marts(manifest)
    assert len(marts) >= 13, sorted(marts)
    gaps = []
    for name, node in sorted(marts.items()):
        if not node["description"].strip():
            gaps.append(f"{name}: no description")
        if not node["columns"]:
            gaps.append(f"{name}: no columns documented")
        for column, spec in node["columns"].items():
            if not (spec.get("description") or "").strip():
                gaps.append(f"{name}.{column}: no description")
            if not spec.get("data_type"):
                gaps.append(f"{name}.{column}: no data_type")
    assert gaps == []


def test_bi_exposure_depends_on_every_mart(manifest: dict) -> None:
    assert _exposure(manifest, "bi_dashboards") == set(_marts(manifest))


def test_report_exposure_names_what_the_report_reads(manifest: dict) -> None:
    source = Path(queries.__file__).read_text()
    referenced = set(re.findall(r"\{MARTS\}\.(\w+)", source))
    declared = set(queries.REQUIRED_MARTS) | set(queries.OPTIONAL_MARTS)
    assert referenced <= declared, f"queries read marts not declared: {referenced - declared}"
    assert _exposure(manifest, "account_report") == declared | {"features"}


def test_docs_site_is_generated_and_served(docs_target: Path) -> None:
    static = (docs_target / "static_index.html").read_text()
    assert "bi_dashboards" in static and "account_report" in static
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [
            dbt_executable(),
            "docs",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-browser",
            "--project-dir",
            str(PROJECT_DIR),
            "--target-path",
            str(docs_target),
            "--profiles-dir",
            str(PROJECT_DIR / "profiles"),
        ],
        cwd=PROJECT_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline, status = time.monotonic() + 60, None
        while time.monotonic() < deadline and status != 200:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/manifest.json", timeout=2) as response:
                    status = response.status
                    served = json.load(response)
            except OSError:
                time.sleep(0.5)
        assert status == 200, "dbt docs serve did not answer"
        assert "exposure.accountpulse.bi_dashboards" in served["exposures"]
    finally:
        server.terminate()
        server.wait(timeout=20)
