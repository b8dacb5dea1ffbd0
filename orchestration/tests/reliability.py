"""Helpers of the reliability tests: a small hand-made raw warehouse, and dbt runs in isolation.

The warehouse has three Segment accounts and five Stripe customers, and in between every kind of bad
input the loaders deliver, each with a known outcome. `bad_input_rows()` returns the raw rows plus
what the marts must show for them (`Expected`); `write_duckdb` / `write_postgres` load them in the
loaders' layout, optionally without the optional columns (a minimal loader) and always with a few
columns accountpulse does not know.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from accountpulse.dbt_runner import dbt_executable
from accountpulse.paths import PROJECT_DIR
from accountpulse.raw_schema import RAW_TABLES, RawTable

NO_UNIT_TESTS = ["--exclude", "resource_type:unit_test"]  # unit tests do not read data; other tests run them

START = date(2026, 1, 5)  # a Monday
AS_OF = date(2026, 3, 6)  # a Friday, the last event day: the as-of date of every build of these rows
OPEN_END = datetime(9999, 12, 31, 23, 59, 59)

# Account names and event names that break naive SQL, CSV or HTML: carried through as data.
OBRIEN = "O'Brien & Co"
INJECTION = '"; drop table marts.dim_accounts; --'
UNICODE = "Café Zürich 🚀 株式会社"
ODD_EVENT = "report'\"; drop table x; --"
ODD_EVENT_TEXT = "Report 📈 “exported” — O'Brien's"
EMAIL_USER = "jane.doe@obrien.example"  # a Segment user_id that is an email address

# Columns a loader may add that accountpulse does not read: they must change nothing.
UNEXPECTED_COLUMNS = {"context_campaign_name": "spring_promo", "_loader_batch": "batch-7"}


@dataclass
class Expected:
    """What the marts must show for the rows (hand-derived from the rows as they are made)."""

    # (account_id, day) -> events (tracks + pages) and active users of the good, attributed events
    events: Counter = field(default_factory=Counter)
    users: dict[tuple[str, date], set[str]] = field(default_factory=lambda: defaultdict(set))
    # (source table, disposition, reason) -> raw rows
    audit: Counter = field(default_factory=Counter)
    unresolved_events: int = 0
    mrr: dict[str, str] = field(default_factory=dict)  # account_id -> MRR on the as-of date (text)
    unmapped: dict[str, str] = field(default_factory=dict)  # customer_id -> metadata_status


class _Rows:
    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.expected = Expected()
        self._ids = itertools.count(1)

    def next_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):05d}"

    # --- Segment ---------------------------------------------------------------------------------
    def track(
        self,
        at: datetime,
        event: str | None,
        *,
        user_id: str | None = None,
        anonymous_id: str | None = None,
        account: str | None = None,
        event_id: str | None = None,
        text: str | None = None,
        original_timestamp: datetime | None = None,
        sent_at: datetime | None = None,
        received_at: datetime | None = None,
        loader_timestamp: datetime | None = None,
        counts_for: str | None = None,
        counts_as: str | None = None,
    ) -> dict[str, Any]:
        """One track; `counts_for` names the account the event must count for (None: not counted),
        `counts_as` the user it makes active when that is not its own user_id (a stitched anonymous id)."""
        received = received_at or at + timedelta(seconds=2)
        row = {
            "id": event_id or self.next_id("trk"),
            "anonymous_id": anonymous_id,
            "user_id": user_id,
            "event": event,
            "event_text": text if text is not None else (event or "").replace("_", " ").title(),
            "timestamp": loader_timestamp or at,
            "original_timestamp": original_timestamp or at,
            "sent_at": sent_at or at + timedelta(seconds=1),
            "received_at": received,
            "uuid_ts": received + timedelta(minutes=1),
            "context_group_id": account,
            "context_library_name": "analytics.js",
        }
        self.rows["tracks"].append(row)
        if counts_for:
            self._count(counts_for, at.date(), counts_as or user_id)
        return row

    def page(self, at: datetime, *, user_id: str | None, anonymous_id: str | None = None, counts_for=None):
        self.rows["pages"].append(
            {
                "id": self.next_id("pg"),
                "anonymous_id": anonymous_id,
                "user_id": user_id,
                "timestamp": at,
                "sent_at": at + timedelta(seconds=1),
                "received_at": at + timedelta(seconds=2),
                "name": "Home",
                "path": "/",
                "url": "https://app.example/",
                "title": "Home — accountpulse",
                "context_group_id": None,
            }
        )
        if counts_for:
            self._count(counts_for, at.date(), user_id)

    def screen(self, at: datetime, *, user_id: str, counts_for: str | None = None) -> None:
        """A mobile app's screen view (the optional screens table)."""
        self.rows["screens"].append(
            {
                "id": self.next_id("sc"),
                "anonymous_id": None,
                "user_id": user_id,
                "timestamp": at,
                "original_timestamp": at,
                "sent_at": at + timedelta(seconds=1),
                "received_at": at + timedelta(seconds=2),
                "name": "Dashboards",
                "context_group_id": None,
                "context_library_name": "analytics-ios",
            }
        )
        if counts_for:
            self._count(counts_for, at.date(), user_id)

    def _count(self, account: str, day: date, user_id: str | None) -> None:
        self.expected.events[(account, day)] += 1
        if user_id:
            self.expected.users[(account, day)].add(user_id)

    def identify(self, at: datetime, user_id: str, anonymous_id: str | None, email: str, role: str) -> None:
        self.rows["identifies"].append(
            {
                "id": self.next_id("idf"),
                "anonymous_id": anonymous_id,
                "user_id": user_id,
                "timestamp": at,
                "sent_at": at,
                "received_at": at + timedelta(seconds=2),
                "email": email,
                "name": email.split("@")[0].replace(".", " ").title(),
                "role": role,
            }
        )

    def group(self, at: datetime, user_id: str, account: str, name: str, plan: str, employees: str) -> None:
        self.rows["groups"].append(
            {
                "id": self.next_id("grp"),
                "anonymous_id": None,
                "user_id": user_id,
                "group_id": account,
                "timestamp": at,
                "sent_at": at,
                "received_at": at + timedelta(seconds=2),
                "name": name,
                "plan": plan,
                "industry": "Software",
                "employees": employees,
                "created_at": datetime(2025, 12, 1, 9, 0),
            }
        )

    # --- Stripe ----------------------------------------------------------------------------------
    def customer(self, customer_id: str, metadata: str | None, name: str | None, email: str) -> None:
        self.rows["customer"].append(
            {
                "id": customer_id,
                "name": name,
                "email": email,
                "created": datetime(2026, 1, 2, 12, 0),
                "currency": "usd",
                "is_deleted": False,
                "metadata": metadata,
            }
        )

    def price(self, price_id: str, unit_amount: int, currency: str = "usd") -> None:
        self.rows["price"].append(
            {
                "id": price_id,
                "product_id": "prod_team",
                "unit_amount": unit_amount,
                "currency": currency,
                "recurring_interval": "month",
                "recurring_interval_count": 1,
                "type": "recurring",
            }
        )

    def monthly_subscription(
        self, customer_id: str, price_id: str, unit_amount: int, quantity: int, start: datetime
    ) -> str:
        """An active monthly subscription billed from `start` up to the as-of date."""
        subscription_id = f"sub_{customer_id}"
        item_id = f"si_{customer_id}"
        periods = []
        period_start = start
        while period_start.date() <= AS_OF:
            month = period_start.month % 12 + 1
            period_end = period_start.replace(month=month, year=period_start.year + (month == 1))
            periods.append((period_start, period_end))
            period_start = period_end
        self.rows["subscription_history"].append(
            {
                "id": subscription_id,
                "customer_id": customer_id,
                "status": "active",
                "created": start,
                "start_date": start,
                "current_period_start": periods[-1][0],
                "current_period_end": periods[-1][1],
                "cancel_at_period_end": False,
                "canceled_at": None,
                "ended_at": None,
                "trial_start": None,
                "trial_end": None,
                "_fivetran_start": start,
                "_fivetran_end": OPEN_END,
                "_fivetran_active": True,
            }
        )
        self.rows["subscription_item"].append(
            {
                "id": item_id,
                "subscription_id": subscription_id,
                "plan_id": price_id,
                "quantity": quantity,
                "created": start,
            }
        )
        for period in periods:
            invoice_id = self.next_id("in")
            amount = unit_amount * quantity
            self.rows["invoice"].append(
                {
                    "id": invoice_id,
                    "customer_id": customer_id,
                    "subscription_id": subscription_id,
                    "status": "paid",
                    "created": period[0],
                    "period_start": period[0],
                    "period_end": period[1],
                    "currency": "usd",
                    "subtotal": amount,
                    "total": amount,
                }
            )
            self.rows["invoice_line_item"].append(
                {
                    "id": self.next_id("il"),
                    "invoice_id": invoice_id,
                    "subscription_id": subscription_id,
                    "subscription_item_id": item_id,
                    "plan_id": price_id,
                    "amount": amount,
                    "currency": "usd",
                    "quantity": quantity,
                    "period_start": period[0],
                    "period_end": period[1],
                    "proration": False,
                    "type": "subscription",
                    "discount_amount": 0,
                }
            )
        return subscription_id


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute)


