"""The raw warehouse layout accountpulse reads: Segment and Stripe tables as their loaders land them.

This is the single description of the input contract on the Python side. The generator creates
tables from it, tests drop columns from it, and ``models/staging/*/_*__sources.yml`` documents the
same columns for dbt. Types are portable SQL type names understood by DuckDB and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str
    required: bool = True


@dataclass(frozen=True)
class RawTable:
    schema_key: str  # "segment" or "stripe": resolved through the segment_schema/stripe_schema vars
    name: str
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]


TS = "timestamp"
TXT = "varchar"
BIG = "bigint"
BOOL = "boolean"
DBL = "double precision"

_SEGMENT_TIMES = (
    Column("timestamp", TS),
    Column("sent_at", TS, required=False),
    Column("received_at", TS),
)

SEGMENT_TABLES: tuple[RawTable, ...] = (
    RawTable(
        "segment",
        "tracks",
        (
            Column("id", TXT),
            Column("anonymous_id", TXT, required=False),
            Column("user_id", TXT),
            Column("event", TXT),
            Column("event_text", TXT, required=False),
            Column("timestamp", TS),
            Column("original_timestamp", TS, required=False),
            Column("sent_at", TS, required=False),
            Column("received_at", TS),
            Column("uuid_ts", TS, required=False),
            Column("context_group_id", TXT, required=False),
            Column("context_library_name", TXT, required=False),
        ),
    ),
    RawTable(
        "segment",
        "pages",
        (
            Column("id", TXT),
            Column("anonymous_id", TXT, required=False),
            Column("user_id", TXT),
            *_SEGMENT_TIMES,
            Column("name", TXT, required=False),
            Column("path", TXT, required=False),
            Column("url", TXT, required=False),
            Column("title", TXT, required=False),
            Column("context_group_id", TXT, required=False),
        ),
    ),
    RawTable(
        "segment",
        "identifies",
        (
            Column("id", TXT),
            Column("anonymous_id", TXT, required=False),
            Column("user_id", TXT),
            *_SEGMENT_TIMES,
            Column("email", TXT, required=False),
            Column("name", TXT, required=False),
            Column("role", TXT, required=False),
        ),
    ),
    RawTable(
        "segment",
        "groups",
        (
            Column("id", TXT),
            Column("anonymous_id", TXT, required=False),
            Column("user_id", TXT),
            Column("group_id", TXT),
            *_SEGMENT_TIMES,
            Column("name", TXT, required=False),
            Column("plan", TXT, required=False),
            Column("industry", TXT, required=False),
            Column("employees", TXT, required=False),
            Column("created_at", TS, required=False),
        ),
    ),
)

# Tables only some warehouses have: Segment's screens exist only where a mobile source sends screen calls.
# Not in RAW_TABLES (a warehouse without them is complete); staging reads them when they are there.
OPTIONAL_TABLES: tuple[RawTable, ...] = (
    RawTable(
        "segment",
        "screens",
        (
            Column("id", TXT),
            Column("anonymous_id", TXT, required=False),
            Column("user_id", TXT),
            Column("timestamp", TS),
            Column("original_timestamp", TS, required=False),
            Column("sent_at", TS, required=False),
            Column("received_at", TS),
            Column("uuid_ts", TS, required=False),
            Column("name", TXT, required=False),
            Column("context_group_id", TXT, required=False),
        ),
    ),
)

STRIPE_TABLES: tuple[RawTable, ...] = (
    RawTable(
        "stripe",
        "customer",
        (
            Column("id", TXT),
            Column("name", TXT, required=False),
            Column("email", TXT, required=False),
            Column("created", TS),
            Column("currency", TXT, required=False),
            Column("is_deleted", BOOL, required=False),
            Column("metadata", TXT, required=False),
        ),
    ),
    RawTable(
        "stripe",
        "subscription_history",
        (
            Column("id", TXT),
            Column("customer_id", TXT),
            Column("status", TXT),
            Column("created", TS),
            Column("start_date", TS, required=False),
            Column("current_period_start", TS),
            Column("current_period_end", TS),
            Column("cancel_at_period_end", BOOL, required=False),
            Column("canceled_at", TS, required=False),
            Column("ended_at", TS, required=False),
            Column("trial_start", TS, required=False),
            Column("trial_end", TS, required=False),
            Column("_fivetran_start", TS),
            Column("_fivetran_end", TS),
            Column("_fivetran_active", BOOL),
        ),
    ),
    RawTable(
        "stripe",
        "subscription_item",
        (
            Column("id", TXT),
            Column("subscription_id", TXT),
            Column("price_id", TXT),
            Column("quantity", BIG),
            Column("created", TS, required=False),
        ),
    ),
    RawTable(
        "stripe",
        "price",
        (
            Column("id", TXT),
            Column("product_id", TXT),
            Column("unit_amount", BIG),
            Column("currency", TXT),
            Column("recurring_interval", TXT, required=False),
            Column("recurring_interval_count", BIG, required=False),
            Column("type", TXT),
        ),
    ),
    RawTable("stripe", "product", (Column("id", TXT), Column("name", TXT, required=False))),
    RawTable(
        "stripe",
        "coupon",
        (
            Column("id", TXT),
            Column("amount_off", BIG, required=False),
            Column("percent_off", DBL, required=False),
            Column("currency", TXT, required=False),
            Column("duration", TXT),
            Column("duration_in_months", BIG, required=False),
        ),
    ),
    RawTable(
        "stripe",
        "discount",
        (
            Column("id", TXT),
            Column("type", TXT),
            Column("type_id", TXT),
            Column("coupon_id", TXT),
            Column("customer_id", TXT, required=False),
            Column("subscription_id", TXT, required=False),
            Column("invoice_id", TXT, required=False),
            Column("start", TS),
            Column("end", TS, required=False),
        ),
    ),
    RawTable(
        "stripe",
        "invoice",
        (
            Column("id", TXT),
            Column("customer_id", TXT),
            Column("subscription_id", TXT, required=False),
            Column("status", TXT),
            Column("created", TS),
            Column("period_start", TS, required=False),
            Column("period_end", TS, required=False),
            Column("currency", TXT),
            Column("subtotal", BIG, required=False),
            Column("total", BIG),
        ),
    ),
    RawTable(
        "stripe",
        "invoice_line_item",
        (
            Column("id", TXT),
            Column("invoice_id", TXT),
            Column("subscription_id", TXT, required=False),
            Column("subscription_item_id", TXT, required=False),
            Column("price_id", TXT, required=False),
            Column("amount", BIG),
            Column("currency", TXT),
            Column("quantity", BIG, required=False),
            Column("period_start", TS),
            Column("period_end", TS),
            Column("proration", BOOL, required=False),
            Column("type", TXT),
            Column("discount_amount", BIG, required=False),
        ),
    ),
)

RAW_TABLES: tuple[RawTable, ...] = SEGMENT_TABLES + STRIPE_TABLES


def table(schema_key: str, name: str) -> RawTable:
    for raw in RAW_TABLES + OPTIONAL_TABLES:
        if raw.schema_key == schema_key and raw.name == name:
            return raw
    raise KeyError(f"unknown raw table {schema_key}.{name}")


def create_table_sql(raw: RawTable, schema_name: str | None = None) -> str:
    """`create table` for one raw table, with every column quoted (timestamp/end are reserved)."""
    columns = ", ".join(f'"{column.name}" {column.sql_type}' for column in raw.columns)
    return f'create table if not exists "{schema_name or raw.schema_key}"."{raw.name}" ({columns})'


def create_empty_duckdb(path: str) -> None:
    """Create every raw table (empty, if missing) in a DuckDB file: a fresh install's warehouse."""
    import duckdb

    con = duckdb.connect(path)
    try:
        for raw in RAW_TABLES:
            con.execute(f'create schema if not exists "{raw.schema_key}"')
            con.execute(create_table_sql(raw))
    finally:
        con.close()


if __name__ == "__main__":
    import sys

    if len(sys.argv) != 2:
        sys.exit("usage: python -m accountpulse.raw_schema <duckdb file>  (creates the raw tables, empty)")
    create_empty_duckdb(sys.argv[1])
