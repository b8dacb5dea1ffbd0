"""Turn generated columns into frames with exactly the landed layout's columns and types (layout.py)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from accountpulse.generator.catalog import Catalog
from accountpulse.generator.population import Account, Users
from accountpulse.generator.pricing import TIERS
from accountpulse.generator.segment import CAMPAIGNS, LIBRARIES
from accountpulse.raw_schema import BIG, BOOL, DBL, TS, RawTable


def _lookup(values: Sequence[Any]) -> np.ndarray:
    """An object array whose last element is None, so that code -1 looks up a null."""
    out = np.empty(len(values) + 1, dtype=object)
    out[: len(values)] = list(values)
    out[-1] = None
    return out


def _ms(values: np.ndarray) -> np.ndarray:
    return values.astype("datetime64[ms]")


LIBRARY_VERSIONS = ("next-1.70.0", "6.2.0", "4.1.8", "4.11.3")  # per LIBRARIES entry
APP_NAME = "AccountPulse Demo"
APP_VERSION = "3.4.1"
MOBILE_OS = (
    ("iOS", "17.4.1", "ios", "iPhone15,2"),
    ("Android", "14", "android", "Pixel 8"),
)  # by library - 2
USER_AGENTS = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
)
LOCALES = ("en-US", "en-GB", "de-DE", "fr-FR", "en-US")
# documentation address ranges (RFC 5737): never a real device
IP_NETWORKS = ("192.0.2", "198.51.100", "203.0.113")
CAMPAIGN_REFERRERS = {"google": "https://www.google.com/", "linkedin": "https://www.linkedin.com/"}
SESSION_GAP_MS = 30 * 60 * 1000  # a page viewed within this of the device's previous page was reached from it


def _device_values(n_users: int) -> dict[str, np.ndarray]:
    """Per device (anonymous id code: a user's browser, then n_users + the user's phone): IP, user agent
    (browsers only), locale (the user's)."""
    codes = range(2 * n_users)
    return {
        "context_ip": _lookup([f"{IP_NETWORKS[k % 3]}.{1 + (k // 3) % 254}" for k in codes]),
        "context_user_agent": _lookup(
            [USER_AGENTS[k % len(USER_AGENTS)] if k < n_users else None for k in codes]
        ),
        "context_locale": _lookup([LOCALES[(k % n_users) % len(LOCALES)] for k in codes]),
    }


def mobile_anonymous_ids(user_ids: list[str]) -> list[str]:
    """The anonymous id of each user's phone (derived from the user id: no random draw)."""
    namespace = uuid.UUID("6f1c1b1e-4a4e-4d2b-9a53-2f0c9d1b7e21")
    return [str(uuid.uuid5(namespace, user_id)) for user_id in user_ids]


def _campaign_search(name: str, source: str, medium: str) -> str:
    return f"?utm_source={source}&utm_medium={medium}&utm_campaign={name}"


class Vocabulary:
    """Code -> value tables for every coded Segment column."""

    def __init__(self, catalog: Catalog, accounts: list[Account], users: Users) -> None:
        self.user_id = _lookup(users.user_id)
        self.anonymous_id = _lookup(list(users.anonymous_id) + mobile_anonymous_ids(users.user_id))
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
        self.library_version = _lookup(LIBRARY_VERSIONS)
        self.device = _device_values(len(users.user_id))
        self.campaign_name = _lookup([c[0] for c in CAMPAIGNS])
        self.campaign_source = _lookup([c[1] for c in CAMPAIGNS])
        self.campaign_medium = _lookup([c[2] for c in CAMPAIGNS])
        self.campaign_search = _lookup([_campaign_search(*c) for c in CAMPAIGNS])
        self.campaign_referrer = _lookup([CAMPAIGN_REFERRERS.get(c[1]) for c in CAMPAIGNS])


def _previous_page_urls(columns: dict[str, np.ndarray], vocab: Vocabulary) -> np.ndarray:
    """The url of the device's previous page view within SESSION_GAP_MS, else None. Computed per
    message id, so that every delivery of a message carries the same referrer."""
    ids, first, inverse = np.unique(columns["id"], return_index=True, return_inverse=True)
    device, at, page = columns["anonymous_id"][first], columns["timestamp"][first], columns["page"][first]
    order = np.lexsort((at, device))
    previous = np.full(len(ids), -1, dtype=np.int64)
    if len(order) > 1:
        same = (device[order][1:] == device[order][:-1]) & (device[order][1:] >= 0)
        same &= at[order][1:] - at[order][:-1] < SESSION_GAP_MS
        previous[order[1:]] = np.where(same, page[order][:-1], -1)
    return vocab.page_url[previous][inverse]


def segment_frame(raw: RawTable, columns: dict[str, np.ndarray], vocab: Vocabulary) -> pd.DataFrame:
    """A Segment table's frame from a block's coded columns."""
    c = columns
    data: dict[str, Any] = {"id": c["id"]}
    data["anonymous_id"] = vocab.anonymous_id[c["anonymous_id"]]
    data["user_id"] = vocab.user_id[c["user_id"]]
    data["original_timestamp"] = _ms(c["original_timestamp"])
    data["uuid_ts"] = _ms(c["uuid_ts"])
    # client context: from the device; server-side calls (analytics-node) carry none
    library = c.get("context_library_name", np.zeros(len(c["id"]), dtype=np.int64))
    if raw.name == "screens":  # the phone's library: as the session's tracks (segment.py)
        library = 2 + np.maximum(c["user_id"], 0) % 2
    device = np.where(library != 1, c["anonymous_id"], -1)
    data["context_library_name"] = vocab.library[library]
    data["context_library_version"] = vocab.library_version[library]
    for name, values in vocab.device.items():
        data[name] = values[device]
    if raw.name == "tracks":
        data["event"] = vocab.event[c["event"]]
        data["event_text"] = vocab.event_text[c["event"]]
        data["context_group_id"] = vocab.group_id[c["context_group_id"]]
    elif raw.name == "pages":
        campaign = c["campaign"]
        data["name"] = vocab.page_name[c["page"]]
        data["path"] = data["context_page_path"] = vocab.page_path[c["page"]]
        data["url"] = data["context_page_url"] = vocab.page_url[c["page"]]
        data["title"] = data["context_page_title"] = vocab.page_title[c["page"]]
        previous = _previous_page_urls(c, vocab)
        referrer = np.where(previous == None, vocab.campaign_referrer[campaign], previous)  # noqa: E711
        data["referrer"] = data["context_page_referrer"] = referrer
        data["search"] = data["context_page_search"] = vocab.campaign_search[campaign]
        data["context_campaign_name"] = vocab.campaign_name[campaign]
        data["context_campaign_source"] = vocab.campaign_source[campaign]
        data["context_campaign_medium"] = vocab.campaign_medium[campaign]
        data["context_group_id"] = vocab.group_id[c["context_group_id"]]
    elif raw.name == "screens":
        data["name"] = vocab.page_name[c["page"]]
        data["context_group_id"] = vocab.group_id[c["context_group_id"]]
        data["context_app_name"] = np.full(len(c["id"]), APP_NAME, dtype=object)
        data["context_app_version"] = np.full(len(c["id"]), APP_VERSION, dtype=object)
        os = library - 2
        for k, name in enumerate(
            ("context_os_name", "context_os_version", "context_device_type", "context_device_model")
        ):
            data[name] = np.array([entry[k] for entry in MOBILE_OS], dtype=object)[os]
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
    # the landed layout: the columns a real warehouse has (some optional ones absent)
    return frame(raw, {name: data[name] for name in raw.column_names if name in data})


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