# Clock offsets (sent_at - original_timestamp) of any size: corrected when sent_at shares the device's
# clock, set aside with the documented reason when the corrected time is implausible (never an error).
OFFLINE_DAYS = 30  # an offline mobile app: the event waits 30 days on the device before it is sent
YEAR_2 = timedelta(days=730)  # a device clock two years ahead


def device_clock_cases(raw: _Rows, day: date, received_day: date) -> int:
    """Tracks of `day` with device clocks far off. The offline ones and those no correction makes
    plausible are received on `received_day` (the offline ones sent right before); a clock ahead that
    sent at once is received on `day`. Returns the number of tracks kept; the set-aside ones are
    added to the expected audit, and so are pages whose loader timestamp is decades off."""
    ev = raw.expected.audit
    sent = _at(received_day, 16)
    kept = 0
    # offline for OFFLINE_DAYS (a correct clock, or one two years ahead): the event counts on `day`
    for number, clock in enumerate((timedelta(0), YEAR_2)):
        real = _at(day, 16, number)
        raw.track(
            real,
            "report_viewed",
            user_id="u_ob_1",
            original_timestamp=real + clock,
            sent_at=real + clock + (sent - _at(day, 16)),
            received_at=real + (sent - _at(day, 16)) + timedelta(seconds=2),
            counts_for="acc_obrien",
        )
        kept += 1
    # a clock two years ahead, sent_at equally ahead, sent at once: corrected
    real = _at(day, 16, 5)
    raw.track(
        real,
        "report_viewed",
        user_id="u_q_1",
        original_timestamp=real + YEAR_2,
        sent_at=real + YEAR_2 + timedelta(seconds=1),
        counts_for="acc_quote",
    )
    kept += 1
    # offsets no correction can make plausible; the last two reach the ends of the timestamp range
    for device_at, sent_at, reason in (
        (sent + YEAR_2, sent, "event_time_after_receipt"),  # a clock two years ahead, sent_at right
        (datetime(1970, 1, 1), sent, "event_time_implausibly_old"),  # a clock reset to the epoch
        (datetime(2099, 1, 1), sent, "event_time_after_receipt"),
        (sent, datetime(9999, 12, 31, 23, 59, 59), "event_time_implausibly_old"),
        (sent, datetime(1, 1, 1), "event_time_after_receipt"),
    ):
        raw.track(
            sent,
            "report_viewed",
            user_id="u_ob_1",
            original_timestamp=device_at,
            sent_at=sent_at,
            received_at=sent + timedelta(seconds=2),
        )
        ev[("segment.tracks", "rejected", reason)] += 1
    # pages carry the loader's timestamp only: decades off, set aside
    for stamp, reason in (
        (datetime(1970, 1, 1), "event_time_implausibly_old"),
        (datetime(2099, 1, 1), "event_time_after_receipt"),
    ):
        raw.page(sent, user_id="u_ob_1")
        raw.rows["pages"][-1]["timestamp"] = stamp
        ev[("segment.pages", "rejected", reason)] += 1
    return kept


