"""What to generate, where to load it, and how messy to make it: the `accountpulse generate` options."""

from __future__ import annotations

import argparse
import os
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from accountpulse.errors import UserError
from accountpulse.paths import DATA_DIR, duckdb_path

# The end date the tests and the README's demo numbers are measured with (they pass it explicitly);
# without --end-date the data ends yesterday (UTC), so a freshly generated demo is fresh.
REFERENCE_END_DATE = date(2026, 11, 15)


def default_end_date() -> date:
    """Yesterday, UTC: the last complete day when the data is generated."""
    return (datetime.now(UTC) - timedelta(days=1)).date()


TARGETS = ("duckdb", "postgres", "spark")
MIN_ACCOUNTS = 16  # twelve story accounts, three awkward names, one ordinary account
MIN_DAYS = 100  # the declining story needs a steady baseline of 8 weeks before its 6 planted weeks
MAX_RATE = 0.5

# flag name -> (config field, help); each mess is injected at this rate and counted in the manifest
RATE_FLAGS: dict[str, tuple[str, str]] = {
    "--duplicate-rate": ("duplicate_rate", "share of Segment rows delivered twice (same message id)"),
    "--late-rate": ("late_rate", "share of tracks/pages received 1-10 days after they happened"),
    "--clock-skew-rate": (
        "clock_skew_rate",
        "share of user-days whose device clock is off by hours to years (tracks)",
    ),
    "--anonymous-rate": (
        "anonymous_rate",
        "share of new users whose first session is anonymous until they identify",
    ),
    "--unresolved-rate": (
        "unresolved_rate",
        "share of tracks/pages from user ids that no group call ever names",
    ),
}


@dataclass(frozen=True)
class PostgresSettings:
    """Connection settings, from PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE (never stored)."""

    host: str
    port: int
    user: str
    password: str
    dbname: str

    @classmethod
    def from_env(cls) -> PostgresSettings:
        port = os.environ.get("PGPORT", "5432")
        if not port.isdigit():
            raise UserError(f"PGPORT must be a port number, got {port!r}")
        return cls(
            host=os.environ.get("PGHOST", "127.0.0.1"),
            port=int(port),
            user=os.environ.get("PGUSER", "postgres"),
            password=os.environ.get("PGPASSWORD", ""),
            dbname=os.environ.get("PGDATABASE", "postgres"),
        )

    def describe(self) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.dbname}"


