"""Turn generated columns into frames with exactly the raw_schema columns and types."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from accountpulse.generator.catalog import Catalog
from accountpulse.generator.population import Account, Users
from accountpulse.generator.pricing import TIERS
from accountpulse.generator.segment import LIBRARIES
from accountpulse.raw_schema import BIG, BOOL, DBL, TS, RawTable


def _lookup(values: Sequence[Any]) -> np.ndarray:
    """An object array whose last element is None, so that code -1 looks up a null."""
    out = np.empty(len(values) + 1, dtype=object)
    out[: len(values)] = list(values)
    out[-1] = None
    return out


def _ms(values: np.ndarray) -> np.ndarray:
    return values.astype("datetime64[ms]")


class Vocabulary:
    """Code -> value tables for every coded Segment column."""

    def __init__(self, catalog: Catalog, accounts: list[Account], users: Users) -> None:
        self.user_id = _lookup(users.user_id)
        self.anonymous_id = _lookup(users.anonymous_id)
        self.email = _lookup(users.email)
        self.user_name = _lookup(users.name)
        self.role = _lookup(users.role)
        self.event = _lookup(catalog.events)
        self.event_text = _lookup(catalog.event_texts)
        self.library = _lookup(LIBRARIES)
        self.page_name = _lookup([p.name for p in catalog.pages])
        self.page_path = _lookup([p.path for p in catalog.pages])
        self.page_url = _lookup([p.url for p in catalog.pages])
        self.page_title = _lookup([p.title for p in catalog.pages])
        self.group_id = _lookup([a.account_id for a in accounts])
        self.group_name = _lookup([a.name for a in accounts])
        self.industry = _lookup([a.industry for a in accounts])
        self.employees = _lookup([a.employees for a in accounts])
        self.group_created = np.array([a.created_ms for a in accounts], dtype=np.int64)
        self.plan = _lookup(TIERS)


def segment_frame(raw: RawTable, columns: dict[str, np.ndarray], vocab: Vocabulary) -> pd.DataFrame:
    """A Segment table's frame from a block's coded columns."""
    c = columns
    data: dict[str, Any] = {"id": c["id"]}
    data["anonymous_id"] = vocab.anonymous_id[c["anonymous_id"]]
    data["user_id"] = vocab.user_id[c["user_id"]]
    if raw.name == "tracks":
        data["event"] = vocab.event[c["event"]]
        data["event_text"] = vocab.event_text[c["event"]]
        data["original_timestamp"] = _ms(c["original_timestamp"])
        data["uuid_ts"] = _ms(c["uuid_ts"])
        data["context_group_id"] = vocab.group_id[c["context_group_id"]]
        data["context_library_name"] = vocab.library[c["context_library_name"]]
    elif raw.name == "pages":
        data["name"] = vocab.page_name[c["page"]]
        data["path"] = vocab.page_path[c["page"]]
        data["url"] = vocab.page_url[c["page"]]
        data["title"] = vocab.page_title[c["page"]]
        data["context_group_id"] = vocab.group_id[c["context_group_id"]]
    elif raw.name == "identifies":
        data["email"] = vocab.email[c["trait_user"]]
        data["name"] = vocab.user_name[c["trait_user"]]
        data["role"] = vocab.role[c["trait_user"]]
    elif raw.name == "groups":
        data["group_id"] = vocab.group_id[c["group_id"]]
        data["name"] = vocab.group_name[c["group_id"]]
        data["plan"] = vocab.plan[c["plan"]]
        data["industry"] = vocab.industry[c["group_id"]]
        data["employees"] = vocab.employees[c["group_id"]]
        data["created_at"] = _ms(vocab.group_created[c["group_id"]])
    for name in ("timestamp", "sent_at", "received_at"):
        data[name] = _ms(c[name])
    return frame(raw, data)


def frame(raw: RawTable, data: dict[str, Any]) -> pd.DataFrame:
    """A frame with exactly raw's columns, in order, typed for the loaders; optional columns the
    generator does not fill are null."""
    missing = [c.name for c in raw.columns if c.required and c.name not in data]
    extra = [name for name in data if name not in raw.column_names]
    if missing or extra:
        raise ValueError(f"{raw.name}: missing columns {missing}, unexpected {extra}")
    rows = len(next(iter(data.values()))) if data else 0
    out: dict[str, Any] = {}
    for column in raw.columns:
        values = data[column.name] if column.name in data else [None] * rows
        if column.sql_type == TS:
            out[column.name] = _timestamps(values)
        elif column.sql_type == BIG:
            out[column.name] = pd.array(values, dtype="Int64")
        elif column.sql_type == BOOL:
            out[column.name] = pd.array(values, dtype="boolean")
        elif column.sql_type == DBL:
            out[column.name] = pd.array(values, dtype="Float64")
        else:
            out[column.name] = pd.Series(values, dtype=object)
    return pd.DataFrame(out)


def _timestamps(values: Any) -> np.ndarray:
    """datetime64[us] (9999-12-31 fits; nanoseconds would not); None -> NaT."""
    if isinstance(values, np.ndarray) and np.issubdtype(values.dtype, np.datetime64):
        return values.astype("datetime64[us]")
    return np.array([np.datetime64("NaT") if v is None else v for v in values], dtype="datetime64[us]")


def stripe_frame(raw: RawTable, rows: list[dict[str, Any]]) -> pd.DataFrame:
    unknown = sorted({key for row in rows for key in row} - set(raw.column_names))
    if unknown:
        raise ValueError(f"{raw.name}: generated columns {unknown} are not in the raw-input contract")
    data = {column.name: [row.get(column.name) for row in rows] for column in raw.columns}
    return frame(raw, data)