def bad_input_rows() -> tuple[dict[str, list[dict[str, Any]]], Expected]:
    raw = _Rows()
    days = [START + timedelta(days=offset) for offset in range((AS_OF - START).days + 1)]
    first = days[0]

    # acc_obrien: two users every weekday; one user_id is an email address (must never reach a mart)
    raw.group(_at(first, 8), "u_ob_1", "acc_obrien", OBRIEN, " Team ", "120")
    raw.group(_at(first, 8, 5), EMAIL_USER, "acc_obrien", OBRIEN, "team", "120")
    raw.identify(_at(first, 8), "u_ob_1", None, "bob@obrien.example", "admin")
    raw.identify(_at(first, 8, 5), EMAIL_USER, None, EMAIL_USER, "member")
    # acc_quote: an injection-shaped name, employees "lots"; its user starts anonymous
    raw.track(_at(first, 9), "signed_up", anonymous_id="anon_q", counts_for="acc_quote", counts_as="u_q_1")
    raw.identify(_at(first, 9, 30), "u_q_1", "anon_q", "q@quote.example", "owner")
    raw.group(_at(first, 9, 31), "u_q_1", "acc_quote", INJECTION, "business", "lots")
    # acc_emoji: a unicode name; active for the first three weeks only (dormant afterwards)
    raw.group(_at(first, 10), "u_em_1", "acc_emoji", UNICODE, "enterprise", "5000")
    raw.identify(_at(first, 10), "u_em_1", None, "em@emoji.example", "admin")

    for day in days:
        if day.weekday() < 5:
            for user in ("u_ob_1", EMAIL_USER):
                raw.track(_at(day, 10), "dashboard_viewed", user_id=user, counts_for="acc_obrien")
                raw.track(_at(day, 11), "report_created", user_id=user, counts_for="acc_obrien")
                raw.page(_at(day, 12), user_id=user, counts_for="acc_obrien")
            if day.weekday() in (0, 2):
                raw.track(
                    _at(day, 14), ODD_EVENT, user_id="u_q_1", text=ODD_EVENT_TEXT, counts_for="acc_quote"
                )
                raw.track(_at(day, 15), "alert_created", user_id="u_q_1", counts_for="acc_quote")
        if day < first + timedelta(days=21):
            raw.track(_at(day, 16), "integration_connected", user_id="u_em_1", counts_for="acc_emoji")
        if day.weekday() == 5:  # u_ob_1 on the phone on Saturdays
            raw.screen(_at(day, 9), user_id="u_ob_1", counts_for="acc_obrien")

    ev = raw.expected.audit
    good_tracks = len(raw.rows["tracks"])
    good_pages = len(raw.rows["pages"])
    mid = first + timedelta(days=30)

    # the same message delivered twice in one load: counted once
    twice = raw.track(_at(mid, 13), "report_viewed", user_id="u_ob_1", counts_for="acc_obrien")
    raw.rows["tracks"].append({**twice, "uuid_ts": twice["uuid_ts"] + timedelta(hours=1)})
    ev[("segment.tracks", "duplicate", "duplicate_delivery")] += 1
    good_tracks += 1

    # a device clock three years behind with sent_at equally behind: Segment's correction recovers it
    wrong = _at(mid, 13, 30).replace(year=mid.year - 3)
    raw.track(
        _at(mid, 13, 30),
        "report_viewed",
        user_id="u_q_1",
        original_timestamp=wrong,
        sent_at=wrong + timedelta(seconds=1),
        counts_for="acc_quote",
    )
    good_tracks += 1
    # clocks that cannot be corrected (no sent_at): years before receipt, or years ahead of it
    for wrong_year, reason in (
        (mid.year - 3, "event_time_implausibly_old"),
        (2031, "event_time_after_receipt"),
    ):
        row = raw.track(_at(mid, 14), "report_viewed", user_id="u_ob_1")
        row.update(
            timestamp=row["timestamp"].replace(year=wrong_year),
            original_timestamp=None,
            sent_at=None,
        )
        ev[("segment.tracks", "rejected", reason)] += 1
    good_tracks += device_clock_cases(raw, mid, AS_OF)
    # null, empty and blank event names
    for name in (None, "", "   "):
        raw.track(_at(mid, 15), name, user_id="u_ob_1")
        ev[("segment.tracks", "rejected", "missing_event_name")] += 1
    # an anonymous device that never identifies: kept, unresolved, counted
    for hour in (9, 10, 11):
        raw.track(_at(mid, hour), "dashboard_viewed", anonymous_id="anon_ghost")
    raw.expected.unresolved_events = 3
    good_tracks += 3
    ev[("segment.tracks", "kept", None)] = good_tracks
    ev[("segment.pages", "kept", None)] = good_pages

    # --- billing ---------------------------------------------------------------------------------
    start = datetime(2026, 1, 10, 9, 0)
    raw.price("price_team_50", 5_000)
    raw.price("price_team_30", 3_000)
    raw.price("price_team_200", 20_000)
    raw.price("price_team_40", 4_000)
    raw.price("price_xts", 5_000, currency="xts")  # a currency absent from seeds/fx_rates.csv
    ev[("stripe.price", "rejected", "unknown_currency")] += 1
    raw.rows["product"].append({"id": "prod_team", "name": "Team"})
    # two customers pointing at one account: their MRR adds up (2 × 50 + 1 × 30)
    raw.customer("cus_ob_a", json.dumps({"account_id": "acc_obrien"}), OBRIEN, "billing@obrien.example")
    raw.customer("cus_ob_b", '{"account_id": "acc_obrien", "team": "legal"}', OBRIEN, "legal@obrien.example")
    raw.monthly_subscription("cus_ob_a", "price_team_50", 5_000, 2, start)
    raw.monthly_subscription("cus_ob_b", "price_team_30", 3_000, 1, start)
    raw.expected.mrr["acc_obrien"] = "130.00"
    # billing without a Segment account: still an account, its revenue kept; no name, only an email
    raw.customer("cus_bill_only", '{"account_id": "acc_billing_only"}', None, "ap@billing-only.example")
    raw.monthly_subscription("cus_bill_only", "price_team_200", 20_000, 1, start)
    raw.expected.mrr["acc_billing_only"] = "200.00"
    raw.expected.unmapped["cus_bill_only"] = "ok"
    # unparseable metadata: kept, booked to an account of its own, listed
    raw.customer("cus_badmeta", '{"account_id": "acc_obrien"', "Broken Metadata GmbH", "x@broken.example")
    raw.monthly_subscription("cus_badmeta", "price_team_40", 4_000, 1, start)
    raw.expected.unmapped["cus_badmeta"] = "unparseable"
    # one customer id delivered twice, naming two different accounts: linked to neither
    for account in ("acc_quote", "acc_emoji"):
        raw.customer(
            "cus_conflict", json.dumps({"account_id": account}), "Conflict Inc", "c@conflict.example"
        )
    ev[("stripe.customer", "duplicate", "duplicate_delivery")] += 1
    raw.expected.unmapped["cus_conflict"] = "conflicting_account_ids"
    # a credit note (no customer of its own, as Fivetran lands them) on an invoice never delivered: no
    # account to book it to, so it is listed in mon_billing_documents_unattributed, never a null account
    raw.rows["credit_note"].append(
        {
            "id": "cn_orphan",
            "invoice_id": "in_never_delivered",
            "created": datetime(2026, 2, 2, 9, 0),
            "currency": "usd",
            "total": 700,
            "status": "issued",
        }
    )
    # a negative quantity on a subscription item: set aside (MRR comes from invoice lines)
    raw.rows["subscription_item"].append(
        {"id": "si_negative", "subscription_id": "sub_cus_ob_a", "plan_id": "price_team_50", "quantity": -2}
    )
    ev[("stripe.subscription_item", "rejected", "negative_quantity")] += 1
    _missing_keys_and_uncastable_values(raw)
    far_past_and_future_times(raw, mid)
    return dict(raw.rows), raw.expected