@dataclass(frozen=True)
class GeneratorConfig:
    """Every knob of the demo data set. Same config (and seed) -> the same rows, byte for byte."""

    target: str = "duckdb"
    accounts: int = 120
    days: int = 480
    seed: int = 42
    scale: float = 1.0
    end_date: date = field(default_factory=default_end_date)
    duplicate_rate: float = 0.01
    late_rate: float = 0.02
    clock_skew_rate: float = 0.005
    anonymous_rate: float = 0.3
    unresolved_rate: float = 0.002
    group_call_rate: float = 0.015  # share of sessions that start with a group call (1 = every session)
    segment_schema: str = "segment"
    stripe_schema: str = "stripe"
    duckdb_path: Path | None = None  # None: accountpulse.paths.duckdb_path() (ACCOUNTPULSE_DUCKDB_PATH)
    manifest: Path | None = None  # None: beside the DuckDB file, or data/postgres.manifest.json
    append_days: int = 0  # > 0: append that many days to existing data instead of regenerating
    progress: bool | None = None  # None: progress bars only when stderr is a terminal

    def __post_init__(self) -> None:
        self.validate()

    # ----------------------------------------------------------------------------------- checks
    def validate(self) -> None:
        if self.target not in TARGETS:
            raise UserError(f"--target must be one of {', '.join(TARGETS)}, got {self.target!r}")
        if self.accounts < MIN_ACCOUNTS:
            raise UserError(f"--accounts must be at least {MIN_ACCOUNTS} (the planted stories need them)")
        if self.days < MIN_DAYS:
            raise UserError(f"--days must be at least {MIN_DAYS} (the declining story needs 14 weeks)")
        if self.seed < 0:
            raise UserError("--seed must be a non-negative integer")
        if not self.scale > 0:
            raise UserError("--scale must be greater than 0")
        if self.append_days < 0:
            raise UserError("--append-days must be 0 or more")
        for flag, (name, _) in RATE_FLAGS.items():
            value = getattr(self, name)
            if not 0 <= value <= MAX_RATE:
                raise UserError(f"{flag} must be between 0 and {MAX_RATE}, got {value}")
        if not 0 <= self.group_call_rate <= 1:
            raise UserError(f"--group-call-rate must be between 0 and 1, got {self.group_call_rate}")
        for flag, name in (
            ("--segment-schema", self.segment_schema),
            ("--stripe-schema", self.stripe_schema),
        ):
            if not name or '"' in name or not name.isprintable():
                raise UserError(f"{flag} must be a plain schema name, got {name!r}")
        if self.segment_schema == self.stripe_schema:
            raise UserError("--segment-schema and --stripe-schema must differ")

    # ------------------------------------------------------------------------------ resolved paths
    @property
    def start_date(self) -> date:
        return date.fromordinal(self.end_date.toordinal() - self.days + 1)

    def resolved_duckdb_path(self) -> Path:
        return Path(self.duckdb_path).expanduser().resolve() if self.duckdb_path else duckdb_path()

    def resolved_manifest_path(self) -> Path:
        if self.manifest:
            return Path(self.manifest).expanduser().resolve()
        if self.target == "duckdb":
            db = self.resolved_duckdb_path()
            return db.with_name(f"{db.stem}.manifest.json")
        return (DATA_DIR / f"{self.target}.manifest.json").resolve()

    def schema_for(self, schema_key: str) -> str:
        return self.segment_schema if schema_key == "segment" else self.stripe_schema

    # ----------------------------------------------------------------------------- (de)serialising
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; paths as strings. Postgres credentials are never part of the config."""
        out = asdict(self)
        out["end_date"] = self.end_date.isoformat()
        out["duckdb_path"] = str(self.resolved_duckdb_path()) if self.target == "duckdb" else None
        out["manifest"] = str(self.resolved_manifest_path())
        out.pop("progress")
        return out

    def generation_key(self) -> dict[str, Any]:
        """The fields that decide the generated rows (not where they are loaded)."""
        keep = (
            "accounts",
            "days",
            "seed",
            "scale",
            "end_date",
            "group_call_rate",
            *(n for n, _ in RATE_FLAGS.values()),
        )
        data = self.to_dict()
        return {name: data[name] for name in keep}

    def with_generation_key(self, key: dict[str, Any]) -> GeneratorConfig:
        """This config (target, schemas, paths) with the generated-data fields taken from `key`."""
        known = {f.name for f in fields(self)}
        values = {k: v for k, v in key.items() if k in known}
        if "end_date" in values:
            values["end_date"] = date.fromisoformat(str(values["end_date"]))
        return replace(self, **values)

    # -------------------------------------------------------------------------------------- argparse
    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        defaults = GeneratorConfig()
        parser.add_argument("--target", choices=TARGETS, default=defaults.target)
        parser.add_argument(
            "--duckdb-path",
            type=Path,
            default=None,
            help="DuckDB file (default: ACCOUNTPULSE_DUCKDB_PATH or data/accountpulse.duckdb)",
        )
        parser.add_argument(
            "--accounts", type=int, default=defaults.accounts, help="accounts (organizations)"
        )
        parser.add_argument(
            "--days", type=int, default=defaults.days, help="days of history up to --end-date"
        )
        parser.add_argument(
            "--seed", type=int, default=defaults.seed, help="random seed (same seed, same data)"
        )
        parser.add_argument(
            "--scale",
            type=float,
            default=defaults.scale,
            help="multiplier on event volume per active user-day",
        )
        parser.add_argument(
            "--end-date",
            type=_parse_date,
            default=defaults.end_date,
            help="last event day, YYYY-MM-DD (default: yesterday, UTC, so a new demo is fresh; pass "
            f"{REFERENCE_END_DATE.isoformat()} for the data the README's numbers were measured on)",
        )
        for flag, (name, help_text) in RATE_FLAGS.items():
            default = getattr(defaults, name)
            parser.add_argument(flag, dest=name, type=float, default=default, help=f"{help_text} ({default})")
        parser.add_argument(
            "--group-call-rate",
            type=float,
            default=defaults.group_call_rate,
            help="share of sessions that start with a repeated group call; many apps call group() on "
            f"every page load, i.e. 1 ({defaults.group_call_rate})",
        )
        parser.add_argument("--segment-schema", default=defaults.segment_schema)
        parser.add_argument("--stripe-schema", default=defaults.stripe_schema)
        parser.add_argument(
            "--manifest",
            type=Path,
            default=None,
            help="manifest JSON (default: <db stem>.manifest.json beside the DuckDB file; "
            "data/postgres.manifest.json for postgres)",
        )
        parser.add_argument(
            "--append-days",
            type=int,
            default=0,
            metavar="N",
            help="append the next N days of Segment events to the existing data instead of regenerating",
        )

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> GeneratorConfig:
        names = {f.name for f in fields(cls)}
        values = {name: getattr(args, name) for name in names if hasattr(args, name)}
        return cls(**values)


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from error
