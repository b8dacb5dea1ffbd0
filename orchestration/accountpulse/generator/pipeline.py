"""`generate` (replace the raw tables with a fresh data set) and `append_days` (carry on)."""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from datetime import timedelta

import numpy as np
from tqdm import tqdm

from accountpulse.errors import UserError
from accountpulse.generator.clock import MS_DAY, day_date, day_number
from accountpulse.generator.config import GeneratorConfig
from accountpulse.generator.layout import landed_table
from accountpulse.generator.loaders import Sink, check_writable, open_sink
from accountpulse.generator.manifest import (
    GenerationResult,
    build_manifest,
    read_manifest,
    write_manifest,
)
from accountpulse.generator.messes import Counts, MessCounts
from accountpulse.generator.segment import SEGMENT_TABLES, Block, SegmentModel, block_ranges, generate_block
from accountpulse.generator.tables import Vocabulary, segment_frame, stripe_frame
from accountpulse.generator.world import World, build_world
from accountpulse.raw_schema import STRIPE_TABLES

FLUSH_ROWS = 200_000
LATE_LOOKBACK_DAYS = 10
REDELIVERY_LOOKBACK_DAYS = 7


class SegmentWriter:
    """Buffers blocks per table and bulk-loads them in chunks (bounded memory)."""

    def __init__(self, sink: Sink, world: World, flush_rows: int = FLUSH_ROWS) -> None:
        self.sink, self.flush_rows = sink, flush_rows
        self.vocab = Vocabulary(world.catalog, world.accounts, world.users)
        self.buffers: dict[str, list[dict[str, np.ndarray]]] = {name: [] for name in SEGMENT_TABLES}
        self.sizes = dict.fromkeys(SEGMENT_TABLES, 0)
        self.counts = Counts()

    def add(self, block: Block) -> None:
        self.counts.add(block.counts)
        for name, columns in block.tables.items():
            if len(columns["id"]):
                self.buffers[name].append(columns)
                self.sizes[name] += len(columns["id"])
                if self.sizes[name] >= self.flush_rows:
                    self.flush(name)

    def flush(self, name: str | None = None) -> None:
        for table_name in [name] if name else list(SEGMENT_TABLES):
            parts = self.buffers[table_name]
            if not parts:
                continue
            columns = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
            self.buffers[table_name], self.sizes[table_name] = [], 0
            raw = landed_table("segment", table_name)
            self.sink.append(raw, segment_frame(raw, columns, self.vocab))


def _progress(config: GeneratorConfig, total: int, desc: str) -> tqdm:
    disable = not sys.stderr.isatty() if config.progress is None else not config.progress
    return tqdm(total=total, desc=desc, unit="block", disable=disable, leave=False)


def _write_segment(world: World, sink: Sink, day_lo: int, day_hi: int, label: str) -> Counts:
    """Segment rows that really happened in [day_lo, day_hi), received before day_hi."""
    model = SegmentModel(world)
    writer = SegmentWriter(sink, world)
    horizon_ms = day_hi * MS_DAY
    ranges = block_ranges(day_lo, day_hi)
    with _progress(world.config, len(world.accounts) * len(ranges), f"segment {label}") as bar:
        for account in world.accounts:
            for lo, hi in ranges:
                rng = world.rng("segment", label, account.index, lo)
                writer.add(generate_block(model, account.index, lo, hi, horizon_ms, rng))
                bar.update()
    if label == "append":
        # late arrivals: events of days already loaded that arrive only now
        late_lo = day_lo - LATE_LOOKBACK_DAYS
        for account in world.accounts:
            rng = world.rng("segment", "append-late", account.index, day_lo)
            block = generate_block(
                model,
                account.index,
                late_lo,
                day_lo,
                horizon_ms,
                rng,
                include_special=False,
                received_from_ms=day_lo * MS_DAY,
            )
            writer.add(block)
    writer.flush()
    return writer.counts


def _write_stripe(world: World, sink: Sink) -> None:
    for raw in STRIPE_TABLES:
        sink.append(raw, stripe_frame(raw, world.stripe.tables.get(raw.name, [])))


def _target(config: GeneratorConfig, sink: Sink) -> dict[str, str]:
    return {"kind": config.target, "location": sink.location}


