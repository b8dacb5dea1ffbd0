"""The layout the demo lands its raw tables in: the raw contract (`accountpulse.raw_schema`) as a real
Segment warehouse has it, not the contract's own column list.

- Segment lands columns accountpulse does not read: every table gets `original_timestamp`, `uuid_ts`
  and the flattened `context_*` fields of analytics.js (library, IP, user agent, locale); pages get
  their properties (`referrer`, `search`) and the page and campaign context (`context_page_*`,
  `context_campaign_*`); screens (the demo has a mobile source) the mobile libraries' app, OS and
  device context. Staging ignores columns it does not know.
- Segment creates a column only when a call carried a value for it, so optional columns the demo's
  calls never carry are absent: pages have no `name` (the app's page calls name no page) and
  identifies no `name` trait. Staging reads an absent optional column as null; no mart reads either.
"""

from __future__ import annotations

from dataclasses import replace

from accountpulse.raw_schema import RAW_TABLES, TS, TXT, Column, RawTable

_CLIENT_CONTEXT = (
    Column("context_library_version", TXT, required=False),
    Column("context_ip", TXT, required=False),
    Column("context_user_agent", TXT, required=False),
    Column("context_locale", TXT, required=False),
)
_CALL_TIMES = (
    Column("original_timestamp", TS, required=False),
    Column("uuid_ts", TS, required=False),
)
_CALL_LIBRARY = (Column("context_library_name", TXT, required=False),)
_MOBILE_CONTEXT = (
    Column("context_library_name", TXT, required=False),
    Column("context_library_version", TXT, required=False),
    Column("context_app_name", TXT, required=False),
    Column("context_app_version", TXT, required=False),
    Column("context_os_name", TXT, required=False),
    Column("context_os_version", TXT, required=False),
    Column("context_device_type", TXT, required=False),
    Column("context_device_model", TXT, required=False),
    Column("context_ip", TXT, required=False),
    Column("context_locale", TXT, required=False),
)
_PAGE_PROPERTIES = (
    Column("referrer", TXT, required=False),
    Column("search", TXT, required=False),
    Column("context_page_path", TXT, required=False),
    Column("context_page_url", TXT, required=False),
    Column("context_page_title", TXT, required=False),
    Column("context_page_referrer", TXT, required=False),
    Column("context_page_search", TXT, required=False),
    Column("context_campaign_name", TXT, required=False),
    Column("context_campaign_source", TXT, required=False),
    Column("context_campaign_medium", TXT, required=False),
)

# (schema key, table) -> columns Segment lands that the contract does not list / contract columns absent
EXTRA_COLUMNS: dict[tuple[str, str], tuple[Column, ...]] = {
    ("segment", "tracks"): _CLIENT_CONTEXT,
    ("segment", "pages"): _CALL_TIMES + _CALL_LIBRARY + _CLIENT_CONTEXT + _PAGE_PROPERTIES,
    ("segment", "identifies"): _CALL_TIMES + _CALL_LIBRARY + _CLIENT_CONTEXT,
    ("segment", "groups"): _CALL_TIMES + _CALL_LIBRARY + _CLIENT_CONTEXT,
    ("segment", "screens"): _CALL_TIMES + _MOBILE_CONTEXT,
}
ABSENT_COLUMNS: dict[tuple[str, str], frozenset[str]] = {
    ("segment", "pages"): frozenset({"name"}),
    ("segment", "identifies"): frozenset({"name"}),
}


def landed(raw: RawTable) -> RawTable:
    """The table as the demo lands it: the contract's columns (less the absent ones), then the extras."""
    key = (raw.schema_key, raw.name)
    absent = ABSENT_COLUMNS.get(key, frozenset())
    if any(column.required for column in raw.columns if column.name in absent):
        raise ValueError(f"{raw.name}: a required column cannot be absent")
    kept = tuple(column for column in raw.columns if column.name not in absent)
    known = {column.name for column in kept}
    extra = tuple(column for column in EXTRA_COLUMNS.get(key, ()) if column.name not in known)
    return replace(raw, columns=kept + extra)


# every table of the contract, the optional ones too (the demo has a mobile source: screens)
LANDED_TABLES: tuple[RawTable, ...] = tuple(landed(raw) for raw in RAW_TABLES)


def landed_table(schema_key: str, name: str) -> RawTable:
    for raw in LANDED_TABLES:
        if raw.schema_key == schema_key and raw.name == name:
            return raw
    raise KeyError(f"unknown raw table {schema_key}.{name}")