# Columns the bad input's loader lands as text (type drift; `write_*(..., drifted=True)`): a numeric
# and a timestamp column of every raw table that has one, and a boolean. Every row holds castable text
# (ISO times, digits, true/false) except one row per column (UNCASTABLE), set aside as invalid_<column>.
DRIFTED_COLUMNS: dict[str, tuple[str, ...]] = {
    "tracks": ("received_at",),
    "pages": ("timestamp",),
    "screens": ("timestamp",),
    "identifies": ("received_at",),
    "groups": ("created_at",),
    "customer": ("created", "is_deleted"),
    "subscription_history": ("current_period_end",),
    "subscription_item": ("quantity", "created"),
    "price": ("unit_amount",),
    "product": (),
    "coupon": ("amount_off", "percent_off"),
    "discount": ("start",),
    "invoice": ("total", "created"),
    "invoice_line_item": ("amount", "quantity", "period_start"),
    "plan": ("amount",),
    "subscription_discount": ("start",),
    "credit_note": ("total", "created"),
}
# a day that does not exist (looks like ISO: only a real cast finds out), a thousands separator, words
UNCASTABLE = {
    "timestamp": "2026-02-30T10:00:00",
    "bigint": "1,200",
    "double precision": "ten",
    "boolean": "maybe",
}
# null, empty (twice: merged as one message before ids were checked for blanks) and whitespace
BLANK_KEYS = (None, "", "", "   ")
# a blank foreign key that staging already sets aside when it is null: (table, column, reason)
BLANK_FOREIGN_KEYS = (
    ("groups", "group_id", "missing_group_id"),
    ("subscription_history", "customer_id", "missing_customer_id"),
    ("discount", "coupon_id", "missing_coupon_id"),
)


