"""Metrics by name: MetricFlow's `mf` against the marts readers use (models/semantic).

mf reads the semantic manifest at `<dbt project>/target/semantic_manifest.json`, and that manifest
names every mart with its database (the DuckDB file's name, the PostgreSQL database). So metrics get
a folder of their own holding the project's dbt_project.yml and a target/ parsed for the warehouse
queried, instead of the project's target/ that builds and Dagster use. The warehouse is the one
readers use: on DuckDB the published marts file through the read-only `duckdb_marts` profile target
(a query never locks the file a build publishes, nor other readers); on PostgreSQL PGDATABASE.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path

from accountpulse.dbt_runner import dbt_executable
from accountpulse.errors import UserError
from accountpulse.paths import PROFILES_DIR, PROJECT_DIR, dbt_target_path, marts_duckdb_path

# dbt profile target mf connects with, per warehouse
MF_TARGETS = {"duckdb": "duckdb_marts", "postgres": "postgres"}

# `accountpulse metrics` with no arguments (and `make metrics`): a few questions asked by name
EXAMPLES: list[tuple[str, list[str]]] = [
    (
        "MRR bridge by month",
        ["--metrics", "mrr,new_mrr,expansion_mrr,contraction_mrr,churned_mrr,reactivation_mrr,nrr,grr"]
        + ["--group-by", "metric_time__month", "--order", "-metric_time__month", "--limit", "6"],
    ),
    (
        "MRR, ARR and paying accounts by segment, by month",
        ["--metrics", "mrr,arr,paying_accounts", "--group-by", "metric_time__month,account__segment"]
        + ["--order", "-metric_time__month,account__segment", "--limit", "8"],
    ),
    (
        "Adoption rate and accounts adopted by feature, for enterprise accounts, last months",
        ["--metrics", "adoption_rate,accounts_adopted"]
        + ["--group-by", "metric_time__month,account_feature_month__feature"]
        + ["--where", "{{ Dimension('account__segment') }} = 'enterprise'"]
        + ["--order", "-metric_time__month,account_feature_month__feature", "--limit", "10"],
    ),
    (
        "Accounts and average health score by health band, last day",
        [
            "--metrics",
            "scored_accounts,health_score",
            "--group-by",
            "metric_time__day,account_day__health_band",
        ]
        + ["--order", "-metric_time__day,account_day__health_band", "--limit", "3"],
    ),
    (
        "Open alerts by type",
        ["--metrics", "open_alerts", "--group-by", "alert__alert_type", "--order", "-open_alerts"],
    ),
]


def mf_executable() -> str:
    """mf from the same environment as this interpreter, else from PATH."""
    beside = Path(sys.executable).with_name("mf")
    if beside.exists():
        return str(beside)
    found = shutil.which("mf")
    if not found:
        raise UserError("MetricFlow (mf) is not installed in this environment (run `make install`)")
    return found


@dataclass(frozen=True)
class MetricsProject:
    """A folder mf runs in: the project's dbt_project.yml and target/semantic_manifest.json."""

    folder: Path
    env: dict[str, str]

    @property
    def target_path(self) -> Path:
        return self.folder / "target"

    def run(self, args: Sequence[str], *, capture: bool = False) -> subprocess.CompletedProcess[str]:
        """`mf ARGS` in the folder; output to the terminal unless captured."""
        return subprocess.run(
            [mf_executable(), *args], cwd=self.folder, env=self.env, capture_output=capture, text=True
        )

    def run_batch(
        self, commands: Sequence[Sequence[str]], *, headings: Sequence[str] = (), capture: bool = True
    ) -> tuple[list[int], str]:
        """Several `mf` commands in one process (imports paid once), each after its heading if given;
        their exit codes and the output (empty unless captured)."""
        codes_file = self.folder / "mf_batch_codes.json"
        codes_file.unlink(missing_ok=True)
        batch = [
            [heading, list(command)] for heading, command in zip_longest(headings, commands, fillvalue="")
        ]
        result = subprocess.run(
            [_mf_python(), "-c", _BATCH, json.dumps(batch), str(codes_file)],
            cwd=self.folder,
            env=self.env,
            capture_output=capture,
            text=True,
        )
        output = (result.stdout or "") + (result.stderr or "")
        if not codes_file.exists():
            raise UserError(f"mf failed before its first command: {output[-2000:]}")
        return json.loads(codes_file.read_text()), output


