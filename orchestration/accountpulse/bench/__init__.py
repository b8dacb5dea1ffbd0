"""`accountpulse bench` / `make bench`: how the build performs at 1M and 10M events (100M with
--large) on DuckDB and at 1M (10M with --postgres-large) on PostgreSQL.

For each engine and scale: generate the data, `dbt build --full-refresh`, append one day of events
and build incrementally as the daily run does (`--selector daily`), time the full-history audits
the weekly build adds, build again with nothing new, then rebuild with --full-refresh and check
that every mart and every incremental model equals what the incremental build produced. On DuckDB
also the floor: one hand-written query for account × feature × month adopting users. Each step's
wall time, peak memory of the whole process tree, rows per second and the machine load go to a JSON
file and, as a markdown table with the machine's cores and memory, to docs/BENCHMARKS.md.

Modules: `scales` (the data sets), `procs` (measuring a child process tree), `floor` (the floor
query), `compare` (incremental vs full refresh), `runner` (the steps), `report` (markdown, targets).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from accountpulse.bench.scales import SCALES, scale_named
from accountpulse.errors import UserError
from accountpulse.paths import DATA_DIR, PROJECT_DIR

DEFAULT_DUCKDB_SCALES = ["1m", "10m"]
DEFAULT_POSTGRES_SCALES = ["1m"]
MARKDOWN_PATH = PROJECT_DIR / "docs" / "BENCHMARKS.md"
MARKDOWN_HEADER = """# Benchmarks

Figures from `make bench` / `accountpulse bench` (orchestration/accountpulse/bench). Each run appends
a section: the machine, every measured step with its wall time, the peak resident memory of the whole
process tree, rows per second and the machine's load average, then the targets of issue #9. A build
is `dbt build` as a production run issues it (seeds, models, data tests; unit tests excluded — they
read no warehouse data and run in `make test`). Full builds build everything. Sections from
2026-11-25 on: the incremental and no-change builds are the daily run (`--selector daily`, without
the two audits that read all raw history) and "history audits" is the step the weekly full build
adds (`--select tag:history_audit`); earlier sections' incremental builds include the audits. Load
averages above the core count mean other work shared the CPU: those wall times are inflated.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    names = ", ".join(SCALES)
    parser.add_argument(
        "--scale",
        action="append",
        dest="scales",
        metavar="NAME",
        help=f"DuckDB data set, repeatable ({names}); default {' + '.join(DEFAULT_DUCKDB_SCALES)}. "
        "Naming scales also turns the PostgreSQL default off (use --postgres-scale).",
    )
    parser.add_argument("--large", action="store_true", help="add 100m events on DuckDB")
    parser.add_argument(
        "--postgres-scale",
        action="append",
        dest="postgres_scales",
        metavar="NAME",
        help=f"PostgreSQL data set, repeatable; default {' + '.join(DEFAULT_POSTGRES_SCALES)}",
    )
    parser.add_argument("--postgres-large", action="store_true", help="add 10m events on PostgreSQL")
    parser.add_argument("--no-postgres", action="store_true", help="DuckDB only")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=DATA_DIR / "bench",
        help="where the benchmark's DuckDB files, dbt targets and logs go (default data/bench)",
    )
    parser.add_argument(
        "--json", type=Path, default=None, help="results file (default <workdir>/bench-<time>.json)"
    )
    parser.add_argument(
        "--markdown",
        type=Path,
        default=MARKDOWN_PATH,
        help="append the results table here (default docs/BENCHMARKS.md)",
    )
    parser.add_argument("--no-markdown", action="store_true", help="write the JSON only")
    parser.add_argument("--title", default=None, help="heading of the markdown section")
    parser.add_argument(
        "--threads",
        type=int,
        default=int(os.environ.get("ACCOUNTPULSE_DUCKDB_THREADS", "2")),
        help="DuckDB threads (ACCOUNTPULSE_DUCKDB_THREADS; default 2)",
    )
    parser.add_argument(
        "--memory-limit",
        default=os.environ.get("ACCOUNTPULSE_DUCKDB_MEMORY_LIMIT", "3GB"),
        help="DuckDB memory limit (ACCOUNTPULSE_DUCKDB_MEMORY_LIMIT; default 3GB)",
    )
    parser.add_argument(
        "--pg-database",
        default=os.environ.get("ACCOUNTPULSE_BENCH_PGDATABASE", "accountpulse_bench"),
        help="PostgreSQL database to use (created if missing; its raw tables are replaced)",
    )
    parser.add_argument(
        "--full-build-only",
        action="store_true",
        help="measure generation, the full build and the floor only (no incremental steps, no comparison)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the DuckDB files after measuring")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


def options_from_args(args: argparse.Namespace):  # noqa: ANN201 - runner.Options
    from accountpulse.bench.runner import Options, now_stamp

    try:
        duckdb_scales = [scale_named(name) for name in (args.scales or DEFAULT_DUCKDB_SCALES)]
        if args.large and "100m" not in [scale.name for scale in duckdb_scales]:
            duckdb_scales.append(scale_named("100m"))
        if args.no_postgres:
            postgres_names: list[str] = []
        elif args.postgres_scales:
            postgres_names = list(args.postgres_scales)
        else:
            postgres_names = [] if args.scales else list(DEFAULT_POSTGRES_SCALES)
        if args.postgres_large and "10m" not in postgres_names and not args.no_postgres:
            postgres_names.append("10m")
        postgres_scales = [scale_named(name) for name in postgres_names]
    except ValueError as error:
        raise UserError(str(error)) from error
    if args.threads < 1:
        raise UserError("--threads must be at least 1")
    workdir = args.workdir.expanduser().resolve()
    return Options(
        duckdb_scales=duckdb_scales,
        postgres_scales=postgres_scales,
        workdir=workdir,
        json_path=(args.json or workdir / f"bench-{now_stamp()}.json").expanduser().resolve(),
        markdown_path=None if args.no_markdown else args.markdown.expanduser().resolve(),
        threads=args.threads,
        memory_limit=args.memory_limit,
        pg_database=args.pg_database,
        keep=args.keep,
        quiet=args.quiet,
        full_build_only=args.full_build_only,
    )


def append_markdown(path: Path, section: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = path.read_text(encoding="utf-8") if path.exists() else MARKDOWN_HEADER
    path.write_text(existing.rstrip("\n") + "\n\n" + section, encoding="utf-8")


def run_bench(args: argparse.Namespace) -> int:
    from accountpulse.bench.report import markdown
    from accountpulse.bench.runner import Bench

    options = options_from_args(args)
    bench = Bench(options)
    results = bench.run()
    bench.write_json()
    section = markdown(results, args.title)
    if options.markdown_path is not None:
        append_markdown(options.markdown_path, section)
    if not options.quiet:
        print("\n" + section)
        print(f"Results: {options.json_path}")
        if options.markdown_path is not None:
            print(f"Appended to {options.markdown_path}")
    # targets are reported, never asserted (speed is measured, not tested); a failed step or an
    # incremental result that differs from a full refresh is an error
    failed_steps = [step for run in results["runs"] for step in run["steps"] if step["returncode"] != 0]
    unequal = [run for run in results["runs"] if not (run["incremental_equals_full_refresh"] or {}).get("ok")]
    return 1 if failed_steps or unequal or any(run["error"] for run in results["runs"]) else 0