def _missing_keys_and_uncastable_values(raw: _Rows) -> None:
    """In every raw table: rows whose id is null, empty or blank (set aside as missing_id, never merged),
    a blank foreign key where one is required, and one uncastable value per drifted column. Each is a
    copy of a usable row of the table, so it would be kept if the key or value were read as valid;
    invoice lines are one-off lines (no subscription), so none of them is recurring revenue."""
    templates = {name: dict(rows[0]) for name, rows in raw.rows.items() if rows}
    templates["invoice_line_item"].update(subscription_id=None, subscription_item_id=None, type="invoiceitem")
    templates["coupon"] = {
        "id": "co_template",
        "amount_off": 500,
        "percent_off": 10.0,
        "currency": "usd",
        "duration": "once",
        "duration_in_months": None,
    }
    templates["discount"] = {
        "id": "di_template",
        "type": "subscription",
        "type_id": "sub_cus_ob_a",
        "coupon_id": "co_template",
        "customer_id": "cus_ob_a",
        "subscription_id": "sub_cus_ob_a",
        "invoice_id": None,
        "start": datetime(2026, 1, 10, 9, 0),
        "end": None,
    }
    # the optional Stripe tables: a legacy plan no item uses, a discount of a subscription that does not
    # exist and a credit note on cus_ob_a's first invoice (billing only: MRR unchanged)
    templates["plan"] = {
        "id": "plan_template",
        "product_id": "prod_team",
        "amount": 1_000,
        "currency": "usd",
        "interval": "month",
        "interval_count": 1,
        "usage_type": "licensed",
        "billing_scheme": "per_unit",
    }
    templates["subscription_discount"] = {
        "id": "sd_template",
        "subscription_id": "sub_template",
        "coupon_id": "co_template",
        "start": datetime(2026, 1, 10, 9, 0),
    }
    invoice = next(row for row in raw.rows["invoice"] if row["customer_id"] == "cus_ob_a")
    templates["credit_note"] = {
        "id": "cn_template",
        "invoice_id": invoice["id"],
        "created": datetime(2026, 2, 1, 9, 0),
        "currency": "usd",
        "total": 100,
        "status": "issued",
    }
    for table in RAW_TABLES:
        source = f"{table.schema_key}.{table.name}"
        template = templates[table.name]
        for key in BLANK_KEYS:
            raw.rows[table.name].append({**template, "id": key})
            raw.expected.audit[(source, "rejected", "missing_id")] += 1
        types = {column.name: column.sql_type for column in table.columns}
        for column in DRIFTED_COLUMNS[table.name]:
            row = {**template, "id": raw.next_id(f"bad_{column}"), column: UNCASTABLE[types[column]]}
            raw.rows[table.name].append(row)
            raw.expected.audit[(source, "rejected", f"invalid_{column}")] += 1
    # the as-of month's recurring line of cus_ob_a delivered again with an amount that cannot be read and
    # an earlier period (which ranked it first before usable deliveries were ranked first): the usable
    # delivery is kept, MRR unchanged, the bad one counted (invalid_amount above)
    lines = raw.rows["invoice_line_item"]
    bad_amount = next(line for line in lines if str(line["id"]).startswith("bad_amount"))
    recurring = max(
        (line for line in lines if line["subscription_id"] == "sub_cus_ob_a"),
        key=lambda line: line["period_start"],
    )
    bad_amount.update({**recurring, "amount": UNCASTABLE["bigint"], "period_start": datetime(2025, 12, 1)})
    for name, column, reason in BLANK_FOREIGN_KEYS:
        table = next(table for table in RAW_TABLES if table.name == name)
        raw.rows[name].append({**templates[name], "id": raw.next_id(f"blank_{column}"), column: "   "})
        raw.expected.audit[(f"{table.schema_key}.{name}", "rejected", reason)] += 1


