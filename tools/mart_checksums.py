"""Per-mart checksums of a built warehouse, to prove a change leaves every mart's values as they were.

    python tools/mart_checksums.py [--target duckdb|postgres] [--schema marts] > checksums.json
    python tools/mart_checksums.py --compare before.json [--target ...]

A checksum is the SHA-256 of the table's rows as CSV, sorted on every column, floats rounded to
6 decimals (so engine float noise does not count), with its row count beside it. Run ids and
load stamps (columns named in IGNORED) are left out.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys

import pandas as pd

from accountpulse.warehouse import Warehouse

IGNORED = {"attributed_at", "built_at", "_run_id"}


def checksums(target: str, schema: str) -> dict[str, dict[str, object]]:
    warehouse = Warehouse.from_env(target)
    out: dict[str, dict[str, object]] = {}
    for name in sorted(table for sch, table in warehouse.tables() if sch == schema):
        frame = warehouse.read_table(schema, name)
        frame = frame[[column for column in sorted(frame.columns) if column not in IGNORED]]
        for column in frame.columns:
            if pd.api.types.is_float_dtype(frame[column]):
                frame[column] = frame[column].round(6)
            frame[column] = frame[column].astype(str)
        frame = frame.sort_values(list(frame.columns)).reset_index(drop=True)
        digest = hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()
        out[name] = {"rows": len(frame), "sha256": digest}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="duckdb")
    parser.add_argument("--schema", default="marts")
    parser.add_argument("--compare", help="a JSON file written by this tool before the change")
    args = parser.parse_args()
    now = checksums(args.target, args.schema)
    if not args.compare:
        json.dump(now, sys.stdout, indent=2, sort_keys=True)
        print()
        return 0
    with open(args.compare) as handle:
        before = json.load(handle)
    differing = 0
    for name in sorted(set(before) | set(now)):
        old, new = before.get(name), now.get(name)
        if old == new:
            status = "same"
        else:
            differing += 1
            status = f"DIFFERS: before {old} after {new}"
        print(f"{name:<48} {status}")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