# Several `mf` commands in one Python process: MetricFlow and dbt are imported once (seconds each),
# every command still parses its arguments, loads the project and connects as `mf` does.
_BATCH = """
import json, sys
from dbt_metricflow.cli.main import cli
codes = []
for heading, args in json.loads(sys.argv[1]):
    if heading:
        print(heading, flush=True)
    try:
        cli.main(args=args, prog_name="mf", standalone_mode=False)
        codes.append(0)
    except SystemExit as stop:
        codes.append(stop.code if isinstance(stop.code, int) else 1)
    except Exception as error:
        print(f"mf {' '.join(args)}: {error!r}", file=sys.stderr)
        codes.append(1)
    sys.stdout.flush()
with open(sys.argv[2], "w") as out:
    json.dump(codes, out)
"""


def _mf_python() -> str:
    """The interpreter of the environment mf is installed in."""
    mf = Path(mf_executable())
    python = mf.with_name("python")
    return str(python if python.exists() else sys.executable)


def metrics_project(
    target: str, folder: Path | None = None, env: dict[str, str] | None = None
) -> MetricsProject:
    """The folder and environment for `mf` on `target` (duckdb: the published marts file unless
    ACCOUNTPULSE_MARTS_DUCKDB_PATH is set in `env`; postgres: PGDATABASE). Not parsed yet."""
    if target not in MF_TARGETS:
        raise UserError(f"unknown target {target!r}: choose one of {', '.join(MF_TARGETS)}")
    folder = Path(folder or dbt_target_path() / "metricflow" / target).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    project_file = folder / "dbt_project.yml"
    if not project_file.is_symlink():
        project_file.unlink(missing_ok=True)
        project_file.symlink_to(PROJECT_DIR / "dbt_project.yml")
    env = dict(os.environ if env is None else env)
    env["DBT_PROFILES_DIR"] = str(PROFILES_DIR)
    env["DBT_PROJECT_DIR"] = str(folder)
    env["ACCOUNTPULSE_TARGET"] = MF_TARGETS[target]
    if target == "duckdb":
        marts_file = Path(env.get("ACCOUNTPULSE_MARTS_DUCKDB_PATH") or marts_duckdb_path()).resolve()
        env["ACCOUNTPULSE_MARTS_DUCKDB_PATH"] = str(marts_file)
    return MetricsProject(folder, env)


def parse(project: MetricsProject) -> Path:
    """`dbt parse` of the project into the folder's target/ (writes semantic_manifest.json)."""
    command = [dbt_executable(), "parse", "--quiet", "--project-dir", str(PROJECT_DIR)]
    command += ["--target-path", str(project.target_path), "--log-path", str(project.folder / "logs")]
    result = subprocess.run(command, cwd=PROJECT_DIR, env=project.env, capture_output=True, text=True)
    manifest = project.target_path / "semantic_manifest.json"
    if result.returncode != 0 or not manifest.exists():
        lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
        raise UserError(f"dbt parse failed: {lines[-1] if lines else f'exit code {result.returncode}'}")
    return manifest


def run_metrics(target: str, mf_args: Sequence[str]) -> int:
    """`accountpulse metrics [MF ARGS]`: mf with those arguments, or the example queries."""
    project = metrics_project(target)
    if target == "duckdb" and not Path(project.env["ACCOUNTPULSE_MARTS_DUCKDB_PATH"]).exists():
        raise UserError(
            f"no marts published yet at {project.env['ACCOUNTPULSE_MARTS_DUCKDB_PATH']}: "
            "run `accountpulse build` (or `make demo`) first"
        )
    parse(project)
    if mf_args:
        return project.run(list(mf_args)).returncode
    headings = [
        f"\n## {title}\n$ mf query {' '.join(_quoted(arg) for arg in args)}" for title, args in EXAMPLES
    ]
    codes, _ = project.run_batch(
        [["query", *args, "--quiet"] for _, args in EXAMPLES], headings=headings, capture=False
    )
    if any(codes):
        return 1
    print(f"\nAny query: accountpulse metrics --target {target} query --metrics … --group-by …")
    print(f"All metrics: accountpulse metrics --target {target} list metrics")
    return 0


def _quoted(arg: str) -> str:
    return f'"{arg}"' if any(char in arg for char in " {}'") else arg
