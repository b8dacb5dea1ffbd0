"""Small JSON state files under the state folder (data/ unless ACCOUNTPULSE_STATE_DIR is set).

Written whole to a temporary file and renamed, so a crash never leaves half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from accountpulse.paths import state_dir


def state_file(name: str) -> Path:
    return state_dir() / name


def read_json(path: Path, default: Any) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return default
    except json.JSONDecodeError:
        return default


def write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(handle, "w") as out:
        json.dump(value, out, indent=2, sort_keys=True, default=str)
    os.replace(tmp, path)


class RowCountState:
    """Row counts of the guarded models at their last passing check, per warehouse."""

    FILE = "gx_row_counts.json"

    def __init__(self, warehouse_identity: str) -> None:
        self.path = state_file(self.FILE)
        self.key = warehouse_identity

    def previous(self, relation: str) -> int | None:
        entry = read_json(self.path, {}).get(self.key, {}).get(relation)
        return None if entry is None else int(entry["rows"])

    def record(self, relation: str, rows: int, run_id: str | None = None) -> None:
        data = read_json(self.path, {})
        data.setdefault(self.key, {})[relation] = {"rows": rows, "run_id": run_id}
        write_json(self.path, data)