def generate(config: GeneratorConfig) -> GenerationResult:
    """Replace the raw tables with a fresh data set and write the manifest."""
    if config.append_days:
        return append_days(config, config.append_days)
    started = time.perf_counter()
    manifest_path = config.resolved_manifest_path()
    check_writable(manifest_path)
    sink = open_sink(config)
    try:
        world = build_world(config)
        sink.recreate_tables()
        day_lo, day_hi = world.start_day, world.end_day + 1
        counts = _write_segment(world, sink, day_lo, day_hi, "base")
        _write_stripe(world, sink)
        sink.commit()
        row_counts = sink.row_counts()
        target = _target(config, sink)
    finally:
        sink.close()
    write_manifest(manifest_path, build_manifest(world, counts, row_counts, target))
    return GenerationResult(
        config.target, target["location"], manifest_path, row_counts, time.perf_counter() - started
    )


def _latest_day(sink: Sink, config: GeneratorConfig) -> int:
    raw = landed_table("segment", "tracks")
    value = sink.query(f'select max(cast("timestamp" as date)) from {sink.qualified(raw)}')[0][0]
    if value is None:
        raise UserError(f"{sink.qualified(raw)} is empty: run `accountpulse generate` first")
    return day_number(value)


def _redeliver(world: World, sink: Sink, latest: int, new_rows: dict[str, int], days: int) -> dict[str, int]:
    """Load again some messages already loaded in the last week (same id, a later load time)."""
    rng = world.rng("segment", "redeliver", latest)
    since = day_date(latest - REDELIVERY_LOOKBACK_DAYS + 1).isoformat()
    done = {}
    for name in ("tracks", "pages"):
        raw = landed_table("segment", name)
        wanted = int(round(world.config.duplicate_rate * new_rows.get(name, 0)))
        if wanted == 0:
            done[name] = 0
            continue
        columns = ", ".join(f'"{c}"' for c in raw.column_names)
        where = f"\"timestamp\" >= '{since}'"
        existing = sink.frame(
            f"select {columns} from {sink.qualified(raw)} where {where} order by id, received_at"
        )
        existing = existing.drop_duplicates(subset="id", keep="first").reset_index(drop=True)
        if existing.empty:
            done[name] = 0
            continue
        pick = np.sort(rng.choice(len(existing), size=min(wanted, len(existing)), replace=False))
        copies = existing.iloc[pick].copy()
        load_ms = (latest + 1) * MS_DAY + rng.integers(0, days * MS_DAY, len(copies))
        if "uuid_ts" in copies.columns:
            copies["uuid_ts"] = load_ms.astype("datetime64[ms]").astype("datetime64[us]")
        sink.append(raw, copies.reset_index(drop=True))
        done[name] = len(copies)
    return done


def append_days(config: GeneratorConfig, days: int = 1) -> GenerationResult:
    """Append the next `days` days of Segment events after the latest day in the tracks table, plus
    late arrivals for the days before it and re-delivered copies of messages already loaded.
    Deterministic: the world is rebuilt from the manifest's config, the new days from the seed."""
    if days < 1:
        raise UserError("append_days needs days >= 1")
    started = time.perf_counter()
    manifest_path = config.resolved_manifest_path()
    manifest = read_manifest(manifest_path)
    check_writable(manifest_path)
    base = replace(config.with_generation_key(manifest["config"]), append_days=0)
    sink = open_sink(config)
    try:
        sink.require_tables()
        latest = _latest_day(sink, config)
        world = build_world(base)
        first, last = latest + 1, latest + days
        counts = _write_segment(world, sink, first, last + 1, "append")
        redelivered = _redeliver(world, sink, latest, {k: v.rows for k, v in counts.tables.items()}, days)
        for name, n in redelivered.items():
            counts.tables[name].rows += n
            counts.tables[name].duplicate_rows += n
        sink.commit()
        row_counts = sink.row_counts()
        location = sink.location
    finally:
        sink.close()

    new_days = [(day_date(first) + timedelta(days=k)).isoformat() for k in range(days)]
    messes = manifest.setdefault("messes", {})
    for name, mess in counts.tables.items():
        total = MessCounts(**messes.get(name, {}))
        total.add(mess)
        messes[name] = total.as_dict()
    manifest["row_counts"] = row_counts
    manifest.setdefault("appends", []).append(
        {
            "days": new_days,
            "after_latest_day": day_date(latest).isoformat(),
            "counts": {name: mess.as_dict() for name, mess in counts.tables.items()},
            "redelivered_ids": redelivered,
        }
    )
    manifest["window"]["latest_day"] = new_days[-1]
    write_manifest(manifest_path, manifest)
    return GenerationResult(
        config.target, location, manifest_path, row_counts, time.perf_counter() - started, new_days
    )