EPOCH = datetime(1970, 1, 1)  # a loader's or a device's zero time
YEAR_1 = datetime(1, 1, 1)  # the first timestamp: a loader's default for a missing time
FAR_FUTURE = datetime(2099, 1, 1)
EARLIEST_BILLING = "time_before_earliest_billing_date"  # flagged Stripe rows: kept as Stripe states them


def far_past_and_future_times(raw: _Rows, received: date) -> None:
    """Per raw table a time far in the past and one far in the future (tracks and pages:
    device_clock_cases). Identify and group calls follow the tracks' rule: set aside, so that a call dated
    1970 neither claims a device's history (the first claimer gets it) nor moves the signed-up event of
    u_q_1 to another account (events before a user's first group call belong to that call's account),
    and one dated 2099 neither stitches the ghost device nor opens a membership. Stripe: a service
    period before var earliest_billing_date sets its invoice line aside (one-off lines here; a
    subscription's line stops the build); setting the other tables' rows aside would drop a status,
    lines or an account link, so those rows are kept and counted as flagged. Far-future Stripe times are
    kept as stated: no mart extends past the as-of date (test_wrong_device_clocks_never_stretch_a_mart)."""
    ev = raw.expected.audit
    at = _at(received, 17)
    for stamp, reason in ((EPOCH, "event_time_implausibly_old"), (FAR_FUTURE, "event_time_after_receipt")):
        raw.identify(
            stamp,
            "u_ob_1" if stamp == EPOCH else "u_em_1",
            "anon_q" if stamp == EPOCH else "anon_ghost",
            "late@obrien.example",
            "member",
        )
        raw.rows["identifies"][-1]["received_at"] = at
        ev[("segment.identifies", "rejected", reason)] += 1
        raw.group(
            stamp,
            "u_q_1" if stamp == EPOCH else "u_ob_1",
            "acc_emoji" if stamp == EPOCH else "acc_quote",
            UNICODE if stamp == EPOCH else INJECTION,
            "team",
            "10",
        )
        raw.rows["groups"][-1]["received_at"] = at
        ev[("segment.groups", "rejected", reason)] += 1
    templates = {name: dict(rows[0]) for name, rows in raw.rows.items() if rows}
    one_off = {**templates["invoice_line_item"], "subscription_id": None, "subscription_item_id": None}
    one_off["type"] = "invoiceitem"
    # 0001-01-01 would stretch the MRR calendar past its 100,000 days (MRR of 2026 cut off); 1970 before it
    for column, stamp in (("period_start", YEAR_1), ("period_start", EPOCH), ("period_end", EPOCH)):
        raw.rows["invoice_line_item"].append({**one_off, "id": raw.next_id("il_far"), column: stamp})
        ev[("stripe.invoice_line_item", "rejected", "implausible_time")] += 1
    raw.rows["invoice_line_item"].append({**one_off, "id": raw.next_id("il_far"), "period_end": FAR_FUTURE})
    # a subscription version dated 0001-01-01 (status incomplete: no revenue) and one ending in 2099
    version = {**templates["subscription_history"], "status": "incomplete"}
    version.update(_fivetran_start=YEAR_1, created=YEAR_1, _fivetran_end=version["_fivetran_start"])
    version["_fivetran_active"] = False
    raw.rows["subscription_history"].append(version)
    ev[("stripe.subscription_history", "flagged", EARLIEST_BILLING)] += 1
    raw.rows["subscription_history"][0]["current_period_end"] = FAR_FUTURE
    for table, past, future in (
        ("customer", {"created": EPOCH}, {"created": FAR_FUTURE}),
        ("subscription_item", {"created": EPOCH}, {"created": FAR_FUTURE}),
        ("invoice", {"created": EPOCH, "period_start": EPOCH}, {"period_end": FAR_FUTURE}),
    ):
        for number, change in enumerate((past, future)):
            row = {**templates[table], "id": raw.next_id(f"{table}_far"), **change}
            if table == "customer":
                row["metadata"] = json.dumps({"account_id": "acc_emoji"})  # no subscription: no revenue
            if table == "subscription_item":
                row["subscription_id"] = "sub_without_revenue"
            if table == "invoice":
                row["subscription_id"] = None  # no lines: an invoice of nothing
            raw.rows[table].append(row)
            if number == 0:
                ev[(f"stripe.{table}", "flagged", EARLIEST_BILLING)] += 1
    # discounts of a coupon that is never kept (co_template): no effect on MRR
    discount = {
        "id": "di_epoch",
        "type": "subscription",
        "type_id": "sub_cus_ob_a",
        "coupon_id": "co_template",
        "customer_id": "cus_ob_a",
        "subscription_id": "sub_cus_ob_a",
        "invoice_id": None,
        "start": EPOCH,
        "end": FAR_FUTURE,
    }
    raw.rows["discount"].append(discount)
    ev[("stripe.discount", "flagged", EARLIEST_BILLING)] += 1


