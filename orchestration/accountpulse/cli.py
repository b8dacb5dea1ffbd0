"""`accountpulse` command line: generate demo data, build through Dagster, run the demo, alerts.

User mistakes end with one clear line on stderr and exit code 2, never a stack trace.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from collections.abc import Callable, Sequence

from accountpulse.errors import UserError

TARGETS = ("duckdb", "postgres")


def _cmd_generate(args: argparse.Namespace) -> int:
    from accountpulse.generator import GeneratorConfig, generate

    config = GeneratorConfig.from_args(args)
    result = generate(config)
    print(result.summary())
    return 0


def _add_generate(sub: argparse._SubParsersAction) -> None:
    try:
        from accountpulse.generator import GeneratorConfig
    except ImportError:  # the generator is optional for every other command
        return
    parser = sub.add_parser("generate", help="generate the demo data set into the raw tables")
    GeneratorConfig.add_arguments(parser)
    parser.set_defaults(func=_cmd_generate)


def _use_target(target: str) -> None:
    """The dbt profile, the Dagster definitions and the checks all read ACCOUNTPULSE_TARGET."""
    os.environ["ACCOUNTPULSE_TARGET"] = target


def _cmd_build(args: argparse.Namespace) -> int:
    from accountpulse.build import run_build

    _use_target(args.target)
    outcome = run_build(
        args.target,
        as_of_date=args.as_of_date,
        full_refresh=args.full_refresh,
        daily=args.daily,
        progress=not args.no_progress,
    )
    if outcome.as_of_note:  # before the summary: a failed build's output ends with its cause
        print(outcome.as_of_note)
    print(outcome.summary())
    return 0 if outcome.success else 1


def _add_build(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "build", help="run the Dagster build job in-process: dbt layer by layer, checks, alert delivery"
    )
    parser.add_argument("--target", choices=TARGETS, default=os.environ.get("ACCOUNTPULSE_TARGET", "duckdb"))
    parser.add_argument(
        "--as-of-date",
        help="measure every 'as of' metric on this date (YYYY-MM-DD; from the first event to today, UTC)",
    )
    parser.add_argument("--full-refresh", action="store_true", help="rebuild incremental models from scratch")
    parser.add_argument(
        "--daily",
        action="store_true",
        help="the daily job: skip the audits that read all raw history (dbt tag history_audit)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=_cmd_build)


def _report_command(parser: argparse.ArgumentParser) -> Callable[[], int] | None:
    """`accountpulse report` when it exists (a registered subcommand, else a module with main())."""
    subparsers = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
    if subparsers and "report" in subparsers[0].choices:
        return lambda: main(["report"])
    if importlib.util.find_spec("accountpulse.report") is None:
        return None
    module = __import__("accountpulse.report", fromlist=["main"])
    entry = getattr(module, "main", None)
    return (lambda: int(entry([]) or 0)) if callable(entry) else None


def _cmd_demo(args: argparse.Namespace) -> int:
    from accountpulse.build import run_build
    from accountpulse.paths import duckdb_path, marts_duckdb_path

    try:
        from accountpulse.generator import GeneratorConfig, generate
    except ImportError as error:
        raise UserError("the demo data generator is not installed (accountpulse.generator)") from error

    _use_target("duckdb")
    started = time.monotonic()
    print(generate(GeneratorConfig(target="duckdb")).summary())
    outcome = run_build("duckdb", full_refresh=True, progress=not args.no_progress)
    print(outcome.summary())
    if not outcome.success:
        return 1
    report = _report_command(build_parser())
    if report is not None:
        code = report()
        if code:
            return code
    print(f"\nDemo built in {time.monotonic() - started:.0f}s. Working file (every schema): {duckdb_path()}")
    print(
        f"Marts for readers: duckdb -readonly {marts_duckdb_path()}  (schema 'marts'; replaced whole "
        "after each build that passes its checks); the UI: make dagster"
    )
    return 0


def _add_demo(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "demo", help="generate the demo data, build and check everything, write the report"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=_cmd_demo)


def _cmd_alerts(args: argparse.Namespace) -> int:
    from accountpulse.alerts import deliver, mask_url, read_open_alerts
    from accountpulse.build import alerts_relation
    from accountpulse.warehouse import Warehouse

    _use_target(args.target)
    warehouse = Warehouse.for_readers(args.target)  # DuckDB: the published marts, never the working file
    warehouse.check_reachable()
    relation = alerts_relation(args.target)
    if args.deliver:
        webhook = os.environ.get("ACCOUNTPULSE_ALERT_WEBHOOK") or None
        print(deliver(warehouse, relation, webhook_url=webhook).summary())
        return 0
    frame = read_open_alerts(warehouse, relation)
    if frame is None:
        print("No alerts yet: the account_alerts mart does not exist in this warehouse.")
        return 0
    if frame.empty:
        print("No open alerts.")
        return 0
    columns = [
        column
        for column in ("opened_date", "severity", "alert_type", "account_id", "mrr_at_stake", "alert_id")
    ]
    shown = frame[[column for column in columns if column in frame.columns]]
    if "opened_date" in shown.columns:  # newest first
        shown = shown.sort_values("opened_date", ascending=False, kind="stable")
    print(shown.to_string(index=False, max_rows=args.limit))
    print(f"\n{len(frame)} open alerts. Deliver new ones with: accountpulse alerts --deliver", end="")
    webhook = mask_url(os.environ.get("ACCOUNTPULSE_ALERT_WEBHOOK"))
    print(f" (webhook: {webhook})" if webhook else " (outbox only: ACCOUNTPULSE_ALERT_WEBHOOK is not set)")
    return 0


def _add_alerts(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("alerts", help="list open alerts, or deliver the new ones (outbox + webhook)")
    parser.add_argument("--target", choices=TARGETS, default=os.environ.get("ACCOUNTPULSE_TARGET", "duckdb"))
    parser.add_argument("--deliver", action="store_true", help="write new alerts to the outbox and POST them")
    parser.add_argument("--limit", type=int, default=50, help="rows to show")
    parser.set_defaults(func=_cmd_alerts)


def _cmd_export(args: argparse.Namespace) -> int:
    from accountpulse.crm_export import export_crm

    _use_target(args.target)
    return export_crm(args.target, args.format, args.changed_since, args.output)


def _add_export(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "export", help="write a mart for another tool: `export crm` (CRM account signals)"
    )
    what = parser.add_subparsers(dest="what", required=True)
    crm = what.add_parser(
        "crm", help="rpt_crm_account_signals as CSV or JSON lines, for a CRM import or reverse-ETL sync"
    )
    crm.add_argument("--target", choices=TARGETS, default=os.environ.get("ACCOUNTPULSE_TARGET", "duckdb"))
    crm.add_argument("--format", choices=("csv", "jsonl"), default="csv", help="csv (default) or jsonl")
    crm.add_argument(
        "--changed-since",
        metavar="YYYY-MM-DD",
        help="only the accounts whose signals changed on or after this date (signals_changed_at)",
    )
    crm.add_argument("--output", metavar="PATH", help="write to this file (default: standard output)")
    crm.set_defaults(func=_cmd_export)


def _cmd_metrics(args: argparse.Namespace) -> int:
    from accountpulse.semantic import run_metrics

    return run_metrics(args.target, args.mf_args)


def _add_metrics(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "metrics",
        help="query metrics by name (MetricFlow `mf` on the published marts); no arguments: examples",
        description="Runs `mf MF_ARGS` (e.g. query --metrics mrr --group-by metric_time__month, "
        "list metrics) against the marts readers use: the published DuckDB marts file, or PGDATABASE.",
    )
    parser.add_argument("--target", choices=TARGETS, default=os.environ.get("ACCOUNTPULSE_TARGET", "duckdb"))
    parser.add_argument("mf_args", nargs=argparse.REMAINDER, help="arguments for mf (none: example queries)")
    parser.set_defaults(func=_cmd_metrics)


def _add_report(sub: argparse._SubParsersAction) -> None:
    from accountpulse.report import add_arguments, run

    parser = sub.add_parser("report", help="write the static HTML account report from the marts (DuckDB)")
    add_arguments(parser)
    parser.set_defaults(func=run)


def _add_bench(sub: argparse._SubParsersAction) -> None:
    from accountpulse.bench import add_arguments, run_bench

    parser = sub.add_parser(
        "bench", help="measure generation and builds at 1M/10M events (DuckDB) and 1M (PostgreSQL)"
    )
    add_arguments(parser)
    parser.set_defaults(func=run_bench)


COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_generate,
    _add_build,
    _add_demo,
    _add_alerts,
    _add_export,
    _add_metrics,
    _add_report,
    _add_bench,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="accountpulse", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # inside the try: a closed pipe is reported here, not at interpreter exit
        return code
    except UserError as error:
        print(f"accountpulse: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("accountpulse: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`accountpulse generate | head`): stop quietly, as a SIGPIPE'd tool does;
        # point stdout at /dev/null so the interpreter's final flush does not raise again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
