"""One benchmark run: for each engine and scale, generate the data, build it from scratch, append
one day of events and build incrementally, build again with nothing new, check the incremental
result against a full refresh of the same data, and (DuckDB) time the floor query.

Every step is a child process measured by `procs.run_measured`. dbt builds are `dbt build` as a
production run issues it: seeds, models, snapshots and data tests, without the unit tests
(`--exclude-resource-type unit_test`; they read no warehouse data, take the same time at every
scale and run in `make test`). Full builds build everything; the incremental and no-change builds
are the daily run (`--selector daily`: everything but the two audits that read all raw history),
and the audits are measured on their own as the step the weekly full build adds. The project is
parsed once before the measured builds, as a scheduler that keeps its manifest would have it.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from accountpulse.bench import compare
from accountpulse.bench.procs import StepResult, log_tail, run_measured
from accountpulse.bench.scales import Scale
from accountpulse.dbt_runner import dbt_executable
from accountpulse.errors import UserError
from accountpulse.generator.config import REFERENCE_END_DATE
from accountpulse.paths import PROFILES_DIR, PROJECT_DIR, SEEDS_DIR

ENGINES = ("duckdb", "postgres")
DAILY_SELECTION = ["--selector", "daily"]  # selectors.yml: all but the history audits
HISTORY_AUDITS = ["--select", "tag:history_audit"]  # what the weekly full build adds to a daily one
EVENT_TABLES = ("segment.tracks", "segment.pages")


@dataclass
class Options:
    duckdb_scales: list[Scale]
    postgres_scales: list[Scale]
    workdir: Path
    json_path: Path
    markdown_path: Path | None
    threads: int
    memory_limit: str
    pg_database: str
    keep: bool = False
    quiet: bool = False
    full_build_only: bool = False  # generate, full build and floor only (100m: the rest takes an hour)

    def as_dict(self) -> dict[str, Any]:
        return {
            "duckdb_scales": [scale.name for scale in self.duckdb_scales],
            "postgres_scales": [scale.name for scale in self.postgres_scales],
            "duckdb_threads": self.threads,
            "duckdb_memory_limit": self.memory_limit,
            "pg_database": self.pg_database,
        }


@dataclass
class ScaleRun:
    engine: str
    scale: Scale
    rows: dict[str, int] = field(default_factory=dict)
    appended_rows: dict[str, int] = field(default_factory=dict)
    steps: list[StepResult] = field(default_factory=list)
    floor: dict[str, Any] | None = None
    equality: dict[str, Any] | None = None
    error: str | None = None
    full_build_only: bool = False

    @property
    def events(self) -> int:
        return sum(self.rows.get(name, 0) for name in EVENT_TABLES)

    @property
    def appended_events(self) -> int:
        return sum(self.appended_rows.get(name, 0) for name in EVENT_TABLES)

    def step(self, name: str) -> StepResult | None:
        return next((step for step in self.steps if step.step == name), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "scale": self.scale.as_dict(),
            "events": self.events,
            "rows": self.rows,
            "appended_events": self.appended_events,
            "appended_rows": self.appended_rows,
            "steps": [step.as_dict() for step in self.steps],
            "floor": self.floor,
            "incremental_equals_full_refresh": self.equality,
            "full_build_only": self.full_build_only,
            "error": self.error,
        }


# ------------------------------------------------------------------------------------------ machine
def machine_info() -> dict[str, Any]:
    memory_kb = 0
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    memory_kb = int(line.split()[1])
    except OSError:
        pass
    cpu_model = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu_model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions: dict[str, str] = {"python": platform.python_version()}
    for package in ("duckdb", "dbt-core", "dbt-duckdb", "dbt-postgres"):
        try:
            from importlib.metadata import version

            versions[package] = version(package)
        except Exception:  # noqa: BLE001 - a missing package is reported as missing
            versions[package] = "missing"
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(memory_kb / 2**20, 1),
        "cpu_model": cpu_model,
        "system": f"{platform.system()} {platform.release()}",
        "versions": versions,
    }


def git_commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+uncommitted" if dirty else "")


# ------------------------------------------------------------------------------------------- runner
class Bench:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.runs: list[ScaleRun] = []
        self.started_at = datetime.now(UTC)

    def say(self, message: str) -> None:
        if not self.options.quiet:
            print(message, flush=True)

    # environment and paths ----------------------------------------------------------------
    def run_dir(self, engine: str, scale: Scale) -> Path:
        return self.options.workdir / f"{engine}_{scale.name}"

    def duckdb_file(self, scale: Scale) -> Path:
        return self.run_dir("duckdb", scale) / "bench.duckdb"

    def env(self, engine: str, scale: Scale) -> dict[str, str]:
        env = dict(os.environ)
        env["DBT_PROFILES_DIR"] = str(PROFILES_DIR)
        env["ACCOUNTPULSE_TARGET"] = engine
        env["ACCOUNTPULSE_DUCKDB_PATH"] = str(self.duckdb_file(scale))
        env["ACCOUNTPULSE_DUCKDB_THREADS"] = str(self.options.threads)
        env["ACCOUNTPULSE_DUCKDB_MEMORY_LIMIT"] = self.options.memory_limit
        env["PGDATABASE"] = self.options.pg_database
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def generate_command(self, engine: str, scale: Scale, append_days: int = 0) -> list[str]:
        run_dir = self.run_dir(engine, scale)
        command = [sys.executable, "-m", "accountpulse.cli", "generate", "--target", engine]
        command += scale.generator_args()
        if not append_days:  # the same data in every run, whatever the day: runs stay comparable
            command += ["--end-date", REFERENCE_END_DATE.isoformat()]
        command += ["--manifest", str(run_dir / "generated.manifest.json")]
        if engine == "duckdb":
            command += ["--duckdb-path", str(self.duckdb_file(scale))]
        if append_days:
            command += ["--append-days", str(append_days)]
        return command

    def dbt_command(self, engine: str, scale: Scale, args: list[str]) -> list[str]:
        run_dir = self.run_dir(engine, scale)
        return [
            dbt_executable(),
            *args,
            "--target",
            engine,
            "--project-dir",
            str(PROJECT_DIR),
            "--target-path",
            str(run_dir / "target"),
            "--log-path",
            str(run_dir / "logs"),
        ]

    def build_command(self, engine: str, scale: Scale, full_refresh: bool, select: list[str]) -> list[str]:
        args = ["build", "--exclude-resource-type", "unit_test", *select]
        if full_refresh:
            args.append("--full-refresh")
        return self.dbt_command(engine, scale, args)

    # postgres -------------------------------------------------------------------------------
    def _pg_connect(self, dbname: str):  # noqa: ANN202 - psycopg2 connection
        import psycopg2

        from accountpulse.generator.config import PostgresSettings

        settings = PostgresSettings.from_env()
        try:
            connection = psycopg2.connect(
                host=settings.host,
                port=settings.port,
                user=settings.user,
                password=settings.password,
                dbname=dbname,
                connect_timeout=5,
            )
        except psycopg2.OperationalError as error:
            raise UserError(f"PostgreSQL unreachable ({settings.describe()}): {error}".strip()) from error
        connection.autocommit = True
        return connection

    def prepare_postgres(self) -> None:
        """Create the benchmark database if missing (the generator replaces the raw tables)."""
        name = self.options.pg_database
        connection = self._pg_connect("postgres")
        try:
            with connection.cursor() as cursor:
                cursor.execute("select 1 from pg_database where datname = %s", (name,))
                if cursor.fetchone() is None:
                    cursor.execute(f'create database "{name}"')
        finally:
            connection.close()

    def postgres_backends(self):  # noqa: ANN201 - a callable for the sampler
        name = self.options.pg_database
        connection = self._pg_connect("postgres")

        def pids() -> list[int]:
            with connection.cursor() as cursor:
                cursor.execute(
                    "select pid from pg_stat_activity where datname = %s and pid <> pg_backend_pid()", (name,)
                )
                return [row[0] for row in cursor.fetchall()]

        return pids, connection

    # steps ------------------------------------------------------------------------------------
    def measure(self, run: ScaleRun, step: str, command: list[str], rows: int | None = None) -> StepResult:
        engine, scale = run.engine, run.scale
        self.say(f"  {step} ...")
        extra, server = None, None
        if engine == "postgres":
            extra, server = self.postgres_backends()
        try:
            result = run_measured(
                step,
                command,
                self.env(engine, scale),
                PROJECT_DIR,
                self.run_dir(engine, scale) / "logs" / f"{len(run.steps):02d}_{step.replace(' ', '_')}.log",
                extra_pids=extra,
            )
        finally:
            if server is not None:
                server.close()
        run.steps.append(result)
        if rows is not None:
            result.extra["rows"] = rows
            result.extra["rows_per_second"] = round(rows / result.seconds) if result.seconds > 0 else None
        status = "ok" if result.ok else f"FAILED (exit {result.returncode})"
        self.say(
            f"  {step}: {result.seconds:.1f}s, peak {result.peak_rss_mb:,.0f} MB, "
            f"load {result.load_before[0]:.1f}, {status}"
        )
        return result

    def dbt_step(
        self, run: ScaleRun, step: str, full_refresh: bool, rows: int, select: list[str] | None = None
    ) -> StepResult:
        command = self.build_command(run.engine, run.scale, full_refresh, select or [])
        result = self.measure(run, step, command, rows)
        result.extra["dbt"] = dbt_summary(self.run_dir(run.engine, run.scale) / "target" / "run_results.json")
        if not result.ok:
            failed = result.extra["dbt"].get("failed", [])
            self.say(f"    failed nodes: {', '.join(failed[:10]) or log_tail(result.log_path, 8)}")
        return result

    def require(self, result: StepResult) -> None:
        if not result.ok:
            raise StepFailed(f"{result.step} failed (exit {result.returncode}); log: {result.log_path}")

    def count_rows(self, engine: str, scale: Scale) -> dict[str, int]:
        from accountpulse.raw_schema import RAW_TABLES

        names = [f"{raw.schema_key}.{raw.name}" for raw in RAW_TABLES]
        with compare.connect(engine, self.duckdb_file(scale), self.options.pg_database) as connection:
            return {name: int(connection.rows(f"select count(*) from {name}")[0][0]) for name in names}

    def run_scale(self, engine: str, scale: Scale) -> ScaleRun:
        run = ScaleRun(engine, scale)
        run_dir = self.run_dir(engine, scale)
        if run_dir.exists():
            shutil.rmtree(run_dir)
        run_dir.mkdir(parents=True)
        self.say(
            f"\n{engine} · {scale.name} ({scale.accounts} accounts, {scale.days} days, --scale {scale.scale})"
        )
        try:
            if engine == "postgres":
                self.prepare_postgres()
            generated = self.measure(run, "generate", self.generate_command(engine, scale))
            self.require(generated)
            run.rows = self.count_rows(engine, scale)
            generated.extra["rows"] = sum(run.rows.values())
            generated.extra["rows_per_second"] = round(sum(run.rows.values()) / generated.seconds)
            self.say(f"  {run.events:,} events ({run.rows['segment.tracks']:,} tracks)")
            self.require(self.measure(run, "parse", self.dbt_command(engine, scale, ["parse"])))

            self.dbt_step(run, "full build", full_refresh=True, rows=run.events)
            if engine == "duckdb":
                run.floor = self.floor(run)
            if self.options.full_build_only:
                run.full_build_only = True
                return run

            before = run.rows
            self.require(self.measure(run, "append one day", self.generate_command(engine, scale, 1)))
            after = self.count_rows(engine, scale)
            run.appended_rows = {name: after[name] - before.get(name, 0) for name in after}
            run.rows = after
            self.dbt_step(run, "incremental build", False, run.appended_events, DAILY_SELECTION)
            self.dbt_step(run, "history audits", False, run.events, HISTORY_AUDITS)
            self.dbt_step(run, "no-change build", False, run.events, DAILY_SELECTION)

            manifest = run_dir / "target" / "manifest.json"
            relations = compare.relations_to_compare(manifest)
            with compare.connect(engine, self.duckdb_file(scale), self.options.pg_database) as connection:
                compare.snapshot(connection, relations)
            self.dbt_step(run, "full build after append", full_refresh=True, rows=run.events)
            with compare.connect(engine, self.duckdb_file(scale), self.options.pg_database) as connection:
                run.equality = compare.compare(connection, relations)
            differing = [entry["name"] for entry in run.equality["relations"] if not entry["ok"]]
            self.say(
                f"  incremental == full refresh on {len(relations)} relations: "
                + ("yes" if run.equality["ok"] else f"NO ({', '.join(differing)})")
            )
        except StepFailed as error:
            run.error = str(error)
            self.say(f"  stopped: {error}")
        finally:
            if engine == "duckdb" and not self.options.keep:
                for path in run_dir.glob("*.duckdb*"):
                    path.unlink()
        return run

    def floor(self, run: ScaleRun) -> dict[str, Any]:
        command = [
            sys.executable,
            "-m",
            "accountpulse.bench.floor",
            str(self.duckdb_file(run.scale)),
            str(SEEDS_DIR / "feature_events.csv"),
            str(self.options.threads),
            self.options.memory_limit,
        ]
        result = self.measure(run, "floor query", command, rows=run.events)
        if not result.ok:
            return {"error": log_tail(result.log_path, 5)}
        output = Path(result.log_path).read_text(encoding="utf-8").strip().splitlines()[-1]
        floor = json.loads(output)
        floor["mart_adopting_users"] = self.mart_adopting_users(run)
        result.extra["floor"] = floor
        return floor

    def mart_adopting_users(self, run: ScaleRun) -> int | None:
        """The same total from the mart, to show the floor computes the same thing."""
        try:
            with compare.connect("duckdb", self.duckdb_file(run.scale)) as connection:
                sql = (
                    "select coalesce(sum(adopting_users), 0) from marts.fct_account_feature_adoption_monthly"
                )
                return int(connection.rows(sql)[0][0])
        except Exception:  # noqa: BLE001 - the mart may be missing when the build failed
            return None

    # everything ---------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        plan = [("duckdb", scale) for scale in self.options.duckdb_scales]
        plan += [("postgres", scale) for scale in self.options.postgres_scales]
        for engine, scale in plan:
            self.runs.append(self.run_scale(engine, scale))
            self.write_json()
        return self.results()

    def results(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at.isoformat(timespec="seconds"),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "git_commit": git_commit(),
            "machine": machine_info(),
            "options": self.options.as_dict(),
            "runs": [run.as_dict() for run in self.runs],
        }

    def write_json(self) -> None:
        self.options.json_path.parent.mkdir(parents=True, exist_ok=True)
        self.options.json_path.write_text(json.dumps(self.results(), indent=2) + "\n", encoding="utf-8")


class StepFailed(Exception):
    pass


def dbt_summary(run_results: Path, slowest: int = 8) -> dict[str, Any]:
    """Counts by status, the failed nodes and the slowest nodes of one dbt invocation."""
    try:
        data = json.loads(run_results.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    counts: dict[str, int] = {}
    for result in data["results"]:
        counts[result["status"]] = counts.get(result["status"], 0) + 1
    ranked = sorted(data["results"], key=lambda result: result["execution_time"], reverse=True)
    kinds: dict[str, float] = {}
    for result in data["results"]:
        kind = result["unique_id"].split(".")[0]
        kinds[kind] = kinds.get(kind, 0.0) + result["execution_time"]
    return {
        "elapsed_seconds": round(data.get("elapsed_time", 0.0), 2),
        "statuses": counts,
        "seconds_by_kind": {kind: round(seconds, 2) for kind, seconds in sorted(kinds.items())},
        "failed": [
            result["unique_id"] for result in data["results"] if result["status"] in ("error", "fail")
        ],
        "slowest": [
            {"node": result["unique_id"], "seconds": round(result["execution_time"], 2)}
            for result in ranked[:slowest]
        ],
    }


def now_stamp() -> str:
    return time.strftime("%Y%m%dT%H%M%S")