def revenue_line_in_unknown_currency() -> dict[str, Any]:
    """A recurring invoice line in a currency with no rate: must stop the build, not vanish."""
    return {
        "id": "il_xts",
        "invoice_id": "in_xts",
        "subscription_id": "sub_cus_ob_a",
        "subscription_item_id": "si_cus_ob_a",
        "plan_id": "price_xts",
        "amount": 5_000,
        "currency": "xts",
        "quantity": 1,
        "period_start": datetime(2026, 3, 1),
        "period_end": datetime(2026, 4, 1),
        "proration": False,
        "type": "subscription",
        "discount_amount": 0,
    }


# --- writers -------------------------------------------------------------------------------------


def _columns(raw: RawTable, minimal: bool, drifted: bool) -> list[tuple[str, str]]:
    text = DRIFTED_COLUMNS[raw.name] if drifted else ()
    columns = [
        (column.name, "varchar" if column.name in text else column.sql_type)
        for column in raw.columns
        if column.required or not minimal
    ]
    return columns + [(name, "varchar") for name in UNEXPECTED_COLUMNS]


def _create_sql(raw: RawTable, minimal: bool, drifted: bool) -> str:
    columns = ", ".join(f'"{name}" {sql_type}' for name, sql_type in _columns(raw, minimal, drifted))
    return f'create table "{raw.schema_key}"."{raw.name}" ({columns})'


def _as_text(value: Any) -> str | None:
    """A value as a loader that lands everything as text writes it (ISO 8601 times, true/false)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _insert(
    raw: RawTable, rows: list[dict[str, Any]], minimal: bool, drifted: bool, mark: str
) -> tuple[str, list]:
    columns = _columns(raw, minimal, drifted)
    names = [name for name, _ in columns]
    quoted = ", ".join(f'"{name}"' for name in names)
    sql = f'insert into "{raw.schema_key}"."{raw.name}" ({quoted}) values ({", ".join(mark for _ in names)})'
    text = DRIFTED_COLUMNS[raw.name] if drifted else ()
    values = [
        tuple(
            _as_text(row.get(name)) if name in text else row.get(name, UNEXPECTED_COLUMNS.get(name))
            for name in names
        )
        for row in rows
    ]
    return sql, values


def write_duckdb(
    path: str, rows: dict[str, list[dict[str, Any]]], *, minimal: bool = False, drifted: bool = False
) -> None:
    """(Re)create every raw table in the DuckDB file and load `rows` (may be empty); `drifted`: the
    DRIFTED_COLUMNS are text columns."""
    import duckdb

    con = duckdb.connect(path)
    try:
        for raw in RAW_TABLES:
            con.execute(f'create schema if not exists "{raw.schema_key}"')
            con.execute(f'drop table if exists "{raw.schema_key}"."{raw.name}"')
            con.execute(_create_sql(raw, minimal, drifted))
            if rows.get(raw.name):
                sql, values = _insert(raw, rows[raw.name], minimal, drifted, "?")
                con.executemany(sql, values)
    finally:
        con.close()


def write_postgres(
    connect: Any, rows: dict[str, list[dict[str, Any]]], *, minimal: bool = False, drifted: bool = False
) -> None:
    """The same on PostgreSQL; `connect()` returns a psycopg2 connection."""
    conn = connect()
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            for raw in RAW_TABLES:
                cur.execute(f'create schema if not exists "{raw.schema_key}"')
                cur.execute(f'drop table if exists "{raw.schema_key}"."{raw.name}" cascade')
                cur.execute(_create_sql(raw, minimal, drifted))
                if rows.get(raw.name):
                    sql, values = _insert(raw, rows[raw.name], minimal, drifted, "%s")
                    cur.executemany(sql, values)
    finally:
        conn.close()


# --- dbt runs ------------------------------------------------------------------------------------


def dbt(args: list[str], workdir: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """dbt against the project with its own target/log folders and the given environment."""
    command = [
        dbt_executable(),
        *args,
        "--project-dir",
        str(PROJECT_DIR),
        "--target-path",
        str(workdir / "target"),
        "--log-path",
        str(workdir / "logs"),
    ]
    return subprocess.run(command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True)


def duck_env(path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DBT_PROFILES_DIR": str(PROJECT_DIR / "profiles"),
        "ACCOUNTPULSE_TARGET": "duckdb",
        "ACCOUNTPULSE_DUCKDB_PATH": str(path),
    }


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, (
        f"{result.args[:3]} failed:\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
    )
    return result


def normalise(value: Any) -> Any:
    """Values comparable across runs and engines: floats to 6 significant digits (DuckDB's ratios
    are single precision), decimals as floats rounded to 6 places, timestamps to the second."""
    if isinstance(value, float):
        return float(f"{value:.6g}") + 0.0
    if isinstance(value, Decimal):
        return float(round(value, 6))
    if isinstance(value, datetime):
        return value.replace(microsecond=0)
    return value
